"""`trent serve --workers N`: N server processes on one port (issue 20).

The parent (this module) migrates the database and runs the one-time start-up work
(the --dev identity, the seed) once, then starts N workers with the ``spawn`` method
(fresh interpreters: nothing — no database pool, no PKCS#11 session, no event loop —
is inherited across a fork). Each worker builds its own runtime from the same
settings, so all share the database and the root of trust, and listens on the same
address with ``SO_REUSEPORT``: the kernel spreads incoming connections over the
workers' sockets (no shared accept queue, no thundering herd). The parent holds a
bound, non-listening ``SO_REUSEPORT`` socket on the port from the start, so the port
cannot be taken by a stranger between workers' restarts.

Caches stay coherent across workers through the invalidation feed
(storage/change_feed.py), background jobs run once through a lease (storage/leases.py),
and the --dev clock's offset lives in shared memory so a clock jump received by one
worker moves every worker's clock.

Supervision: a worker that dies is restarted (after 1 s; a worker that keeps dying
within 10 s of its start, 5 times in a row, stops the server with exit status 1).
SIGTERM / SIGINT to the parent is passed to every worker, which drains gracefully;
the parent exits 0 once all have exited. SIGHUP is passed on (TLS certificate reload).
"""

from __future__ import annotations

import logging
import multiprocessing
import multiprocessing.connection
import os
import shutil
import signal
import socket
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from multiprocessing.process import BaseProcess
from typing import Any

from trent.config import Settings
from trent.server.metrics import process_exited

log = logging.getLogger("trent.workers")

RESTART_DELAY_SECONDS = 1.0
EARLY_DEATH_SECONDS = 10.0
MAX_EARLY_DEATHS = 5
STOP_GRACE_SECONDS = 60.0


@dataclass(frozen=True)
class WorkerContext:
    """What a worker receives from the parent besides its settings."""

    index: int
    clock_offset: Any  # multiprocessing.Value("d"): the shared --dev clock offset
    clock_lock: Any


@dataclass
class _Worker:
    index: int
    process: BaseProcess
    started: float
    early_deaths: int = 0


@dataclass
class Supervisor:
    settings: Settings
    target: Callable[[Settings, WorkerContext], None]
    workers: dict[int, _Worker] = field(default_factory=dict)
    stopping: bool = False

    def run(self) -> int:
        mp = multiprocessing.get_context("spawn")
        clock_lock = mp.Lock()
        clock_offset = mp.Value("d", 0.0, lock=False)
        self._contexts = [WorkerContext(i, clock_offset, clock_lock) for i in range(self.settings.workers)]
        self._mp = mp
        reserved = _reserve(self.settings.host, self.settings.port)
        # /metrics across workers (server/metrics.py): prometheus-client's multiprocess mode
        # keeps each worker's values in files here; the workers inherit the variable.
        own_metrics_dir = "PROMETHEUS_MULTIPROC_DIR" not in os.environ
        if own_metrics_dir:
            os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="trent-metrics-")
        previous = {s: signal.signal(s, self._on_signal) for s in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)}
        try:
            for ctx in self._contexts:
                self._start(ctx.index)
            return self._watch()
        finally:
            for s, handler in previous.items():
                signal.signal(s, handler)
            reserved.close()
            if own_metrics_dir:
                shutil.rmtree(os.environ.pop("PROMETHEUS_MULTIPROC_DIR"), ignore_errors=True)

    def _start(self, index: int, early_deaths: int = 0) -> None:
        process = self._mp.Process(
            target=self.target, args=(self.settings, self._contexts[index]), name=f"trent-worker-{index}",
            daemon=False,
        )
        process.start()
        self.workers[index] = _Worker(index, process, time.monotonic(), early_deaths)

    def _on_signal(self, signum: int, _frame: object) -> None:
        if signum in (signal.SIGTERM, signal.SIGINT):
            self.stopping = True
            signum = signal.SIGTERM
        for worker in self.workers.values():
            if worker.process.pid is not None and worker.process.is_alive():
                os.kill(worker.process.pid, signum)

    def _watch(self) -> int:
        while not self.stopping:
            alive = [w.process.sentinel for w in self.workers.values() if w.process.exitcode is None]
            multiprocessing.connection.wait(alive, timeout=0.5)
            for worker in list(self.workers.values()):
                if self.stopping or worker.process.exitcode is None:
                    continue
                if worker.process.pid is not None:  # always, once started
                    process_exited(worker.process.pid)  # its live gauges no longer count
                lived = time.monotonic() - worker.started
                early = worker.early_deaths + 1 if lived < EARLY_DEATH_SECONDS else 0
                log.error("worker %d (pid %s) exited with %s after %.1fs",
                          worker.index, worker.process.pid, worker.process.exitcode, lived)
                if early >= MAX_EARLY_DEATHS:
                    log.error("worker %d keeps dying at start; stopping the server", worker.index)
                    self._on_signal(signal.SIGTERM, None)
                    self._drain()
                    return 1
                time.sleep(RESTART_DELAY_SECONDS)
                if not self.stopping:
                    self._start(worker.index, early)
        return self._drain()

    def _drain(self) -> int:
        deadline = time.monotonic() + STOP_GRACE_SECONDS
        for worker in self.workers.values():
            worker.process.join(max(0.0, deadline - time.monotonic()))
        for worker in self.workers.values():
            if worker.process.is_alive():
                log.error("worker %d did not stop within %.0fs; killing it", worker.index, STOP_GRACE_SECONDS)
                worker.process.kill()
                worker.process.join(5)
        return 0


def _reserve(host: str, port: int) -> socket.socket:
    """Bind (without listening) so the port is ours while workers come and go; fails
    early, in the parent, when someone else holds the port."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    try:
        sock.bind((host, port))
    except OSError:
        sock.close()
        raise
    return sock
