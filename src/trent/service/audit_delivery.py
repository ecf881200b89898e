"""Delivery of the trail to its bucket: log files, signed digest files (issue 16).

Every ``--audit-delivery-interval`` one node (the holder of the ``audit-delivery`` lease
row) runs :meth:`TrailDelivery.run`:

1. finish what an interrupted run left *pending* (recorded in the database, not yet
   confirmed in the bucket): the same bytes under the same keys;
2. for every trail, the events after its ``delivered_seq`` become log files
   (``audit.logfiles``; at most ``max_events_per_file`` each). Each file is recorded
   first — key, sequence range, SHA-256 — then put, then marked delivered;
3. for every trail whose digest is due (every ``--audit-digest-interval``, or now when
   forced): a digest file listing every log file delivered since the previous digest —
   none is fine, a digest is written anyway so a gap is itself evidence — chained to the
   previous digest and signed SHA256withRSA with the current signing key
   (``audit.digests``); recorded (with its exact body and signature), put with its
   signature as object metadata, marked delivered;
4. events older than ``--audit-retention-days`` that are in a delivered, digested log
   file leave the database (the files stay in the bucket).

Times are the service clock's (the events' clock); the lease runs on the database's clock
(``storage/leases.py``, the sweeper's primitive).
Digest end times strictly increase (a second apart at least): two forced digests in
one second still get distinct keys.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field

import orjson

from trent.audit import digests, logfiles
from trent.domain.audit_chain import GENESIS_HASH, TrailHead, TrailKey
from trent.domain.audit_delivery import DeliveryState, DigestRecord, LogFileRecord
from trent.domain.clock import Clock
from trent.domain.ids import partition_of_region
from trent.keystores.audit_signing import DigestSigner
from trent.keystores.base import KeyStoreError
from trent.objectstore import ObjectStore, ObjectStoreError
from trent.service import audit_signing_keys
from trent.storage.repositories import Storage, StorageError

log = logging.getLogger("trent.audit")

LEASE_NAME = "audit-delivery"
DAY = 86_400.0


@dataclass(frozen=True, slots=True)
class DeliverySettings:
    bucket: str
    node_id: str
    prefix: str | None = None
    digest_interval_seconds: float = 3600.0
    retention_days: float = 90.0
    # A log file is built in memory: delivering ~100,000 events raised the server's peak RSS
    # by 64 MiB at 10,000 a file, by 20 at 2,000 (bench/S3_SSE.md, 2026-12-07 16:49)
    max_events_per_file: int = 2_000
    lease_seconds: float = 600.0


@dataclass(slots=True)
class DeliveryReport:
    lease_held: bool = True
    log_files: list[str] = field(default_factory=list)
    digests: list[str] = field(default_factory=list)
    pruned: int = 0
    errors: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, object]:
        return {"leaseHeld": self.lease_held, "logFiles": self.log_files, "digests": self.digests,
                "prunedEvents": self.pruned, "errors": self.errors}


class TrailDelivery:
    def __init__(
        self,
        storage: Storage,
        store: ObjectStore,
        signer: DigestSigner,
        clock: Clock,
        settings: DeliverySettings,
        rng: Callable[[int], bytes],
    ) -> None:
        self.storage = storage
        self.store = store
        self.signer = signer
        self.clock = clock
        self.settings = settings
        self.rng = rng
        self._lock = threading.Lock()
        self.last_report: DeliveryReport | None = None

    def trail_arn(self, head: TrailHead) -> str:
        return logfiles.trail_arn(partition_of_region(head.region), head.region, head.account_id, head.name)

    def release(self) -> None:
        """Shutting down: hand the lease back so another node delivers at once."""
        try:
            self.storage.release_lease(LEASE_NAME, self.settings.node_id)
        except StorageError as exc:
            log.warning("could not release the audit delivery lease: %s", exc)

    # -- one round -------------------------------------------------------------------------

    def run(self, *, force_digest: bool = False) -> DeliveryReport:
        with self._lock:
            report = DeliveryReport()
            settings = self.settings
            if not self.storage.acquire_lease(LEASE_NAME, settings.node_id, settings.lease_seconds):
                report.lease_held = False
                return report
            self._redo_pending(report)
            for head in self.storage.trail_heads():
                self._guarded(report, head, self._deliver_logs)
            for head in self.storage.trail_heads():
                if force_digest or self._digest_due(head):
                    self._guarded(report, head, self._digest)
            for head in self.storage.trail_heads():
                self._guarded(report, head, self._prune)
            self.last_report = report
            return report

    @staticmethod
    def _guarded(report: DeliveryReport, head: TrailHead, step: Callable[[TrailHead, DeliveryReport], None]) -> None:
        try:
            step(head, report)
        except (ObjectStoreError, StorageError, KeyStoreError, ValueError) as exc:
            message = f"trail {head.account_id}/{head.region}: {type(exc).__name__}: {exc}"
            log.error("audit delivery: %s", message)
            report.errors.append(message)

    # -- log files ---------------------------------------------------------------------------

    def _previous_hash(self, head: TrailHead, sequence: int) -> bytes:
        """The chain hash of event ``sequence`` (0: the genesis)."""
        if sequence == 0:
            return GENESIS_HASH
        if sequence == head.pruned_sequence:
            return head.pruned_hash
        (event,) = self.storage.read_audit_events(head.key, sequence - 1, 1)
        if event.sequence != sequence:
            raise ValueError(f"event {sequence} is missing from the trail")
        return event.chain_hash

    def _file_body(self, head: TrailHead, first: int, last: int) -> bytes:
        events = self.storage.read_audit_events(head.key, first - 1, last - first + 1)
        if not events or events[0].sequence != first or events[-1].sequence != last:
            raise ValueError(f"events {first}..{last} are not all in the trail")
        return logfiles.build(events, self.trail_arn(head), self._previous_hash(head, first - 1))

    def _deliver_logs(self, head: TrailHead, report: DeliveryReport) -> None:
        after, tip = head.delivered_sequence, None
        while after < head.last_sequence:
            events = self.storage.read_audit_events(head.key, after, self.settings.max_events_per_file)
            if not events:
                return
            previous = tip if tip is not None else self._previous_hash(head, after)
            body = logfiles.build(events, self.trail_arn(head), previous)
            now = self.clock.now()
            key = logfiles.log_file_key(self.settings.prefix, head.account_id, head.region, now,
                                        logfiles.unique_string(self.rng(16)))
            record = LogFileRecord(
                account_id=head.account_id, region=head.region, bucket=self.settings.bucket, object_key=key,
                first_sequence=events[0].sequence, last_sequence=events[-1].sequence,
                sha256=logfiles.sha256_hex(body),
                oldest_event_time=min(e.event_time for e in events),
                newest_event_time=max(e.event_time for e in events), delivered_at=now,
            )
            self.storage.record_log_file(record)  # ValueError: another deliverer got there first
            self.store.put(key, logfiles.compress(body))
            self.storage.mark_log_file_delivered(record.bucket, key)
            report.log_files.append(key)
            after, tip = events[-1].sequence, events[-1].chain_hash

    def _redo_pending(self, report: DeliveryReport) -> None:
        heads = {h.key: h for h in self.storage.trail_heads()}
        for record in self.storage.log_files(state=DeliveryState.PENDING):
            head = heads[TrailKey(record.account_id, record.region)]
            try:
                body = self._file_body(head, record.first_sequence, record.last_sequence)
                if logfiles.sha256_hex(body) != record.sha256:
                    raise ValueError(f"the events of pending log file {record.object_key} changed in the database")
                self.store.put(record.object_key, logfiles.compress(body))
                self.storage.mark_log_file_delivered(record.bucket, record.object_key)
                report.log_files.append(record.object_key)
            except (ObjectStoreError, StorageError, ValueError) as exc:
                report.errors.append(f"pending log file {record.object_key}: {exc}")
        for digest in self.storage.digests(state=DeliveryState.PENDING):
            try:
                self._put_digest(digest)
                self.storage.mark_digest_delivered(TrailKey(digest.account_id, digest.region), digest.number)
                report.digests.append(digest.object_key)
            except (ObjectStoreError, StorageError) as exc:
                report.errors.append(f"pending digest {digest.object_key}: {exc}")

    # -- digests -------------------------------------------------------------------------------

    def _digest_due(self, head: TrailHead) -> bool:
        (previous,) = self.storage.digests(head.key, newest_only=True) or (None,)
        since = previous.end_time if previous is not None else head.created_at
        return since + self.settings.digest_interval_seconds <= self.clock.now()

    def _digest(self, head: TrailHead, report: DeliveryReport) -> None:
        trail = head.key
        (previous,) = self.storage.digests(trail, newest_only=True) or (None,)
        files = self.storage.log_files(trail, state=DeliveryState.DELIVERED, undigested=True)
        now = self.clock.now()
        end = float(int(now))
        if previous is not None and end <= previous.end_time:
            end = previous.end_time + 1.0
        start = previous.end_time if previous is not None else float(int(head.created_at))
        if files:
            last_sequence = max(f.last_sequence for f in files)
            last_hash = self._previous_hash(head, last_sequence)
        else:
            last_sequence, last_hash = _covered_by(previous)
        key = digests.digest_key(self.settings.prefix, head.account_id, head.region, head.name, head.region, end)
        signing = audit_signing_keys.current_key(self.storage, self.signer, now)
        body = digests.build(digests.DigestContent(
            account_id=head.account_id, bucket=self.settings.bucket, key=key, start_time=start, end_time=end,
            fingerprint=signing.fingerprint, log_files=files, previous=previous,
            last_sequence=last_sequence, last_hash=last_hash,
        ))
        body_hash = logfiles.sha256_hex(body)
        to_sign = digests.string_to_sign(digests.iso(end), self.settings.bucket, key, body_hash,
                                         previous.signature if previous is not None else None)
        signature = self.signer.sign(signing.private_blob, signing.fingerprint, to_sign).hex()
        record = DigestRecord(
            account_id=head.account_id, region=head.region, number=(previous.number + 1) if previous else 1,
            bucket=self.settings.bucket, object_key=key, start_time=start, end_time=end, body=body,
            sha256=body_hash, signature=signature, fingerprint=signing.fingerprint,
        )
        self.storage.record_digest(record, [f.object_key for f in files])
        self._put_digest(record)
        self.storage.mark_digest_delivered(trail, record.number)
        report.digests.append(key)

    def _put_digest(self, digest: DigestRecord) -> None:
        self.store.put(
            digest.object_key,
            logfiles.compress(digest.body),
            {digests.METADATA_SIGNATURE: digest.signature, digests.METADATA_ALGORITHM: digests.ALGORITHM},
        )

    # -- retention ---------------------------------------------------------------------------

    def _prune(self, head: TrailHead, report: DeliveryReport) -> None:
        if self.settings.retention_days <= 0:
            return
        report.pruned += self.storage.prune_audit_events(head.key, self.clock.now() - self.settings.retention_days * DAY)


def _covered_by(previous: DigestRecord | None) -> tuple[int, bytes]:
    """The (sequence, hash) the previous digest pinned: a digest without new files pins
    the same point of the chain."""
    if previous is None:
        return 0, GENESIS_HASH
    chain = orjson.loads(previous.body).get("trentChain") or {}
    return int(chain.get("lastSequence", 0)), bytes.fromhex(chain.get("lastHash", GENESIS_HASH.hex()))
