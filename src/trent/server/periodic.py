"""A blocking job run every N seconds on a worker thread, as an asyncio task (issue 16:
audit delivery; the same shape as the sweeper). A failing round is logged and the next
one runs on time; ``stop`` cancels the wait and lets a running round finish."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from typing import Any

log = logging.getLogger("trent.server")


class Periodic:
    def __init__(self, name: str, interval_seconds: float, job: Callable[[], Any]) -> None:
        self.name = name
        self._interval = interval_seconds
        self._job = job
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self._task = asyncio.create_task(self._loop())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _loop(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            await asyncio.sleep(self._interval)
            try:
                await loop.run_in_executor(None, self._job)
            except Exception:  # noqa: BLE001 - keep running; the next round retries
                log.exception("%s failed", self.name)
