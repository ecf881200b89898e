"""`trent audit verify` (issue 16 §4): everything validate-logs checks, and what it cannot.

From the bucket: every digest's signature, location and link to the previous one (a
deleted, replaced or moved digest breaks them), every listed log file's SHA-256, and —
Trent's own — the event chain across the log files (each record re-hashed; gaps,
duplicates, reordering, edits). From the database, when reachable: the event table's
chain and sequence (edited, deleted or reordered rows), that each log file's chain
endpoints are the database's, and that every digest the server signed — the newest
above all — is in the bucket: CloudTrail cannot tell that its newest files were
deleted; Trent can.

One :class:`Problem` per finding, naming the file (or the trail) and, where it can,
the event; the report's summary counts like validate-logs'.
"""

from __future__ import annotations

import calendar
import hashlib
import multiprocessing
import pickle
import time
from collections.abc import Callable
from concurrent.futures import Executor, ProcessPoolExecutor
from collections.abc import Iterator
from dataclasses import dataclass, field

import orjson

from trent.audit import checks, digests, logfiles
from trent.domain.audit_chain import HASH_LEN, TrailHead, TrailKey
from trent.domain.audit_delivery import DeliveryState
from trent.objectstore import NoSuchKey, ObjectStore, ObjectStoreError
from trent.storage.repositories import Storage

HOUR = 3600.0
_SEGMENT_BATCH = 2_000


@dataclass(frozen=True, slots=True)
class Problem:
    where: str
    message: str

    def line(self, bucket: str) -> str:
        where = self.where if self.where.startswith(("trail ", "database")) else f"s3://{bucket}/{self.where}"
        return f"{where}\t{self.message}"


@dataclass(slots=True)
class VerifyReport:
    problems: list[Problem] = field(default_factory=list)
    digests_valid: int = 0
    digests_invalid: int = 0
    logs_valid: int = 0
    logs_invalid: int = 0
    file_events: int = 0
    database_events: int = 0
    trails: int = 0
    found_start: str | None = None
    found_end: str | None = None

    @property
    def ok(self) -> bool:
        return not self.problems

    def add(self, where: str, message: str) -> None:
        self.problems.append(Problem(where, message))


@dataclass(frozen=True, slots=True)
class VerifyScope:
    bucket: str
    prefix: str | None = None
    start: float | None = None
    end: float | None = None


def _stamp_epoch(stamp: str) -> float:
    return float(calendar.timegm(time.strptime(stamp, "%Y%m%dT%H%M%SZ" if len(stamp) == 16 else "%Y%m%dT%H%MZ")))


def _all_keys(store: ObjectStore, prefix: str) -> Iterator[str]:
    after = ""
    while True:
        page = store.list(prefix, after, 1000)
        for info in page.objects:
            yield info.key
        if not page.truncated or not page.objects:
            return
        after = page.objects[-1].key


@dataclass(slots=True)
class _Trail:
    account_id: str
    region: str
    digests: list[str] = field(default_factory=list)
    logs: list[str] = field(default_factory=list)


def verify(store: ObjectStore, scope: VerifyScope, public_keys: dict[str, bytes],
           storage: Storage | None = None, *, jobs: int = 1) -> VerifyReport:
    """``jobs`` > 1: log files are checked in that many worker processes (inflating and
    hashing is the work), overlapping this process's pass over the database."""
    report = VerifyReport()
    root = f"{scope.prefix}/AWSLogs/" if scope.prefix else "AWSLogs/"
    trails: dict[TrailKey, _Trail] = {}
    try:
        for key in _all_keys(store, root):
            info = checks.classify(key, scope.prefix)
            if info is None:
                continue
            trail = trails.setdefault(TrailKey(info.account_id, info.region), _Trail(info.account_id, info.region))
            (trail.digests if info.kind == "digest" else trail.logs).append(key)
    except ObjectStoreError as exc:
        report.add("bucket", f"cannot list the bucket: {exc}")
        return report
    heads = {h.key: h for h in storage.trail_heads()} if storage is not None else {}
    pool = _pool(store, jobs)
    try:
        for trail_key in sorted(set(trails) | set(heads), key=lambda k: (k.account_id, k.region)):
            report.trails += 1
            trail = trails.get(trail_key) or _Trail(trail_key.account_id, trail_key.region)
            _verify_trail(store, scope, public_keys, storage, heads.get(trail_key), trail, report, pool)
    finally:
        if pool is not None:
            pool.shutdown()
    return report


