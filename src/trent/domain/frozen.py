"""Frozen dataclasses that are built as fast as mutable ones (issue 17 performance).

A frozen dataclass refuses ``setattr``, so the ``__init__`` that ``dataclasses`` generates
stores every field with ``object.__setattr__(self, name, value)``: ~100 ns a field on the
bench VM, against ~10 ns for a plain attribute. A 1 KiB S3 PutObject builds ~30 such
values (~175 fields), ~18 µs of its ~330 µs of CPU (bench/S3_SSE.md, session of 2026-12-07 16:49).

In a ``slots=True`` class every field is a slot, and the slot's own descriptor can store
the value without going through ``__setattr__`` (``member_descriptor.__set__``, ~55 ns).
:func:`fast_init` swaps the generated ``__init__`` for one that does exactly that, with
the same parameters, defaults, default factories and ``__post_init__`` call. Everything
else — frozen assignment refused, ``__eq__``, ``__hash__``, ``__repr__``, ``__match_args__``,
pickling — is still the dataclass's own.

Only for the value types built on every request; a class it cannot reproduce exactly
(not frozen, no slots, keyword-only fields or ``InitVar`` pseudo-fields) is refused at
import time rather than half-supported.
"""

from __future__ import annotations

import dataclasses
import inspect
from typing import Any, TypeVar

__all__ = ["fast_init"]

T = TypeVar("T")

# The default of a parameter whose field has a default_factory: "not given, call it".
_FACTORY: Any = object()


def fast_init(cls: type[T]) -> type[T]:
    """Apply above ``@dataclass(frozen=True, slots=True)``: the class, with a faster ``__init__``."""
    params = getattr(cls, "__dataclass_params__", None)
    if params is None or not params.frozen or "__slots__" not in cls.__dict__:
        raise TypeError(f"{cls.__qualname__}: fast_init is for @dataclass(frozen=True, slots=True) classes")
    fields = dataclasses.fields(cls)  # type: ignore[arg-type]
    generated = list(inspect.signature(cls.__init__).parameters.values())[1:]
    if [p.name for p in generated] != [f.name for f in fields if f.init] or any(
        p.kind is not inspect.Parameter.POSITIONAL_OR_KEYWORD for p in generated
    ):
        raise TypeError(f"{cls.__qualname__}: keyword-only fields or InitVars are not supported by fast_init")

    namespace: dict[str, Any] = {"_FACTORY": _FACTORY}
    parameters: list[str] = []
    body: list[str] = []
    for f in fields:
        namespace[f"_set_{f.name}"] = _slot(cls, f.name).__set__
        has_default = f.default is not dataclasses.MISSING
        has_factory = f.default_factory is not dataclasses.MISSING
        if has_default:
            namespace[f"_default_{f.name}"] = f.default
        if has_factory:
            namespace[f"_factory_{f.name}"] = f.default_factory
        if f.init:
            if has_default:
                parameters.append(f"{f.name}=_default_{f.name}")
            elif has_factory:
                parameters.append(f"{f.name}=_FACTORY")
                body.append(f"if {f.name} is _FACTORY: {f.name} = _factory_{f.name}()")
            else:
                parameters.append(f.name)
            body.append(f"_set_{f.name}(self, {f.name})")
        elif has_default:
            body.append(f"_set_{f.name}(self, _default_{f.name})")
        elif has_factory:
            body.append(f"_set_{f.name}(self, _factory_{f.name}())")
        # an init=False field without a default stays unset, as dataclasses leaves it
    if hasattr(cls, "__post_init__"):
        body.append("self.__post_init__()")
    source = "def __init__(self{}):\n{}".format(
        "".join(f", {p}" for p in parameters), "".join(f"    {line}\n" for line in body or ["pass"])
    )
    # built from the class's own field names only; named for tracebacks
    exec(compile(source, f"<fast_init {cls.__module__}.{cls.__qualname__}>", "exec"), namespace)
    init = namespace["__init__"]
    init.__qualname__ = f"{cls.__qualname__}.__init__"
    init.__module__ = cls.__module__
    init.__doc__ = cls.__init__.__doc__
    type.__setattr__(cls, "__init__", init)
    return cls


def _slot(cls: type, name: str) -> Any:
    for klass in cls.__mro__:
        if name in klass.__dict__:
            descriptor = klass.__dict__[name]
            if type(descriptor).__name__ == "member_descriptor":
                return descriptor
            break
    raise TypeError(f"{cls.__qualname__}.{name} is not a slot")
