"""An in-memory ObjectStore for the S3 use-case tests only (habits §9: a fake for unit
tests of other layers). Atomic like the real adapters: a put whose chunks raise leaves
nothing."""

from __future__ import annotations

import threading
from collections.abc import Iterable, Iterator


class MemoryObjectStore:
    def __init__(self) -> None:
        self.blobs: dict[str, bytes] = {}
        self.reads: list[tuple[str, int, int]] = []
        self._lock = threading.Lock()

    def put(self, name: str, chunks: Iterable[bytes]) -> int:
        data = b"".join(bytes(c) for c in chunks)  # raises before anything is stored
        with self._lock:
            self.blobs[name] = data
        return len(data)

    def get(self, name: str, start: int, end: int) -> Iterator[bytes]:
        self.reads.append((name, start, end))
        data = self.blobs[name]
        for offset in range(start, min(end, len(data)), 50_000):
            yield data[offset : min(offset + 50_000, end)]

    def delete(self, name: str) -> None:
        with self._lock:
            self.blobs.pop(name, None)

    def names(self) -> Iterator[str]:
        return iter(list(self.blobs))
