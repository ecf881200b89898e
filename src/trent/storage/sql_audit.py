"""The audit trail's events in SQL (issue 16): the outbox, the chain, LookupEvents.

``append_audit_events`` stores events **in the caller's transaction** when one is open
(``SqlStorage.atomic()``: a mutation and its event commit together or not at all), or
in a transaction of its own (the group commit of read-only calls). Per trail it locks
the trail row (``SELECT ... FOR UPDATE`` on PostgreSQL; SQLite's ``BEGIN IMMEDIATE``
already excludes every other writer), numbers the events after the row's
``last_seq``, chains them after its ``last_hash`` (``domain.audit_chain``), inserts
them and moves the tip, so sequence and chain are gapless and decided by the database
whatever number of processes and nodes write. Trails are locked in (account, region)
order, so two batches spanning the same trails never deadlock; a mutation appends
last in its transaction, so it holds the trail lock only for its commit.

Lookups (``lookup_audit_events``) read newest first through indexes that lead with
the trail and end with (event_time, seq), one per attribute LookupEvents filters on
with many distinct values; ReadOnly, ResourceType and EventSource (a handful of
values each) filter the time index. An event naming several resources stores the
first on its row and the others in ``audit_event_resources``.
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import groupby
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql as pg_dialect
from sqlalchemy.dialects import sqlite as sqlite_dialect
from sqlalchemy.engine import Connection

from trent.domain.audit_chain import GENESIS_HASH, AuditRecord, StoredEvent, TrailHead, TrailKey, chain_hash
from trent.domain.audit_delivery import LookupAttribute, LookupQuery
from trent.storage.tables import audit_event_resources, audit_events, audit_trails

if TYPE_CHECKING:
    from trent.storage.engine import UnitOfWork

# Indexed columns are capped at their width (the body keeps the full value): a caller
# can put any X-Amz-Target in a request, and its event must still be recorded.
_COLUMN_CAPS = {"event_name": 64, "event_source": 64, "event_id": 64, "username": 256, "access_key_id": 128,
                "resource_type": 64, "resource_name": 2048}

_E = audit_events
_T = audit_trails
_R = audit_event_resources
_EVENT_COLUMNS = (_T.c.account_id, _T.c.region, _E.c.seq, _E.c.event_time, _E.c.chain_hash, _E.c.body)
_INSERT_EVENT = _E.insert()
_INSERT_RESOURCE = _R.insert()


def _cap(name: str, value: str | None) -> str | None:
    if value is None:
        return None
    cap = _COLUMN_CAPS[name]
    return value if len(value) <= cap else value[:cap]


def _insert(conn: Connection, table: sa.Table):  # type: ignore[no-untyped-def]
    return (pg_dialect.insert if conn.dialect.name == "postgresql" else sqlite_dialect.insert)(table)


def trail_head_from_row(row: sa.RowMapping) -> TrailHead:
    return TrailHead(
        account_id=row["account_id"], region=row["region"], name=row["name"], created_at=row["created_at"],
        last_sequence=row["last_seq"], last_hash=bytes(row["last_hash"]), delivered_sequence=row["delivered_seq"],
        pruned_sequence=row["pruned_seq"], pruned_hash=bytes(row["pruned_hash"]),
    )


def as_bytes(value: Any) -> bytes:
    """A blob column's bytes; text (someone wrote a string into it) is taken as UTF-8, so a
    verifier reads what is there instead of failing on it."""
    return value.encode("utf-8") if isinstance(value, str) else bytes(value)


def _stored(row: sa.Row[Any]) -> StoredEvent:
    return StoredEvent(row[0], row[1], row[2], row[3], as_bytes(row[4]), as_bytes(row[5]))


def lock_trail(conn: Connection, trail: TrailKey, name: str, now: float) -> sa.RowMapping:
    """The trail's row, created if absent, locked until the transaction ends."""
    where = sa.and_(_T.c.account_id == trail.account_id, _T.c.region == trail.region)
    query = sa.select(_T).where(where).with_for_update()
    row = conn.execute(query).mappings().first()
    if row is None:
        conn.execute(
            _insert(conn, _T)
            .values(account_id=trail.account_id, region=trail.region, name=name, created_at=now, last_seq=0,
                    last_hash=GENESIS_HASH, delivered_seq=0, pruned_seq=0, pruned_hash=GENESIS_HASH)
            .on_conflict_do_nothing(index_elements=[_T.c.account_id, _T.c.region])
        )
        row = conn.execute(query).mappings().one()
    return row


def trail_id(conn: Connection, trail: TrailKey) -> int | None:
    query = sa.select(_T.c.id).where(_T.c.account_id == trail.account_id, _T.c.region == trail.region)
    return conn.execute(query).scalar_one_or_none()


