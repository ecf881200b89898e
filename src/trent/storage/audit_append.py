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
import struct
import threading
from collections.abc import Sequence
from itertools import groupby
from typing import Any

from sqlalchemy.engine import Connection, Engine

from trent.domain.audit_chain import GENESIS_HASH, TOKEN_PREFIX, TOKEN_SEPARATOR, AuditRecord, TrailKey
from trent.storage.repositories import StorageError

log = logging.getLogger("trent.storage")

TIMES = struct.Struct(">q")  # each event's time: 8-byte big-endian seconds
EVENT_ID_PREFIX = TOKEN_PREFIX["EventId"]  # event ids are kept apart: wide, and searched only by EventId

_HOT_SQL = {
    style: {
        "select": f"SELECT id, last_seq, last_hash FROM audit_trails WHERE account_id = {p} AND region = {p}{lock}",
        "create": "INSERT INTO audit_trails (account_id, region, name, created_at, last_seq, last_hash, "
                  f"delivered_seq, pruned_seq, pruned_hash) VALUES ({p}, {p}, {p}, {p}, 0, {p}, 0, 0, {p}) "
                  "ON CONFLICT (account_id, region) DO NOTHING",
        "insert": "INSERT INTO audit_segments (trail_id, first_seq, last_seq, times, hashes, bodies) "
                  f"VALUES ({p}, {p}, {p}, {p}, {p}, {p})",
        "index": "INSERT INTO audit_segment_index (trail_id, first_seq, first_time, last_time, attrs, ids) "
                 f"VALUES ({p}, {p}, {p}, {p}, {p}, {p})",
        "update": f"UPDATE audit_trails SET last_seq = {p}, last_hash = {p} WHERE id = {p}",
    }
    for style, p, lock in (("qmark", "?", ""), ("format", "%s", " FOR UPDATE"), ("pyformat", "%s", " FOR UPDATE"))
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
    """Append on a SQLAlchemy connection (inside the caller's transaction)."""
    sql = _HOT_SQL[conn.dialect.paramstyle]
    placed: list[tuple[int, bytes]] = [(0, b"")] * len(records)
    for trail, indexes in by_trail(records):
        key = (trail.account_id, trail.region)
        row = conn.exec_driver_sql(sql["select"], key).first()
        if row is None:
            now = records[indexes[0]].event_time
            conn.exec_driver_sql(sql["create"], (*key, trail_name, now, GENESIS_HASH, GENESIS_HASH))
            row = conn.exec_driver_sql(sql["select"], key).one()
        params, index, seq, tip = build_segment(records, indexes, int(row[0]), int(row[1]), bytes(row[2]), placed)
        conn.exec_driver_sql(sql["insert"], params)
        conn.exec_driver_sql(sql["index"], index)
        conn.exec_driver_sql(sql["update"], (seq, tip, params[0]))
    return placed


class DirectAppender:
    """The group commit's own connection (see the module doc). Thread-safe (a lock); a
    connection that failed is thrown away and the next batch opens a new one."""

    def __init__(self, engine: Engine, serial: Any) -> None:
        self._engine = engine
        self._serial = serial  # the UnitOfWork's lock (shared :memory: SQLite)
        self._lock = threading.Lock()
        self._sql = _HOT_SQL[engine.dialect.paramstyle]
        self._sqlite = engine.dialect.name == "sqlite"
        self._raw: Any = None

    def append(self, records: Sequence[AuditRecord], trail_name: str) -> list[tuple[int, bytes]]:
        sql = self._sql
        with self._lock, self._serial:
            if self._raw is None:
                try:
                    self._raw = self._engine.raw_connection()
                except Exception as exc:  # noqa: BLE001 - the driver's own errors: stop at this edge
                    raise StorageError(f"storage operation failed ({type(exc).__name__})") from None
            raw = self._raw
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
                    params, index, seq, tip = build_segment(records, indexes, int(row[0]), int(row[1]),
                                                            bytes(row[2]), placed)
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
                self._discard()
                raise StorageError(f"storage operation failed ({type(exc).__name__})") from None
            finally:
                if self._raw is not None:
                    cursor.close()

    def _discard(self) -> None:
        """Roll back; a server connection is thrown away (it may be broken), SQLite's kept
        (an in-memory database lives only as long as its one connection)."""
        raw = self._raw
        if raw is None:
            return
        try:
            if self._sqlite:
                raw.cursor().execute("ROLLBACK")
                return
            raw.rollback()
        except Exception:  # noqa: BLE001 - the transaction may already be gone
            pass
        self._raw = None
        try:
            raw.invalidate()
        except Exception:  # noqa: BLE001
            log.debug("could not invalidate the audit connection")

    def close(self) -> None:
        with self._lock:
            raw, self._raw = self._raw, None
            if raw is not None:
                raw.close()
