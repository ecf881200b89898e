"""Group commit of PutObject (issue 17): the object rows and events of concurrent PUTs in
ONE write transaction.

A PutObject has two phases (``front_door.py``): the slow one outside any write transaction
(authorize, data key, the blob streamed and fsynced, or a small object's ciphertext kept in
memory), then a short write transaction: the object row, the call's events, the commit.
Each of those short transactions paid its own begin (pool checkout, writer gate,
``BEGIN IMMEDIATE``), its own audit segment and its own commit, and 32 worker threads
queued on the writer gate for them (bench/S3_SSE.md, issue-17m: ~20-25 % of a 1 KiB PUT).

Here phase 2 is shared. While a PutObject call is open on a worker thread, :class:`HeldRows`
(the S3 repository as its use case sees it) *holds* the object row instead of writing it;
the front door builds the call's answer and events as if it had committed, then hands
(row, events) to :class:`GroupCommit` and waits for that row's own outcome:

* The first waiter with nobody committing becomes the *leader*, on its own worker thread
  (no timer, no daemon thread: a lone PUT commits at once, as before). It takes up to
  ``MAX_BATCH`` queued PUTs, in arrival order, and applies them in ONE transaction
  (:meth:`GroupedPuts.apply`): each row in turn (in key order; one key's PUTs in arrival
  order), then the events of the rows that were written, in arrival order, in one append
  (one segment per trail, chained in commit order), then the commit.
* PUTs arriving meanwhile queue; when the leader is done it wakes each of its batch's
  waiters with its own outcome and hands the lead to the first one still queued.

Per row, exactly what one PUT's own transaction decided: ``If-None-Match: *`` on an
existing key (Duplicate) and a bucket deleted meanwhile (BucketGone) refuse that row only
(412 PreconditionFailed, NoSuchBucket; PostgreSQL runs each row in a SAVEPOINT,
``SqlS3Repository.put_object(savepoint=True)``, so the transaction goes on), and that
call's error event is then recorded like any failed call's (the server's audit group
commit). Two PUTs of the same key in one batch apply in arrival order (the later one
replaces the earlier, whose blob becomes garbage in the same transaction). If the
transaction fails as a whole (the audit append or the commit), nothing of the batch
happened: every waiter answers InternalError and deletes the blob it wrote
(``DeferredDeletes.end``), as one PUT whose transaction failed does.

A small PutObject served on the event loop (``S3FrontDoor.on_loop``) cannot wait here:
its held row leaves with the call as a :class:`LoopPut` (``recording.HeldChange``), and
the server's audit group commit applies it in the transaction of its tick's batch,
before that batch's events (``server/audit_batcher.py``) — the same per-row decisions
(:meth:`GroupedPuts.apply_row`), without a worker thread or a second group commit.
"""

from __future__ import annotations

import contextvars
import logging
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar, cast

from trent import errors
from trent.audit.records import AuditEntry
from trent.domain.frozen import fast_init
from trent.domain.s3.records import ObjectRecord
from trent.protocol.recording import Concluded
from trent.service.audit_outbox import AuditOutbox
from trent.service.s3.objects import row_refusal
from trent.storage.repositories import Duplicate, Storage
from trent.storage.s3_repository import BucketGone, S3Repository

log = logging.getLogger("trent.s3")

#: PUTs applied in one transaction at most (the rest wait for the next one)
MAX_BATCH = 64

I = TypeVar("I")  # noqa: E741 - an item
O = TypeVar("O")  # noqa: E741 - its outcome


class _Waiter(Generic[I, O]):
    __slots__ = ("item", "outcome", "done", "wake")

    def __init__(self, item: I) -> None:
        self.item = item
        self.outcome: O | None = None
        self.done = False
        self.wake = threading.Lock()  # released once: outcome set, or the lead handed over
        self.wake.acquire()


