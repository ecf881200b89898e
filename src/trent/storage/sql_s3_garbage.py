"""Unreferenced S3 content blobs on SQLite or PostgreSQL (issue 17): the bookkeeping
behind ``service/s3/blob_reaper.py``.

Why a table and not an unlink after the commit: a GET reads the object row, then opens
its blobs; an overwrite committing in between used to unlink the old blob at once, and
the GET answered 500 InternalError where S3 answers the old or the new object. Now the
transaction that drops a blob's last reference (overwrite, delete, part replaced,
upload completed or aborted, bucket deleted) also inserts the blob's name here
(:func:`discard`), so the record commits or rolls back with the row change and no
deletion is lost to a crash. The reaper unlinks a name only after a grace period.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql as pg_dialect
from sqlalchemy.dialects import sqlite as sqlite_dialect
from sqlalchemy.engine import Connection, Engine

from trent.storage.engine import UnitOfWork
from trent.storage.s3_tables import s3_blob_garbage, s3_objects, s3_parts

_G = s3_blob_garbage


DISCARD = {
    name: make(_G).on_conflict_do_nothing()
    for name, make in (("postgresql", pg_dialect.insert), ("sqlite", sqlite_dialect.insert))
}


def discard(conn: Connection, names: Iterable[str], since: float | None = None) -> None:
    """Record ``names`` as unreferenced in the caller's transaction. ``since`` None: the
    reaper stamps it on its next round (the row writers have no clock; counting the grace
    from the stamp only makes it longer). A name already recorded keeps its time."""
    rows = [{"name": n, "since": since} for n in dict.fromkeys(names)]
    if rows:  # one prebuilt statement per dialect (every overwriting PUT comes here)
        conn.execute(DISCARD[conn.dialect.name], rows)


class SqlS3BlobGarbage:
    """The reaper's side of the table, in the S3 repository's database."""

    def __init__(self, engine: Engine, unit: UnitOfWork | None = None) -> None:
        self._unit = unit or UnitOfWork(engine)

    def stamp(self, now: float) -> int:
        """Give every unstamped name the time ``now``; returns how many."""
        with self._unit(write=True) as conn:
            return conn.execute(_G.update().where(_G.c.since.is_(None)).values(since=now)).rowcount or 0

    def known(self) -> set[str]:
        with self._unit(write=False) as conn:
            return {r[0] for r in conn.execute(sa.select(_G.c.name))}

    def add(self, names: Iterable[str], since: float) -> None:
        with self._unit(write=True) as conn:
            discard(conn, names, since)

    def due(self, before: float, limit: int) -> Sequence[str]:
        """Names stamped at or before ``before`` (their grace is over), oldest first."""
        query = sa.select(_G.c.name).where(_G.c.since <= before).order_by(_G.c.since, _G.c.name).limit(limit)
        with self._unit(write=False) as conn:
            return [r[0] for r in conn.execute(query)]

    def forget(self, names: Sequence[str]) -> None:
        if names:
            with self._unit(write=True) as conn:
                conn.execute(_G.delete().where(_G.c.name.in_(names)))

    def referenced(self) -> set[str]:
        """Every blob name a committed object row or an in-progress upload's part row
        references, read in one transaction (one snapshot on PostgreSQL's REPEATABLE
        READ is not needed: a name only ever *leaves* these tables, except a part's blob
        moving into its object at CompleteMultipartUpload, which happens in one
        transaction; reading parts first and objects second can only see it twice).
        A full scan: its cost grows with the number of objects (see the reaper)."""
        with self._unit(write=False) as conn:
            names = {r[0] for r in conn.execute(sa.select(s3_parts.c.blob_name))}
            for (blobs,) in conn.execute(sa.select(s3_objects.c.blobs)):
                names.update(b[0] for b in json.loads(blobs))
        return names
