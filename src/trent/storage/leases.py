"""Leases: which process does a cluster-wide job (issue 20), a small reusable primitive.

A lease is one row in ``leases`` — (name, holder, token, expires_at) — taken and renewed
by one atomic upsert, with time read from the *database's* clock (so nodes whose own
clocks disagree still agree on expiry):

    INSERT INTO leases VALUES (:name, :holder, 1, db_now + :ttl)
    ON CONFLICT (name) DO UPDATE
       SET holder = :holder, expires_at = db_now + :ttl,
           token  = CASE WHEN leases.holder = :holder THEN leases.token ELSE leases.token + 1 END
     WHERE leases.holder = :holder OR leases.expires_at <= db_now
    RETURNING holder, token, expires_at

It returns a row exactly when the caller holds the lease afterwards: a renewal by the
holder, a first acquisition, or a takeover of an expired lease. Whoever holds it renews
well within the TTL; a holder that dies (kill -9, power loss) simply stops renewing and
another process takes over once ``expires_at`` has passed. ``token`` (a fencing token)
grows every time the lease changes hands, so work can be stamped with the lease it ran
under. Works the same on SQLite (several workers on one host) and PostgreSQL (nodes).

Exactly-once is the lease's job in the normal case; at a handover (a holder paused
longer than the TTL, then waking) two processes may briefly both believe they hold it,
so jobs run under a lease must still be safe to repeat: the sweeper's steps re-check
each row under its lock (service/locking.py) and act only if it is still due.

Users: the sweeper (bootstrap.Sweeper: deletions, rotations, import expiry, expired STS
keys), audit delivery (``audit-delivery``, service/audit_delivery.py) and membership.
"""

from __future__ import annotations

import os
import socket
import uuid
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql as pg_dialect
from sqlalchemy.dialects import sqlite as sqlite_dialect
from sqlalchemy.engine import Connection, Engine

from trent.storage.engine import UnitOfWork
from trent.storage.tables import leases


@dataclass(frozen=True, slots=True)
class Lease:
    name: str
    holder: str
    token: int  # fencing token: bumped whenever the lease changes hands
    expires_at: float  # epoch seconds, by the database's clock


def new_holder_id() -> str:
    """A name for this process that no other process, here or on another host, shares."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def _db_now(conn: Connection) -> sa.ColumnElement[Any]:  # PostgreSQL: numeric; SQLite: real
    if conn.dialect.name == "postgresql":
        return sa.func.extract("epoch", sa.func.clock_timestamp())
    return (sa.func.julianday("now") - 2440587.5) * 86400.0


class SqlLeases:
    """Leases in the ``leases`` table of the database behind ``engine``."""

    def __init__(self, engine: Engine) -> None:
        self._unit = UnitOfWork(engine)

    def try_acquire(self, name: str, holder: str, ttl_seconds: float) -> Lease | None:
        """Take or renew ``name`` for ``ttl_seconds``; None while someone else holds it."""
        if ttl_seconds <= 0:
            raise ValueError("a lease lasts a positive time")
        with self._unit(write=True) as conn:
            now = _db_now(conn)
            insert = (pg_dialect.insert if conn.dialect.name == "postgresql" else sqlite_dialect.insert)(leases)
            values = insert.values(name=name, holder=holder, token=1, expires_at=now + ttl_seconds)
            stmt = values.on_conflict_do_update(
                index_elements=[leases.c.name],
                set_={
                    "holder": values.excluded.holder,
                    "expires_at": values.excluded.expires_at,
                    "token": sa.case((leases.c.holder == values.excluded.holder, leases.c.token),
                                     else_=leases.c.token + 1),
                },
                where=sa.or_(leases.c.holder == values.excluded.holder, leases.c.expires_at <= now),
            ).returning(leases.c.holder, leases.c.token, leases.c.expires_at)
            row = conn.execute(stmt).first()
        return None if row is None else Lease(name, row.holder, int(row.token), float(row.expires_at))

    def release(self, name: str, holder: str) -> None:
        """Give ``name`` up now (a clean shutdown): the next process need not wait out the TTL."""
        with self._unit(write=True) as conn:
            conn.execute(
                leases.update().where(leases.c.name == name, leases.c.holder == holder).values(expires_at=0.0)
            )

    def count_live(self, prefix: str) -> int:
        """How many unexpired leases have names starting with ``prefix`` (membership)."""
        with self._unit(write=False) as conn:
            query = sa.select(sa.func.count()).select_from(leases).where(
                leases.c.name.startswith(prefix, autoescape=True), leases.c.expires_at > _db_now(conn)
            )
            return int(conn.execute(query).scalar_one())

    def current(self, name: str) -> Lease | None:
        """Who holds (or last held) ``name``, for status and metrics."""
        with self._unit(write=False) as conn:
            row = conn.execute(sa.select(leases).where(leases.c.name == name)).first()
        return None if row is None else Lease(name, row.holder, int(row.token), float(row.expires_at))
