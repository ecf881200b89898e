"""Per-frame views of lent buffer regions, made once per (buffer, offset).

The file path lends the engine regions of its I/O buffers: the reader's read-ahead buffers
(``DirectReader.borrow``) and the writer's O_DIRECT buffers (``DirectWriter.reserve``, see
_sink.py). The engine needs one ``memoryview`` per frame of such a region (the argument of
``AESGCM.encrypt_into``/``decrypt_into``); slicing them per chunk made one new view per
frame per direction, ~75 ns each — ~20 ms per 512 MiB of 4 KiB frames, 5 % of a 0x0478
encrypt — and fed the cyclic garbage collector. But the buffers are few and reused, and a
region's offset within its buffer repeats with a short period (the encrypt input's chunks
start at 0 and 1 MiB of a 2 MiB buffer; the writer's at a handful of sub-block offsets), so
the views are cached per (buffer, offset). A key whose views are unknown (a new offset) is
built once; the cache is bounded and simply starts over when full.
"""

from __future__ import annotations

#: distinct (buffer, offset) pairs kept; the file path's steady state needs about a dozen
MAX_REGIONS = 64


class FrameViews:
    """``at(base, off)``: the views ``base[off + s.start : off + s.stop]`` for each slice."""

    def __init__(self, slices: list[slice]) -> None:
        self.bounds = [(s.start, s.stop) for s in slices]
        # (id(base), off) -> (base, views); holding ``base`` keeps its id from being reused
        self.cache: dict[tuple[int, int], tuple[memoryview, list[memoryview]]] = {}

    def at(self, base: memoryview, off: int) -> list[memoryview]:
        hit = self.cache.get((id(base), off))
        if hit is not None and hit[0] is base:
            return hit[1]
        if len(self.cache) >= MAX_REGIONS:
            self.cache.clear()
        views = [base[off + a : off + b] for a, b in self.bounds]
        self.cache[(id(base), off)] = (base, views)
        return views
