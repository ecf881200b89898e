"""Appending events to the trail: numbering, chaining, one segment per trail (issue 16).

Two ways in, one algorithm (:func:`build_segment`):

- inside an open ``atomic()`` scope (a mutation and its event), through SQLAlchemy on the
  scope's connection: the event joins the change's transaction;
- otherwise (the group commit of every loop tick), through :class:`DirectAppender`: one
  dedicated DBAPI connection and four plain statements per batch — BEGIN, lock the trail
  row, insert the segment, move the tip, COMMIT. The hot path pays the database, not the
  toolkit: SQLAlchemy's connection checkout, statement cache keys and transaction events
  cost more than the inserts (measured: ~60 % of a batch's time).

Per trail the row is locked first (``SELECT ... FOR UPDATE`` on PostgreSQL; SQLite's
``BEGIN IMMEDIATE`` already excludes other writers), so the sequence and the chain are
decided inside the transaction, whatever number of processes and nodes append.
"""

from __future__ import annotations

import hashlib
import logging
import sqlite3
import struct
import threading
from collections.abc import Callable, Sequence
from itertools import groupby
from typing import Any

from sqlalchemy.engine import Connection, Engine

from trent.domain.audit_chain import GENESIS_HASH, TOKEN_PREFIX, TOKEN_SEPARATOR, AuditRecord, TrailKey
from trent.storage.engine import SQLITE_BUSY_TIMEOUT_MS, SQLITE_WAL_BOUND_BYTES, writer_gate
from trent.storage.repositories import StorageError
from trent.storage.sqlite_driver import cursor_of, storage_error

log = logging.getLogger("trent.storage")

TIMES = struct.Struct(">q")  # each event's time: 8-byte big-endian seconds
# The WAL checkpointer (_Checkpointer): PASSIVE passes per round at most, the frames it may
# leave uncopied for RESTART to copy under the write lock (pages of 4 KiB: well under a
# millisecond), and the seconds between two tries of a restart readers stood in the way of.
_PASSES = 4
_RESIDUAL_FRAMES = 32
EVENT_ID_PREFIX = TOKEN_PREFIX["EventId"]  # event ids are kept apart: wide, and searched only by EventId

# ``b``: a binary parameter (psycopg sends bytea as-is with %b; qmark has no such mark).
_HOT_SQL = {
    style: {
        "select": f"SELECT id, last_seq, last_hash FROM audit_trails WHERE account_id = {p} AND region = {p}{lock}",
        "create": "INSERT INTO audit_trails (account_id, region, name, created_at, last_seq, last_hash, "
                  f"delivered_seq, pruned_seq, pruned_hash) VALUES ({p}, {p}, {p}, {p}, 0, {b}, 0, 0, {b}) "
                  "ON CONFLICT (account_id, region) DO NOTHING",
        "insert": "INSERT INTO audit_segments (trail_id, first_seq, last_seq, times, hashes, bodies) "
                  f"VALUES ({p}, {p}, {p}, {b}, {b}, {b})",
        "index": "INSERT INTO audit_segment_index (trail_id, first_seq, first_time, last_time, attrs, ids) "
                 f"VALUES ({p}, {p}, {p}, {p}, {p}, {p})",
        "update": f"UPDATE audit_trails SET last_seq = {p}, last_hash = {b} WHERE id = {p}",
    }
    for style, p, b, lock in (("qmark", "?", "?", ""), ("format", "%s", "%b", " FOR UPDATE"),
                              ("pyformat", "%s", "%b", " FOR UPDATE"))
}


def by_trail(records: Sequence[AuditRecord]) -> list[tuple[TrailKey, list[int]]]:
    """Record indexes grouped per trail, trails in (account, region) order (lock order)."""
    order = sorted(range(len(records)), key=lambda i: records[i].trail)
    return [(trail, list(group)) for trail, group in groupby(order, key=lambda i: records[i].trail)]


