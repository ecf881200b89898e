"""Engines for the two supported backends, and the edge where their errors stop.

SQLite (the default, ``--dev`` and single node) is tuned for a server that calls it
from a thread pool and from the event loop thread (architecture.md, storage/Modes):

- WAL journal: readers never block the writer and vice versa;
- ``synchronous=FULL`` outside ``--dev``: a commit returns only once its WAL frames are
  on disk, so an answered call (a key created, material imported, an object PUT, their
  audit events) survives a power failure, not only a crash of the process. ``NORMAL``,
  the usual WAL trade, syncs only at checkpoints: a KMS that answered CreateKey and then
  forgot the key would leave its callers' data encrypted under a key nobody has. Commits
  are grouped (the audit batcher, the PutObject group commit), so FULL costs one fsync
  per group (bench/S3_SSE.md, "synchronous=FULL"). ``--dev`` (test suites, data that
  ``reset`` throws away) keeps ``NORMAL``: durable across crashes, not power failures;
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

from trent.storage import transaction
from trent.storage.repositories import Duplicate, StorageError

SQLITE_BUSY_TIMEOUT_MS = 5000
# Once the WAL holds this much since its last restart, the WAL checkpointer restarts it
# (storage/audit_append._Checkpointer). Each restart can hold a commit up for a few ms, so
# not too often: at ~8 MB/s of audit under full Encrypt load, every ~2 s (4 MB: twice a
# second, p99 10.4 against 9.2 ms). A restarted WAL is cut back on disk to the larger limit
# by the next commit; larger, so that under steady load the file is reused in place rather
# than cut (an ftruncate on the event loop's commit, ~1 ms for a few MB) and grown again.
SQLITE_WAL_BOUND_BYTES = 16 * 1024 * 1024
SQLITE_JOURNAL_SIZE_LIMIT = 2 * SQLITE_WAL_BOUND_BYTES
# File SQLite's pool: at least the threads that may each hold a connection at once (32 S3
# threads, server/http11.S3_THREADS; 8 operation threads; the loop's audit writer; the WAL
# checkpointer, the change-feed poller), so that connections are kept, not opened (four
# PRAGMAs) and closed on every checkin beyond SQLAlchemy's default 5 (issue 17: that churn
# ate the saving of cheaper reads, bench/S3_SSE.md issue-17i). SQLite connections are a
# file handle and a page cache each; PostgreSQL keeps SQLAlchemy's default (server slots).
SQLITE_POOL_SIZE = 48
SQLITE_POOL_OVERFLOW = 16
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


def create_engine(url: str | URL, *, power_safe: bool = True) -> Engine:
    """An engine for ``url`` with Trent's pragmas, pooling and error hygiene.
    ``power_safe``: SQLite commits survive a power failure (module doc); PostgreSQL's are
    its server's business (``synchronous_commit``)."""
    parsed = normalize_url(url)
    if parsed.get_backend_name() == "postgresql":
        return sa.create_engine(parsed, hide_parameters=True, pool_pre_ping=True)
    kwargs: dict[str, Any] = {"connect_args": {"check_same_thread": False}}
    if is_memory_sqlite(parsed):
        # One shared connection, or each pooled connection would see its own empty DB.
        kwargs["poolclass"] = StaticPool
    else:
        kwargs.update(pool_size=SQLITE_POOL_SIZE, max_overflow=SQLITE_POOL_OVERFLOW)
    engine = sa.create_engine(parsed, hide_parameters=True, **kwargs)
    event.listen(engine, "connect", sqlite_on_connect if power_safe else _sqlite_on_connect_dev)
    event.listen(engine, "begin", _sqlite_on_begin)
    return engine