def _pool(store: ObjectStore, jobs: int) -> Executor | None:
    if jobs <= 1:
        return None
    try:
        pickle.dumps(store)
    except (pickle.PicklingError, TypeError, AttributeError):
        return None  # a store that cannot travel to another process (an S3 client): check here
    return ProcessPoolExecutor(max_workers=jobs, mp_context=multiprocessing.get_context("fork"))


def _verify_trail(store: ObjectStore, scope: VerifyScope, public_keys: dict[str, bytes], storage: Storage | None,
                  head: TrailHead | None, trail: _Trail, report: VerifyReport, pool: Executor | None) -> None:
    in_window = [k for k in sorted(trail.digests, key=digests.key_timestamp) if _digest_in_window(k, scope)]
    present = set(trail.digests)
    valid: list[checks.Digest] = []
    previous: checks.Digest | None = None
    for position, digest_key in enumerate(in_window):
        digest, problems = _load_digest(store, digest_key)
        if digest is not None and not problems:
            problems = checks.check_digest(digest, scope.bucket, public_keys)
        if digest is not None and not problems:
            named = digest.data.get("previousDigestS3Object")
            if named is not None and named not in present:
                problems = [f"INVALID: previous digest {named} not found (deleted?)"]
            elif position == 0 and named is not None:  # the window starts inside the chain
                problems = checks.check_link(digest, _load_digest(store, named)[0])
            else:
                problems = checks.check_link(digest, previous)
        if problems:
            report.digests_invalid += 1
            for problem in problems:
                report.add(digest_key, problem)
        else:
            assert digest is not None
            report.digests_valid += 1
            valid.append(digest)
            report.found_start = report.found_start or str(digest.data.get("digestStartTime"))
            report.found_end = str(digest.data.get("digestEndTime"))
        if digest is not None:
            previous = digest
    jobs = _log_file_jobs(scope, trail, valid, head, storage, report)
    collect = _check_log_files(store, jobs, pool)  # workers read the bucket ...
    hashes_at: dict[int, bytes] = {}
    if storage is not None and head is not None:  # ... while this process reads the database
        wanted = {s for f in storage.log_files(head.key) for s in (f.first_sequence - 1, f.last_sequence)}
        hashes_at = _verify_database(storage, head, wanted, present, report)
    files = collect()
    _verify_chain(files, valid, report, scope)
    for f in files:
        if f.header is None:
            continue
        for sequence, file_hash in ((f.header.first_sequence - 1, f.header.previous_hash),
                                    (f.header.last_sequence, f.header.last_hash)):
            stored = hashes_at.get(sequence)
            if stored is not None and stored != file_hash:
                report.add(f.key, f"INVALID: event {sequence} differs from the database's")


def _digest_in_window(key: str, scope: VerifyScope) -> bool:
    stamp = _stamp_epoch(digests.key_timestamp(key))
    if scope.start is not None and stamp < scope.start:
        return False
    # like validate-logs: digests up to an hour after the end hold files of the window
    return scope.end is None or stamp <= scope.end + HOUR


def _load_digest(store: ObjectStore, key: str) -> tuple[checks.Digest | None, list[str]]:
    try:
        stored = store.get(key)
    except NoSuchKey:
        return None, ["INVALID: not found"]
    except ObjectStoreError as exc:
        return None, [f"INVALID: cannot read ({exc})"]
    return checks.open_digest(key, stored.body, dict(stored.info.metadata))


