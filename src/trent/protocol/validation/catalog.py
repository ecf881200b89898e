"""The model's operations as validation sees them: which exist, their input shape, and
the errors each declares (spec §1.1; habits §4).

An operation the model does not have is :class:`errors.UnknownOperation` (spec §1.5).
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from trent import errors
from trent.protocol import model


def operation_model(operation_name: str) -> dict[str, Any]:
    op = model.operations().get(operation_name)
    if op is None:
        raise errors.UnknownOperation()
    return op  # type: ignore[no-any-return]


@lru_cache(maxsize=1)
def operation_names() -> frozenset[str]:
    """Every operation in the model (cached: the router asks on every request)."""
    return frozenset(model.operations())


@lru_cache(maxsize=None)
def declared_errors(operation_name: str) -> frozenset[str]:
    """The error shape names the model lists for the operation (habits §4 check)."""
    return frozenset(e["shape"] for e in operation_model(operation_name).get("errors", ()))
