"""protocol/s3/grouped_puts.GroupedPuts (issue 17): one transaction for the object rows and
events of a batch of PutObjects, on SQLite (file and memory) and PostgreSQL.

Per row exactly what a PUT's own transaction decided: a refused row (If-None-Match: * on an
existing key, including one created earlier in the same batch; a bucket that is gone) is
that PUT's error only and records none of its events, while the rows after it still
commit (PostgreSQL: a SAVEPOINT per row); overwrites of one key apply in arrival order;
the applied rows' events are in the chained trail, in batch order. A batch whose events
cannot be recorded leaves nothing of it at all. The same holds for the rows of PutObjects
served on the event loop, which the server's audit batch applies (``LoopPut``)."""

from __future__ import annotations

import asyncio
import os
from typing import Any

import orjson
import pytest

from trent import errors
from trent.audit.records import AuditEntry, TrailPlacement
from trent.audit.sink import AuditWriteError
from trent.domain.audit_chain import GENESIS_HASH, TrailKey, chain_hash
from trent.domain.s3.records import Blob, Bucket, ObjectMetadata, ObjectRecord, SseMode, SseRecord
from trent.protocol.pipeline import Response
from trent.protocol.recording import Concluded
from trent.protocol.s3.grouped_puts import GroupedPut, GroupedPuts, HeldRow, LoopPut
from trent.server.audit_batcher import AuditBatcher, Pending
from trent.service.audit_outbox import AuditOutbox
from trent.storage.sql import SqlStorage
from trent.storage.sql_s3 import SqlS3Repository

from .builders import ACCOUNT, REGION, T0

TRAIL = TrailKey(ACCOUNT, REGION)


@pytest.fixture(params=["sqlite", "sqlite-memory", pytest.param("postgres", marks=pytest.mark.postgres)])
def storage(request: pytest.FixtureRequest) -> SqlStorage:
    backend: SqlStorage = request.getfixturevalue(
        {"sqlite": "sqlite_storage", "sqlite-memory": "sqlite_memory_storage", "postgres": "postgres_storage"}[
            request.param])
    backend.reset()
    MARKS[id(backend)] = 0
    MARKS[id(backend)] = len(trail(backend))
    return backend


def record(key: str, bucket: str = "b1", size: int = 10) -> ObjectRecord:
    return ObjectRecord(
        bucket=bucket, key=key, size=size, etag=os.urandom(4).hex(), last_modified=T0, metadata=ObjectMetadata(),
        sse=SseRecord(SseMode.SSE_S3, b"w", owned_key_id="ok1"), blobs=(Blob(os.urandom(8).hex(), 0, b"c" * 16, size),),
    )


def put(rid: str, key: str, *, bucket: str = "b1", only_if_absent: bool = False, kms: bool = False) -> GroupedPut:
    events = [event("GenerateDataKey", rid)] if kms else []
    return GroupedPut(HeldRow(record(key, bucket), only_if_absent), (*events, event("PutObject", rid)))


def event(name: str, rid: str) -> AuditEntry:
    return AuditEntry({"eventName": name, "requestID": rid, "recipientAccountId": ACCOUNT, "awsRegion": REGION}, T0)


MARKS: dict[int, int] = {}  # events in the trail before the test (reset() keeps the trail)


def trail(storage: SqlStorage) -> list[tuple[str, str]]:
    """The test's events in sequence order, the whole chain checked from the genesis hash."""
    stored = storage.read_audit_events(TRAIL, 0, 100_000)
    tip = GENESIS_HASH
    for number, item in enumerate(stored, start=1):
        tip = chain_hash(tip, item.body)
        assert (item.sequence, item.chain_hash) == (number, tip)
    return [(e["eventName"], e["requestID"]) for e in map(orjson.loads, (s.body for s in stored))][
        MARKS.get(id(storage), 0):]


