"""Markers for lists the service pages itself (tags: at most 50 per key)."""

from __future__ import annotations

import base64
from collections.abc import Sequence
from typing import TypeVar

from trent.errors import InvalidMarker
from trent.storage.repositories import Page

T = TypeVar("T")
_PREFIX = b"trent-offset:"


def paginate_list(items: Sequence[T], limit: int, marker: str | None) -> Page[T]:
    start = 0
    if marker is not None:
        try:
            raw = base64.urlsafe_b64decode(marker.encode())
            if not raw.startswith(_PREFIX):
                raise ValueError
            start = int(raw[len(_PREFIX) :])
            if start < 0 or start > len(items):
                raise ValueError
        except (ValueError, TypeError):
            raise InvalidMarker() from None
    end = start + limit
    next_marker = base64.urlsafe_b64encode(_PREFIX + str(end).encode()).decode() if end < len(items) else None
    return Page(list(items[start:end]), next_marker)
