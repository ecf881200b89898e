"""Group commit of audit events for the built-in HTTP server (issue 16).

Calls that changed nothing (crypto, reads, denials, failures) finish on the event loop
with their event built but not yet recorded. Their responses wait here. One writer
thread commits the waiting events in ONE transaction into the chained trail
(``AuditOutbox.record``), then hands the batch back to the loop, which releases the
responses in their connections' order. While a batch is being written the next one
gathers, so the batch size follows the database's commit latency (classic group
commit): ~one transaction per loop tick when idle, larger batches under load, never a
database round trip of its own per request.

Fail-closed by construction: if the commit fails, every response of the batch becomes
the front door's internal error instead (its ``refuse``), and nothing was recorded.

A waiting response may carry more than one event: ``Pending.companions`` are recorded
just before its ``entry``, in the same batch (S3: the KMS calls it made for the caller,
s3-sse spec §4, KMS events first as in a committed change's own transaction).

It may also carry its call's change, held (``Pending.change``, ``recording.HeldChange``:
a small S3 PutObject served on the loop, whose object row would otherwise need a write
transaction of its own or a worker thread waiting on ``grouped_puts.GroupCommit``). The
batch's transaction then applies the held changes first, in arrival order, then appends
every event, then commits: each change commits with its event or not at all (issue 16).
A change the database refuses (a PUT's If-None-Match, a bucket deleted meanwhile)
concludes its call with that refusal instead, whose event the same append records.
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Protocol

from trent.audit.records import AuditEntry
from trent.audit.sink import AuditWriteError
from trent.protocol.pipeline import Response
from trent.protocol.recording import HeldChange
from trent.service.audit_outbox import AuditOutbox

log = logging.getLogger("trent.server")


class Connection(Protocol):
    """What the batcher needs of a client connection (``http11.KmsHttpProtocol``)."""

    def fill(self, slot: Any, response: Response) -> None:
        """Put ``response`` in ``slot`` (not sent yet)."""

    def flush(self) -> None:
        """Send every ready response at the head of the connection's queue, in order."""


@dataclass(slots=True)
class Pending:
    entry: AuditEntry = field(repr=False)
    response: Response
    connection: Connection
    slot: Any
    # The response to send instead if the event cannot be recorded (the front door's
    # internal error, in its own wire format).
    refuse: Callable[[Response], Response]
    # For metrics and the access log (issue 20): the KMS call, when it was one, and
    # time.monotonic() when its request was read.
    prepared: Any = field(default=None, repr=False)
    received: float = 0.0
    # Events of the same call recorded just before ``entry`` (module doc).
    companions: tuple[AuditEntry, ...] = field(default=(), repr=False)
    # The call's change, applied in the batch's transaction before the events (module doc).
    change: HeldChange | None = field(default=None, repr=False)


