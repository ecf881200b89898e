"""The wording of validation failures: AWS's ValidationException template and the Coral
front end's SerializationException texts (spec §1.7, §1.5).

Choices the spec leaves open (pinned by tests):

* Lists of *scalars* and maps report one item at the container's path the way Coral
  does: ``Member must satisfy constraint: [<rules>]``, ``Map keys must satisfy
  constraint: [<rules>]``, ``Map value must satisfy constraint: [<rules>]``, listing all
  of the element shape's rules (max length, min length, pattern, enum). (KMS's only
  input map, EncryptionContext, has no key/value constraints.)
* Blob and ``sensitive`` members — and containers holding one — never show a value:
  ``Value at 'plaintext' failed to satisfy constraint: …`` (habits §7).
* Shown values are Java-style renderings (``[a, b]``, ``{k=v}``, ``true``) of the **whole**
  value, never truncated: AWS echoes a 257-character tag value in full (issue 19). The
  request body bound (server) keeps them finite.
* Enum sets are printed in AWS's order where it is recorded (``enum_orders.py``), else in
  the model's order (spec §1.7).
"""

from __future__ import annotations

from typing import Any

from trent import errors
from trent.protocol.validation.enum_orders import aws_order
from trent.protocol.validation.shape_kinds import INT_RANGES, SCALARS

EXPECTED = {
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


def type_error(shape_type: str, value: Any) -> errors.SerializationError:
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
    return errors.SerializationError(f"{kind} can not be converted to {EXPECTED[shape_type]}")


def _render(value: Any, depth: int = 0) -> str:
    """Java ``toString``-like rendering of the whole value."""
    if isinstance(value, str):
        return value
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return str(value)
    if depth > 16:
        return "..."
    if isinstance(value, list):
        return "[" + ", ".join(_render(item, depth + 1) for item in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}={_render(item, depth + 1)}" for k, item in value.items()) + "}"
    return str(value)


def error_item(value: Any, secret: bool, path: str, rule: str) -> str:
    if secret:
        return f"Value at '{path}' failed to satisfy constraint: {rule}"
    return f"Value '{_render(value)}' at '{path}' failed to satisfy constraint: {rule}"


def null_error_item(path: str) -> str:
    return f"Value null at '{path}' failed to satisfy constraint: Member must not be null"


def format_validation_errors(items: list[str]) -> str:
    """Spec §1.7 header + items joined by ``; ``."""
    n = len(items)
    noun = "error" if n == 1 else "errors"
    return f"{n} validation {noun} detected: " + "; ".join(items)


def rule_texts(shape: dict[str, Any]) -> tuple[list[str], list[str], list[str]]:
    """(min/max rules, pattern rules, enum rules) of one shape, as AWS words them."""
    what = "value" if shape["type"] in INT_RANGES else "length"
    bounds = []
    if "max" in shape:
        bounds.append(f"Member must have {what} less than or equal to {shape['max']}")
    if "min" in shape:
        bounds.append(f"Member must have {what} greater than or equal to {shape['min']}")
    pattern = [f"Member must satisfy regular expression pattern: {shape['pattern']}"] if "pattern" in shape else []
    enum = [f"Member must satisfy enum value set: [{', '.join(aws_order(shape['enum']))}]"] if "enum" in shape else []
    return bounds, pattern, enum


def bounds_errors(shape: dict[str, Any], size: float, value: Any, secret: bool, path: str) -> list[str]:
    what = "value" if shape["type"] in INT_RANGES else "length"
    if "min" in shape and size < shape["min"]:
        return [error_item(value, secret, path, f"Member must have {what} greater than or equal to {shape['min']}")]
    if "max" in shape and size > shape["max"]:
        return [error_item(value, secret, path, f"Member must have {what} less than or equal to {shape['max']}")]
    return []


def aggregate_rule(prefix: str, element: dict[str, Any]) -> str | None:
    """Coral reports constrained scalar elements of lists/maps once, at the container."""
    if element["type"] not in SCALARS:
        return None
    bounds, pattern, enum = rule_texts(element)
    rules = bounds + pattern + enum
    return f"{prefix}: [{', '.join(rules)}]" if rules else None
