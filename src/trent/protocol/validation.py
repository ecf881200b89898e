"""Request validation compiled from the botocore KMS service model (spec §1.1, §1.7).

Nothing here is written per field: every operation's input shape is compiled, once and
on first use, into a tree of closures that check JSON types, ``required``, ``min``/``max``
(string characters, decoded blob bytes, list/map entries, number values), ``enum`` and
``pattern``, and return the decoded request (blobs -> ``bytes``, timestamps -> ``float``).
Unknown members are ignored, as AWS does, and dropped from the result.

Two failure kinds, in AWS's order (the front end deserializes before it validates):

* :class:`errors.SerializationError` — a JSON value of the wrong type, invalid base64,
  a number out of its Java range, a JSON ``null`` inside a list or map (KMS lists and
  maps are dense), or a body that is not a JSON object. Raised at the first such value.
  Messages imitate the Coral front end's terse wording (e.g. ``Start of structure or map
  found where not expected.``, ``STRING_VALUE can not be converted to an Integer``) and
  never contain the offending value.
* :class:`errors.ValidationError` — constraint violations, *all* of them collected, in
  model member order, formatted with AWS's template (spec §1.7)::

      1 validation error detected: Value '<value>' at '<path>' failed to satisfy constraint: Member must <rule>
      N validation errors detected: <item>; <item>

Choices the spec leaves open (pinned by tests):

* Paths: lowerCamelCase member names joined by ``.``; list elements of structure type
  ``tags.1.member.tagKey`` (1-based). Lists of *scalars* and maps report one item at the
  container's path the way Coral does: ``Member must satisfy constraint: [<rules>]``,
  ``Map keys must satisfy constraint: [<rules>]``, ``Map value must satisfy constraint:
  [<rules>]``, listing all of the element shape's rules (max length, min length, pattern,
  enum). (KMS's only input map, EncryptionContext, has no key/value constraints.)
* Blob and ``sensitive`` members — and containers holding one — never show a value:
  ``Value at 'plaintext' failed to satisfy constraint: …`` (habits §7).
* Shown values are Java-style renderings (``[a, b]``, ``{k=v}``, ``true``) truncated to
  :data:`MAX_SHOWN_CHARS` characters plus ``...``.
* String length counts Unicode code points. Integers accept a JSON number with an
  integral value (``5.0``); fractional numbers are SerializationError. A JSON ``null``
  member is treated as absent.
* Enum sets are printed in model order (AWS prints an internal hash order; clients do not
  parse it, spec §1.7).
* Patterns are the model's Java regexes, compiled once with ``re.ASCII`` (Java's ``\\w``,
  ``\\s``, ``\\d`` are ASCII) and applied with ``fullmatch`` (Java ``matches()``).
"""

from __future__ import annotations

import binascii
import math
import re
from collections.abc import Callable
from functools import lru_cache
from typing import Any

from trent import errors
from trent.protocol import model

#: Longest rendering of a value echoed in a validation message.
MAX_SHOWN_CHARS = 256

Check = Callable[[Any, str, list[str]], Any]
Redact = Callable[[Any], Any]

_INT_RANGES = {"integer": (-(2**31), 2**31 - 1), "long": (-(2**63), 2**63 - 1)}
_EXPECTED = {
    "string": "a String",
    "blob": "a Blob",
    "integer": "an Integer",
    "long": "a Long",
    "boolean": "a Boolean",
    "timestamp": "a Timestamp",
    "list": "a List",
    "map": "a Map",
    "structure": "a Structure",
}
_SCALARS = frozenset({"string", "blob", "integer", "long", "boolean", "timestamp"})
_OMIT = object()  # redactor result: leave this member out of the audit record
# Shapes the model does not mark sensitive that must never be shown either: a grant token
# makes its grant effective for whoever holds it, and CloudTrail never shows one (spec §8).
_HIDDEN_SHAPES = frozenset({"GrantTokenType"})


def _hidden(name: str, shape: dict[str, Any]) -> bool:
    """Never echo a value of this shape (validation messages, audit parameters)."""
    return shape["type"] == "blob" or bool(shape.get("sensitive")) or name in _HIDDEN_SHAPES


# --- messages -------------------------------------------------------------------------------


def _type_error(shape_type: str, value: Any) -> errors.SerializationError:
    """Coral-style deserialization error; deliberately never includes the value."""
    if isinstance(value, dict):
        return errors.SerializationError("Start of structure or map found where not expected.")
    if isinstance(value, list):
        return errors.SerializationError("Start of list found where not expected.")
    if value is None:
        kind = "null"
    elif isinstance(value, bool):
        kind = "BOOLEAN_VALUE"
    elif isinstance(value, (int, float)):
        kind = "NUMBER_VALUE"
    else:
        kind = "STRING_VALUE"
    return errors.SerializationError(f"{kind} can not be converted to {_EXPECTED[shape_type]}")


