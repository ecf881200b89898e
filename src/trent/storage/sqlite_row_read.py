"""One-row reads on file SQLite straight through the DB-API connection (issue 17 performance).

Every S3 request reads its bucket row and a GET its object row: two single-row SELECTs
by primary key. Through SQLAlchemy's Connection each cost ~70 µs of CPU (a Connection
object, the ``begin`` event and its ``BEGIN``, the compiled-statement execution context,
the result proxy, ``COMMIT``), several times SQLite's own work, and they were a quarter
of a small GET's CPU (bench/S3_SSE.md, issue-17i). Here the statement is compiled once
for the engine's dialect and run on the pooled DB-API connection, alone, so in SQLite's
implicit read transaction (one snapshot, as SQLAlchemy's ``BEGIN``/``COMMIT`` around it
would give), with the columns' own result processors (Boolean from SQLite's integers,
...), so the row is the same mapping a SQLAlchemy read returns.

Only for file SQLite outside a write transaction: inside a scope that wrote, the read
must run on the scope's connection to see its writes (the caller uses its unit of work
then), and ``:memory:`` and PostgreSQL keep the ordinary path.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from trent.storage.repositories import StorageError
from trent.storage.sqlite_driver import DriverStatement, storage_error


class RowRead:
    """``select`` (one row at most, bound parameters by name) compiled once for ``engine``."""

    def __init__(self, engine: Engine, select: sa.Select[Any]) -> None:
        self._engine = engine
        self._statement = DriverStatement(engine.dialect, select)

    def __call__(self, params: Mapping[str, Any]) -> dict[str, Any] | None:
        """The row as a column-name mapping, or None. Errors are a StorageError, as on the
        ordinary path (never a bound value in the message)."""
        try:
            raw = self._engine.raw_connection()  # the pool's connection (the connect pragmas applied)
        except sa.exc.SQLAlchemyError as exc:
            raise StorageError(f"storage operation failed ({type(exc).__name__})") from None
        try:
            cursor = raw.cursor()
            try:
                # One statement on a driver-level autocommit connection (engine.py): SQLite
                # runs it in its own implicit read transaction, one snapshot, the same as
                # BEGIN; SELECT; COMMIT without the two extra statements.
                cursor.execute(self._statement.sql, self._statement.parameters(params))
                row = cursor.fetchone()
            finally:
                cursor.close()
        except sqlite3.Error as exc:  # the pool rolls back whatever is left when it takes it back
            raise storage_error(exc) from None
        finally:
            raw.close()  # back to the pool
        return self._statement.mapping(row)
