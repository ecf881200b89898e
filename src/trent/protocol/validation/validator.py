"""Validating one operation's request: :func:`validate` with its per-operation validator
cache, and :func:`compile_all` to build every validator and redactor up front (spec §1.7).
"""

from __future__ import annotations

from typing import Any

from trent import errors
from trent.protocol.validation.catalog import operation_model, operation_names
from trent.protocol.validation.compiler import Check, shared_compiler
from trent.protocol.validation.messages import format_validation_errors, type_error
from trent.protocol.validation.redaction import redactor_for

_validators: dict[str, Check] = {}


def _empty_input(v: Any, path: str, errs: list[str]) -> Any:
    if type(v) is not dict:
        raise type_error("structure", v)
    return {}


def _validator(operation_name: str) -> Check:
    check = _validators.get(operation_name)
    if check is None:
        op = operation_model(operation_name)
        check = shared_compiler().check(op["input"]["shape"]) if "input" in op else _empty_input
        _validators[operation_name] = check
    return check


def validate(operation_name: str, body: Any) -> dict[str, Any]:
    """Validate a parsed JSON request body against the model; return it decoded.

    Raises :class:`errors.SerializationError` (wrong JSON types, bad base64),
    :class:`errors.ValidationError` (constraints, AWS §1.7 text), or
    :class:`errors.UnknownOperation` for an operation the model does not have.
    """
    errs: list[str] = []
    out: dict[str, Any] = _validator(operation_name)(body, "", errs)
    if errs:
        raise errors.ValidationError(format_validation_errors(errs))
    return out


def compile_all() -> None:
    """Compile every operation now (e.g. at server start) instead of on first use."""
    for name in operation_names():
        _validator(name)
        redactor_for(name)