def _render(value: Any, budget: int = MAX_SHOWN_CHARS + 1, depth: int = 0) -> str:
    """Java ``toString``-like rendering, stopping early once ``budget`` chars are produced."""
    if isinstance(value, str):
        return value[:budget]
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return str(value)[:budget]
    if depth > 16:
        return "..."
    if isinstance(value, list):
        parts, used = [], 1
        for item in value:
            if used > budget:
                break
            part = _render(item, budget - used, depth + 1)
            parts.append(part)
            used += len(part) + 2
        return ("[" + ", ".join(parts) + "]")[:budget]
    if isinstance(value, dict):
        parts, used = [], 1
        for k, item in value.items():
            if used > budget:
                break
            part = f"{k}={_render(item, budget - used, depth + 1)}"
            parts.append(part)
            used += len(part) + 2
        return ("{" + ", ".join(parts) + "}")[:budget]
    return str(value)[:budget]


def _shown(value: Any) -> str:
    text = _render(value)
    return text if len(text) <= MAX_SHOWN_CHARS else text[:MAX_SHOWN_CHARS] + "..."


def _item(value: Any, secret: bool, path: str, rule: str) -> str:
    if secret:
        return f"Value at '{path}' failed to satisfy constraint: {rule}"
    return f"Value '{_shown(value)}' at '{path}' failed to satisfy constraint: {rule}"


def _null_item(path: str) -> str:
    return f"Value null at '{path}' failed to satisfy constraint: Member must not be null"


def format_validation_errors(items: list[str]) -> str:
    """Spec §1.7 header + items joined by ``; ``."""
    n = len(items)
    noun = "error" if n == 1 else "errors"
    return f"{n} validation {noun} detected: " + "; ".join(items)


def _rule_texts(shape: dict[str, Any]) -> tuple[list[str], list[str], list[str]]:
    """(min/max rules, pattern rules, enum rules) of one shape, as AWS words them."""
    what = "value" if shape["type"] in _INT_RANGES else "length"
    bounds = []
    if "max" in shape:
        bounds.append(f"Member must have {what} less than or equal to {shape['max']}")
    if "min" in shape:
        bounds.append(f"Member must have {what} greater than or equal to {shape['min']}")
    pattern = [f"Member must satisfy regular expression pattern: {shape['pattern']}"] if "pattern" in shape else []
    enum = [f"Member must satisfy enum value set: [{', '.join(shape['enum'])}]"] if "enum" in shape else []
    return bounds, pattern, enum


def _bounds_errors(shape: dict[str, Any], size: float, value: Any, secret: bool, path: str) -> list[str]:
    what = "value" if shape["type"] in _INT_RANGES else "length"
    if "min" in shape and size < shape["min"]:
        return [_item(value, secret, path, f"Member must have {what} greater than or equal to {shape['min']}")]
    if "max" in shape and size > shape["max"]:
        return [_item(value, secret, path, f"Member must have {what} less than or equal to {shape['max']}")]
    return []


# --- the compiler -------------------------------------------------------------------------------