def build_segment(records: Sequence[AuditRecord], indexes: list[int], tid: int, last_seq: int, tip: bytes,
                  placed: list[tuple[int, bytes]]) -> tuple[tuple[Any, ...], tuple[Any, ...], int, bytes]:
    """Number and chain ``records[indexes]`` after (last_seq, tip): the segment row's and
    its index row's parameters, the new last sequence and tip. Fills ``placed[i]`` =
    (sequence, hash)."""
    hashes: list[bytes] = []
    times: list[bytes] = []
    bodies: list[bytes] = []
    tokens: set[str] = set()
    pack = TIMES.pack
    sha256 = hashlib.sha256
    seq = last_seq
    low = high = records[indexes[0]].event_time
    for i in indexes:
        _, at, record_tokens, body = records[i]
        seq += 1
        tip = sha256(tip + body).digest()  # domain.audit_chain.chain_hash, inlined: once per event
        placed[i] = (seq, tip)
        hashes.append(tip)
        times.append(pack(int(at)))
        if at < low:
            low = at
        elif at > high:
            high = at
        bodies.append(body)
        tokens.update(record_tokens)
    ids = [t for t in tokens if t.startswith(EVENT_ID_PREFIX)]
    tokens.difference_update(ids)
    sep = TOKEN_SEPARATOR
    row = (tid, last_seq + 1, seq, b"".join(times), b"".join(hashes), b"\n".join(bodies))
    index = (tid, last_seq + 1, float(int(low)), float(int(high)), sep + sep.join(sorted(tokens)) + sep,
             sep + sep.join(ids) + sep)
    return row, index, seq, tip


def append_in(conn: Connection, records: Sequence[AuditRecord], trail_name: str) -> list[tuple[int, bytes]]:
    """Append on a SQLAlchemy connection (inside the caller's transaction). On SQLite the
    statements run on the DB-API cursor of that same connection (as ``sqlite_driver.py``
    does for the PutObject row): same transaction, same statements, without SQLAlchemy's
    ~50 µs of CPU per ``exec_driver_sql`` (four or more per append: a quarter of a small
    S3 PUT's transaction; bench/S3_SSE.md, issue-17k)."""
    if conn.dialect.name == "sqlite":
        return _append_on_sqlite_cursor(conn, records, trail_name)
    return _append_statements(lambda statement, params: conn.exec_driver_sql(statement, params).first(),
                              conn.exec_driver_sql, _HOT_SQL[conn.dialect.paramstyle], records, trail_name)


def _append_on_sqlite_cursor(conn: Connection, records: Sequence[AuditRecord],
                             trail_name: str) -> list[tuple[int, bytes]]:
    """:func:`append_in`'s statements on the cursor of ``conn``'s sqlite3 connection. The
    driver's errors stop here as the SQLAlchemy path's did (``engine.translate``): a
    unique clash is :class:`Duplicate`, anything else :class:`StorageError` naming only
    the error type, never a bound value."""
    cursor = cursor_of(conn)
    try:
        return _append_statements(lambda statement, params: cursor.execute(statement, params).fetchone(),
                                  cursor.execute, _HOT_SQL["qmark"], records, trail_name)
    except sqlite3.Error as exc:
        raise storage_error(exc) from None
    finally:
        cursor.close()


def _append_statements(query: Callable[[str, tuple[Any, ...]], Any], execute: Callable[[str, tuple[Any, ...]], Any],
                       sql: dict[str, str], records: Sequence[AuditRecord],
                       trail_name: str) -> list[tuple[int, bytes]]:
    """The append's statements, per trail, through ``query`` (first row or None) and
    ``execute``: the trail row (created on first use), then segment, index, new tip."""
    placed: list[tuple[int, bytes]] = [(0, b"")] * len(records)
    for trail, indexes in by_trail(records):
        key = (trail.account_id, trail.region)
        row = query(sql["select"], key)
        if row is None:
            now = records[indexes[0]].event_time
            execute(sql["create"], (*key, trail_name, now, GENESIS_HASH, GENESIS_HASH))
            row = query(sql["select"], key)
            if row is None:  # the row just created is not there: never on a sound database
                raise StorageError("storage operation failed (NoResultFound)")
        params, index, seq, tip = build_segment(records, indexes, int(row[0]), int(row[1]), bytes(row[2]), placed)
        execute(sql["insert"], params)
        execute(sql["index"], index)
        execute(sql["update"], (seq, tip, params[0]))
    return placed


