#!/usr/bin/env python3
"""What the per-connection request order (``server/pipeline_order.py``) costs per request.

A loop microbenchmark, no server: each iteration is one request's life in its
connection's order as ``server/http11.py`` drives it — ``admit`` (it starts at once),
``finished`` (its response is ready), ``pop_head`` and ``head_turn`` (its response was
written) — against the bare deque ``append`` / ``popleft`` the response queue cost before.
The start callable takes five arguments, as http11's ``dispatch``. Reported: nanoseconds per request, the median of ``--runs``, for a closed loop
(one request in flight per connection, what boto3 and wrk do) and for pipelined unsafe
requests (each waits for the one before and starts on a loop pass of its own).

    PYTHONPATH=$PWD/src .venv/bin/python bench/pipeline_order.py --requests 200000 --runs 7
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections import deque
from collections.abc import Callable

from trent.server.pipeline_order import SAFE_METHODS, PipelineOrder, ReadHold, Ticket


class Slot(Ticket):
    __slots__ = ("keep_alive", "data", "stream")

    def __init__(self, keep_alive: bool, unsafe: bool) -> None:  # as http11._Slot
        self.unsafe = unsafe
        self._state = 0
        self._start = None
        self._on_head = None
        self.keep_alive = keep_alive
        self.data: bytes | None = None
        self.stream = None


class OldSlot:
    __slots__ = ("keep_alive", "data", "stream")

    def __init__(self, keep_alive: bool) -> None:
        self.keep_alive = keep_alive
        self.data: bytes | None = None
        self.stream = None


def dispatch(conn: object, slot: object, method: str, url: bytes, body: bytes) -> None:
    pass


def baseline(n: int) -> float:
    """Before: a slot appended at parse time, dispatched directly, popped when written."""
    queue: deque[OldSlot] = deque()
    t0 = time.perf_counter()
    for _ in range(n):
        slot = OldSlot(True)
        queue.append(slot)
        dispatch(None, slot, "POST", b"/", b"{}")
        slot.data = b"x"
        queue.popleft()
    return (time.perf_counter() - t0) / n * 1e9


def ordered(n: int, method: bytes = b"POST") -> float:
    """After: the same request through the order (starts at once: nothing before it)."""
    deferred: list[Callable[[], None]] = []
    order: PipelineOrder[Slot] = PipelineOrder(deferred.append, ReadHold(lambda: None, lambda: None))
    t0 = time.perf_counter()
    for _ in range(n):
        slot = Slot(True, method not in SAFE_METHODS)
        order.admit(slot, dispatch, None, slot, "POST", b"/", b"{}")
        slot.data = b"x"
        order.finished(slot)
        order.pop_head()
        if order.queue:
            order.head_turn()
    assert not deferred
    return (time.perf_counter() - t0) / n * 1e9


def pipelined(n: int) -> float:
    """``n`` POSTs read at once on one connection: each waits for the one before it."""
    deferred: list[Callable[[], None]] = []
    order: PipelineOrder[Slot] = PipelineOrder(deferred.append, ReadHold(lambda: None, lambda: None), limit=n + 1)
    slots = [Slot(True, True) for _ in range(n)]
    t0 = time.perf_counter()
    for slot in slots:
        order.admit(slot, dispatch, None, slot, "POST", b"/", b"{}")
    for slot in slots:
        slot.data = b"x"
        order.finished(slot)
        order.pop_head()
        order.head_turn()
        while deferred:  # the next loop pass
            deferred.pop()()
    return (time.perf_counter() - t0) / n * 1e9


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--requests", type=int, default=200_000)
    ap.add_argument("--runs", type=int, default=7)
    args = ap.parse_args()
    cases: list[tuple[str, Callable[[int], float]]] = [
        ("before: deque only", baseline), ("after: POST, closed loop", ordered),
        ("after: GET, closed loop", lambda n: ordered(n, b"GET")), ("after: POSTs pipelined", pipelined),
    ]
    results = {name: [fn(args.requests) for _ in range(args.runs)] for name, fn in cases}
    base = statistics.median(results[cases[0][0]])
    for name, values in results.items():
        median = statistics.median(values)
        print(f"{name:28} {median:7.0f} ns/request  (+{median - base:5.0f} ns over before; n={args.runs})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
