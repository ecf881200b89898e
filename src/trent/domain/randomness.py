"""Pooled operating-system randomness for public per-request values (ids, salts, nonces).

One ``getrandom(2)`` call costs ~0.4 µs idle and 1.5-2 µs on this busy 2-core machine
(measured in the Encrypt server, issue 16); an Encrypt needs three random values (request
id, event id, salt + nonce). :func:`pooled_random` hands out slices of a per-thread
4 KiB buffer filled from ``os.urandom``: one system call per ~100 Encrypts.

Only for values that become public anyway (identifiers, HKDF salts, GCM nonces): the
buffer holds the next values in memory before they are used, which is harmless for
those and not what key material should do (it keeps calling ``os.urandom``).

Per thread, so two threads never hand out the same bytes; emptied in a forked child, so
a child never repeats its parent's bytes (``trent serve --workers N`` forks).
"""

from __future__ import annotations

import os
import threading
from typing import Any

POOL_BYTES = 4096


class _Pool(threading.local):
    def __init__(self) -> None:
        # [buffer, position]: one list, so a call reads the thread-local attribute once
        # (each thread-local attribute access is a per-thread dict lookup)
        self.state: list[Any] = [b"", 0]


_POOL = _Pool()
if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=lambda: setattr(_POOL, "state", [b"", 0]))


def pooled_random(n: int) -> bytes:
    """``n`` fresh bytes from the operating system's CSPRNG (``n`` ≤ :data:`POOL_BYTES`).
    The pool's tail that is too short for ``n`` is dropped, never reused."""
    state = _POOL.state
    buffer: bytes = state[0]
    at: int = state[1]
    end = at + n
    if end > len(buffer) or n <= 0:  # n <= 0 would move ``at`` back: bytes handed out twice
        if not 0 < n <= POOL_BYTES:
            raise ValueError("pooled_random serves 1 to 4096 bytes at a time")
        buffer, at, end = os.urandom(POOL_BYTES), 0, n
        state[0] = buffer
    state[1] = end
    return buffer[at:end]
