"""The compiler from botocore's model shapes to checking closures (spec §1.1, §1.7).

Nothing is written per field: every input shape is compiled, once and on first use,
into a closure that checks JSON types, ``required``, ``min``/``max`` (string characters,
decoded blob bytes, list/map entries, number values), ``enum`` and ``pattern``, and
returns the decoded value (blobs -> ``bytes``, timestamps -> ``float``). Unknown members
are ignored, as AWS does, and dropped from the result. Type errors raise at once;
constraint violations are appended to ``errs`` so that all of them are reported.

Choices the spec leaves open (pinned by tests):

* Paths: lowerCamelCase member names joined by ``.``; list elements of structure type
  ``tags.1.member.tagKey`` (1-based); scalar list elements and map entries are reported
  at the container's path (see messages.py).
* String length counts Unicode code points. Integers accept a JSON number with an
  integral value (``5.0``); fractional numbers are SerializationError. A JSON ``null``
  member is treated as absent.
* Patterns are the model's Java regexes, compiled once with ``re.ASCII`` (Java's ``\\w``,
  ``\\s``, ``\\d`` are ASCII) and applied with ``fullmatch`` (Java ``matches()``).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from typing import Any

from trent import errors
from trent.protocol import model, wire_base64
from trent.protocol.validation.enum_orders import PRINTED_SET_OF
from trent.protocol.validation.messages import (
    EXPECTED,
    aggregate_rule,
    bounds_errors,
    error_item,
    null_error_item,
    rule_texts,
    type_error,
)
from trent.protocol.validation.shape_kinds import INT_RANGES, is_hidden

Check = Callable[[Any, str, list[str]], Any]


class ShapeCompiler:
    """Turns model shapes into checking closures (memoized per shape name)."""

    def __init__(self, shapes: dict[str, Any]) -> None:
        self.shapes = shapes
        self._checks: dict[str, Check] = {}
        self._secret: dict[str, bool] = {}

    def secret(self, name: str, _seen: frozenset[str] = frozenset()) -> bool:
        """True if the shape is a blob or sensitive, or contains one (so: never echo it)."""
        if name in self._secret:
            return self._secret[name]
        shape = self.shapes[name]
        result = is_hidden(name, shape)
        if not result and name not in _seen:
            seen = _seen | {name}
            result = any(self.secret(child, seen) for child in _children(shape))
        self._secret[name] = result
        return result

    def check(self, name: str) -> Check:
        found = self._checks.get(name)
        if found is not None:
            return found
        # Placeholder first, so a (hypothetical) recursive shape terminates.
        slot: list[Check] = []
        self._checks[name] = lambda v, p, e: slot[0](v, p, e)
        shape = self.shapes[name]
        builder: Callable[[str, dict[str, Any]], Check] = getattr(self, "_" + shape["type"])
        built = builder(name, shape)
        slot.append(built)
        self._checks[name] = built
        return built

    # scalars ---------------------------------------------------------------------------------

    def _string(self, name: str, shape: dict[str, Any]) -> Check:
        lo, hi = shape.get("min", 0), shape.get("max", math.inf)
        pattern = re.compile(shape["pattern"], re.ASCII) if "pattern" in shape else None
        enum = frozenset(shape["enum"]) if "enum" in shape else None
        secret = self.secret(name)
        _, pattern_rule, enum_rule = rule_texts(shape)
        if name in PRINTED_SET_OF:  # AWS prints another shape's set here (enum_orders.py)
            enum_rule = rule_texts(self.shapes[PRINTED_SET_OF[name]])[2]

        def check(v: Any, path: str, errs: list[str]) -> Any:
            if type(v) is not str:
                raise type_error("string", v)
            if (
                not lo <= len(v) <= hi
                or (pattern is not None and pattern.fullmatch(v) is None)
                or (enum is not None and v not in enum)
            ):
                # slow path: say which rules failed, one item each
                errs.extend(bounds_errors(shape, len(v), v, secret, path))
                if pattern is not None and pattern.fullmatch(v) is None:
                    errs.append(error_item(v, secret, path, pattern_rule[0]))
                if enum is not None and v not in enum:
                    errs.append(error_item(v, secret, path, enum_rule[0]))
            return v

        return check

    def _blob(self, name: str, shape: dict[str, Any]) -> Check:
        lo, hi = shape.get("min", 0), shape.get("max", math.inf)
        a2b = wire_base64.decode_strict

        def check(v: Any, path: str, errs: list[str]) -> Any:
            if type(v) is not str:
                raise type_error("blob", v)
            try:
                # spec §1.1: standard base64; strict = alphabet and padding enforced
                data = a2b(v)
            except ValueError:
                raise errors.SerializationError("Base64 encoded value is not valid.") from None
            if not lo <= len(data) <= hi:
                errs.extend(bounds_errors(shape, len(data), None, True, path))
            return data

        return check

    def _integer(self, name: str, shape: dict[str, Any]) -> Check:
        shape_type = shape["type"]
        java_lo, java_hi = INT_RANGES[shape_type]
        lo, hi = shape.get("min", java_lo), shape.get("max", java_hi)
        secret = self.secret(name)

        def check(v: Any, path: str, errs: list[str]) -> Any:
            if type(v) is not int:
                if type(v) is float and v.is_integer():
                    v = int(v)
                else:
                    raise type_error(shape_type, v)
            if not java_lo <= v <= java_hi:
                raise errors.SerializationError(f"NUMBER_VALUE is out of range for {EXPECTED[shape_type]}")
            if not lo <= v <= hi:
                errs.extend(bounds_errors(shape, v, v, secret, path))
            return v

        return check

    _long = _integer

    def _boolean(self, name: str, shape: dict[str, Any]) -> Check:
        def check(v: Any, path: str, errs: list[str]) -> Any:
            if type(v) is not bool:
                raise type_error("boolean", v)
            return v

        return check

    def _timestamp(self, name: str, shape: dict[str, Any]) -> Check:
        def check(v: Any, path: str, errs: list[str]) -> Any:
            # spec §1.1: epoch seconds as a JSON number, possibly fractional
            if type(v) is int or type(v) is float:
                try:
                    seconds = float(v)
                except OverflowError:
                    seconds = math.inf
                if math.isfinite(seconds):
                    return seconds
                raise errors.SerializationError("NUMBER_VALUE is out of range for a Timestamp")
            raise type_error("timestamp", v)

        return check

    # containers ------------------------------------------------------------------------------

    def _structure(self, name: str, shape: dict[str, Any]) -> Check:
        required = frozenset(shape.get("required", ()))
        members = tuple(
            (member, model.lower_camel(member), self.check(spec["shape"]), member in required)
            for member, spec in shape.get("members", {}).items()
        )

        def check(v: Any, path: str, errs: list[str]) -> Any:
            if type(v) is not dict:
                raise type_error("structure", v)
            out = {}
            get = v.get
            for member, lname, member_check, is_required in members:
                value = get(member)
                if value is None:  # absent and JSON null are the same to AWS
                    if is_required:
                        errs.append(null_error_item(f"{path}.{lname}" if path else lname))
                    continue
                out[member] = member_check(value, f"{path}.{lname}" if path else lname, errs)
            return out

        return check

    def _list(self, name: str, shape: dict[str, Any]) -> Check:
        member_name = shape["member"]["shape"]
        member_shape = self.shapes[member_name]
        member_check = self.check(member_name)
        lo, hi = shape.get("min", 0), shape.get("max", math.inf)
        secret = self.secret(name)
        aggregate = aggregate_rule("Member must satisfy constraint", member_shape)

        def check(v: Any, path: str, errs: list[str]) -> Any:
            if type(v) is not list:
                raise type_error("list", v)
            if not lo <= len(v) <= hi:
                errs.extend(bounds_errors(shape, len(v), v, secret, path))
            if aggregate is None:
                return [member_check(x, f"{path}.{i}.member", errs) for i, x in enumerate(v, 1)]
            sub: list[str] = []
            out = [member_check(x, path, sub) for x in v]
            if sub:
                errs.append(error_item(v, secret, path, aggregate))
            return out

        return check

    def _map(self, name: str, shape: dict[str, Any]) -> Check:
        key_shape = self.shapes[shape["key"]["shape"]]
        value_shape = self.shapes[shape["value"]["shape"]]
        key_check = self.check(shape["key"]["shape"])
        value_check = self.check(shape["value"]["shape"])
        lo, hi = shape.get("min", 0), shape.get("max", math.inf)
        secret = self.secret(name)
        key_rule = aggregate_rule("Map keys must satisfy constraint", key_shape)
        value_rule = aggregate_rule("Map value must satisfy constraint", value_shape)
        plain_strings = (
            key_rule is None
            and value_rule is None
            and key_shape["type"] == "string"
            and value_shape["type"] == "string"
            and not value_shape.get("sensitive")
        )

        def check(v: Any, path: str, errs: list[str]) -> Any:
            if type(v) is not dict:
                raise type_error("map", v)
            if not lo <= len(v) <= hi:
                errs.extend(bounds_errors(shape, len(v), v, secret, path))
            if plain_strings:  # the EncryptionContext fast path: JSON keys are str already
                for x in v.values():
                    if type(x) is not str:
                        raise type_error("string", x)
                return v
            key_errs: list[str] = []
            value_errs: list[str] = []
            out = {
                key_check(k, path, key_errs): value_check(
                    x, path if value_rule is not None else f"{path}.{k}", value_errs
                )
                for k, x in v.items()
            }
            if key_errs:
                errs.append(error_item(v, secret, path, key_rule or "Map keys must satisfy constraint"))
            if value_errs:
                if value_rule is None:  # structured values report their own paths
                    errs.extend(value_errs)
                else:
                    errs.append(error_item(v, secret, path, value_rule))
            return out

        return check


def _children(shape: dict[str, Any]) -> list[str]:
    if shape["type"] == "structure":
        return [spec["shape"] for spec in shape.get("members", {}).values()]
    if shape["type"] == "list":
        return [shape["member"]["shape"]]
    if shape["type"] == "map":
        return [shape["key"]["shape"], shape["value"]["shape"]]
    return []


_compiler: ShapeCompiler | None = None


def shared_compiler() -> ShapeCompiler:
    """The one compiler over the installed model; validators and audit redactors share
    its per-shape memo."""
    global _compiler
    if _compiler is None:
        _compiler = ShapeCompiler(model.shapes())
    return _compiler
