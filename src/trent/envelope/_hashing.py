"""Message hashing for the signed suites, inline or on a second thread.

The signed suites hash every message byte before the footer (client-wire-formats.md §4.1
"Footer"). Callers pass ~1 MiB views. ``hashlib`` releases the GIL for buffers over 2 KiB, so
:class:`ThreadedHasher` lets encryption and hashing run on two cores; ``slot`` names the
buffer a view belongs to, and ``wait(slot)`` must be called before that buffer is rewritten
(the engine double-buffers).
"""

from __future__ import annotations

import hashlib
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

from .suites import AlgorithmSuite


class Hasher:
    """Hashes in the calling thread. ``slot`` lets the threaded variant double-buffer."""

    def __init__(self, name: str) -> None:
        self.h = hashlib.new(name)

    def update(self, slot: int, view: memoryview) -> None:
        self.h.update(view)

    def wait(self, slot: int) -> None:
        pass

    def digest(self) -> bytes:
        return self.h.digest()

    def close(self) -> None:
        pass


class ThreadedHasher(Hasher):
    """Hashes on one worker thread; ``wait(slot)`` before a slot's buffer is rewritten."""

    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="trent-hash")
        self.pending: dict[int, Future[Any]] = {}

    def update(self, slot: int, view: memoryview) -> None:
        self.wait(slot)
        self.pending[slot] = self.pool.submit(self.h.update, view)

    def wait(self, slot: int) -> None:
        f = self.pending.pop(slot, None)
        if f is not None:
            f.result()

    def digest(self) -> bytes:
        for slot in list(self.pending):
            self.wait(slot)
        return self.h.digest()

    def close(self) -> None:
        for slot in list(self.pending):
            try:
                self.wait(slot)
            except Exception:  # noqa: BLE001 - closing after an error; nothing to report
                pass
        self.pool.shutdown(wait=True)


def make_hasher(suite: AlgorithmSuite, threads: int) -> Hasher | None:
    if suite.sig_hash is None:
        return None
    return ThreadedHasher(suite.sig_hash) if threads > 1 else Hasher(suite.sig_hash)

