"""How validation classifies the model's shapes: scalar or not, the Java integer ranges,
and which shapes are never shown (spec §1.7 messages, §11 audit; habits §7).

Blob and ``sensitive`` shapes, and grant tokens, never appear in a validation message
or an audit record.
"""

from __future__ import annotations

from typing import Any

SCALARS = frozenset({"string", "blob", "integer", "long", "boolean", "timestamp"})
#: Java's ranges for the model's ``integer`` and ``long`` (a wider JSON number is a
#: SerializationError; their ``min``/``max`` are reported as "value", not "length").
INT_RANGES = {"integer": (-(2**31), 2**31 - 1), "long": (-(2**63), 2**63 - 1)}
# Shapes the model does not mark sensitive that must never be shown either: a grant token
# makes its grant effective for whoever holds it, and CloudTrail never shows one (spec §8).
HIDDEN_SHAPES = frozenset({"GrantTokenType"})


def is_hidden(name: str, shape: dict[str, Any]) -> bool:
    """Never echo a value of this shape (validation messages, audit parameters)."""
    return shape["type"] == "blob" or bool(shape.get("sensitive")) or name in HIDDEN_SHAPES
