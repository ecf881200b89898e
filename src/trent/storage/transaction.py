"""One transaction around several repository calls (issue 16: the transactional outbox).

Every repository method is its own unit of work (``engine.UnitOfWork``). Inside
``with storage.atomic():`` they are not: the first *write* opens a transaction (SQLite:
``BEGIN IMMEDIATE``) on a connection held by the scope, every later call of the same
thread — reads included, so they see the writes — runs on it, and the scope commits
when the block ends (rolls back if it raises). Reads before the first write take their
own short transactions as usual, so a scope that never writes never holds a lock; a
mutation holds the write lock only from its first write to its commit.

That is what lets a mutation and its audit event commit together: the pipeline opens
the scope around the handler, the handler writes, the event is appended last, then
commit — or nothing happened at all.

On PostgreSQL an error inside a transaction aborts the rest of it, so a write whose
failure the service catches and carries on from (a concurrent AssumeRole's session
principal) runs in a SAVEPOINT (``UnitOfWork(write=True, savepoint=True)``); any other
failed write rolls the scope back anyway. SQLite only aborts the failed statement.

Hooks: ``after_end`` callbacks run when the scope ends either way (the cache replays its
invalidations there: a concurrent reader may have cached the pre-commit row between a
write and its commit); ``after_commit`` callbacks only after a successful commit.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

if TYPE_CHECKING:
    from trent.storage.engine import UnitOfWork



log = logging.getLogger("trent.storage")


class Scope:
    """An open ``atomic()`` block of one thread."""

    __slots__ = ("unit", "conn", "_transaction", "_serial", "after_end", "after_commit", "savepoint_writes")

    def __init__(self, unit: UnitOfWork) -> None:
        self.unit = unit
        self.conn: Connection | None = None
        self._transaction: Any = None
        self._serial: contextlib.ExitStack | None = None
        self.after_end: list[Callable[[], None]] = []
        self.after_commit: list[Callable[[], None]] = []
        # Opened by ``storage.transaction()`` (issue 20): every write is a unit of its own
        # (a SAVEPOINT), so a caller may catch Duplicate and carry on.
        self.savepoint_writes = False

    @property
    def wrote(self) -> bool:
        """Whether the scope has begun its transaction (its first write happened)."""
        return self.conn is not None

    def begin(self) -> Connection:
        if self.conn is None:
            serial = contextlib.ExitStack()
            serial.enter_context(self.unit.serial())
            try:
                serial.enter_context(self.unit.writing())  # released after the connection
                conn = serial.enter_context(self.unit.engine.connect())
                conn.execution_options(**{self.unit.write_option: True})
                self._transaction = conn.begin()
            except BaseException:
                serial.close()
                raise
            self._serial, self.conn = serial, conn
        return self.conn

    def end(self, commit: bool) -> None:
        """Commit (or roll back) and release the connection, then run the hooks. A failed
        commit rolls back and raises: nothing of the scope happened."""
        transaction, had_transaction = self._transaction, self._transaction is not None
        committed = False
        try:
            if transaction is not None:
                if commit:
                    transaction.commit()
                    committed = True
                else:
                    transaction.rollback()
        finally:
            if transaction is not None and commit and not committed:
                with contextlib.suppress(Exception):
                    transaction.rollback()
            if self._serial is not None:
                self._serial.close()
            self.conn = self._transaction = self._serial = None
            self._run(self.after_end)
            if commit and (committed or not had_transaction):
                self._run(self.after_commit)
            self.after_commit.clear()

    def commit_so_far(self) -> None:
        """Commit what the block wrote so far and release the connection (and, on SQLite,
        the write lock); the block goes on, its next write begins a new transaction.
        The S3 streaming writes use it so that an upload never holds the lock (issue 17)."""
        if self.conn is not None:
            self.end(commit=True)

    @staticmethod
    def _run(hooks: list[Callable[[], None]]) -> None:
        for hook in hooks:
            try:
                hook()
            except Exception:  # noqa: BLE001 - a hook must not turn a commit into a failure
                log.exception("transaction hook failed")
        hooks.clear()


_current: ContextVar[Scope | None] = ContextVar("trent_storage_scope", default=None)


def current(unit: UnitOfWork) -> Scope | None:
    scope = _current.get()
    return scope if scope is not None and scope.unit is unit else None


class Joined:
    """A unit of work inside an open scope: the scope's connection, its transaction begun
    by the first write, with the SQLAlchemy errors of the begin and of the block turned
    into storage errors by ``translate``. A class for the reason :class:`Atomic` is one:
    every repository call inside a scope enters one."""

    __slots__ = ("_scope", "_translate")

    def __init__(self, scope: Scope, translate: Callable[[sa.exc.SQLAlchemyError], Exception]) -> None:
        self._scope = scope
        self._translate = translate

    def __enter__(self) -> Connection:
        try:
            return self._scope.begin()
        except sa.exc.SQLAlchemyError as exc:
            raise self._translate(exc) from exc

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: Any) -> None:
        if isinstance(exc, sa.exc.SQLAlchemyError):
            raise self._translate(exc) from exc


class Atomic:
    """``with unit.atomic():`` — the scope for ``unit`` (nested blocks join the outer one),
    with the SQLAlchemy errors of the block and of its end turned into storage errors by
    ``translate``. A class and not a ``@contextmanager``: every request enters one (a small
    S3 PUT two: its call and its batch), and the three stacked generator layers it replaces
    cost ~3.8 µs of CPU per block against ~1 µs (timeit, bench/S3_SSE.md, session of 2026-12-07 16:49)."""

    __slots__ = ("_unit", "_translate", "_scope", "_token")

    def __init__(self, unit: UnitOfWork, translate: Callable[[sa.exc.SQLAlchemyError], Exception]) -> None:
        self._unit = unit
        self._translate = translate
        self._scope: Scope | None = None
        self._token: Any = None

    def __enter__(self) -> Scope:
        outer = current(self._unit)
        if outer is not None:
            return outer
        scope = self._scope = Scope(self._unit)
        self._token = _current.set(scope)
        return scope

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: Any) -> None:
        scope = self._scope
        if scope is not None:
            _current.reset(self._token)
            ok = exc_type is None
            try:
                scope.end(commit=ok)
            except sa.exc.SQLAlchemyError as failed:
                if ok:  # the block succeeded but its commit failed: that is the error
                    raise self._translate(failed) from failed
                log.error("rollback failed: %s", type(failed).__name__)
        if isinstance(exc, sa.exc.SQLAlchemyError):
            raise self._translate(exc) from exc