class GroupCommit(Generic[I, O]):
    """Leader/follower batching of ``apply``: ``submit(item)`` returns the item's outcome.

    ``apply(items)`` returns one outcome per item, in order; if it raises, every item of
    that batch gets ``failed(exc)``. A submit with nobody committing runs ``apply`` at
    once on the caller's thread; submits made while a batch is being applied wait and are
    applied together by one of them next (the first to arrive)."""

    def __init__(self, apply: Callable[[Sequence[I]], Sequence[O]], failed: Callable[[Exception], O],
                 max_batch: int = MAX_BATCH) -> None:
        if max_batch < 1:
            raise ValueError("max_batch must be at least 1")
        self._apply = apply
        self._failed = failed
        self._max = max_batch
        self._lock = threading.Lock()
        self._queue: list[_Waiter[I, O]] = []
        # Invariant: not busy => the queue is empty (a leader leaving with waiters queued
        # hands the lead to the first of them instead of clearing it).
        self._busy = False
        # batches and items applied so far (tests, benchmarks)
        self.batches = 0
        self.items = 0

    def submit(self, item: I) -> O:
        me: _Waiter[I, O] = _Waiter(item)
        with self._lock:
            self._queue.append(me)
            lead = not self._busy
            self._busy = True
        if not lead:
            me.wake.acquire()
            if me.done:
                return cast(O, me.outcome)  # set with done
        # The leader: alone in the queue, or its first when the lead was handed over, so
        # its own item is in this batch.
        with self._lock:
            batch = self._queue[: self._max]
            del self._queue[: self._max]
        successor: _Waiter[I, O] | None = None
        try:
            outcomes = self._run([w.item for w in batch])
            for waiter, outcome in zip(batch, outcomes, strict=True):
                waiter.outcome, waiter.done = outcome, True
        finally:
            for waiter in batch:
                if not waiter.done:  # interrupted (not an Exception): never wake one as a leader
                    waiter.outcome, waiter.done = self._failed(RuntimeError("interrupted")), True
            with self._lock:
                self.batches += 1
                self.items += len(batch)
                if self._queue:
                    successor = self._queue[0]
                else:
                    self._busy = False
            if successor is not None:
                successor.wake.release()  # it leads the next batch (its outcome is not set)
            for waiter in batch:
                if waiter is not me:
                    waiter.wake.release()
        return cast(O, me.outcome)  # me is in the batch

    def _run(self, items: list[I]) -> Sequence[O]:
        try:
            outcomes = self._apply(items)
            if len(outcomes) != len(items):
                raise RuntimeError(f"{len(outcomes)} outcomes for {len(items)} items")
            return outcomes
        except Exception as exc:  # noqa: BLE001 - every waiter gets the failure, nobody hangs
            log.error("group commit of %d PUTs failed (%s): nothing of it happened", len(items),
                      type(exc).__name__)
            outcome = self._failed(exc)
            return [outcome] * len(items)


@fast_init
@dataclass(frozen=True, slots=True)
class HeldRow:
    """A PutObject's object row, held for the group commit instead of written."""

    record: ObjectRecord
    only_if_absent: bool


@dataclass(frozen=True, slots=True)
class GroupedPut:
    row: HeldRow
    # the call's events in append order: the KMS calls it made for the caller, then its
    # S3 event (as in one PUT's own transaction)
    events: tuple[AuditEntry, ...]


_OPEN = object()  # a PutObject is open on this thread and has held no row yet


