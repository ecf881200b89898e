"""Sinks that lend their own buffers to the engine (no staging copy).

The file path's writer (fileio.DirectWriter) stages output in page-aligned buffers for
``O_DIRECT``. Instead of the engine filling its own chunk buffer and the writer copying it
(one memcpy of every output byte — bench/ENVELOPE.md "Left for later"), the engine asks the
sink for ``reserve(n)``: room for ``n`` bytes inside the sink's current buffer, as (a view of
that whole buffer, the offset of the room in it — the engine keeps per-frame views per
(buffer, offset), _frameviews.py). It fills a prefix of the room and then calls
``sink.write(view[off:off + m])`` with a view *of that reservation*;
the sink recognises its own memory and only advances its position. Any other ``write`` is an
ordinary copying write. At most one reservation is outstanding; each ``reserve`` replaces the
previous one.

Security: the reservation is the sink's staging memory, so an engine that fails after
writing unverified plaintext into it (``decrypt_into`` writes before it checks the tag) wipes
the reservation before raising; the sink's ``abort`` zeroes its staging buffers as well.
"""

from __future__ import annotations

from typing import Protocol


class ReservingSink(Protocol):
    #: the largest ``n`` that :meth:`reserve` accepts
    max_reserve: int

    def reserve(self, n: int) -> tuple[memoryview, int]: ...

    def write(self, data: memoryview | bytes) -> int: ...


def reserving(sink: object, threads: int) -> ReservingSink | None:
    """``sink`` if it lends buffers and the engine may use them.

    Not with a hashing thread: the threaded hasher reads a chunk after it was yielded, while
    the sink may already have written that buffer out and reused it."""
    if threads > 1 or not callable(getattr(sink, "reserve", None)):
        return None
    return sink  # type: ignore[return-value]
