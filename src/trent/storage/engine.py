"""Engines for the two supported backends, and the edge where their errors stop.

SQLite (the default, ``--dev`` and single node) is tuned for a server that calls it
from a thread pool and from the event loop thread (architecture.md, storage/Modes):

- WAL journal: readers never block the writer and vice versa;
- ``synchronous=NORMAL``: durable across application crashes, and with WAL only the
  last transactions can be lost on power failure — the usual WAL trade;
- ``foreign_keys=ON`` (off by default in SQLite) and a busy timeout so concurrent
  writers wait instead of failing at once;
- pysqlite's implicit transaction handling is switched off and we emit ``BEGIN``
  ourselves (the SQLAlchemy-documented recipe), taking the write lock up front
  (``BEGIN IMMEDIATE``) for units of work that write, so a read-then-write
  transaction can never hit ``SQLITE_BUSY`` on lock upgrade.

PostgreSQL (several nodes) goes through psycopg 3; a bare ``postgresql://`` URL is
upgraded to ``postgresql+psycopg://``.

Foreign exceptions are translated here (habits §8): a unique/primary-key clash becomes
:class:`Duplicate`, anything else from SQLAlchemy or the driver :class:`StorageError`.
Engines are built with ``hide_parameters=True`` so no bound value (wrapped material,
secrets) ever appears in an exception message or log line.
"""

from __future__ import annotations

import contextlib
import sqlite3
import threading
from collections.abc import Iterator
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import URL, Connection, Engine, make_url
from sqlalchemy.pool import StaticPool

from trent.storage.repositories import Duplicate, StorageError

SQLITE_BUSY_TIMEOUT_MS = 5000
WRITE_OPTION = "trent_write"
_UNIQUE_SQLITE_CODES = frozenset(
    {sqlite3.SQLITE_CONSTRAINT_UNIQUE, sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY}
)
_UNIQUE_SQLSTATE = "23505"  # PostgreSQL unique_violation


def normalize_url(url: str | URL) -> URL:
    parsed = make_url(url)
    if parsed.drivername == "postgresql":
        parsed = parsed.set(drivername="postgresql+psycopg")
    backend = parsed.get_backend_name()
    if backend not in ("sqlite", "postgresql"):
        raise ValueError(f"unsupported storage backend {backend!r} (sqlite or postgresql)")
    return parsed


def is_memory_sqlite(url: URL) -> bool:
    return url.get_backend_name() == "sqlite" and url.database in (None, "", ":memory:")


def create_engine(url: str | URL) -> Engine:
    """An engine for ``url`` with Trent's pragmas, pooling and error hygiene."""
    parsed = normalize_url(url)
    if parsed.get_backend_name() == "postgresql":
        return sa.create_engine(parsed, hide_parameters=True, pool_pre_ping=True)
    kwargs: dict[str, Any] = {"connect_args": {"check_same_thread": False}}
    if is_memory_sqlite(parsed):
        # One shared connection, or each pooled connection would see its own empty DB.
        kwargs["poolclass"] = StaticPool
    engine = sa.create_engine(parsed, hide_parameters=True, **kwargs)
    event.listen(engine, "connect", _sqlite_on_connect)
    event.listen(engine, "begin", _sqlite_on_begin)
    return engine


def _sqlite_on_connect(dbapi_connection: sqlite3.Connection, _record: object) -> None:
    dbapi_connection.isolation_level = None  # we emit BEGIN ourselves (module doc)
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute("PRAGMA journal_mode=WAL")  # answers "memory" for :memory:
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS:d}")
    finally:
        cursor.close()


def _sqlite_on_begin(conn: Connection) -> None:
    write = conn.get_execution_options().get(WRITE_OPTION, False)
    conn.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")


def _is_unique_violation(orig: BaseException | None) -> bool:
    sqlstate = getattr(orig, "sqlstate", None)  # psycopg
    if sqlstate is not None:
        return bool(sqlstate == _UNIQUE_SQLSTATE)
    return getattr(orig, "sqlite_errorcode", None) in _UNIQUE_SQLITE_CODES


def translate(exc: sa.exc.SQLAlchemyError) -> StorageError:
    """The domain error for a SQLAlchemy error; never matches on message text."""
    orig = getattr(exc, "orig", None)
    if isinstance(exc, sa.exc.IntegrityError) and _is_unique_violation(orig):
        return Duplicate("a row with the same identity already exists")
    cause = type(orig).__name__ if orig is not None else type(exc).__name__
    return StorageError(f"storage operation failed ({cause})")


class UnitOfWork:
    """Runs each repository method in exactly one transaction on ``engine``.

    ``:memory:`` SQLite shares one connection between threads, so its units of work are
    serialized with a lock; every other engine relies on its (thread-safe) pool.

    :meth:`transaction` opens a write transaction that every unit of work of the same
    thread joins (as a SAVEPOINT, so a unit that fails — a ``Duplicate`` — undoes only
    itself) until the outermost block ends: that is how the service makes a
    check-then-act rule atomic (read under a row lock, decide, write, commit).
    """

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._serial: contextlib.AbstractContextManager[Any] = (
            threading.RLock() if is_memory_sqlite(engine.url) else contextlib.nullcontext()
        )
        self._local = threading.local()

    @property
    def active(self) -> Connection | None:
        """The connection of this thread's open :meth:`transaction`, if any."""
        return getattr(self._local, "conn", None)

    @contextlib.contextmanager
    def __call__(self, *, write: bool) -> Iterator[Connection]:
        active = self.active
        if active is not None:
            try:
                with active.begin_nested():
                    yield active
            except sa.exc.SQLAlchemyError as exc:
                raise translate(exc) from exc
            return
        try:
            with self._serial, self.engine.connect() as conn:
                if write:
                    conn.execution_options(**{WRITE_OPTION: True})
                with conn.begin():
                    yield conn
        except sa.exc.SQLAlchemyError as exc:
            raise translate(exc) from exc

    @contextlib.contextmanager
    def locking(self) -> Iterator[Connection]:
        """A unit of work that takes row locks: only meaningful inside :meth:`transaction`
        (a lock taken in a transaction of its own would be released at once)."""
        if self.active is None:
            raise RuntimeError("row locks are taken inside storage.transaction()")
        with self(write=True) as conn:
            yield conn

    @contextlib.contextmanager
    def transaction(self) -> Iterator[Connection]:
        """One write transaction for this thread's units of work (re-entrant)."""
        active = self.active
        if active is not None:
            yield active
            return
        with self(write=True) as conn:
            self._local.conn = conn
            try:
                yield conn
            finally:
                self._local.conn = None