class DirectAppender:
    """The group commit's own connection (see the module doc). Thread-safe (a lock); a
    connection that failed is thrown away and the next batch opens a new one.

    On SQLite this connection never checkpoints the WAL itself: a checkpoint copies pages
    back into the database and fsyncs, a stall of milliseconds that would block the event
    loop (the group commit runs there). A :class:`_Checkpointer` thread does it instead.

    It does not queue on the in-process writer gate (engine.writer_gate): a unit of work
    holds the gate from its connection checkout to its checkin, Python steps that each wait
    for the GIL while the loop is busy, so behind the membership lease's write every second
    the batch waited up to 22 ms (measured); SQLite's lock is held for less of that."""

    def __init__(self, engine: Engine, serial: Any) -> None:
        self._engine = engine
        self._serial = serial  # the UnitOfWork's lock (shared :memory: SQLite)
        self._lock = threading.RLock()  # held around SQLite appends, and taken again to open one
        self._sql = _HOT_SQL[engine.dialect.paramstyle]
        self._sqlite = engine.dialect.name == "sqlite"
        # SQLite: one connection (one writer at a time anyway); a server: one per thread,
        # so batches of several writer threads overlap (they queue on the trail row lock).
        self._local = threading.local()
        self._all: list[Any] = []
        self._checkpointer: _Checkpointer | None = None

    def _connection(self) -> Any:
        raw = getattr(self._local, "raw", None) if not self._sqlite else (self._all[0] if self._all else None)
        if raw is not None:
            return raw
        try:
            raw = self._engine.raw_connection()
            if self._sqlite and self._engine.url.database not in (None, "", ":memory:"):
                raw.cursor().execute("PRAGMA wal_autocheckpoint=0")
                if self._checkpointer is None:
                    self._checkpointer = _Checkpointer(self._engine)
        except Exception as exc:  # noqa: BLE001 - the driver's own errors: stop at this edge
            raise StorageError(f"storage operation failed ({type(exc).__name__})") from None
        with self._lock:
            self._all.append(raw)
        self._local.raw = raw
        return raw

    def append(self, records: Sequence[AuditRecord], trail_name: str) -> list[tuple[int, bytes]]:
        if self._sqlite:
            with self._lock, self._serial:
                return self._append_on(self._connection(), records, trail_name)
        return self._append_on(self._connection(), records, trail_name)

    def _append_on(self, raw: Any, records: Sequence[AuditRecord], trail_name: str) -> list[tuple[int, bytes]]:
        sql = self._sql
        cursor = raw.cursor()
        try:
            if self._sqlite:
                cursor.execute("BEGIN IMMEDIATE")
            placed: list[tuple[int, bytes]] = [(0, b"")] * len(records)
            writes: list[tuple[tuple[Any, ...], tuple[Any, ...], tuple[Any, ...]]] = []
            for trail, indexes in by_trail(records):
                key = (trail.account_id, trail.region)
                cursor.execute(sql["select"], key)
                row = cursor.fetchone()
                if row is None:
                    now = records[indexes[0]].event_time
                    cursor.execute(sql["create"], (*key, trail_name, now, GENESIS_HASH, GENESIS_HASH))
                    cursor.execute(sql["select"], key)
                    row = cursor.fetchone()
                params, index, seq, tip = build_segment(records, indexes, int(row[0]), int(row[1]), bytes(row[2]),
                                                        placed)
                writes.append((params, index, (seq, tip, params[0])))
            if self._sqlite:
                for params, index, update in writes:
                    cursor.execute(sql["insert"], params)
                    cursor.execute(sql["index"], index)
                    cursor.execute(sql["update"], update)
                cursor.execute("COMMIT")
            else:
                # PostgreSQL: the writes and the commit in one round trip (psycopg pipeline)
                with raw.driver_connection.pipeline():
                    for params, index, update in writes:
                        cursor.execute(sql["insert"], params)
                        cursor.execute(sql["index"], index)
                        cursor.execute(sql["update"], update)
                raw.commit()
            return placed
        except Exception as exc:  # noqa: BLE001 - the driver's own errors: stop at this edge
            self._discard(raw)
            raise StorageError(f"storage operation failed ({type(exc).__name__})") from None
        finally:
            try:
                cursor.close()
            except Exception:  # noqa: BLE001 - a discarded connection's cursor
                pass

    def _discard(self, raw: Any) -> None:
        """Roll back; a server connection is thrown away (it may be broken), SQLite's kept
        (an in-memory database lives only as long as its one connection)."""
        try:
            if self._sqlite:
                raw.cursor().execute("ROLLBACK")
                return
            raw.rollback()
        except Exception:  # noqa: BLE001 - the transaction may already be gone
            pass
        self._local.raw = None
        with self._lock:
            if raw in self._all:
                self._all.remove(raw)
        try:
            raw.invalidate()
        except Exception:  # noqa: BLE001
            log.debug("could not invalidate the audit connection")

    def close(self) -> None:
        with self._lock:
            connections, self._all = self._all, []
        for raw in connections:
            try:
                raw.close()
            except Exception:  # noqa: BLE001 - closing at shutdown
                pass
        if self._checkpointer is not None:
            self._checkpointer.stop()
            self._checkpointer = None