def setup(storage: SqlStorage, outbox: AuditOutbox | None = None) -> tuple[SqlS3Repository, GroupedPuts]:
    repo = SqlS3Repository.for_storage(storage)
    repo.create_bucket(Bucket("b1", ACCOUNT, REGION, T0))
    return repo, GroupedPuts(storage, outbox or AuditOutbox(storage, TrailPlacement(ACCOUNT, REGION)), repo)


def test_one_batch_decides_each_row_on_its_own(storage: SqlStorage) -> None:
    repo, puts = setup(storage)
    repo.put_object(record("exists"))
    batch = [
        put("r1", "new", kms=True),
        put("r2", "exists", only_if_absent=True),  # 412: the key exists
        put("r3", "same"),
        put("r4", "created", only_if_absent=True),
        put("r5", "created", only_if_absent=True),  # 412: created by r4 in this very batch
        put("r6", "k", bucket="gone"),  # NoSuchBucket
        put("r7", "same", kms=True),  # replaces r3's object: arrival order
        put("r8", "last"),
    ]
    outcomes = puts.apply(batch)
    assert [type(o).__name__ if o is not None else None for o in outcomes] == [
        None, "PreconditionFailed", None, None, "PreconditionFailed", "NoSuchBucket", None, None]
    refused = outcomes[1]
    assert isinstance(refused, errors.PreconditionFailed) and refused.details == {"Condition": "If-None-Match"}
    assert isinstance(outcomes[5], errors.NoSuchBucket) and outcomes[5].details == {"BucketName": "gone"}
    for index in (0, 3, 6, 7):
        row = batch[index].row.record
        assert repo.get_object("b1", row.key) == row
    assert repo.get_object("b1", "exists") != batch[1].row.record
    # r3's blob was replaced in the same transaction: it is garbage, r7's is not
    with storage.engine.connect() as conn:
        garbage = {r[0] for r in conn.exec_driver_sql("SELECT name FROM s3_blob_garbage")}
    assert garbage == {batch[2].row.record.blobs[0].name}
    # only the applied rows' events, in batch order, companions first, chained
    assert trail(storage) == [("GenerateDataKey", "r1"), ("PutObject", "r1"), ("PutObject", "r3"),
                              ("PutObject", "r4"), ("GenerateDataKey", "r7"), ("PutObject", "r7"),
                              ("PutObject", "r8")]


def test_a_batch_whose_events_cannot_be_recorded_leaves_nothing(storage: SqlStorage) -> None:
    class Refusing(AuditOutbox):
        refuse = True

        def record(self, entries: Any) -> None:
            super().record(entries)
            if self.refuse:  # after the append: the whole transaction must roll back
                raise AuditWriteError("refused")

    outbox = Refusing(storage, TrailPlacement(ACCOUNT, REGION))
    repo, puts = setup(storage, outbox)
    before = record("before")
    repo.put_object(before)
    outcomes = [puts.submit(p) for p in (put("r1", "new"),)]
    outcomes += [puts.submit(put("r2", "before"))]
    assert all(isinstance(o, errors.KMSInternal) for o in outcomes)
    assert repo.get_object("b1", "new") is None and repo.get_object("b1", "before") == before
    assert trail(storage) == []
    outbox.refuse = False  # the next batch goes on, the chain whole
    assert puts.submit(put("r3", "new")) is None
    assert trail(storage) == [("PutObject", "r3")]


def test_a_lone_put_through_submit_commits_before_it_returns(storage: SqlStorage) -> None:
    repo, puts = setup(storage)
    one = put("r1", "k")
    assert puts.submit(one) is None
    assert repo.get_object("b1", "k") == one.row.record and trail(storage) == [("PutObject", "r1")]
    assert (puts.group.batches, puts.group.items) == (1, 1)