class AuditSql:
    """Mixed into :class:`trent.storage.sql.SqlStorage`."""

    _unit: UnitOfWork
    trail_name: str = "trent"

    # -- the outbox ----------------------------------------------------------------------

    def append_audit_events(self, records: Sequence[AuditRecord]) -> list[tuple[int, bytes]]:
        """Store ``records`` (in the open transaction, if any); returns each one's
        (sequence, chain hash), in the order given."""
        if not records:
            return []
        placed: dict[int, tuple[int, bytes]] = {}
        order = sorted(range(len(records)), key=lambda i: (records[i].trail.account_id, records[i].trail.region))
        with self._unit(write=True) as conn:
            for trail, group in groupby(order, key=lambda i: records[i].trail):
                indexes = list(group)
                row = lock_trail(conn, trail, self.trail_name, records[indexes[0]].event_time)
                tid, seq, tip = row["id"], row["last_seq"], bytes(row["last_hash"])
                events: list[dict[str, Any]] = []
                extra: list[dict[str, Any]] = []
                for i in indexes:
                    record = records[i]
                    seq += 1
                    tip = chain_hash(tip, record.body)
                    placed[i] = (seq, tip)
                    first = record.resources[0] if record.resources else (None, None)
                    events.append({
                        "trail_id": tid, "seq": seq, "event_time": record.event_time,
                        "event_id": _cap("event_id", record.event_id),
                        "event_name": _cap("event_name", record.event_name),
                        "event_source": _cap("event_source", record.event_source),
                        "read_only": record.read_only, "username": _cap("username", record.username),
                        "access_key_id": _cap("access_key_id", record.access_key_id),
                        "resource_type": _cap("resource_type", first[0]),
                        "resource_name": _cap("resource_name", first[1]),
                        "chain_hash": tip, "body": record.body,
                    })
                    for position, (rtype, rname) in enumerate(record.resources[1:], start=1):
                        extra.append({
                            "trail_id": tid, "seq": seq, "position": position, "event_time": record.event_time,
                            "resource_type": _cap("resource_type", rtype), "resource_name": _cap("resource_name", rname),
                        })
                conn.execute(_INSERT_EVENT, events)
                if extra:
                    conn.execute(_INSERT_RESOURCE, extra)
                conn.execute(_T.update().where(_T.c.id == tid).values(last_seq=seq, last_hash=tip))
        return [placed[i] for i in range(len(records))]

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
        query = (
            sa.select(*_EVENT_COLUMNS)
            .select_from(_E.join(_T, _T.c.id == _E.c.trail_id))
            .where(_T.c.account_id == trail.account_id, _T.c.region == trail.region, _E.c.seq > after_sequence)
            .order_by(_E.c.seq)
            .limit(limit)
        )
        with self._unit(write=False) as conn:
            return [_stored(r) for r in conn.execute(query)]

    def lookup_audit_events(self, query: LookupQuery) -> tuple[list[StoredEvent], bool]:
        """One page of LookupEvents, newest first; True when more match."""
        with self._unit(write=False) as conn:
            tid = trail_id(conn, TrailKey(query.account_id, query.region))
            if tid is None:
                return [], False
            statement = _lookup_statement(tid, query)
            found = [
                StoredEvent(query.account_id, query.region, r[0], r[1], as_bytes(r[2]), as_bytes(r[3]))
                for r in conn.execute(statement)
            ]
        return found[: query.limit], len(found) > query.limit


def _window(table: sa.Table, tid: int, query: LookupQuery) -> list[sa.ColumnElement[bool]]:
    conditions = [table.c.trail_id == tid, table.c.event_time >= query.start_time, table.c.event_time <= query.end_time]
    if query.after is not None:
        at, seq = query.after
        conditions.append(sa.or_(table.c.event_time < at, sa.and_(table.c.event_time == at, table.c.seq < seq)))
    return conditions


_COLUMN_OF = {
    LookupAttribute.EVENT_ID: _E.c.event_id,
    LookupAttribute.EVENT_NAME: _E.c.event_name,
    LookupAttribute.USERNAME: _E.c.username,
    LookupAttribute.EVENT_SOURCE: _E.c.event_source,
    LookupAttribute.ACCESS_KEY_ID: _E.c.access_key_id,
}
_RESOURCE_COLUMN = {LookupAttribute.RESOURCE_NAME: "resource_name", LookupAttribute.RESOURCE_TYPE: "resource_type"}
_LOOKUP_COLUMNS = (_E.c.seq, _E.c.event_time, _E.c.chain_hash, _E.c.body)


def _lookup_statement(tid: int, query: LookupQuery) -> sa.Select[Any]:
    limit = query.limit + 1
    order = (_E.c.event_time.desc(), _E.c.seq.desc())
    attribute, value = query.attribute, query.value
    if attribute in _RESOURCE_COLUMN:
        column = _RESOURCE_COLUMN[attribute]
        # The event's first resource is on its row, the others in audit_event_resources.
        direct = sa.select(_E.c.seq).where(*_window(_E, tid, query), _E.c[column] == value)
        others = sa.select(_R.c.seq).where(*_window(_R, tid, query), _R.c[column] == value)
        matching = sa.union(direct, others).subquery()
        return (
            sa.select(*_LOOKUP_COLUMNS)
            .join(matching, sa.and_(_E.c.trail_id == tid, _E.c.seq == matching.c.seq))
            .order_by(*order)
            .limit(limit)
        )
    conditions = _window(_E, tid, query)
    if attribute is LookupAttribute.READ_ONLY:
        conditions.append(_E.c.read_only == (value == "true"))
    elif attribute is not None:
        conditions.append(_COLUMN_OF[attribute] == value)
    return sa.select(*_LOOKUP_COLUMNS).where(*conditions).order_by(*order).limit(limit)
