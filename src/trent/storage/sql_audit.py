"""The audit trail's events in SQL (issue 16): the outbox, the chain, LookupEvents.

Events are stored in **segments**: one row per trail per append (a group-committed batch
of read-only calls, or the one event of a mutation) holding its events' sequence range,
per-event times and chain hashes, their canonical bytes (``\\n``-joined: orjson's compact
JSON never contains a raw newline) and the set of LookupEvents attribute values they
carry (``attrs``). A batch of 50 events is one row and two index entries, not 50 rows
and 300 index entries: that is what keeps the hot path (≥ 10,000 audited Encrypts/s on
one core) within a few microseconds per event.

``append_audit_events`` stores events **in the caller's transaction** when one is open
(``SqlStorage.atomic()``: a mutation and its event commit together or not at all), or
in a transaction of its own. Per trail it locks the trail row (``SELECT ... FOR UPDATE``
on PostgreSQL; SQLite's ``BEGIN IMMEDIATE`` already excludes every other writer),
numbers the events after the row's ``last_seq``, chains them after its ``last_hash``
(``domain.audit_chain``), inserts the segment and moves the tip, so sequence and chain
are gapless and decided by the database whatever number of processes and nodes write.
Trails are locked in (account, region) order, so batches never deadlock; a mutation
appends last in its transaction, so it holds the trail lock only for its commit.

Lookups (``lookup_audit_events``) find candidate segments in the narrow
``audit_segment_index`` (one small row per segment: time span, attribute tokens, event
ids apart) by time (index on ``first_time``) or newest-first (its primary key), filtered
in SQL by the attribute token (``instr``/``strpos``), then read those segments and check
each event exactly. Newest first
means highest sequence first (commit order; event times are request start times, a
few milliseconds earlier). Events of one segment were recorded in one commit, so their
times lie within ``SEGMENT_SPAN`` seconds of each other: a segment holding an event of
``[start, end]`` has ``first_time`` within ``[start - SEGMENT_SPAN, end]``.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any

import orjson
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql as pg_dialect
from sqlalchemy.dialects import sqlite as sqlite_dialect
from sqlalchemy.engine import Connection

from trent.domain.audit_chain import (
    HASH_LEN,
    TOKEN_SEPARATOR,
    AuditRecord,
    EventSegment,
    StoredEvent,
    TrailHead,
    TrailKey,
    attribute_token,
    tokens_of_event,
)
from trent.domain.audit_delivery import LookupQuery
from trent.storage.audit_append import EVENT_ID_PREFIX, TIMES, DirectAppender, append_in
from trent.storage.tables import audit_segment_index, audit_segments, audit_trails

if TYPE_CHECKING:
    from trent.storage.engine import UnitOfWork

# Events of one commit were requests running at the same time: their start times differ
# by less than this (a request that takes longer is answered with an error long before).
SEGMENT_SPAN = 300.0
# Wider windows are scanned newest-first on the primary key instead of by time.
_WIDE_WINDOW = 86_400.0
_SCAN_CHUNK = 64
_SEP = TOKEN_SEPARATOR

_T = audit_trails
_S = audit_segments
_I = audit_segment_index


def _insert(conn: Connection, table: sa.Table):
    return (pg_dialect.insert if conn.dialect.name == "postgresql" else sqlite_dialect.insert)(table)


def as_bytes(value: Any) -> bytes:
    """A blob column's bytes; text (someone wrote a string into it) is taken as UTF-8, so a
    verifier reads what is there instead of failing on it."""
    return value.encode("utf-8") if isinstance(value, str) else bytes(value)


def trail_head_from_row(row: sa.RowMapping) -> TrailHead:
    return TrailHead(
        account_id=row["account_id"], region=row["region"], name=row["name"], created_at=row["created_at"],
        last_sequence=row["last_seq"], last_hash=bytes(row["last_hash"]), delivered_sequence=row["delivered_seq"],
        pruned_sequence=row["pruned_seq"], pruned_hash=bytes(row["pruned_hash"]),
    )


def trail_id(conn: Connection, trail: TrailKey) -> int | None:
    query = sa.select(_T.c.id).where(_T.c.account_id == trail.account_id, _T.c.region == trail.region)
    return conn.execute(query).scalar_one_or_none()


# -- segments ------------------------------------------------------------------------------


def segment_of(row: Any) -> EventSegment:
    """A segment row (first_seq, last_seq, times, hashes, bodies) as stored."""
    return EventSegment(int(row[0]), int(row[1]), as_bytes(row[2]), as_bytes(row[3]), as_bytes(row[4]).split(b"\n"))


def segment_events(account_id: str, region: str, row: Any) -> Iterator[StoredEvent]:
    """The events of one segment row (first_seq, last_seq, times, hashes, bodies)."""
    first, last = row[0], row[1]
    times, hashes, bodies = as_bytes(row[2]), as_bytes(row[3]), as_bytes(row[4])
    parts = bodies.split(b"\n")
    count = last - first + 1
    if len(parts) != count or len(times) != 8 * count or len(hashes) != HASH_LEN * count:
        # a damaged row: hand out what it holds; the verifier reports the mismatch
        count = min(len(parts), len(times) // 8, len(hashes) // HASH_LEN)
    for i in range(count):
        yield StoredEvent(account_id, region, first + i, float(TIMES.unpack_from(times, 8 * i)[0]),
                          hashes[HASH_LEN * i : HASH_LEN * (i + 1)], parts[i])


_SEGMENT_COLUMNS = (_S.c.first_seq, _S.c.last_seq, _S.c.times, _S.c.hashes, _S.c.bodies)


class AuditSql:
    """Mixed into :class:`trent.storage.sql.SqlStorage`."""

    _unit: UnitOfWork
    _appender: DirectAppender
    trail_name: str = "trent"

    # -- the outbox ----------------------------------------------------------------------

    def append_audit_events(self, records: Sequence[AuditRecord]) -> list[tuple[int, bytes]]:
        """Store ``records`` (in the open ``atomic()`` transaction, if any; else in one of
        their own), one segment per trail; returns each one's (sequence, chain hash), in
        the order given (``storage/audit_append.py``)."""
        if not records:
            return []
        if self._unit.scope() is not None:
            with self._unit(write=True) as conn:
                return append_in(conn, records, self.trail_name)
        return self._appender.append(records, self.trail_name)

    # -- trails ------------------------------------------------------------------------------

    def trail_heads(self) -> list[TrailHead]:
        with self._unit(write=False) as conn:
            found = conn.execute(sa.select(_T).order_by(_T.c.account_id, _T.c.region)).mappings().all()
        return [trail_head_from_row(r) for r in found]

    def get_trail_head(self, trail: TrailKey) -> TrailHead | None:
        query = sa.select(_T).where(_T.c.account_id == trail.account_id, _T.c.region == trail.region)
        with self._unit(write=False) as conn:
            row = conn.execute(query).mappings().first()
        return None if row is None else trail_head_from_row(row)

    # -- reading -------------------------------------------------------------------------------

    def read_audit_events(self, trail: TrailKey, after_sequence: int, limit: int) -> list[StoredEvent]:
        """Events with sequence > ``after_sequence``, in sequence order (delivery, verify, tail)."""
        found: list[StoredEvent] = []
        with self._unit(write=False) as conn:
            tid = trail_id(conn, trail)
            if tid is None:
                return found
            below_first = conn.execute(
                sa.select(sa.func.max(_S.c.first_seq)).where(_S.c.trail_id == tid, _S.c.first_seq <= after_sequence)
            ).scalar()
            start = after_sequence if below_first is None else below_first
            query = (
                sa.select(*_SEGMENT_COLUMNS).where(_S.c.trail_id == tid, _S.c.first_seq >= start)
                .order_by(_S.c.first_seq)
            )
            for row in conn.execute(query.execution_options(yield_per=256)):
                for event in segment_events(trail.account_id, trail.region, row):
                    if event.sequence > after_sequence:
                        found.append(event)
                        if len(found) >= limit:
                            return found
        return found

    def audit_segments(self, trail: TrailKey, after_first_sequence: int, limit: int) -> list[EventSegment]:
        """Segments with first sequence > ``after_first_sequence``, in order (verification)."""
        with self._unit(write=False) as conn:
            tid = trail_id(conn, trail)
            if tid is None:
                return []
            query = (
                sa.select(*_SEGMENT_COLUMNS).where(_S.c.trail_id == tid, _S.c.first_seq > after_first_sequence)
                .order_by(_S.c.first_seq).limit(limit)
            )
            return [segment_of(row) for row in conn.execute(query)]

    def lookup_audit_events(self, query: LookupQuery) -> tuple[list[StoredEvent], bool]:
        """One page of LookupEvents, newest (highest sequence) first; True when more match."""
        found: list[StoredEvent] = []
        token = attribute_token(query.attribute, query.value or "") if query.attribute is not None else None
        with self._unit(write=False) as conn:
            tid = trail_id(conn, TrailKey(query.account_id, query.region))
            if tid is None:
                return found, False
            below = query.after[1] if query.after is not None else None
            while True:
                # the narrow index finds candidates; their events come from the segments
                candidates = conn.execute(_lookup_chunk(conn, tid, query, token, below)).all()
                # newest first: once segments end before the window (by more than the span
                # a segment's events can have), every older one does too
                firsts = [r[0] for r in candidates if r[1] >= query.start_time and r[2] <= query.end_time]
                exhausted = len(candidates) < _SCAN_CHUNK or (
                    bool(candidates) and candidates[-1][1] < query.start_time - SEGMENT_SPAN
                )
                rows = conn.execute(
                    sa.select(*_SEGMENT_COLUMNS).where(_S.c.trail_id == tid, _S.c.first_seq.in_(firsts))
                    .order_by(_S.c.first_seq.desc())
                ).all() if firsts else []
                for row in rows:
                    events = list(segment_events(query.account_id, query.region, row))
                    for event in reversed(events):
                        if below is not None and event.sequence >= below:
                            continue
                        # no tokens: a data event, never looked up (audit_chain.looked_up)
                        if query.start_time <= event.event_time <= query.end_time and (
                            (tokens := event_tokens(event.body)) and (token is None or token in tokens)
                        ):
                            found.append(event)
                            if len(found) > query.limit:
                                return found[: query.limit], True
                if exhausted:
                    return found, False
                below = candidates[-1][0]


def _lookup_chunk(conn: Connection, tid: int, query: LookupQuery, token: str | None,
                  below: int | None) -> sa.Select[Any]:
    """The next (older) segments that may hold matches, from the narrow index: by time
    for narrow windows (its ``first_time`` index), newest-first on its primary key for
    wide ones; the attribute token is matched in SQL (event ids in their own column)."""
    conditions: list[sa.ColumnElement[bool]] = [_I.c.trail_id == tid]
    if query.end_time - query.start_time <= _WIDE_WINDOW:
        # a narrow window: the first_time index's range [start - span, end], then in order
        conditions += [
            _I.c.first_time >= query.start_time - SEGMENT_SPAN,
            _I.c.first_time <= query.end_time,
            _I.c.last_time >= query.start_time,
        ]
    # (a wide one: newest first on the primary key; events outside it are skipped after)
    if below is not None:
        conditions.append(_I.c.first_seq < below)
    if token is None:  # a segment of data events only has no event id to look up
        conditions.append(_I.c.ids != _SEP + _SEP)
    else:
        find = sa.func.strpos if conn.dialect.name == "postgresql" else sa.func.instr
        column = _I.c.ids if token.startswith(EVENT_ID_PREFIX) else _I.c.attrs
        conditions.append(find(column, _SEP + token + _SEP) > 0)
    return (
        sa.select(_I.c.first_seq, _I.c.last_time, _I.c.first_time).where(*conditions)
        .order_by(_I.c.first_seq.desc()).limit(_SCAN_CHUNK)
    )


def event_tokens(body: bytes) -> tuple[str, ...]:
    """The tokens of one stored event (the exact check behind a segment's ``attrs``)."""
    try:
        return tokens_of_event(orjson.loads(body))
    except (orjson.JSONDecodeError, AttributeError, TypeError):
        return ()
