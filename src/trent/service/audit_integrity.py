"""A trail's integrity at a glance (issue 21 phase 2, the console's audit integrity page):
a *bounded* run of the checks ``trent audit verify`` makes in full (issue 16 §4), cheap
enough to answer a page view.

Within ``IntegrityBounds``:

- the event table: the newest ``events`` events re-hash one after another up to the
  trail's tip, with no sequence gap (an edited, deleted or reordered row breaks it);
- digests: the newest ``digests`` digests the server signed are in the bucket, are the
  bytes it signed, pass CloudTrail's signature/location checks (``audit.checks``) with
  the public keys the caller's ListPublicKeys returned, and link to their predecessor;
- log files: at most ``log_files`` of the newest log files (listed by those digests, or
  delivered since the newest digest) are found, hash as their digest lists, their records
  re-hash to the file's chain, files follow each other without gap, and their chain
  endpoints are the database's.

Everything older is ``trent audit verify``'s job; the page states these bounds.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field

from trent.audit import checks
from trent.domain.audit_chain import HASH_LEN, TrailHead, TrailKey
from trent.domain.audit_delivery import DeliveryState, DigestRecord
from trent.objectstore import NoSuchKey, ObjectStore, ObjectStoreError
from trent.service.audit_verify import FileResult, check_log_file
from trent.storage.repositories import Storage

_SEGMENT_BATCH = 500


@dataclass(frozen=True, slots=True)
class IntegrityBounds:
    events: int = 5000
    digests: int = 3
    log_files: int = 30


@dataclass(frozen=True, slots=True)
class CheckedDigest:
    key: str
    start_time: str
    end_time: str
    log_files: int
    problems: tuple[str, ...]

    @property
    def ok(self) -> bool:
        return not self.problems


@dataclass(frozen=True, slots=True)
class CheckedLogFile:
    key: str
    records: int
    first_sequence: int | None
    last_sequence: int | None
    listed: bool  # named by a checked digest (else: delivered after the newest digest)
    problems: tuple[str, ...]

    @property
    def ok(self) -> bool:
        return not self.problems


@dataclass(slots=True)
class IntegrityReport:
    trail: TrailKey
    bounds: IntegrityBounds
    head: TrailHead | None = None
    first_event: int | None = None  # the sequence range whose chain was checked
    last_event: int | None = None
    database_problems: list[str] = field(default_factory=list)
    digests: list[CheckedDigest] = field(default_factory=list)
    log_files: list[CheckedLogFile] = field(default_factory=list)
    signed_digests: int = 0  # every digest the server signed (the checked ones are the newest)
    bucket_error: str | None = None

    @property
    def events_checked(self) -> int:
        if self.first_event is None or self.last_event is None:
            return 0
        return self.last_event - self.first_event + 1

    @property
    def awaiting_delivery(self) -> int:
        """Events recorded but not yet in a delivered log file."""
        head = self.head
        return 0 if head is None else max(0, head.last_sequence - head.delivered_sequence)

    @property
    def problem_count(self) -> int:
        return (len(self.database_problems) + sum(len(d.problems) for d in self.digests)
                + sum(len(f.problems) for f in self.log_files) + (1 if self.bucket_error else 0))

    @property
    def ok(self) -> bool:
        return self.problem_count == 0


def check(storage: Storage, bucket_store: ObjectStore, bucket: str, trail: TrailKey,
          public_keys: Mapping[str, bytes], bounds: IntegrityBounds = IntegrityBounds()) -> IntegrityReport:
    report = IntegrityReport(trail, bounds, storage.get_trail_head(trail))
    if report.head is None:
        return report  # no event recorded yet for this account and Region
    signed = storage.digests(trail, state=DeliveryState.DELIVERED, newest=bounds.digests) if bounds.digests else []
    report.signed_digests = signed[-1].number if signed else 0  # numbered 1, 2, 3, ... per trail
    try:
        newest = _check_digests(bucket_store, bucket, signed, public_keys, report)
        files = _check_log_files(storage, bucket_store, trail, newest, bounds)
    except ObjectStoreError as exc:  # the bucket as a whole is unreachable
        report.bucket_error = f"cannot read the trail's bucket: {exc}"
        files = []
    wanted = {s for f, _, _ in files if f.header is not None
              for s in (f.header.first_sequence - 1, f.header.last_sequence)}
    hashes_at = _check_events(storage, report.head, bounds, wanted, report)
    for f, listed, problems in files:
        header = f.header
        if header is not None:
            problems += [f"INVALID: event {sequence} differs from the database's"
                         for sequence, file_hash in ((header.first_sequence - 1, header.previous_hash),
                                                     (header.last_sequence, header.last_hash))
                         if sequence in hashes_at and hashes_at[sequence] != file_hash]
        report.log_files.append(CheckedLogFile(
            f.key, f.records, header.first_sequence if header else None, header.last_sequence if header else None,
            listed, tuple(problems)))
    return report


# -- digests -------------------------------------------------------------------------------


def _load(store: ObjectStore, key: str) -> tuple[checks.Digest | None, list[str]]:
    try:
        stored = store.get(key)
    except NoSuchKey:
        return None, ["INVALID: not found: the server signed this digest but it is not in the bucket (deleted?)"]
    return checks.open_digest(key, stored.body, dict(stored.info.metadata))


def _check_digests(store: ObjectStore, bucket: str, records: list[DigestRecord], public_keys: Mapping[str, bytes],
                   report: IntegrityReport) -> list[checks.Digest]:
    """The newest digests, oldest first; returns those that passed (their log files are checked next)."""
    keys = dict(public_keys)
    passed: list[checks.Digest] = []
    previous: checks.Digest | None = None
    for position, record in enumerate(records):
        digest, problems = _load(store, record.object_key)
        if digest is not None and digest.sha256 != record.sha256:
            problems = ["INVALID: not the digest the server signed (its bytes differ)"]
        if digest is not None and not problems:
            problems = checks.check_digest(digest, bucket, keys)
        if digest is not None and not problems:
            named = digest.data.get("previousDigestS3Object")
            if position == 0 and named is not None:  # the window starts inside the chain
                before, _ = _load(store, str(named))
                problems = ([f"INVALID: previous digest {named} not found (deleted?)"] if before is None
                            else checks.check_link(digest, before))
            else:
                problems = checks.check_link(digest, previous)
        data = digest.data if digest is not None else {}
        report.digests.append(CheckedDigest(
            record.object_key, str(data.get("digestStartTime", "")), str(data.get("digestEndTime", "")),
            len(data.get("logFiles") or ()), tuple(problems)))
        if digest is not None and not problems:
            passed.append(digest)
        previous = digest
    return passed


# -- log files -----------------------------------------------------------------------------


def _check_log_files(storage: Storage, store: ObjectStore, trail: TrailKey, digests: list[checks.Digest],
                     bounds: IntegrityBounds) -> list[tuple[FileResult, bool, list[str]]]:
    """The newest log files: (result, listed by a checked digest, problems incl. links)."""
    listed: dict[str, str] = {}
    for digest in digests:
        for entry in digest.data.get("logFiles") or ():
            if isinstance(entry, dict) and "s3Object" in entry:
                listed[str(entry["s3Object"])] = str(entry.get("hashValue"))
    awaiting = {f.object_key for f in storage.log_files(trail, state=DeliveryState.DELIVERED, undigested=True)}
    # Log keys carry their delivery time (..._YYYYMMDDTHHmmZ_random.json.gz) under a date
    # path: within one trail, key order is time order.
    newest = sorted(set(listed) | awaiting)[-bounds.log_files:] if bounds.log_files else []
    results = [check_log_file(store, key, listed.get(key)) for key in newest]
    links: dict[str, list[str]] = {}
    position: checks.ChainPosition | None = None  # the first checked file's predecessor is out of bounds
    for r in sorted((r for r in results if r.header is not None),
                    key=lambda r: r.header.first_sequence):  # type: ignore[union-attr]
        header = r.header
        assert header is not None
        links[r.key] = checks.link_problems(header, position)
        position = checks.ChainPosition(header.last_sequence, header.last_hash)
    # shown in chain order (keys of one minute sort by their random suffix); unreadable last
    results.sort(key=lambda r: r.header.first_sequence if r.header is not None else 1 << 62)
    return [(r, r.key in listed, r.problems + links.get(r.key, [])) for r in results]


# -- the event table -----------------------------------------------------------------------


def _check_events(storage: Storage, head: TrailHead, bounds: IntegrityBounds, wanted: set[int],
                  report: IntegrityReport) -> dict[int, bytes]:
    """The newest events' chain and sequence up to the tip; the chain hashes at ``wanted``."""
    hashes_at: dict[int, bytes] = {}
    if head.last_sequence <= head.pruned_sequence or bounds.events <= 0:
        return hashes_at
    start = max(head.pruned_sequence + 1, head.last_sequence - bounds.events + 1)
    segments = [s for s in storage.audit_segments(head.key, start - 1, _SEGMENT_BATCH)
                if s.first_sequence <= head.last_sequence]
    if not segments:
        report.database_problems.append(
            f"events {start}..{head.last_sequence} are missing from the event table (the trail's tip says "
            f"{head.last_sequence})")
        return hashes_at
    first = segments[0].first_sequence
    anchor = _hash_before(storage, head, first)  # None: not checkable (the bound's edge)
    report.first_event, expected, tip = first, first - 1, anchor
    while segments:
        for segment in segments:
            count = segment.last_sequence - segment.first_sequence + 1
            if (len(segment.bodies) != count or len(segment.hashes) != HASH_LEN * count
                    or len(segment.times) != 8 * count):
                report.database_problems.append(
                    f"the row holding events {segment.first_sequence}..{segment.last_sequence} is damaged")
                count = min(len(segment.bodies), len(segment.hashes) // HASH_LEN)
            if segment.first_sequence != expected + 1:
                report.database_problems.append(
                    f"event sequence jumps from {expected} to {segment.first_sequence}: events "
                    f"{expected + 1}..{segment.first_sequence - 1} are missing")
            for i in range(count):
                stored = segment.hashes[HASH_LEN * i: HASH_LEN * (i + 1)]
                if tip is not None and hashlib.sha256(tip + segment.bodies[i]).digest() != stored:
                    if len(report.database_problems) < 20:
                        report.database_problems.append(
                            f"event {segment.first_sequence + i} does not chain: edited, inserted or reordered")
                tip = stored
                if segment.first_sequence + i in wanted:
                    hashes_at[segment.first_sequence + i] = stored
            expected = segment.first_sequence + count - 1
        if expected >= head.last_sequence:
            break
        segments = [s for s in storage.audit_segments(head.key, segments[-1].first_sequence, _SEGMENT_BATCH)
                    if s.first_sequence <= head.last_sequence]
    report.last_event = expected
    if expected != head.last_sequence or tip != head.last_hash:
        report.database_problems.append(
            f"the chain ends at event {expected}, the trail's tip says {head.last_sequence}: events removed from "
            "the end, or the tip was changed")
    if anchor is not None and first - 1 in wanted:
        hashes_at[first - 1] = anchor
    return hashes_at


def _hash_before(storage: Storage, head: TrailHead, first: int) -> bytes | None:
    """The stored chain hash of event ``first - 1``: the window's anchor."""
    if first - 1 == head.pruned_sequence:
        return head.pruned_hash  # (the genesis hash before event 1)
    before = storage.read_audit_events(head.key, first - 2, 1)
    if before and before[0].sequence == first - 1:
        return before[0].chain_hash
    return None