class AuditBatcher:
    """``inline``: commit on the event loop thread itself, once per tick (an embedded
    database, where a commit is a few hundred microseconds of CPU and handing batches to
    another thread costs more than it saves); otherwise on the writer thread (a database
    server: the loop keeps serving while a commit waits on the network)."""

    def __init__(
        self, outbox: AuditOutbox, *, inline: bool = False, writers: int = 1,
        answered: Callable[[Pending, Response], None] | None = None,
    ) -> None:
        self._inline = inline
        self._answered = answered  # issue 20: metrics and the access log, per released response
        self._outbox = outbox
        self._batch: list[Pending] = []
        # Batches being committed (``writers`` > 1: a second one may start while the first
        # waits on the database; it queues behind the trail row lock, commit order is kept;
        # measured: one writer's bigger batches cost less than the extra thread handoffs).
        self._in_flight = 0
        self._writing = 0  # events in those batches
        self._writers = writers
        self._scheduled = False
        self._loop: asyncio.AbstractEventLoop | None = None
        self._writer = ThreadPoolExecutor(max_workers=writers, thread_name_prefix="trent-audit")
        self._idle: asyncio.Event | None = None

    def backlog(self) -> int:
        """Events handed in and not yet recorded (the audit backlog metric, issue 20)."""
        return len(self._batch) + self._writing

    def add(self, pending: Pending) -> None:
        self._batch.append(pending)
        if self._in_flight < self._writers and not self._scheduled:
            loop = self._loop or asyncio.get_running_loop()
            self._loop = loop
            self._scheduled = True
            loop.call_soon(self._start)  # the rest of this tick's calls join the batch

    def _start(self) -> None:
        self._scheduled = False
        if self._in_flight >= self._writers or not self._batch:
            return
        batch, self._batch = self._batch, []
        if self._inline:
            self._release(batch, not self._commit(batch), threaded=False)
            return
        self._in_flight += 1
        self._writing += len(batch)
        self._writer.submit(self._write, batch)

    def _commit(self, batch: list[Pending]) -> bool:
        """One transaction for the whole batch; False if it was not recorded."""
        changes = [p for p in batch if p.change is not None]
        if changes:
            # a fresh context: no ``atomic()`` scope of whatever scheduled this tick is joined
            return contextvars.Context().run(self._commit_changes, batch, changes)
        entries = _entries(batch)
        try:
            self._outbox.record(entries)
        except AuditWriteError as exc:
            log.error("audit batch of %d events not recorded: %s", len(entries), exc)
            return False
        except BaseException:  # noqa: BLE001 - whatever it was, these calls are unrecorded
            log.exception("audit batch of %d events not recorded", len(entries))
            return False
        return True

    def _commit_changes(self, batch: list[Pending], changes: list[Pending]) -> bool:
        """The held changes, then the events, in one transaction (module doc)."""
        written: set[int] = set()
        committed = False
        try:
            with self._outbox.storage.atomic():
                for p in changes:
                    assert p.change is not None
                    refused = p.change.apply()
                    if refused is None:
                        written.add(id(p))
                    else:  # this call concludes with the refusal; its event replaces the call's
                        p.entry, p.response, p.companions = refused.entry, refused.response, refused.companions
                self._outbox.record(_entries(batch))
            committed = True
        except AuditWriteError as exc:
            log.error("batch of %d calls (%d changes) not recorded, nothing of it changed: %s", len(batch),
                      len(changes), exc)
        except BaseException:  # noqa: BLE001 - whatever it was, nothing of the batch happened
            log.exception("batch of %d calls (%d changes) not recorded, nothing of it changed", len(batch),
                          len(changes))
        for p in changes:
            assert p.change is not None
            p.change.settle(committed and id(p) in written)
        return committed

    def _write(self, batch: list[Pending]) -> None:
        """Writer thread."""
        failed = not self._commit(batch)
        assert self._loop is not None
        self._loop.call_soon_threadsafe(self._release, batch, failed)

    def _release(self, batch: list[Pending], failed: bool, *, threaded: bool = True) -> None:
        if threaded:
            self._in_flight -= 1
            self._writing -= len(batch)
        touched: dict[int, Connection] = {}
        answered = self._answered
        for p in batch:
            response = p.refuse(p.response) if failed else p.response
            p.connection.fill(p.slot, response)
            touched[id(p.connection)] = p.connection
            if answered is not None:
                answered(p, response)
        for connection in touched.values():
            connection.flush()
        if self._batch:
            self._start()
        elif self._idle is not None:
            self._idle.set()

    async def drain(self) -> None:
        """Wait until every event handed in so far is recorded (shutdown)."""
        while self._batch or self._in_flight or self._scheduled:
            self._idle = asyncio.Event()
            if self._in_flight < self._writers and not self._scheduled:
                self._start()
            try:
                await asyncio.wait_for(self._idle.wait(), timeout=1.0)
            except asyncio.TimeoutError:
                pass
        self._writer.shutdown(wait=True)


def _entries(batch: list[Pending]) -> list[AuditEntry]:
    """The batch's events in arrival order, each call's companions just before it."""
    entries: list[AuditEntry] = []
    for p in batch:
        if p.companions:
            entries += p.companions
        entries.append(p.entry)
    return entries
