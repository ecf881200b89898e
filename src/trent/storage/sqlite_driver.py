"""A SQLAlchemy Core statement compiled once and run on SQLite's DB-API cursor (issue 17
performance).

A small S3 PUT writes one object row (and, on an overwrite, reads the old one and records
its blob as garbage). Through SQLAlchemy's Connection each of those statements cost
~100 µs of CPU (execution context, parameter processing, result proxy, events) for a few
µs of SQLite work: about a quarter of a 1 KiB PUT's CPU (bench/S3_SSE.md, 2026-12-06).
Here the statement is compiled once for the engine's dialect and executed on the cursor
of the connection the caller's transaction already holds, with the columns' own bind and
result processors (Boolean, Double), so SQLite stores and returns exactly what the
SQLAlchemy path would. It runs inside that transaction (SQLAlchemy's ``BEGIN
IMMEDIATE``, its commit or rollback), so atomicity with the call's audit events is
unchanged.

File SQLite only (positional ``?`` parameters, the sqlite3 driver); PostgreSQL keeps the
SQLAlchemy path.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Mapping, Sequence
from typing import Any, cast

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Dialect
from sqlalchemy.sql.compiler import SQLCompiler

from trent.storage.engine import is_unique_violation
from trent.storage.repositories import Duplicate, StorageError


class DriverStatement:
    """``statement`` compiled once for ``dialect``; parameters by bind name."""

    def __init__(self, dialect: Dialect, statement: sa.ClauseElement) -> None:
        compiled = cast(SQLCompiler, statement.compile(dialect=dialect))
        positions = compiled.positiontup
        if positions is None:
            raise ValueError("DriverStatement is for SQLite's positional parameters")
        self.sql = str(compiled)
        self._params = tuple(positions)
        self._binds: tuple[tuple[int, Callable[[Any], Any]], ...] = tuple(
            (i, p) for i, name in enumerate(positions)
            if (p := compiled.binds[name].type.bind_processor(dialect)) is not None
        )
        columns = list(getattr(statement, "selected_columns", ()))
        self._keys = tuple(str(c.key) for c in columns)
        self._results: tuple[tuple[int, Callable[[Any], Any]], ...] = tuple(
            (i, p) for i, c in enumerate(columns) if (p := c.type.result_processor(dialect, None)) is not None
        )

    def parameters(self, values: Mapping[str, Any]) -> list[Any]:
        out = [values[name] for name in self._params]
        for index, process in self._binds:
            out[index] = process(out[index])
        return out

    def execute(self, cursor: sqlite3.Cursor, values: Mapping[str, Any]) -> sqlite3.Cursor:
        """On ``cursor`` (:func:`cursor_of` the caller's connection: one per unit of work)."""
        return cursor.execute(self.sql, self.parameters(values))

    def execute_many(self, cursor: sqlite3.Cursor, rows: Sequence[Mapping[str, Any]]) -> None:
        cursor.executemany(self.sql, [self.parameters(r) for r in rows])

    def one(self, cursor: sqlite3.Cursor, values: Mapping[str, Any]) -> dict[str, Any] | None:
        """The first row as a column-name mapping (what ``.mappings().first()`` gives), or None."""
        return self.mapping(self.execute(cursor, values).fetchone())

    def mapping(self, row: Sequence[Any] | None) -> dict[str, Any] | None:
        """A fetched row as a column-name mapping, through the columns' result processors."""
        if row is None:
            return None
        out = list(row)
        for index, process in self._results:
            out[index] = process(out[index])
        return dict(zip(self._keys, out, strict=True))


def cursor_of(conn: Connection) -> sqlite3.Cursor:
    """A DB-API cursor on the sqlite3 connection under ``conn`` (its open transaction)."""
    driver = conn.connection.driver_connection
    assert isinstance(driver, sqlite3.Connection)
    return driver.cursor()


def storage_error(exc: sqlite3.Error) -> StorageError:
    """As the SQLAlchemy path reports it (``engine.translate``): a unique clash is
    :class:`Duplicate`, anything else names the driver's error type, never a bound value."""
    if is_unique_violation(exc):
        return Duplicate("a row with the same identity already exists")
    return StorageError(f"storage operation failed ({type(exc).__name__})")