class _Checkpointer:
    """Checkpoints a SQLite WAL from its own thread and connection, every ``interval``
    seconds; the fsync waits happen here, never on the event loop.

    Each round runs PASSIVE (up to a few passes, each copying what was committed during
    the last): it copies back every frame no reader still needs without taking the write
    lock, so it blocks no one. That alone never bounds the file: the WAL restarts from its
    beginning only when a writer finds every frame copied *and* no reader inside a WAL
    snapshot (sqlite.org/wal.html, "Avoiding Excessively Large WAL Files"), and under
    continuous commits PASSIVE never catches up (461 MB after a minute of Encrypt load).
    So once the WAL holds ``bound`` bytes of frames the round also runs RESTART: it copies the
    few frames left under the write lock, and if no reader is in a WAL snapshot the next
    writer starts the WAL over (and cuts the file back to ``journal_size_limit``,
    engine.py). It never waits: its busy timeout is 0 and it only tries the in-process
    writer gate, so a reader or a writer in the way makes it answer busy at once (without
    the write lock RESTART degrades to PASSIVE; both checked by experiment, SQLite 3.40),
    and it is tried again ``retry`` seconds later. The one wait it can cause: a commit
    that meets the write lock during that short copy sleeps in SQLite's busy handler
    (1 ms first)."""

    def __init__(self, engine: Engine, interval: float = 0.5, retry: float = 0.02,
                 bound: int = SQLITE_WAL_BOUND_BYTES) -> None:
        self._engine = engine
        self._interval = interval
        self._retry = retry
        self._bound = bound
        self._page_size = 0  # the database's, read on the first round (fixed once it exists)
        self._gate = writer_gate(engine.url)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="trent-wal-checkpoint", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        raw = None
        try:
            raw = self._engine.raw_connection()
            raw.cursor().execute("PRAGMA busy_timeout=0")
            delay = self._interval
            while not self._stop.wait(delay):
                try:
                    delay = self._interval if self._checkpoint(raw) else self._retry
                except Exception:  # noqa: BLE001 - busy or gone: the next round retries
                    log.debug("WAL checkpoint skipped")
                    delay = self._interval
        except Exception:  # noqa: BLE001
            log.exception("WAL checkpointer stopped")
        finally:
            if raw is not None:
                try:  # the connection goes back to the pool: give back its busy timeout
                    raw.cursor().execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS:d}")
                finally:
                    raw.close()

    def _checkpoint(self, raw: Any) -> bool:
        """One round; False if the WAL is past the bound and could not be restarted."""
        cursor = raw.cursor()
        for _ in range(_PASSES):  # each pass copies what was committed during the last one
            _busy, frames, copied = cursor.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
            if frames - copied <= _RESIDUAL_FRAMES:
                break
        # The WAL's content since its last restart (the file itself is reused in place)
        if not self._page_size:
            self._page_size = cursor.execute("PRAGMA page_size").fetchone()[0]
        if frames * self._page_size <= self._bound:
            return True
        # RESTART copies what is left while holding the write lock (and fsyncs): only when
        # that is a few frames, and never behind an in-process writer; else retry soon.
        if frames - copied > _RESIDUAL_FRAMES or not self._gate.acquire(blocking=False):
            return False
        try:
            # busy: a reader still inside a WAL snapshot (one request's read) is in the way.
            # Not waited for: SQLite's busy handler would sleep 1, 2, 5, ... ms holding the
            # write lock, every commit of the event loop's audit batch waiting behind it.
            busy, _frames, _copied = cursor.execute("PRAGMA wal_checkpoint(RESTART)").fetchone()
            return not busy
        finally:
            self._gate.release()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