def sqlite_on_connect(dbapi_connection: sqlite3.Connection, _record: object, *, synchronous: str = "FULL") -> None:
    """Every file SQLite connection's settings (the pool's, and sqlite_row_read's readers,
    which commit nothing)."""
    dbapi_connection.isolation_level = None  # we emit BEGIN ourselves (module doc)
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute("PRAGMA journal_mode=WAL")  # answers "memory" for :memory:
        cursor.execute(f"PRAGMA synchronous={synchronous}")  # module doc: FULL outside --dev
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS:d}")
        # Without it a WAL keeps its high-water mark on disk forever (461 MB after a minute
        # of load); with it the first commit after a restart truncates the file to the
        # limit (sqlite.org/pragma.html#pragma_journal_size_limit, checked by experiment).
        cursor.execute(f"PRAGMA journal_size_limit={SQLITE_JOURNAL_SIZE_LIMIT:d}")
    finally:
        cursor.close()


def _sqlite_on_connect_dev(dbapi_connection: sqlite3.Connection, record: object) -> None:
    sqlite_on_connect(dbapi_connection, record, synchronous="NORMAL")


def _sqlite_on_begin(conn: Connection) -> None:
    """Emit the BEGIN on the sqlite3 connection itself: through ``exec_driver_sql`` it
    cost ~50 µs of SQLAlchemy CPU per write transaction (execution context, result proxy,
    events) for a statement without parameters or rows (issue 17, bench/S3_SSE.md
    issue-17k). A refusal (``database is locked``) is wrapped as SQLAlchemy would have
    wrapped it, so :func:`translate` reports the same StorageError."""
    statement = "BEGIN IMMEDIATE" if conn.get_execution_options().get(WRITE_OPTION, False) else "BEGIN"
    try:
        conn.connection.driver_connection.execute(statement)  # type: ignore[union-attr]
    except sqlite3.Error as exc:
        raise sa.exc.DBAPIError.instance(statement, None, exc, sqlite3.Error, hide_parameters=True,
                                         dialect=conn.dialect) from exc


def is_unique_violation(orig: BaseException | None) -> bool:
    """A unique or primary-key clash, from the driver's error (never its message text)."""
    sqlstate = getattr(orig, "sqlstate", None)  # psycopg
    if sqlstate is not None:
        return bool(sqlstate == _UNIQUE_SQLSTATE)
    return getattr(orig, "sqlite_errorcode", None) in _UNIQUE_SQLITE_CODES


def translate(exc: sa.exc.SQLAlchemyError) -> StorageError:
    """The domain error for a SQLAlchemy error; never matches on message text."""
    orig = getattr(exc, "orig", None)
    if isinstance(exc, sa.exc.IntegrityError) and is_unique_violation(orig):
        return Duplicate("a row with the same identity already exists")
    cause = type(orig).__name__ if orig is not None else type(exc).__name__
    return StorageError(f"storage operation failed ({cause})")


_WRITER_GATES: dict[str, threading.RLock] = {}
_WRITER_GATES_LOCK = threading.Lock()


def writer_gate(url: URL) -> threading.RLock:
    """The in-process queue for one SQLite file's write lock, shared by every engine and
    unit of work on the file. Why: SQLite's busy handler polls a held write lock with
    sleeps of up to 100 ms, so with 32 S3 threads writing a PUT waited long after the lock
    was free (issue 17: p99 over 1 s at c=32); queued on a Python lock, the next writer
    starts as soon as the previous one committed. Other processes (``--workers N``,
    the CLI) still meet each other through SQLite's own locking and busy timeout. The WAL
    checkpointer only tries it (storage/audit_append._Checkpointer): never queued behind."""
    key = str(url.database)
    with _WRITER_GATES_LOCK:
        return _WRITER_GATES.setdefault(key, threading.RLock())