def test_the_batch_does_not_join_the_leaders_own_scope(storage: SqlStorage) -> None:
    """The leader is a PutObject's worker thread, inside its request's (unwritten)
    ``atomic()`` block: the batch commits on its own before submit returns, whatever that
    block does afterwards."""
    repo, puts = setup(storage)
    with pytest.raises(RuntimeError), storage.atomic():
        assert puts.submit(put("r1", "k")) is None
        raise RuntimeError("the request's own block rolls back")
    assert repo.get_object("b1", "k") is not None and trail(storage) == [("PutObject", "r1")]


def test_rows_are_locked_in_key_order_and_one_keys_puts_keep_their_order(storage: SqlStorage) -> None:
    """Two batches of different processes sharing keys lock them in the same order (no
    deadlock on PostgreSQL): rows are written in (bucket, key) order, a stable sort, so the
    PUTs of one key still apply as they arrived; the events stay in arrival order."""
    repo, puts = setup(storage)
    written: list[tuple[str, bool]] = []

    class Watching:
        def put_object(
            self, record: ObjectRecord, *, only_if_absent: bool = False, savepoint: bool = False
        ) -> tuple[str, ...] | None:
            written.append((record.key, only_if_absent))
            return repo.put_object(record, only_if_absent=only_if_absent, savepoint=savepoint)

    puts = GroupedPuts(storage, AuditOutbox(storage, TrailPlacement(ACCOUNT, REGION)), Watching())  # type: ignore[arg-type]
    batch = [put("r1", "z"), put("r2", "a", only_if_absent=True), put("r3", "m"), put("r4", "a"),
             put("r5", "a", only_if_absent=True), put("r6", "b")]
    outcomes = puts.apply(batch)
    assert written == [("a", True), ("a", False), ("a", True), ("b", False), ("m", False), ("z", False)]
    assert [type(o).__name__ if o is not None else None for o in outcomes] == [
        None, None, None, None, "PreconditionFailed", None]
    assert repo.get_object("b1", "a") == batch[3].row.record
    assert trail(storage) == [("PutObject", r) for r in ("r1", "r2", "r3", "r4", "r6")]


# --- PutObjects served on the event loop: their rows in the server's audit batch ----------


class Connection:
    """A client connection as the audit batcher sees it (server/audit_batcher.Connection)."""

    def __init__(self) -> None:
        self.sent: dict[str, Response] = {}
        self.flushed = asyncio.Event()

    def fill(self, slot: Any, response: Response) -> None:
        self.sent[slot] = response

    def flush(self) -> None:
        self.flushed.set()


def loop_put(puts: GroupedPuts, grouped: GroupedPut, connection: Connection, deleted: list[str],
             written: tuple[str, ...] = ()) -> Pending:
    """What the S3 front door hands the server for an on-loop PutObject (front_door.py,
    ``_held_for_the_server``): its answer and events, and its row held (a LoopPut)."""
    *kms, s3_event = grouped.events
    rid = s3_event.event["requestID"]

    def refused(error: errors.TrentError) -> Concluded[Response]:
        return Concluded(event("PutObject-refused", rid), Response(412, type(error).__name__.encode(), rid), False,
                         tuple(kms))

    change = LoopPut(puts, grouped.row, refused, written, deleted.extend)
    return Pending(s3_event, Response(200, b"put", rid), connection, rid, lambda r: Response(500, b"no", rid),
                   companions=tuple(kms), change=change)


def read(rid: str, connection: Connection) -> Pending:
    return Pending(event("GetObject", rid), Response(200, b"read", rid), connection, rid,
                   lambda r: Response(500, b"no", rid))


async def one_batch(batcher: AuditBatcher, pendings: list[Pending], connection: Connection) -> dict[str, Response]:
    for pending in pendings:  # one loop tick: one batch
        batcher.add(pending)
    assert connection.sent == {}  # nothing is answered before the commit
    await asyncio.wait_for(connection.flushed.wait(), 10)
    await batcher.drain()
    return {rid: connection.sent[rid] for rid in connection.sent}


