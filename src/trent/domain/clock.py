"""The one injected clock (habits §3).

Everything that asks "what time is it" asks a :class:`Clock`. Production uses
:class:`SystemClock`; ``--dev`` uses :class:`ControllableClock`, whose offset an admin
endpoint moves forward so test suites can watch deletion windows (and later rotation
and import expiry) run out.
"""

from __future__ import annotations

import threading
import time
from typing import Protocol


class Clock(Protocol):
    def now(self) -> float:
        """Seconds since the epoch (UTC), fractional."""
        ...


class SystemClock:
    def now(self) -> float:
        return time.time()


class ControllableClock:
    """Real time plus an offset that only ever grows (time never runs backwards)."""

    def __init__(self, base: Clock | None = None, offset_seconds: float = 0.0) -> None:
        self._base = base or SystemClock()
        self._offset = offset_seconds
        self._lock = threading.Lock()

    def now(self) -> float:
        return self._base.now() + self._offset

    @property
    def offset_seconds(self) -> float:
        return self._offset

    def advance(self, seconds: float) -> float:
        if seconds < 0:
            raise ValueError("the clock only moves forward")
        with self._lock:
            self._offset += seconds
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