class UnitOfWork:
    """Runs each repository method in exactly one transaction on ``engine`` — or, inside
    :meth:`atomic`, in the scope's one transaction (``storage/transaction.py``).

    ``:memory:`` SQLite shares one connection between threads, so its units of work are
    serialized with a lock; every other engine relies on its (thread-safe) pool.

    :meth:`transaction` is an ``atomic`` scope whose write transaction begins at once,
    so that row locks taken inside hold until it commits: that is how the service makes
    a check-then-act rule atomic (read under a row lock, decide, write, commit; issue 20).
    A unit that fails inside a scope fails the scope (PostgreSQL aborts the transaction)
    unless it asked for a ``savepoint``.
    """

    write_option = WRITE_OPTION

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._serial: contextlib.AbstractContextManager[Any] = (
            threading.RLock() if is_memory_sqlite(engine.url) else contextlib.nullcontext()
        )
        self._savepoints = engine.dialect.name == "postgresql"
        file_sqlite = engine.dialect.name == "sqlite" and not is_memory_sqlite(engine.url)
        self._gate = writer_gate(engine.url) if file_sqlite else None
        self.file_sqlite = file_sqlite

    def serial(self) -> contextlib.AbstractContextManager[Any]:
        return self._serial

    @contextlib.contextmanager
    def writing(self) -> Iterator[None]:
        """Held from before a write transaction's BEGIN IMMEDIATE until its connection is
        released (file SQLite only; see :func:`writer_gate`). Waiting longer than SQLite's
        busy timeout fails as SQLite's own wait would have (a StorageError)."""
        gate = self._gate
        if gate is None:
            yield
            return
        if not gate.acquire(timeout=SQLITE_BUSY_TIMEOUT_MS / 1000):
            raise StorageError("storage operation failed (OperationalError)")
        try:
            yield
        finally:
            gate.release()

    def atomic(self) -> transaction.Atomic:
        """One transaction for every call of this thread inside the block (see the module)."""
        return transaction.Atomic(self, translate)

    def scope(self) -> transaction.Scope | None:
        """This thread's open ``atomic`` block, if any."""
        return transaction.current(self)

    def may_read_outside(self) -> bool:
        """Whether a read may run on a connection of its own (``sqlite_row_read.py``): file
        SQLite, and no write transaction of this thread's scope whose writes it must see."""
        if not self.file_sqlite:
            return False
        scope = transaction.current(self)
        return scope is None or not scope.wrote

    @property
    def active(self) -> Connection | None:
        """The connection of this thread's begun transaction, if any."""
        scope = transaction.current(self)
        return scope.conn if scope is not None else None

    def __call__(self, *, write: bool, savepoint: bool = False) -> contextlib.AbstractContextManager[Connection]:
        """``savepoint``: inside an ``atomic()`` scope on PostgreSQL, run this write in a
        SAVEPOINT, for the writes whose failure the service catches and carries on from
        (a unique violation that means "someone else created it"): PostgreSQL would
        otherwise abort the whole transaction. A round trip each way, so only those."""
        scope = transaction.current(self)
        if scope is not None and (write or scope.wrote) and not (
            write and ((savepoint and self._savepoints) or scope.savepoint_writes)
        ):
            return transaction.Joined(scope, translate)  # the common case, without a generator
        return self._unit_of_work(scope, write)

    @contextlib.contextmanager
    def _unit_of_work(self, scope: transaction.Scope | None, write: bool) -> Iterator[Connection]:
        """:meth:`__call__`'s other cases: a write in a SAVEPOINT of the scope, or a
        transaction of its own outside any begun scope."""
        if scope is not None and (write or scope.wrote):
            try:
                conn = scope.begin()
                with conn.begin_nested():
                    yield conn
            except sa.exc.SQLAlchemyError as exc:
                raise translate(exc) from exc
            return
        try:
            with self._serial, (self.writing() if write else contextlib.nullcontext()), \
                    self.engine.connect() as conn:
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
        if transaction.current(self) is None:
            raise RuntimeError("row locks are taken inside storage.transaction()")
        with self(write=True) as conn:
            yield conn

    @contextlib.contextmanager
    def transaction(self) -> Iterator[Connection]:
        """An ``atomic`` scope whose write transaction begins now (issue 20: a check-then-act
        rule reads under row locks, decides, writes, commits). Re-entrant, and it joins an
        enclosing ``atomic`` scope (issue 16: the mutation's audit event commits with it)."""
        opened = transaction.current(self) is None
        with self.atomic() as scope:
            if opened:  # on its own: each write undoes only itself if it fails (a SAVEPOINT)
                scope.savepoint_writes = True
            try:
                conn = scope.begin()
            except sa.exc.SQLAlchemyError as exc:
                raise translate(exc) from exc
            yield conn
