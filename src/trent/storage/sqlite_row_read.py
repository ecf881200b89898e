"""One-row reads on file SQLite straight through the DB-API connection (issue 17 performance).

Every S3 request reads its bucket row and a GET its object row: two single-row SELECTs
by primary key. Through SQLAlchemy's Connection each cost ~70 µs of CPU (a Connection
object, the ``begin`` event and its ``BEGIN``, the compiled-statement execution context,
the result proxy, ``COMMIT``), several times SQLite's own work, and they were a quarter
of a small GET's CPU (bench/S3_SSE.md, issue-17i). Here the statement is compiled once
for the engine's dialect and run on the pooled DB-API connection, in the same read
transaction SQLite would give it through SQLAlchemy (``BEGIN`` deferred; ``COMMIT``),
with the columns' own result processors (Boolean from SQLite's integers, ...), so the
row is the same mapping a SQLAlchemy read returns.

Only for file SQLite outside a write transaction: inside a scope that wrote, the read
must run on the scope's connection to see its writes (the caller uses its unit of work
then), and ``:memory:`` and PostgreSQL keep the ordinary path.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Mapping
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from trent.storage.repositories import StorageError


class RowRead:
    """``select`` (one row at most, bound parameters by name) compiled once for ``engine``."""

    def __init__(self, engine: Engine, select: sa.Select[Any]) -> None:
        compiled = select.compile(dialect=engine.dialect)
        self._engine = engine
        self._sql = str(compiled)
        positions = compiled.positiontup
        if positions is None:  # a named-parameter dialect: not the sqlite3 driver
            raise ValueError("RowRead is for SQLite's positional parameters")
        self._params = tuple(positions)
        columns = list(select.selected_columns)
        self._keys = tuple(str(c.key) for c in columns)
        self._processors: tuple[tuple[int, Callable[[Any], Any]], ...] = tuple(
            (i, p) for i, c in enumerate(columns)
            if (p := c.type.result_processor(engine.dialect, None)) is not None
        )

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
                cursor.execute("BEGIN")
                try:
                    cursor.execute(self._sql, tuple(params[name] for name in self._params))
                    row = cursor.fetchone()
                finally:
                    cursor.execute("COMMIT")
            finally:
                cursor.close()
        except sqlite3.Error as exc:  # the pool rolls back whatever is left when it takes it back
            raise StorageError(f"storage operation failed ({type(exc).__name__})") from None
        finally:
            raw.close()  # back to the pool
        if row is None:
            return None
        values = list(row)
        for index, process in self._processors:
            values[index] = process(values[index])
        return dict(zip(self._keys, values, strict=True))
