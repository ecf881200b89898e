"""fast_init: the same value as the dataclass's own __init__ builds, through slot descriptors."""

from __future__ import annotations

import dataclasses
import inspect
import pickle
from dataclasses import dataclass, field
from typing import Generic, TypeVar

import pytest

from trent.domain.frozen import fast_init

R = TypeVar("R")
made: list[int] = []


def _factory() -> list[int]:
    made.append(1)
    return []


def _shape(fast: bool) -> type:
    """The same class twice: once as dataclasses builds it, once with fast_init."""

    @dataclass(frozen=True, slots=True)
    class Shape:
        name: str
        size: int
        tags: list[int] = field(default_factory=_factory, hash=False)
        colour: str | None = None
        hidden: bytes = field(default=b"", repr=False, compare=False)
        derived: int = field(init=False, default=7)
        stamp: list[int] = field(init=False, default_factory=list, hash=False)

        def __post_init__(self) -> None:
            if self.size < 0:
                raise ValueError("negative size")
            object.__setattr__(self, "derived", self.size * 2)

    return fast_init(Shape) if fast else Shape


Plain, Fast = _shape(False), _shape(True)


@pytest.mark.parametrize(
    ("args", "kwargs"),
    [
        (("a", 1), {}),
        (("a", 1, [3], "red", b"k"), {}),
        (("a",), {"size": 2, "colour": "blue"}),
        ((), {"name": "b", "size": 3, "hidden": b"x", "tags": [1, 2]}),
    ],
)
def test_builds_the_same_value_as_the_generated_init(args: tuple, kwargs: dict) -> None:
    plain, fast = Plain(*args, **kwargs), Fast(*args, **kwargs)
    assert [getattr(fast, f.name) for f in dataclasses.fields(Fast)] == [
        getattr(plain, f.name) for f in dataclasses.fields(Plain)
    ]
    assert repr(fast).replace("Shape", "") == repr(plain).replace("Shape", "")
    assert fast == Fast(*args, **kwargs) and hash(fast) == hash(Fast(*args, **kwargs))
    assert dataclasses.astuple(fast) == dataclasses.astuple(plain)


@fast_init
@dataclass(frozen=True, slots=True)
class Point:
    x: int
    y: int = 0


def test_pickles_as_before() -> None:
    assert pickle.loads(pickle.dumps(Point(1, 2))) == Point(1, 2)


def test_each_value_gets_its_own_default_factory_result() -> None:
    before = len(made)
    first, second = Fast("a", 1), Fast("b", 2)
    assert first.tags == [] and first.tags is not second.tags and len(made) == before + 2
    assert first.stamp is not second.stamp
    assert Fast("c", 3, [9]).tags == [9] and len(made) == before + 2  # a given value: no factory call


def test_post_init_runs_and_init_false_fields_are_set() -> None:
    assert Fast("a", 4).derived == 8
    with pytest.raises(ValueError, match="negative size"):
        Fast("a", -1)


def test_still_frozen() -> None:
    for value in (Plain("a", 1), Fast("a", 1)):
        with pytest.raises(dataclasses.FrozenInstanceError):
            value.size = 2
    # a name that is no field: whatever the dataclass's own __setattr__ raises (CPython 3.11's
    # slots=True frozen classes raise TypeError from super()), the same for both
    raised = []
    for value in (Plain("a", 1), Fast("a", 1)):
        with pytest.raises((AttributeError, TypeError)) as info:
            value.other = 1
        raised.append(info.type)
    assert raised[0] is raised[1]


def test_same_signature_and_errors_as_the_generated_init() -> None:
    assert [(p.name, p.default is inspect.Parameter.empty) for p in inspect.signature(Fast).parameters.values()] == [
        (p.name, p.default is inspect.Parameter.empty) for p in inspect.signature(Plain).parameters.values()
    ]
    for args, kwargs in [((), {}), (("a",), {}), (("a", 1, [], None, b"", 5), {}), (("a", 1), {"derived": 3}),
                         (("a", 1), {"name": "b"})]:
        with pytest.raises(TypeError):
            Plain(*args, **kwargs)
        with pytest.raises(TypeError):
            Fast(*args, **kwargs)


def test_generic_and_derived_classes() -> None:
    @fast_init
    @dataclass(frozen=True, slots=True)
    class Boxed(Generic[R]):
        item: R
        count: int = 0

    assert Boxed(3).item == 3 and Boxed("x", 2) == Boxed("x", 2) != Boxed("x")

    @dataclass(frozen=True, slots=True)
    class Base:
        a: int

    @fast_init
    @dataclass(frozen=True, slots=True)
    class Child(Base):
        b: int = 1

    assert (Child(5).a, Child(5).b) == (5, 1) and Child(5) == Child(5, 1)


def test_refuses_what_it_cannot_reproduce() -> None:
    @dataclass(frozen=True)
    class NoSlots:
        a: int

    @dataclass(slots=True)
    class Mutable:
        a: int

    @dataclass(frozen=True, slots=True, kw_only=True)
    class KeywordOnly:
        a: int

    @dataclass(frozen=True, slots=True)
    class WithInitVar:
        a: int
        secret: dataclasses.InitVar[int]

        def __post_init__(self, secret: int) -> None:
            pass

    for cls in (NoSlots, Mutable, KeywordOnly, WithInitVar):
        with pytest.raises(TypeError):
            fast_init(cls)


def test_the_hot_request_values_use_it() -> None:
    """The values a small S3 PUT builds on every request (the module doc's ~30)."""
    from trent.domain.s3.records import ObjectRecord, SseRecord
    from trent.protocol.recording import Concluded
    from trent.service.context import RequestContext
    from trent.service.s3.kms_calls import KmsCall

    for cls in (ObjectRecord, SseRecord, Concluded, RequestContext, KmsCall):
        assert cls.__init__.__code__.co_filename.startswith("<fast_init trent."), cls