@dataclass(slots=True)
class FileResult:
    """One log file, checked on its own (in a worker process when there are many)."""

    key: str
    problems: list[str]
    header: logfiles.ChainHeader | None = None
    records: int = 0

    @property
    def readable(self) -> bool:
        """Found, inflated, hashed as listed, parsed: it counts as a valid log file."""
        return self.header is not None or not self.problems


def check_log_file(store: ObjectStore, key: str, listed_sha256: str | None) -> FileResult:
    """Read, inflate, compare with the digest's hash, split and re-hash one log file."""
    try:
        raw = store.get(key).body
    except NoSuchKey:
        return FileResult(key, ["INVALID: not found"])
    except ObjectStoreError as exc:
        return FileResult(key, [f"INVALID: cannot read ({exc})"])
    try:
        body = logfiles.decompress(raw)
    except ValueError as exc:
        return FileResult(key, [f"INVALID: invalid format ({exc})"])
    if listed_sha256 is not None and logfiles.sha256_hex(body) != listed_sha256:
        return FileResult(key, ["INVALID: hash value doesn't match"])
    try:
        parsed = logfiles.parse(body)
    except ValueError as exc:
        return FileResult(key, [f"INVALID: invalid format ({exc})"])
    return FileResult(key, checks.file_chain_problems(parsed), parsed.chain, len(parsed.records))


def _check_log_files(store: ObjectStore, jobs: list[tuple[str, str | None]], pool: Executor | None
                     ) -> Callable[[], list[FileResult]]:
    """Start checking ``jobs`` (in ``pool`` if given); call the result to collect them."""
    if pool is None or len(jobs) < 2:
        results = [check_log_file(store, key, sha) for key, sha in jobs]
        return lambda: results
    futures = [pool.submit(check_log_file, store, key, sha) for key, sha in jobs]
    return lambda: [f.result() for f in futures]


def _log_file_jobs(scope: VerifyScope, trail: _Trail, valid: list[checks.Digest], head: TrailHead | None,
                   storage: Storage | None, report: VerifyReport) -> list[tuple[str, str | None]]:
    listed: dict[str, str] = {}
    for digest in valid:
        for entry in digest.data.get("logFiles") or ():
            if isinstance(entry, dict) and entry.get("s3Bucket") == scope.bucket:
                listed[str(entry.get("s3Object"))] = str(entry.get("hashValue"))
    awaiting: set[str] = set()
    if storage is not None and head is not None:
        awaiting = {f.object_key for f in storage.log_files(head.key, state=DeliveryState.DELIVERED, undigested=True)}
    elif valid:
        newest_end = str(valid[-1].data.get("digestEndTime", ""))
        awaiting = {k for k in trail.logs if k not in listed and _log_time(k) >= newest_end[:16]}
    if scope.start is None and scope.end is None:
        for key in sorted(set(trail.logs) - set(listed) - awaiting):
            report.add(key, "INVALID: not listed in any digest (moved, copied or planted)")
    return [(key, listed.get(key)) for key in sorted(set(listed) | (awaiting & set(trail.logs)))]


def _log_time(key: str) -> str:
    """A log key's delivery minute as ``YYYY-MM-DDTHH:MM`` (to compare with digest times)."""
    stamp = key.rsplit("_", 2)[-2]  # YYYYMMDDTHHmmZ
    return f"{stamp[0:4]}-{stamp[4:6]}-{stamp[6:8]}T{stamp[9:11]}:{stamp[11:13]}"


