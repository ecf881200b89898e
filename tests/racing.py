"""Run a function on N threads released at the same instant (tests of rules that must
hold under racing requests)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any


def race(n: int, fn: Callable[[int], Any]) -> list[Any]:
    """``fn(i)`` for i in 0..n-1 at once; each result, or the exception it raised."""
    barrier = threading.Barrier(n)
    out: list[Any] = [None] * n

    def run(i: int) -> None:
        barrier.wait()
        try:
            out[i] = fn(i)
        except Exception as exc:  # noqa: BLE001 - the outcome is what tests check
            out[i] = exc

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return out
