"""Audit redaction: a request's parameters as CloudTrail would record them (spec §11).

Blob and ``sensitive`` members, and grant tokens (spec §8), are omitted at any depth
(habits §7); member names are lowerCamelCase. Redactors are compiled per operation from
the same model shapes as the validators, and work on the raw, possibly invalid body.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache
from typing import Any

from trent.protocol import model
from trent.protocol.validation.catalog import operation_model
from trent.protocol.validation.compiler import ShapeCompiler, shared_compiler
from trent.protocol.validation.shape_kinds import SCALARS, is_hidden

Redact = Callable[[Any], Any]

_OMIT = object()  # redactor result: leave this member out of the audit record


def _build_redactor(compiler: ShapeCompiler, name: str, _seen: frozenset[str] = frozenset()) -> Redact | None:
    """Raw JSON -> lowerCamelCase copy without blob/sensitive members; None = omit."""
    shape = compiler.shapes[name]
    if is_hidden(name, shape):
        return None
    if shape["type"] in SCALARS or name in _seen:
        return _identity
    seen = _seen | {name}
    clean = not compiler.secret(name)
    if shape["type"] == "structure":
        members = tuple(
            (member, model.lower_camel(member), _build_redactor(compiler, spec["shape"], seen))
            for member, spec in shape.get("members", {}).items()
        )
        return _redact_structure(members, clean)
    if shape["type"] == "list":
        element = _build_redactor(compiler, shape["member"]["shape"], seen)
        return None if element is None else _redact_list(element, clean)
    key = _build_redactor(compiler, shape["key"]["shape"], seen)
    value = _build_redactor(compiler, shape["value"]["shape"], seen)
    return None if key is None or value is None else _redact_map(value, clean)


def _identity(value: Any) -> Any:
    return value


def _redact_structure(members: tuple[tuple[str, str, Redact | None], ...], clean: bool) -> Redact:
    def redact(v: Any) -> Any:
        if type(v) is not dict:
            return v if clean else _OMIT
        out = {}
        for member, lname, inner in members:
            value = v.get(member)
            if value is None or inner is None:
                continue
            value = inner(value)
            if value is not _OMIT:
                out[lname] = value
        return out

    return redact


def _redact_list(element: Redact, clean: bool) -> Redact:
    def redact(v: Any) -> Any:
        if type(v) is not list:
            return v if clean else _OMIT
        return [x for x in map(element, v) if x is not _OMIT]

    return redact


def _redact_map(value_redact: Redact, clean: bool) -> Redact:
    def redact(v: Any) -> Any:
        if type(v) is not dict:
            return v if clean else _OMIT
        out = {}
        for k, x in v.items():
            x = value_redact(x)
            if x is not _OMIT:
                out[k] = x
        return out

    return redact


_redactors: dict[str, Redact] = {}


def redactor_for(operation_name: str) -> Redact:
    redact = _redactors.get(operation_name)
    if redact is None:
        op = operation_model(operation_name)
        inner = _build_redactor(shared_compiler(), op["input"]["shape"]) if "input" in op else None
        redact = inner if inner is not None else (lambda v: {})
        _redactors[operation_name] = redact
    return redact


def audit_safe_params(operation_name: str, raw_body: Any) -> dict[str, Any]:
    """CloudTrail-style ``requestParameters`` (spec §11): lowerCamelCase member names,
    blob and sensitive members omitted at any depth, unknown members and nulls dropped.
    Works on the raw (possibly invalid) body; a non-object body gives ``{}``."""
    if type(raw_body) is not dict:
        return {}
    result = redactor_for(operation_name)(raw_body)
    return result if type(result) is dict else {}


@lru_cache(maxsize=None)
def sensitive_members(operation_name: str) -> frozenset[str]:
    """Paths of blob/sensitive members: lowerCamel names joined by ``.``, ``member`` for
    list elements and ``value`` for map values (e.g. ``recipient.attestationDocument``)."""
    op = operation_model(operation_name)
    if "input" not in op:
        return frozenset()
    shapes = model.shapes()
    found: set[str] = set()

    def walk(name: str, path: str, seen: frozenset[str]) -> None:
        shape = shapes[name]
        if is_hidden(name, shape):
            found.add(path)
            return
        if name in seen:
            return
        seen = seen | {name}
        if shape["type"] == "structure":
            for member, spec in shape.get("members", {}).items():
                lname = model.lower_camel(member)
                walk(spec["shape"], f"{path}.{lname}" if path else lname, seen)
        elif shape["type"] == "list":
            walk(shape["member"]["shape"], f"{path}.member", seen)
        elif shape["type"] == "map":
            walk(shape["key"]["shape"], f"{path}.key", seen)
            walk(shape["value"]["shape"], f"{path}.value", seen)

    walk(op["input"]["shape"], "", frozenset())
    return frozenset(found)
