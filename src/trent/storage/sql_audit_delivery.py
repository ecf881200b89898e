"""What delivery remembers, in SQL (issue 16): log files, digests, signing keys, the lease.

Delivery is crash-safe by recording before writing: a log file's key, sequence range
and hash (and the trail's ``delivered_seq``) are committed *before* the object is
put, in state ``pending``; a put that never happened is redone by the next round with
the same bytes (rebuilt from the same events), then the row becomes ``delivered``.
A digest is recorded the same way, with its exact body and signature. So the bucket
never holds a file the database does not know, and the database never forgets one.

The ``audit-delivery`` lease (``storage/leases.py``, the same primitive as the sweeper's)
makes exactly one node deliver at a time.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from trent.domain.audit_chain import HASH_LEN, TrailKey
from trent.domain.audit_delivery import DeliveryState, DigestRecord, LogFileRecord, SigningKeyRecord
from trent.storage.leases import SqlLeases
from trent.storage.sql_audit import as_bytes, trail_id
from trent.storage.tables import (
    audit_digests,
    audit_log_files,
    audit_segment_index,
    audit_segments,
    audit_signing_keys,
    audit_trails,
)

if TYPE_CHECKING:
    from trent.storage.engine import UnitOfWork

_F = audit_log_files
_D = audit_digests
_T = audit_trails
_K = audit_signing_keys


def _require_trail(conn: sa.Connection, trail: TrailKey) -> int:
    tid = trail_id(conn, trail)
    if tid is None:
        raise ValueError(f"no audit trail for {trail}")
    return tid


def _log_file(row: sa.RowMapping) -> LogFileRecord:
    return LogFileRecord(
        account_id=row["account_id"], region=row["region"], bucket=row["bucket"], object_key=row["object_key"],
        first_sequence=row["first_seq"], last_sequence=row["last_seq"], sha256=row["sha256"],
        oldest_event_time=row["oldest_event_time"], newest_event_time=row["newest_event_time"],
        delivered_at=row["delivered_at"], state=DeliveryState(row["state"]), digest_number=row["digest_number"],
    )


def _digest(row: sa.RowMapping) -> DigestRecord:
    return DigestRecord(
        account_id=row["account_id"], region=row["region"], number=row["number"], bucket=row["bucket"],
        object_key=row["object_key"], start_time=row["start_time"], end_time=row["end_time"], body=bytes(row["body"]),
        sha256=row["sha256"], signature=row["signature"], fingerprint=row["fingerprint"],
        state=DeliveryState(row["state"]),
    )


def _signing_key(row: sa.RowMapping) -> SigningKeyRecord:
    return SigningKeyRecord(
        fingerprint=row["fingerprint"], public_der=bytes(row["public_der"]), private_blob=bytes(row["private_blob"]),
        signer=row["signer"], valid_from=row["valid_from"], valid_to=row["valid_to"],
    )


_FILES = sa.select(_F, _T.c.account_id, _T.c.region).select_from(_F.join(_T, _T.c.id == _F.c.trail_id))
_DIGESTS = sa.select(_D, _T.c.account_id, _T.c.region).select_from(_D.join(_T, _T.c.id == _D.c.trail_id))


class AuditDeliverySql:
    """Mixed into :class:`trent.storage.sql.SqlStorage`."""

    _unit: UnitOfWork

    # -- log files ---------------------------------------------------------------------------

    def record_log_file(self, record: LogFileRecord) -> None:
        """Insert ``record`` (pending) and move the trail's ``delivered_seq`` to its last
        event, in one transaction. ValueError if the range does not start right after the
        trail's ``delivered_seq`` (another deliverer got there first)."""
        trail = TrailKey(record.account_id, record.region)
        with self._unit(write=True) as conn:
            tid = _require_trail(conn, trail)
            moved = conn.execute(
                _T.update()
                .where(_T.c.id == tid, _T.c.delivered_seq == record.first_sequence - 1)
                .values(delivered_seq=record.last_sequence)
            ).rowcount
            if moved != 1:
                raise ValueError("log file range does not follow the trail's delivered sequence")
            conn.execute(_F.insert().values(_log_file_values(tid, record)))

    def mark_log_file_delivered(self, bucket: str, object_key: str) -> None:
        with self._unit(write=True) as conn:
            conn.execute(
                _F.update().where(_F.c.bucket == bucket, _F.c.object_key == object_key)
                .values(state=DeliveryState.DELIVERED.value)
            )

    def log_files(self, trail: TrailKey | None = None, *, state: DeliveryState | None = None,
                  undigested: bool = False) -> list[LogFileRecord]:
        """Log files in delivery order; filtered by trail, state, and not yet in a digest."""
        query = _FILES.order_by(_T.c.account_id, _T.c.region, _F.c.first_seq)
        if trail is not None:
            query = query.where(_T.c.account_id == trail.account_id, _T.c.region == trail.region)
        if state is not None:
            query = query.where(_F.c.state == state.value)
        if undigested:
            query = query.where(_F.c.digest_number.is_(None))
        with self._unit(write=False) as conn:
            return [_log_file(r) for r in conn.execute(query).mappings()]

    # -- digests -----------------------------------------------------------------------------

    def record_digest(self, digest: DigestRecord, log_file_keys: Sequence[str]) -> None:
        """Insert ``digest`` (pending) and mark the log files it lists, in one transaction.
        ValueError unless ``digest.number`` is the trail's next one."""
        trail = TrailKey(digest.account_id, digest.region)
        with self._unit(write=True) as conn:
            tid = _require_trail(conn, trail)
            conn.execute(sa.select(_T.c.id).where(_T.c.id == tid).with_for_update())
            last = conn.execute(sa.select(sa.func.max(_D.c.number)).where(_D.c.trail_id == tid)).scalar()
            if digest.number != (last or 0) + 1:
                raise ValueError("digest number is not the trail's next")
            conn.execute(_D.insert().values(_digest_values(tid, digest)))
            if log_file_keys:
                conn.execute(
                    _F.update()
                    .where(_F.c.trail_id == tid, _F.c.object_key.in_(list(log_file_keys)))
                    .values(digest_number=digest.number)
                )

    def mark_digest_delivered(self, trail: TrailKey, number: int) -> None:
        with self._unit(write=True) as conn:
            tid = _require_trail(conn, trail)
            conn.execute(
                _D.update().where(_D.c.trail_id == tid, _D.c.number == number)
                .values(state=DeliveryState.DELIVERED.value)
            )

    def digests(self, trail: TrailKey | None = None, *, state: DeliveryState | None = None,
                newest_only: bool = False, newest: int | None = None) -> list[DigestRecord]:
        """Digests in order (per trail, by number); ``newest_only``: each trail's newest;
        ``newest``: only the last that many of the order (give one ``trail``)."""
        query = _DIGESTS.order_by(_T.c.account_id, _T.c.region, _D.c.number)
        if trail is not None:
            query = query.where(_T.c.account_id == trail.account_id, _T.c.region == trail.region)
        if state is not None:
            query = query.where(_D.c.state == state.value)
        if newest_only:
            later = _D.alias("later")
            latest = (
                sa.select(sa.func.max(later.c.number)).where(later.c.trail_id == _D.c.trail_id).scalar_subquery()
            )
            query = query.where(_D.c.number == latest)
        if newest is not None:  # the newest N by number, read newest first, handed back in order
            query = query.order_by(None).order_by(_T.c.account_id, _T.c.region, _D.c.number.desc()).limit(newest)
            with self._unit(write=False) as conn:
                return [_digest(r) for r in conn.execute(query).mappings()][::-1]
        with self._unit(write=False) as conn:
            return [_digest(r) for r in conn.execute(query).mappings()]

    # -- signing keys ------------------------------------------------------------------------

    def signing_keys(self) -> list[SigningKeyRecord]:
        """Every digest signing key, oldest first; the current one has ``valid_to`` None."""
        with self._unit(write=False) as conn:
            found = conn.execute(sa.select(_K).order_by(_K.c.valid_from, _K.c.fingerprint)).mappings().all()
        return [_signing_key(r) for r in found]

    def add_signing_key(self, key: SigningKeyRecord, expected_current: str | None) -> bool:
        """Make ``key`` the current signing key and close the validity of the previous
        one at ``key.valid_from`` — only if the current key is still ``expected_current``
        (two nodes rotating at once: one wins, the other uses the winner's key)."""
        with self._unit(write=True) as conn:
            current = conn.execute(
                sa.select(_K.c.fingerprint).where(_K.c.valid_to.is_(None)).with_for_update()
            ).scalars().all()
            if sorted(current) != ([] if expected_current is None else [expected_current]):
                return False
            conn.execute(_K.update().where(_K.c.valid_to.is_(None)).values(valid_to=key.valid_from))
            conn.execute(_K.insert().values(
                fingerprint=key.fingerprint, public_der=key.public_der, private_blob=key.private_blob,
                signer=key.signer, valid_from=key.valid_from, valid_to=None,
            ))
        return True

    # -- one deliverer at a time -------------------------------------------------------------

    def acquire_lease(self, name: str, holder: str, ttl_seconds: float) -> bool:
        """Take or renew the lease ``name`` for ``holder`` (``storage/leases.py``: the one lease
        primitive, on the database's clock, shared with the sweeper's)."""
        return SqlLeases(self._unit.engine).try_acquire(name, holder, ttl_seconds) is not None

    def release_lease(self, name: str, holder: str) -> None:
        SqlLeases(self._unit.engine).release(name, holder)

    # -- retention -----------------------------------------------------------------------------

    def prune_audit_events(self, trail: TrailKey, before: float) -> int:
        """Delete the segments of events older than ``before`` that are all in delivered,
        digested log files; the chain's anchor moves to the last event deleted. Returns how
        many events went."""
        seg = audit_segments
        with self._unit(write=True) as conn:
            tid = _require_trail(conn, trail)
            conn.execute(sa.select(_T.c.id).where(_T.c.id == tid).with_for_update())
            digested = conn.execute(
                sa.select(sa.func.max(_F.c.last_seq)).where(
                    _F.c.trail_id == tid, _F.c.digest_number.is_not(None), _F.c.newest_event_time < before
                )
            ).scalar()
            if not digested:
                return 0
            last = conn.execute(
                sa.select(seg.c.first_seq, seg.c.last_seq, seg.c.hashes)
                .where(seg.c.trail_id == tid, seg.c.last_seq <= digested)
                .order_by(seg.c.first_seq.desc()).limit(1)
            ).first()
            if last is None:
                return 0
            deleted = conn.execute(
                sa.select(sa.func.sum(seg.c.last_seq - seg.c.first_seq + 1))
                .where(seg.c.trail_id == tid, seg.c.last_seq <= last[1])
            ).scalar()
            conn.execute(seg.delete().where(seg.c.trail_id == tid, seg.c.last_seq <= last[1]))
            conn.execute(audit_segment_index.delete().where(
                audit_segment_index.c.trail_id == tid, audit_segment_index.c.first_seq <= last[0]))
            anchor = as_bytes(last[2])[-HASH_LEN:]
            conn.execute(_T.update().where(_T.c.id == tid).values(pruned_seq=last[1], pruned_hash=anchor))
        return int(deleted or 0)


def _log_file_values(tid: int, r: LogFileRecord) -> dict[str, Any]:
    return {
        "trail_id": tid, "bucket": r.bucket, "object_key": r.object_key, "first_seq": r.first_sequence,
        "last_seq": r.last_sequence, "sha256": r.sha256, "oldest_event_time": r.oldest_event_time,
        "newest_event_time": r.newest_event_time, "delivered_at": r.delivered_at, "state": r.state.value,
        "digest_number": r.digest_number,
    }


def _digest_values(tid: int, d: DigestRecord) -> dict[str, Any]:
    return {
        "trail_id": tid, "number": d.number, "bucket": d.bucket, "object_key": d.object_key,
        "start_time": d.start_time, "end_time": d.end_time, "body": d.body, "sha256": d.sha256,
        "signature": d.signature, "fingerprint": d.fingerprint, "state": d.state.value,
    }
