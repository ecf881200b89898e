"""Blob deletions held until the request's transaction committed (issue 17).

The S3 use cases delete a replaced or removed object's content blobs right after the
repository write. Inside the request's transaction (``recording.atomically``) that write
is not committed yet: if the audit append or the commit then fails, the transaction
rolls back and the row still points at the blobs — which must therefore still exist.
This wrapper around the object store queues deletions while a call is open
(thread-local: one call per worker thread). Replaced or removed blobs are never unlinked
in the request: the repository records them as garbage with the row change and the
reaper (service/s3/blob_reaper.py) unlinks them after a grace period, so a GET racing an
overwrite still finds the blob of the row it read (``end``).

It also remembers the blobs a call *wrote*: a streaming write (PutObject, UploadPart, the
copies) stores its blob before the short transaction that commits the row and the
events; if that transaction rolls back (a conflict, an audit write failure), the new
blob is referenced by nothing and is deleted then, best effort. (Small objects kept
inline, in their row, never reach the store: nothing to track for them.)
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable, Iterator

from trent.service.s3.store import ObjectStore

log = logging.getLogger("trent.s3")


class DeferredDeletes:
    def __init__(self, store: ObjectStore) -> None:
        self.inner = store
        self._local = threading.local()

    def __repr__(self) -> str:
        return f"DeferredDeletes({self.inner!r})"

    # --- the ObjectStore Protocol --------------------------------------------------------

    def put(self, name: str, chunks: Iterable[bytes | bytearray]) -> int:
        written: list[str] | None = getattr(self._local, "written", None)
        size = self.inner.put(name, chunks)  # a failed put leaves no blob (ObjectStore.put)
        if written is not None:
            written.append(name)
        return size

    def get(self, name: str, start: int, end: int) -> Iterator[bytes | memoryview]:
        return self.inner.get(name, start, end)

    def delete(self, name: str) -> None:
        pending: list[str] | None = getattr(self._local, "pending", None)
        if pending is None:
            self.inner.delete(name)
        else:
            pending.append(name)

    def names(self) -> Iterator[str]:
        return self.inner.names()

    # --- one call ------------------------------------------------------------------------

    def begin(self) -> None:
        self._local.pending = []
        self._local.written = []

    def written(self) -> tuple[str, ...]:
        """The blobs the open call has written so far (a call that leaves with its row still
        to commit settles them itself: ``grouped_puts.LoopPut``)."""
        return tuple(getattr(self._local, "written", None) or ())

    def end(self, committed: bool) -> None:
        """After the call: delete at once only blobs this call wrote that no committed row
        references (all it wrote if it rolled back; those it gave up on if it committed).

        A blob that a committed row referenced before this call (an overwritten or deleted
        object, a replaced part) is *not* unlinked here: a GET that read the old row may be
        about to open it. The repository recorded it as garbage in the same transaction
        (storage/sql_s3_garbage.py) and the reaper unlinks it after a grace period
        (service/s3/blob_reaper.py). Blobs this call wrote were never visible to a reader."""
        pending: list[str] = getattr(self._local, "pending", None) or []
        written: list[str] = getattr(self._local, "written", None) or []
        self._local.pending = self._local.written = None
        if committed:
            mine = set(written)
            pending = [name for name in pending if name in mine]
        else:
            pending = written
        self.delete_unreferenced(pending)

    def delete_unreferenced(self, names: Iterable[str]) -> None:
        """Delete blobs no committed row references, best effort: one left behind is an
        orphan for the reaper's sweep, never an error of the call."""
        for name in names:
            try:
                self.inner.delete(name)
            except Exception:  # noqa: BLE001 - an orphan blob at worst
                log.warning("could not delete unreferenced blob %s; left for an orphan sweep", name)