@pytest.mark.parametrize("inline", [True, False], ids=["inline", "writer-thread"])
def test_loop_puts_commit_in_the_audit_batch_each_deciding_its_own_row(storage: SqlStorage, inline: bool) -> None:
    """server/audit_batcher.py with held changes: one transaction applies the rows in
    arrival order, then appends every call's events; a refused row concludes its call with
    the refusal (its event in place of the PUT's, after the KMS calls it made) and its
    written blob is deleted; the other rows and the reads of the batch commit."""
    repo, puts = setup(storage)
    repo.put_object(record("exists"))
    connection, deleted = Connection(), []
    batch = [
        loop_put(puts, put("r1", "new", kms=True), connection, deleted),
        read("r2", connection),
        loop_put(puts, put("r3", "exists", only_if_absent=True, kms=True), connection, deleted, ("ab/cd/r3",)),
        loop_put(puts, put("r4", "created", only_if_absent=True), connection, deleted),
        loop_put(puts, put("r5", "created", only_if_absent=True), connection, deleted, ("ab/cd/r5",)),
        loop_put(puts, put("r6", "k", bucket="gone"), connection, deleted),
        loop_put(puts, put("r7", "new"), connection, deleted, ("ab/cd/r7",)),
    ]
    rows = {p.entry.event["requestID"]: p.change.row.record for p in batch if isinstance(p.change, LoopPut)}
    batcher = AuditBatcher(AuditOutbox(storage, TrailPlacement(ACCOUNT, REGION)), inline=inline)
    sent = asyncio.run(one_batch(batcher, batch, connection))
    assert {rid: (r.status, r.body) for rid, r in sent.items()} == {
        "r1": (200, b"put"), "r2": (200, b"read"), "r3": (412, b"PreconditionFailed"), "r4": (200, b"put"),
        "r5": (412, b"PreconditionFailed"), "r6": (412, b"NoSuchBucket"), "r7": (200, b"put")}
    assert repo.get_object("b1", "new") == rows["r7"]  # r1's, then replaced by r7's: arrival order
    assert repo.get_object("b1", "created") == rows["r4"]
    assert repo.get_object("b1", "exists") != rows["r3"]
    assert deleted == ["ab/cd/r3", "ab/cd/r5"]  # the refused calls' blobs; r7's is its object's
    assert trail(storage) == [
        ("GenerateDataKey", "r1"), ("PutObject", "r1"), ("GetObject", "r2"), ("GenerateDataKey", "r3"),
        ("PutObject-refused", "r3"), ("PutObject", "r4"), ("PutObject-refused", "r5"), ("PutObject-refused", "r6"),
        ("PutObject", "r7")]


@pytest.mark.parametrize("inline", [True, False], ids=["inline", "writer-thread"])
def test_a_failed_audit_batch_leaves_none_of_its_loop_puts(storage: SqlStorage, inline: bool) -> None:
    """Fail-closed (issue 16): the batch's events cannot be recorded, so none of its rows
    happened either; every call is refused and every blob a PUT wrote is deleted."""

    class Refusing(AuditOutbox):
        def record(self, entries: Any) -> None:
            super().record(entries)
            raise AuditWriteError("refused")  # after the rows and the append: all rolled back

    repo, puts = setup(storage)
    before = record("before")
    repo.put_object(before)
    connection, deleted = Connection(), []
    batch = [loop_put(puts, put("r1", "new"), connection, deleted, ("ab/cd/r1",)), read("r2", connection),
             loop_put(puts, put("r3", "before"), connection, deleted, ("ab/cd/r3",))]
    batcher = AuditBatcher(Refusing(storage, TrailPlacement(ACCOUNT, REGION)), inline=inline)
    sent = asyncio.run(one_batch(batcher, batch, connection))
    assert {rid: r.status for rid, r in sent.items()} == {"r1": 500, "r2": 500, "r3": 500}
    assert repo.get_object("b1", "new") is None and repo.get_object("b1", "before") == before
    assert deleted == ["ab/cd/r1", "ab/cd/r3"]
    assert trail(storage) == []