def _verify_chain(files: list[FileResult], valid: list[checks.Digest], report: VerifyReport,
                  scope: VerifyScope) -> None:
    """Each file's own problems, then the chain from file to file in sequence order; each
    digest's trentChain must be a point of it."""
    for f in files:
        if f.header is None and f.problems:
            report.logs_invalid += 1
        else:
            report.logs_valid += 1
        for problem in f.problems:
            report.add(f.key, problem)
    chained = sorted((f for f in files if f.header is not None), key=lambda f: f.header.first_sequence)  # type: ignore[union-attr]
    position: checks.ChainPosition | None = None
    if chained and chained[0].header.first_sequence == 1 and scope.start is None:  # type: ignore[union-attr]
        position = checks.ChainPosition(0, bytes(32))
    ends: dict[int, bytes] = {0: bytes(32)}
    for f in chained:
        header = f.header
        assert header is not None
        for problem in checks.link_problems(header, position):
            report.add(f.key, problem)
        position = checks.ChainPosition(header.last_sequence, header.last_hash)
        report.file_events += f.records
        ends[header.last_sequence] = header.last_hash
    for digest in valid:
        pinned = digest.data.get("trentChain")
        if not isinstance(pinned, dict):
            continue
        sequence, tip = pinned.get("lastSequence"), pinned.get("lastHash")
        if sequence in ends and ends[sequence].hex() != tip:
            report.add(digest.key, f"INVALID: the signed chain position (event {sequence}) is not the log files'")


def verify_database(storage: Storage) -> VerifyReport:
    """The event table alone: every trail's chain and sequence (no bucket at hand)."""
    report = VerifyReport()
    for head in storage.trail_heads():
        report.trails += 1
        _verify_database(storage, head, set(), None, report)
    return report


def _verify_database(storage: Storage, head: TrailHead, wanted: set[int], present: set[str] | None,
                     report: VerifyReport) -> dict[int, bytes]:
    """The trail's events in the database: sequence and chain, and the tip. Returns the
    chain hashes at the ``wanted`` sequences (log file boundaries, for the cross-check)."""
    where = f"database trail {head.account_id}/{head.region}"
    hashes_at: dict[int, bytes] = {}
    expected, tip = head.pruned_sequence, head.pruned_hash
    broken = False
    after = -1
    sha256 = hashlib.sha256
    while True:
        segments = storage.audit_segments(head.key, after, _SEGMENT_BATCH)
        if not segments:
            break
        for segment in segments:
            first, hashes, bodies = segment.first_sequence, segment.hashes, segment.bodies
            count = segment.last_sequence - first + 1
            if len(bodies) != count or len(hashes) != HASH_LEN * count or len(segment.times) != 8 * count:
                report.add(where, f"the row holding events {first}..{segment.last_sequence} is damaged "
                                  f"({len(bodies)} bodies, {len(hashes) // HASH_LEN} hashes)")
                broken = True
                count = min(len(bodies), len(hashes) // HASH_LEN)
            if first != expected + 1:
                report.add(where, f"event sequence jumps from {expected} to {first}: "
                                  f"events {expected + 1}..{first - 1} are missing")
                broken = True
            for i in range(count):
                digest = sha256(tip)  # domain.audit_chain.chain_hash, inlined: once per event
                digest.update(bodies[i])
                stored = hashes[HASH_LEN * i : HASH_LEN * (i + 1)]
                if digest.digest() != stored and not broken:
                    report.add(where, f"event {first + i} ({_event_id(bodies[i])}) does not chain: "
                                      "edited, inserted or reordered")
                    broken = True
                tip = stored
                if first + i in wanted:
                    hashes_at[first + i] = stored
            expected = first + count - 1
            report.database_events += count
        after = segments[-1].first_sequence
    if head.pruned_sequence in wanted:
        hashes_at[head.pruned_sequence] = head.pruned_hash
    if 0 in wanted:
        hashes_at[0] = bytes(32)
    if expected != head.last_sequence or tip != head.last_hash:
        report.add(where, f"the chain ends at event {expected}, the trail's tip says {head.last_sequence}: "
                          "events removed from the end, or the tip was changed")
    if present is not None:
        signed = storage.digests(head.key, state=DeliveryState.DELIVERED)
        for record in signed:
            if record.object_key not in present:
                newest = record is signed[-1]
                report.add(record.object_key, "INVALID: the server signed this "
                           + ("newest digest" if newest else "digest") + " but it is not in the bucket (deleted?)")
    return hashes_at


def _event_id(body: bytes) -> str:
    try:
        return str(orjson.loads(body).get("eventID"))
    except (orjson.JSONDecodeError, AttributeError):
        return "unparsable event"