class _Compiler:
    """Turns model shapes into checking closures (memoized per shape name)."""

    def __init__(self, shapes: dict[str, Any]) -> None:
        self._shapes = shapes
        self._checks: dict[str, Check] = {}
        self._secret: dict[str, bool] = {}

    def secret(self, name: str, _seen: frozenset[str] = frozenset()) -> bool:
        """True if the shape is a blob or sensitive, or contains one (so: never echo it)."""
        if name in self._secret:
            return self._secret[name]
        shape = self._shapes[name]
        result = _hidden(name, shape)
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
        shape = self._shapes[name]
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
        _, pattern_rule, enum_rule = _rule_texts(shape)

        def check(v: Any, path: str, errs: list[str]) -> Any:
            if type(v) is not str:
                raise _type_error("string", v)
            if (
                not lo <= len(v) <= hi
                or (pattern is not None and pattern.fullmatch(v) is None)
                or (enum is not None and v not in enum)
            ):
                # slow path: say which rules failed, one item each
                errs.extend(_bounds_errors(shape, len(v), v, secret, path))
                if pattern is not None and pattern.fullmatch(v) is None:
                    errs.append(_item(v, secret, path, pattern_rule[0]))
                if enum is not None and v not in enum:
                    errs.append(_item(v, secret, path, enum_rule[0]))
            return v

        return check

    def _blob(self, name: str, shape: dict[str, Any]) -> Check:
        lo, hi = shape.get("min", 0), shape.get("max", math.inf)
        a2b = binascii.a2b_base64

        def check(v: Any, path: str, errs: list[str]) -> Any:
            if type(v) is not str:
                raise _type_error("blob", v)
            try:
                # spec §1.1: standard base64; strict = alphabet and padding enforced
                data = a2b(v, strict_mode=True)
            except ValueError:
                raise errors.SerializationError("Base64 encoded value is not valid.") from None
            if not lo <= len(data) <= hi:
                errs.extend(_bounds_errors(shape, len(data), None, True, path))
            return data

        return check

    def _integer(self, name: str, shape: dict[str, Any]) -> Check:
        shape_type = shape["type"]
        java_lo, java_hi = _INT_RANGES[shape_type]
        lo, hi = shape.get("min", java_lo), shape.get("max", java_hi)
        secret = self.secret(name)

        def check(v: Any, path: str, errs: list[str]) -> Any:
            if type(v) is not int:
                if type(v) is float and v.is_integer():
                    v = int(v)
                else:
                    raise _type_error(shape_type, v)
            if not java_lo <= v <= java_hi:
                raise errors.SerializationError(f"NUMBER_VALUE is out of range for {_EXPECTED[shape_type]}")
            if not lo <= v <= hi:
                errs.extend(_bounds_errors(shape, v, v, secret, path))
            return v

        return check

    _long = _integer

    def _boolean(self, name: str, shape: dict[str, Any]) -> Check:
        def check(v: Any, path: str, errs: list[str]) -> Any:
            if type(v) is not bool:
                raise _type_error("boolean", v)
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
            raise _type_error("timestamp", v)

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
                raise _type_error("structure", v)
            out = {}
            get = v.get
            for member, lname, member_check, is_required in members:
                value = get(member)
                if value is None:  # absent and JSON null are the same to AWS
                    if is_required:
                        errs.append(_null_item(f"{path}.{lname}" if path else lname))
                    continue
                out[member] = member_check(value, f"{path}.{lname}" if path else lname, errs)
            return out

        return check

    def _list(self, name: str, shape: dict[str, Any]) -> Check:
        member_name = shape["member"]["shape"]
        member_shape = self._shapes[member_name]
        member_check = self.check(member_name)
        lo, hi = shape.get("min", 0), shape.get("max", math.inf)
        secret = self.secret(name)
        aggregate = _aggregate_rule("Member must satisfy constraint", member_shape)

        def check(v: Any, path: str, errs: list[str]) -> Any:
            if type(v) is not list:
                raise _type_error("list", v)
            if not lo <= len(v) <= hi:
                errs.extend(_bounds_errors(shape, len(v), v, secret, path))
            if aggregate is None:
                return [member_check(x, f"{path}.{i}.member", errs) for i, x in enumerate(v, 1)]
            sub: list[str] = []
            out = [member_check(x, path, sub) for x in v]
            if sub:
                errs.append(_item(v, secret, path, aggregate))
            return out

        return check

    def _map(self, name: str, shape: dict[str, Any]) -> Check:
        key_shape = self._shapes[shape["key"]["shape"]]
        value_shape = self._shapes[shape["value"]["shape"]]
        key_check = self.check(shape["key"]["shape"])
        value_check = self.check(shape["value"]["shape"])
        lo, hi = shape.get("min", 0), shape.get("max", math.inf)
        secret = self.secret(name)
        key_rule = _aggregate_rule("Map keys must satisfy constraint", key_shape)
        value_rule = _aggregate_rule("Map value must satisfy constraint", value_shape)
        plain_strings = (
            key_rule is None
            and value_rule is None
            and key_shape["type"] == "string"
            and value_shape["type"] == "string"
            and not value_shape.get("sensitive")
        )

        def check(v: Any, path: str, errs: list[str]) -> Any:
            if type(v) is not dict:
                raise _type_error("map", v)
            if not lo <= len(v) <= hi:
                errs.extend(_bounds_errors(shape, len(v), v, secret, path))
            if plain_strings:  # the EncryptionContext fast path: JSON keys are str already
                for x in v.values():
                    if type(x) is not str:
                        raise _type_error("string", x)
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
                errs.append(_item(v, secret, path, key_rule or "Map keys must satisfy constraint"))
            if value_errs:
                if value_rule is None:  # structured values report their own paths
                    errs.extend(value_errs)
                else:
                    errs.append(_item(v, secret, path, value_rule))
            return out

        return check

    # audit redaction -----------------------------------------------------------------------

    def redactor(self, name: str, _seen: frozenset[str] = frozenset()) -> Redact | None:
        """Raw JSON -> lowerCamelCase copy without blob/sensitive members; None = omit."""
        shape = self._shapes[name]
        if _hidden(name, shape):
            return None
        if shape["type"] in _SCALARS or name in _seen:
            return _identity
        seen = _seen | {name}
        clean = not self.secret(name)
        if shape["type"] == "structure":
            members = tuple(
                (member, model.lower_camel(member), self.redactor(spec["shape"], seen))
                for member, spec in shape.get("members", {}).items()
            )
            return _redact_structure(members, clean)
        if shape["type"] == "list":
            element = self.redactor(shape["member"]["shape"], seen)
            return None if element is None else _redact_list(element, clean)
        key = self.redactor(shape["key"]["shape"], seen)
        value = self.redactor(shape["value"]["shape"], seen)
        return None if key is None or value is None else _redact_map(value, clean)