class HeldRows:
    """The S3 repository a PutObject's use case sees: between :meth:`hold` and
    :meth:`take` on the calling thread, its one ``put_object`` is held (returning None: no
    replaced row to delete now; the repository records the replaced blobs as garbage when
    the row is applied, so the reaper unlinks them, as after any committed overwrite).
    Everything else, and any ``put_object`` made inside a begun write transaction (whose
    writes must commit together), goes to the repository."""

    def __init__(self, inner: S3Repository, in_write_transaction: Callable[[], bool]) -> None:
        self._inner = inner
        self._in_write_transaction = in_write_transaction
        self._local = threading.local()

    def hold(self) -> None:
        self._local.held = _OPEN

    def take(self) -> HeldRow | None:
        """The row held since :meth:`hold` (None: none); stops holding."""
        held = getattr(self._local, "held", None)
        self._local.held = None
        return held if isinstance(held, HeldRow) else None

    def put_object(
        self, record: ObjectRecord, *, only_if_absent: bool = False, savepoint: bool = False
    ) -> tuple[str, ...] | None:
        if getattr(self._local, "held", None) is _OPEN and not self._in_write_transaction():
            self._local.held = HeldRow(record, only_if_absent)
            return None
        return self._inner.put_object(record, only_if_absent=only_if_absent, savepoint=savepoint)

    def __getattr__(self, attr: str) -> Any:
        return getattr(self._inner, attr)


Outcome = errors.TrentError | None  # None: the row and its events committed


class GroupedPuts:
    """The transaction of one batch (module doc), and the :class:`GroupCommit` around it.
    ``repo``: the repository itself (not :class:`HeldRows`)."""

    def __init__(self, storage: Storage, outbox: AuditOutbox, repo: S3Repository,
                 max_batch: int = MAX_BATCH) -> None:
        self._storage = storage
        self._outbox = outbox
        self._repo = repo
        self.group: GroupCommit[GroupedPut, Outcome] = GroupCommit(
            self.apply, lambda exc: errors.KMSInternal(), max_batch)

    def submit(self, put: GroupedPut) -> Outcome:
        """Wait until ``put`` committed (None) or was refused (its error)."""
        return self.group.submit(put)

    def apply(self, batch: Sequence[GroupedPut]) -> list[Outcome]:
        """One transaction for ``batch``, or an exception (nothing of it happened). Run in
        an empty context: the leader's own request may have an ``atomic()`` scope open
        (unwritten) on this thread, which the batch must not join."""
        return contextvars.Context().run(self._apply, batch)

    def _apply(self, batch: Sequence[GroupedPut]) -> list[Outcome]:
        outcomes: list[Outcome] = [None] * len(batch)
        # Rows in (bucket, key) order, a stable sort: the PUTs of one key keep their arrival
        # order (an overwrite or an If-None-Match create decided as they came), and two
        # batches of different processes (PostgreSQL) lock the rows they share in the same
        # order instead of deadlocking. Rows of different keys do not interact.
        order = sorted(range(len(batch)), key=lambda i: (batch[i].row.record.bucket, batch[i].row.record.key))
        with self._storage.atomic():
            for index in order:
                outcomes[index] = self.apply_row(batch[index].row)
            # the written rows' events, in arrival order; the last statement before the commit
            self._outbox.record([e for put, outcome in zip(batch, outcomes, strict=True) if outcome is None
                                 for e in put.events])
        return outcomes

    def apply_row(self, row: HeldRow) -> Outcome:
        """Write ``row`` in the open transaction: None, or the refusal of this row only (a
        SAVEPOINT on PostgreSQL, so the transaction goes on)."""
        try:
            self._repo.put_object(row.record, only_if_absent=row.only_if_absent, savepoint=True)
        except (BucketGone, Duplicate) as exc:
            return row_refusal(row.record, exc)
        return None


@fast_init
@dataclass(frozen=True, slots=True)
class LoopPut:
    """A PutObject's held row, applied by the server's group commit (module doc)."""

    puts: GroupedPuts
    row: HeldRow
    # how the call concludes if its row is refused (its error event and answer)
    refused: Callable[[errors.TrentError], Concluded[Any]]
    # blobs the call wrote (none for an object kept inline in its row), and their deletion
    # should the row not commit: nothing else refers to them (DeferredDeletes.delete_unreferenced)
    written: tuple[str, ...]
    delete_unreferenced: Callable[[tuple[str, ...]], None]

    def apply(self) -> Concluded[Any] | None:
        refusal = self.puts.apply_row(self.row)
        return None if refusal is None else self.refused(refusal)

    def settle(self, committed: bool) -> None:
        if not committed:
            self.delete_unreferenced(self.written)
