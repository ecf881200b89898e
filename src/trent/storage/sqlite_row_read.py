"""One-row reads on file SQLite straight through the DB-API connection (issue 17 performance).

Every S3 request reads its bucket row and a GET its object row: two single-row SELECTs
by primary key. Through SQLAlchemy's Connection each cost ~70 µs of CPU (a Connection
object, the ``begin`` event and its ``BEGIN``, the compiled-statement execution context,
the result proxy, ``COMMIT``), several times SQLite's own work, and they were a quarter
of a small GET's CPU (bench/S3_SSE.md, issue-17i). Here the statement is compiled once
for the engine's dialect and run on a DB-API connection, alone, so in SQLite's implicit
read transaction (one snapshot, as SQLAlchemy's ``BEGIN``/``COMMIT`` around it would
give), with the columns' own result processors (Boolean from SQLite's integers, ...), so
the row is the same mapping a SQLAlchemy read returns.

The connection is one of :class:`ReadConnections`, kept apart from SQLAlchemy's pool: a
checkout and checkin through the pool (its fairy, record, events and reset-on-return
rollback) cost more than the SELECT itself, ~9 % of a small GET's CPU (issue-17m).

Only for file SQLite outside a write transaction: inside a scope that wrote, the read
must run on the scope's connection to see its writes (the caller uses its unit of work
then), and ``:memory:`` and PostgreSQL keep the ordinary path.
"""

from __future__ import annotations

import queue
import sqlite3
import threading
from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import Engine

from trent.storage.engine import sqlite_on_connect
from trent.storage.sqlite_driver import DriverStatement, storage_error

# A reader's page cache (KiB): it reads a few B-tree pages per row, which a commit by any
# other connection invalidates anyway (WAL); the default 2 MiB each would add up over the
# ~40 threads that may read at once (RSS budget, issue 17).
READER_CACHE_KIB = 256


class ReadConnections:
    """File SQLite connections for one-row reads: an idle one is taken (or a new one made,
    with the engine's connect pragmas) and given back, at most one per concurrent reader.
    All are closed when the engine is disposed (``SqlStorage.close``)."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._idle: queue.SimpleQueue[sqlite3.Connection] = queue.SimpleQueue()
        self._made: list[sqlite3.Connection] = []
        self._lock = threading.Lock()
        event.listen(engine, "engine_disposed", self._dispose)

    def take(self) -> sqlite3.Connection:
        try:
            return self._idle.get_nowait()
        except queue.Empty:
            pass
        args, kwargs = self._engine.dialect.create_connect_args(self._engine.url)
        try:
            connect: Any = sqlite3.connect  # the dialect's own arguments (path, uri=...)
            conn: sqlite3.Connection = connect(*args, **{**kwargs, "check_same_thread": False})
            sqlite_on_connect(conn, None)
            conn.execute(f"PRAGMA cache_size=-{READER_CACHE_KIB:d}")
        except sqlite3.Error as exc:
            raise storage_error(exc) from None
        with self._lock:
            self._made.append(conn)
        return conn

    def give(self, conn: sqlite3.Connection) -> None:
        self._idle.put(conn)

    def drop(self, conn: sqlite3.Connection) -> None:
        """A connection that failed: closed, not reused."""
        with self._lock:
            if conn in self._made:
                self._made.remove(conn)
        conn.close()

    def _dispose(self, _engine: Engine) -> None:
        with self._lock:
            made, self._made = self._made, []
        self._idle = queue.SimpleQueue()
        for conn in made:
            conn.close()


class RowRead:
    """``select`` (one row at most, bound parameters by name) compiled once for ``engine``."""

    def __init__(self, engine: Engine, select: sa.Select[Any], readers: ReadConnections | None = None) -> None:
        self._readers = readers or ReadConnections(engine)
        self._statement = DriverStatement(engine.dialect, select)

    def __call__(self, params: Mapping[str, Any]) -> dict[str, Any] | None:
        """The row as a column-name mapping, or None. Errors are a StorageError, as on the
        ordinary path (never a bound value in the message)."""
        readers = self._readers
        conn = readers.take()
        try:
            # One statement on an autocommit connection (isolation_level None): SQLite runs
            # it in its own implicit read transaction, one snapshot, the same as BEGIN;
            # SELECT; COMMIT without the two extra statements; fetchone then the cursor's
            # end release it.
            cursor = conn.execute(self._statement.sql, self._statement.parameters(params))
            row = cursor.fetchone()
            cursor.close()
        except sqlite3.Error as exc:
            readers.drop(conn)
            raise storage_error(exc) from None
        readers.give(conn)
        return self._statement.mapping(row)
