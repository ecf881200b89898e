"""Draw values from several threads started together: the pooled randomness tests (ids,
salts, nonces) check that no two threads are ever handed the same bytes."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def draws_from_threads(draw: Callable[[], T], *, threads: int = 4, each: int = 1000) -> list[T]:
    """``each`` results of ``draw`` from each of ``threads`` threads released by one barrier."""
    seen: list[list[T]] = [[] for _ in range(threads)]
    start = threading.Barrier(threads)

    def work(out: list[T]) -> None:
        start.wait()
        out.extend(draw() for _ in range(each))

    workers = [threading.Thread(target=work, args=(out,)) for out in seen]
    for t in workers:
        t.start()
    for t in workers:
        t.join()
    return [v for out in seen for v in out]
