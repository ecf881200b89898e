"""Every enum value of every member of every KMS operation in the model, over the wire:
never a 5xx (issue 19 §4). A value the model accepts and Trent does not implement gets
AWS's error for an unsupported value (a 4xx), never KMSInternalException — SDKs retry 5xx.

Requests carry the operation's required members (a real symmetric key for key ids, the
smallest valid value elsewhere) so the enum value travels past validation into the
service wherever it can.
"""

from __future__ import annotations

import gzip
import json
import os
from collections.abc import Iterator
from typing import Any

import botocore
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

MODEL = json.loads(gzip.open(os.path.join(os.path.dirname(botocore.__file__),
                                          "data/kms/2014-11-01/service-2.json.gz")).read())
SHAPES = MODEL["shapes"]


def _enum_paths(shape_name: str, path: tuple[str, ...] = (), depth: int = 0) -> Iterator[tuple[tuple[str, ...], str]]:
    shape = SHAPES[shape_name]
    if "enum" in shape:
        yield path, shape_name
    elif shape["type"] == "structure" and depth < 4:
        for member, ref in shape["members"].items():
            yield from _enum_paths(ref["shape"], (*path, member), depth + 1)
    elif shape["type"] == "list" and depth < 4:
        yield from _enum_paths(shape["member"]["shape"], (*path, "[]"), depth + 1)


CASES = [
    (op, path, value)
    for op, spec in sorted(MODEL["operations"].items())
    if "input" in spec
    for path, enum_shape in _enum_paths(spec["input"]["shape"])
    for value in SHAPES[enum_shape]["enum"]
]


def _minimal(shape_name: str, key_id: str) -> Any:
    shape = SHAPES[shape_name]
    kind = shape["type"]
    if "enum" in shape:
        return shape["enum"][0]
    if kind == "string":
        return key_id if shape_name in ("KeyIdType", "ArnType") else "a" * max(shape.get("min", 1), 1)
    if kind == "blob":
        return b"x" * max(shape.get("min", 1), 1)
    if kind in ("integer", "long"):
        return shape.get("min", 1)
    if kind == "boolean":
        return False
    if kind == "list":
        return [_minimal(shape["member"]["shape"], key_id)] * max(shape.get("min", 1), 1)
    if kind == "map":
        return {}
    if kind == "structure":
        return {m: _minimal(shape["members"][m]["shape"], key_id) for m in shape.get("required", [])}
    raise AssertionError(kind)


def _place(params: dict[str, Any], path: tuple[str, ...], value: str, input_shape: str, key_id: str) -> None:
    """Put ``value`` at ``path`` (member names; "[]" = the first element of a list)."""
    as_list = path[-1] == "[]"
    steps = path[:-1] if as_list else path
    target: Any = params
    shape = SHAPES[input_shape]
    for step in steps[:-1]:
        if step == "[]":
            continue
        member_shape = shape["members"][step]["shape"]
        sub = SHAPES[member_shape]
        if sub["type"] == "list":
            if not target.get(step):
                target[step] = [_minimal(sub["member"]["shape"], key_id)]
            target, shape = target[step][0], SHAPES[sub["member"]["shape"]]
        else:
            target = target.setdefault(step, _minimal(member_shape, key_id))
            shape = sub
    target[steps[-1]] = [value] if as_list else value


@pytest.fixture(scope="module")
def client(trent_server):
    return trent_server.client(config=Config(retries={"max_attempts": 1}, parameter_validation=False))


@pytest.fixture(scope="module")
def key_id(client) -> str:
    return client.create_key()["KeyMetadata"]["Arn"]


@pytest.mark.parametrize(("op", "path", "value"), CASES, ids=[f"{o}.{'.'.join(p)}={v}" for o, p, v in CASES])
def test_no_enum_value_gets_a_5xx(client, key_id, op, path, value):
    input_shape = MODEL["operations"][op]["input"]["shape"]
    params = _minimal(input_shape, key_id)
    _place(params, path, value, input_shape, key_id)
    try:
        response = client._make_api_call(op, params)
        status = response["ResponseMetadata"]["HTTPStatusCode"]
    except ClientError as exc:
        status = exc.response["ResponseMetadata"]["HTTPStatusCode"]
        assert exc.response["Error"]["Code"] != "KMSInternalException", (op, params, exc.response["Error"])
    assert status < 500, (op, params)
