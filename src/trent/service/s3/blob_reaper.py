"""Unlinks S3 content blobs no row references, after a grace period (issue 17).

Why a grace period: a GET reads the object row, then opens the row's blobs. An overwrite
or delete committing in between must not make the blob vanish, or the GET answers 500
where S3 answers the old or the new object. So the repository only *records* a blob as
garbage when its last reference goes (storage/sql_s3_garbage.py, same transaction), and
this reaper unlinks it once ``grace_seconds`` have passed since it was recorded.

What the grace must cover, per backend:

- file (``objectstore/blob_file.py``): a GET holds an open file descriptor on a blob
  while it streams it, and unlinking an open file leaves the reader's data intact
  (POSIX), so a blob only needs to survive from the row read to its ``open``. A
  multipart object's blobs are opened one after another as the stream reaches them, so
  for those the grace must cover the stream up to its last part.
- S3 (``objectstore/blob_s3.py``): a blob is read with one ranged GetObject; S3 makes no
  documented promise that a response already streaming survives a DeleteObject, so the
  grace must cover the whole read of every blob. The default (one hour) is far longer
  than a 5 GiB GET over any link Trent is meant for; a GET longer than the grace could
  still fail mid-stream there (after its 200 headers), never before.

Orphans: a blob stored whose row never committed (a crash between the upload and the
commit) is referenced by nothing and never recorded. The orphan sweep lists the store,
records every name neither referenced by a row (objects, in-progress multipart parts)
nor already recorded, stamped now; it is unlinked a grace period later like any other.
A blob just written whose row commits a moment after the listing is recorded too, but
before unlinking, the reaper re-reads every reference and forgets (without unlinking)
any recorded name a row references: so a committed row's blob is never deleted, as long
as no request takes longer than the grace between storing a blob and committing its row
(that gap is one short transaction: the upload finishes before ``put`` returns).

It runs as a step of the sweeper (bootstrap.Sweeper), under its cluster-wide lease, so
one process across workers and nodes reaps; a second one running at a handover is safe
(unlinking is idempotent, forgetting a forgotten name is a no-op). Time is the injected
clock.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Protocol

from trent.domain.clock import Clock
from trent.service.s3.store import ObjectStore

log = logging.getLogger("trent.s3")

DEFAULT_GRACE_SECONDS = 3600.0
# Listing the whole store and reading every row's references is a full scan: not every sweep.
DEFAULT_ORPHAN_SCAN_SECONDS = 3600.0
BATCH = 1000  # names unlinked per round at most (a large backlog drains over several rounds)


class BlobGarbage(Protocol):
    """``storage/sql_s3_garbage.SqlS3BlobGarbage``."""

    def stamp(self, now: float) -> int: ...

    def known(self) -> set[str]: ...

    def add(self, names: Iterable[str], since: float) -> None: ...

    def due(self, before: float, limit: int) -> Sequence[str]: ...

    def forget(self, names: Sequence[str]) -> None: ...

    def referenced(self) -> set[str]: ...


@dataclass(frozen=True, slots=True)
class Reaped:
    unlinked: int
    still_referenced: int  # recorded (an orphan candidate) but a row references it: kept
    orphans_found: int
    failed: int  # the store refused the unlink: kept, retried next round


class BlobReaper:
    def __init__(self, garbage: BlobGarbage, store: ObjectStore, clock: Clock,
                 grace_seconds: float = DEFAULT_GRACE_SECONDS,
                 orphan_scan_seconds: float = DEFAULT_ORPHAN_SCAN_SECONDS) -> None:
        if grace_seconds <= 0:
            raise ValueError("the grace period must be positive")
        self._garbage = garbage
        self._store = store
        self._clock = clock
        self._grace = grace_seconds
        self._scan_every = orphan_scan_seconds
        self._last_scan: float | None = None

    def run(self, scan_orphans: bool | None = None) -> Reaped:
        """One round. ``scan_orphans`` None: when the last scan is ``orphan_scan_seconds`` old."""
        now = self._clock.now()
        self._garbage.stamp(now)
        orphans = 0
        if scan_orphans or (scan_orphans is None and (self._last_scan is None
                                                      or now - self._last_scan >= self._scan_every)):
            orphans = self._scan(now)
            self._last_scan = now
        due = self._garbage.due(now - self._grace, BATCH)
        if not due:
            return Reaped(0, 0, orphans, 0)
        referenced = self._garbage.referenced()  # read after ``due``: sees any row committed since
        kept = [name for name in due if name in referenced]
        unlinked: list[str] = []
        failed = 0
        for name in due:
            if name in referenced:
                continue
            try:
                self._store.delete(name)
            except Exception:  # noqa: BLE001 - stays recorded; the next round retries
                failed += 1
                continue
            unlinked.append(name)
        self._garbage.forget(kept + unlinked)
        if failed:
            log.warning("blob reaper: %d unlink(s) failed; retried next round", failed)
        return Reaped(len(unlinked), len(kept), orphans, failed)

    def _scan(self, now: float) -> int:
        """Record stored names that nothing references (read the store first, then the
        rows: a blob stored after the listing is not a candidate, one whose row commits
        after the reference read is caught by the re-check in ``run``)."""
        stored = set(self._store.names())
        candidates = stored - self._garbage.known() - self._garbage.referenced()
        if candidates:
            self._garbage.add(candidates, now)
            log.info("blob reaper: %d orphan blob(s) recorded", len(candidates))
        return len(candidates)