def _children(shape: dict[str, Any]) -> list[str]:
    if shape["type"] == "structure":
        return [spec["shape"] for spec in shape.get("members", {}).values()]
    if shape["type"] == "list":
        return [shape["member"]["shape"]]
    if shape["type"] == "map":
        return [shape["key"]["shape"], shape["value"]["shape"]]
    return []


def _aggregate_rule(prefix: str, element: dict[str, Any]) -> str | None:
    """Coral reports constrained scalar elements of lists/maps once, at the container."""
    if element["type"] not in _SCALARS:
        return None
    bounds, pattern, enum = _rule_texts(element)
    rules = bounds + pattern + enum
    return f"{prefix}: [{', '.join(rules)}]" if rules else None


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


# --- public API ---------------------------------------------------------------------------------

_compiler: _Compiler | None = None
_validators: dict[str, Check] = {}
_redactors: dict[str, Redact] = {}


def _get_compiler() -> _Compiler:
    global _compiler
    if _compiler is None:
        _compiler = _Compiler(model.shapes())
    return _compiler


def _operation(operation_name: str) -> dict[str, Any]:
    op = model.operations().get(operation_name)
    if op is None:
        raise errors.UnknownOperation()
    return op  # type: ignore[no-any-return]


def _empty_input(v: Any, path: str, errs: list[str]) -> Any:
    if type(v) is not dict:
        raise _type_error("structure", v)
    return {}


def _validator(operation_name: str) -> Check:
    check = _validators.get(operation_name)
    if check is None:
        op = _operation(operation_name)
        check = _get_compiler().check(op["input"]["shape"]) if "input" in op else _empty_input
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
        _redactor(name)


@lru_cache(maxsize=1)
def operation_names() -> frozenset[str]:
    """Every operation in the model (cached: the router asks on every request)."""
    return frozenset(model.operations())


@lru_cache(maxsize=None)
def declared_errors(operation_name: str) -> frozenset[str]:
    """The error shape names the model lists for the operation (habits §4 check)."""
    return frozenset(e["shape"] for e in _operation(operation_name).get("errors", ()))


@lru_cache(maxsize=None)
def sensitive_members(operation_name: str) -> frozenset[str]:
    """Paths of blob/sensitive members: lowerCamel names joined by ``.``, ``member`` for
    list elements and ``value`` for map values (e.g. ``recipient.attestationDocument``)."""
    op = _operation(operation_name)
    if "input" not in op:
        return frozenset()
    shapes = model.shapes()
    found: set[str] = set()

    def walk(name: str, path: str, seen: frozenset[str]) -> None:
        shape = shapes[name]
        if _hidden(name, shape):
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


def _redactor(operation_name: str) -> Redact:
    redact = _redactors.get(operation_name)
    if redact is None:
        op = _operation(operation_name)
        inner = _get_compiler().redactor(op["input"]["shape"]) if "input" in op else None
        redact = inner if inner is not None else (lambda v: {})
        _redactors[operation_name] = redact
    return redact


def audit_safe_params(operation_name: str, raw_body: Any) -> dict[str, Any]:
    """CloudTrail-style ``requestParameters`` (spec §11): lowerCamelCase member names,
    blob and sensitive members omitted at any depth, unknown members and nulls dropped.
    Works on the raw (possibly invalid) body; a non-object body gives ``{}``."""
    if type(raw_body) is not dict:
        return {}
    result = _redactor(operation_name)(raw_body)
    return result if type(result) is dict else {}
