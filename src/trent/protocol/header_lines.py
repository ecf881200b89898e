"""Header lines as the servers hand them over: ``(lowercase name, raw value)`` byte pairs."""

from __future__ import annotations

from collections.abc import Sequence


def header_value(headers: Sequence[tuple[bytes, bytes]], name: bytes) -> str | None:
    """The first ``name`` line's value (latin-1, as HTTP/1.1 carries it), or None."""
    for key, value in headers:
        if key == name:
            return value.decode("latin-1")
    return None
