"""The one injected clock (habits §3).

Everything that asks "what time is it" asks a :class:`Clock`. Production uses
:class:`SystemClock`; ``--dev`` uses :class:`ControllableClock`, whose offset an admin
endpoint moves forward so test suites can watch deletion windows (and later rotation
and import expiry) run out.
"""

from __future__ import annotations

import threading
import time
from typing import Any, Protocol


class Clock(Protocol):
    def now(self) -> float:
        """Seconds since the epoch (UTC), fractional."""
        ...


class SystemClock:
    def now(self) -> float:
        return time.time()


class OffsetCell(Protocol):
    """Where a :class:`ControllableClock` keeps its offset: any object with a float
    ``value`` — a plain holder, or a ``multiprocessing.Value("d")`` that the worker
    processes of one ``trent serve --workers N`` share (issue 20), so a clock jump
    received by one worker moves every worker's clock."""

    value: float


class _Cell:
    def __init__(self, value: float) -> None:
        self.value = value


class ControllableClock:
    """Real time plus an offset that only ever grows (time never runs backwards)."""

    def __init__(
        self, base: Clock | None = None, offset_seconds: float = 0.0, *, cell: OffsetCell | None = None,
        lock: Any = None,
    ) -> None:
        self._base = base or SystemClock()
        self._cell: OffsetCell = cell if cell is not None else _Cell(offset_seconds)
        self._lock = lock if lock is not None else threading.Lock()

    def now(self) -> float:
        return self._base.now() + self._cell.value

    @property
    def offset_seconds(self) -> float:
        return self._cell.value

    def advance(self, seconds: float) -> float:
        if seconds < 0:
            raise ValueError("the clock only moves forward")
        with self._lock:
            self._cell.value += seconds
            return self.now()


class FixedClock:
    """A clock that stands still unless told to move; for unit tests."""

    def __init__(self, at: float) -> None:
        self._at = at

    def now(self) -> float:
        return self._at

    def advance(self, seconds: float) -> float:
        self._at += seconds
        return self._at
