"""``GET /_trent/ready``: may a load balancer send this process requests? (issue 20)

``/_trent/health`` answers 200 as long as the process runs (liveness: restart it if
not). Readiness is narrower: 200 ``{"ready": true}`` only when every check passes,
else 503 ``{"ready": false, "reasons": [...]}`` naming what is wrong — the root of trust
is sealed, the database does not answer, the root HSM or a custom key store's HSM is
not connected, or the process is shutting down. Checks touch the database and HSMs,
so they run on a worker thread and their answer is kept for one second: a load
balancer polling every node every second costs one ``SELECT 1`` per node per second.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

log = logging.getLogger("trent.ready")

Check = Callable[[], str | None]  # None when fine, else the reason


@dataclass
class Readiness:
    checks: Sequence[Check] = ()
    ttl_seconds: float = 1.0
    draining: bool = False
    _cached: tuple[float, list[str]] | None = field(default=None, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def reasons(self) -> list[str]:
        """Why this process is not ready (empty when it is). Blocking: call off the loop."""
        if self.draining:
            return ["shutting down"]
        now = time.monotonic()
        with self._lock:
            cached = self._cached
            if cached is not None and now - cached[0] < self.ttl_seconds:
                return list(cached[1])
            found = []
            for check in self.checks:
                try:
                    reason = check()
                except Exception as exc:  # noqa: BLE001 - a failing check is a reason, not a crash
                    log.warning("readiness check failed", exc_info=True)
                    reason = f"check failed: {type(exc).__name__}"
                if reason:
                    found.append(reason)
            self._cached = (now, found)
            return list(found)

    def answer(self) -> tuple[int, dict[str, object]]:
        reasons = self.reasons()
        return (200, {"ready": True}) if not reasons else (503, {"ready": False, "reasons": reasons})
