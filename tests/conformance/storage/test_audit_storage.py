"""The audit trail's storage (issue 16) on every backend: the outbox in the caller's
transaction, the gapless per-trail sequence and hash chain, lookups, delivery records.

Trails outlive ``reset()`` (the audit is history), so every test uses its own account.
"""

from __future__ import annotations

import dataclasses
import itertools
import random
import threading
import time
import uuid

import pytest

import orjson

from trent.domain.audit_chain import GENESIS_HASH, AuditRecord, TrailKey, chain_hash, chain_over, tokens_of_event
from trent.domain.audit_delivery import (
    DeliveryState,
    DigestRecord,
    LogFileRecord,
    LookupAttribute,
    LookupQuery,
    SigningKeyRecord,
)
from trent.domain.keys import Tag
from trent.storage.repositories import Storage, StorageError

from . import builders as b
from .builders import REGION

T0 = 1_767_225_600.0  # 2026-01-01T00:00:00Z


def fresh_account() -> str:
    return "".join(random.choice("0123456789") for _ in range(12))


_ids = itertools.count(1)


def record(account: str | None, region: str = REGION, *, name: str = "Encrypt", at: float = T0,
           user: str | None = "alice", akid: str | None = "AKIAEXAMPLE",
           resources: tuple[tuple[str, str], ...] = (), read_only: bool = True,
           source: str = "kms.amazonaws.com") -> AuditRecord:
    identity: dict[str, str] = {"type": "IAMUser"}
    if user:
        identity["userName"] = user
    if akid:
        identity["accessKeyId"] = akid
    event = {"eventID": str(uuid.uuid4()), "eventName": name, "eventSource": source, "readOnly": read_only,
             "userIdentity": identity, "resources": [{"type": t, "ARN": a} for t, a in resources], "n": next(_ids)}
    return AuditRecord(TrailKey(account, region), at, tokens_of_event(event), orjson.dumps(event))  # type: ignore[arg-type]


def event_id(rec: AuditRecord) -> str:
    return str(orjson.loads(rec.body)["eventID"])


def chain_of(storage: Storage, trail: TrailKey) -> list[tuple[int, bytes, bytes]]:
    return [(e.sequence, e.chain_hash, e.body) for e in storage.read_audit_events(trail, 0, 100_000)]


def assert_chain(storage: Storage, trail: TrailKey, count: int) -> None:
    events = chain_of(storage, trail)
    assert [seq for seq, _, _ in events] == list(range(1, count + 1))
    tip = GENESIS_HASH
    for _, stored, body in events:
        tip = chain_hash(tip, body)
        assert stored == tip
    head = storage.get_trail_head(trail)
    assert head is not None and head.last_sequence == count and head.last_hash == tip


# -- the chain ------------------------------------------------------------------------------


def test_append_numbers_and_chains_per_trail(storage: Storage) -> None:
    account = fresh_account()
    a, other = TrailKey(account, REGION), TrailKey(account, "eu-west-1")
    first = [record(account), record(account, "eu-west-1"), record(account)]
    placed = storage.append_audit_events(first)
    assert [seq for seq, _ in placed] == [1, 1, 2]
    assert placed[0][1] == chain_hash(GENESIS_HASH, first[0].body)
    assert placed[2][1] == chain_hash(placed[0][1], first[2].body)
    storage.append_audit_events([record(account) for _ in range(5)])
    assert_chain(storage, a, 7)
    assert_chain(storage, other, 1)
    head = storage.get_trail_head(a)
    assert head is not None and head.name == "trent" and head.delivered_sequence == 0
    assert chain_over(GENESIS_HASH, [body for _, _, body in chain_of(storage, a)]) == head.last_hash


def test_read_after_sequence_pages_in_order(storage: Storage) -> None:
    account = fresh_account()
    trail = TrailKey(account, REGION)
    storage.append_audit_events([record(account) for _ in range(10)])
    page = storage.read_audit_events(trail, 4, 3)
    assert [e.sequence for e in page] == [5, 6, 7]
    assert storage.read_audit_events(TrailKey(fresh_account(), REGION), 0, 10) == []


def test_a_long_event_name_is_stored_and_found_whole(storage: Storage) -> None:
    account = fresh_account()
    rec = record(account, name="X" * 300)
    storage.append_audit_events([rec])
    (stored,) = storage.read_audit_events(TrailKey(account, REGION), 0, 10)
    assert stored.body == rec.body
    assert _page(storage, account, attribute=LookupAttribute.EVENT_NAME, value="X" * 300) == [rec.body.decode()]


# -- atomic scopes: the change and its event commit together ----------------------------------


def test_atomic_commits_the_change_and_its_event_together(storage: Storage) -> None:
    account = fresh_account()
    key = b.key(account_id=account)
    with storage.atomic():
        assert not storage.in_write_transaction()
        storage.create_key(key, b.material(key))
        assert storage.in_write_transaction()
        assert storage.get_key(REGION, key.key_id) == key  # its own write, before commit
        storage.append_audit_events([record(account, name="CreateKey", read_only=False)])
    assert storage.get_key(REGION, key.key_id) == key
    assert_chain(storage, TrailKey(account, REGION), 1)


def test_atomic_rolls_back_the_change_and_its_event_together(storage: Storage) -> None:
    account = fresh_account()
    storage.append_audit_events([record(account)])
    key = b.key(account_id=account)
    with pytest.raises(RuntimeError), storage.atomic():
        storage.create_key(key, b.material(key))
        storage.put_tags(REGION, key.key_id, [Tag("a", "b")])
        storage.append_audit_events([record(account, name="CreateKey", read_only=False)])
        raise RuntimeError("the caller gave up")
    assert storage.get_key(REGION, key.key_id) is None
    assert_chain(storage, TrailKey(account, REGION), 1)


def test_a_failing_event_write_undoes_the_change(storage: Storage) -> None:
    account = fresh_account()
    key = b.key(account_id=account)
    broken = record(None)  # a trail without an account: NOT NULL, the database refuses it
    with pytest.raises(StorageError), storage.atomic():
        storage.create_key(key, b.material(key))
        storage.append_audit_events([broken])
    assert storage.get_key(REGION, key.key_id) is None
    assert storage.get_trail_head(TrailKey(account, REGION)) is None


def test_an_event_in_a_scope_is_stored_as_the_group_commit_stores_it(storage: Storage) -> None:
    """Inside a scope the append runs on the scope's connection (on SQLite its DB-API
    cursor, storage/audit_append.py, issue 17), outside it on the group commit's own
    connection: the same records give the same stored rows, column for column and type
    for type — the trail (after a new one's creation and after a second append), the
    segments and their index rows."""
    import sqlalchemy as sa

    from trent.storage.tables import audit_segment_index, audit_segments, audit_trails

    inner = getattr(storage, "_inner", storage)
    unit = inner._unit  # noqa: SLF001 - the test reads the rows both paths wrote
    scoped, direct = fresh_account(), fresh_account()
    batches = [[record(None, name=f"E{i}{j}", at=T0 + i + j / 10, resources=(("AWS::KMS::Key", f"arn:{j}"),))
                for j in range(3)] for i in range(2)]

    def on(account: str, batch: list[AuditRecord]) -> list[AuditRecord]:
        return [r._replace(trail=TrailKey(account, REGION)) for r in batch]

    for batch in batches:
        with storage.atomic():
            assert storage.append_audit_events(on(scoped, batch)) is not None
        storage.append_audit_events(on(direct, batch))

    def rows(account: str) -> list[list[tuple[object, ...]]]:
        trail = audit_trails
        with unit(write=False) as conn:
            tid = conn.execute(sa.select(trail.c.id).where(trail.c.account_id == account)).scalar_one()
            head = conn.execute(sa.select(*(c for c in trail.c if c.key not in ("id", "account_id")))
                                .where(trail.c.id == tid)).all()
            found = [[tuple(r) for r in head]]
            for table in (audit_segments, audit_segment_index):
                columns = [c for c in table.c if c.key != "trail_id"]
                found.append([tuple(r) for r in conn.execute(
                    sa.select(*columns).where(table.c.trail_id == tid).order_by(table.c.first_seq))])
        return found

    mine, theirs = rows(scoped), rows(direct)
    assert mine == theirs
    assert [[type(v) for v in r] for t in mine for r in t] == [[type(v) for v in r] for t in theirs for r in t]
    assert [r[0] for r in mine[1]] == [1, 4]  # two segments of three
    assert_chain(storage, TrailKey(scoped, REGION), 6)


def test_commit_so_far_commits_the_preliminary_writes_and_the_scope_goes_on(storage: Storage) -> None:
    """S3 streaming writes (issue 17): what a scope wrote before an upload commits on its
    own, the lock is released, and the writes after it commit or roll back together."""
    account = fresh_account()
    first, second = b.key(account_id=account), b.key(account_id=account)
    with pytest.raises(RuntimeError), storage.atomic():
        storage.commit_so_far()  # nothing written yet: nothing to do
        storage.create_key(first, b.material(first))
        storage.commit_so_far()
        assert storage.in_atomic() and not storage.in_write_transaction()
        storage.create_key(second, b.material(second))
        storage.append_audit_events([record(account, name="CreateKey", read_only=False)])
        raise RuntimeError("the audit append failed")
    assert storage.get_key(REGION, first.key_id) == first
    assert storage.get_key(REGION, second.key_id) is None
    assert storage.get_trail_head(TrailKey(account, REGION)) is None


def test_a_scope_that_only_reads_holds_no_transaction(storage: Storage) -> None:
    with storage.atomic():
        storage.list_accounts()
        assert storage.in_atomic() and not storage.in_write_transaction()
    assert not storage.in_atomic()


def test_a_caught_duplicate_leaves_the_scope_usable(storage: Storage) -> None:
    """PostgreSQL aborts a transaction on error; the write the service recovers from (a
    concurrent session principal) runs in a savepoint."""
    account = fresh_account()
    storage.create_account(b.account(account))
    principal = b.principal(account)
    storage.create_principal(principal)
    from trent.storage.repositories import Duplicate

    with storage.atomic():
        with pytest.raises(Duplicate):
            storage.create_principal(principal)
        storage.append_audit_events([record(account)])
    assert_chain(storage, TrailKey(account, REGION), 1)


def test_hooks_run_after_commit_and_after_rollback(storage: Storage) -> None:
    seen: list[str] = []
    with storage.atomic():
        storage.append_audit_events([record(fresh_account())])
        storage.after_transaction(lambda: seen.append("end"))
        storage.after_transaction(lambda: seen.append("commit"), committed_only=True)
    assert seen == ["end", "commit"]
    seen.clear()
    with pytest.raises(ValueError), storage.atomic():
        storage.append_audit_events([record(fresh_account())])
        storage.after_transaction(lambda: seen.append("end"))
        storage.after_transaction(lambda: seen.append("commit"), committed_only=True)
        raise ValueError
    assert seen == ["end"]
    assert storage.after_transaction(lambda: None) is False  # no scope open


# -- races: sequence and chain are decided by the database -----------------------------------


def test_concurrent_appends_and_mutations_keep_the_chain_gapless(storage: Storage) -> None:
    account = fresh_account()
    trail = TrailKey(account, REGION)
    errors: list[BaseException] = []
    threads_n, rounds = 6, 15

    def batches() -> None:
        try:
            for _ in range(rounds):
                storage.append_audit_events([record(account) for _ in range(4)])
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)

    def mutations() -> None:
        try:
            for _ in range(rounds):
                key = b.key(account_id=account)
                with storage.atomic():
                    storage.create_key(key, b.material(key))
                    storage.append_audit_events([record(account, name="CreateKey", read_only=False)])
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)

    threads = [threading.Thread(target=batches if i % 2 else mutations) for i in range(threads_n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert_chain(storage, trail, (threads_n // 2) * rounds * 4 + (threads_n // 2) * rounds)


# -- LookupEvents ---------------------------------------------------------------------------


def _page(storage: Storage, account: str, **kw: object) -> list[str]:
    query = LookupQuery(account, REGION, kw.pop("start", T0 - 10), kw.pop("end", T0 + 10_000),  # type: ignore[arg-type]
                        kw.pop("limit", 50), **kw)  # type: ignore[arg-type]
    events, _ = storage.lookup_audit_events(query)
    return [e.body.decode() for e in events]


def test_lookup_filters_by_every_attribute_newest_first(storage: Storage) -> None:
    account = fresh_account()
    key_a = f"arn:aws:kms:{REGION}:{account}:key/a"
    key_b = f"arn:aws:kms:{REGION}:{account}:key/b"
    recs = [
        record(account, name="Encrypt", at=T0 + 1, user="alice", akid="AKIA1", resources=(("AWS::KMS::Key", key_a),)),
        record(account, name="CreateKey", at=T0 + 2, user="bob", akid="AKIA2", read_only=False,
               resources=(("AWS::KMS::Key", key_b),)),
        record(account, name="ReEncrypt", at=T0 + 3, user="alice", akid="AKIA1",
               resources=(("AWS::KMS::Key", key_a), ("AWS::KMS::Key", key_b))),
        record(account, name="AssumeRole", at=T0 + 4, user="carol", akid=None, source="sts.amazonaws.com",
               resources=(("AWS::IAM::Role", "arn:aws:iam::1:role/r"),)),
    ]
    storage.append_audit_events(recs)
    bodies = [r.body.decode() for r in recs]
    assert _page(storage, account) == bodies[::-1]
    assert _page(storage, account, attribute=LookupAttribute.EVENT_NAME, value="CreateKey") == [bodies[1]]
    assert _page(storage, account, attribute=LookupAttribute.EVENT_ID, value=event_id(recs[2])) == [bodies[2]]
    assert _page(storage, account, attribute=LookupAttribute.USERNAME, value="alice") == [bodies[2], bodies[0]]
    assert _page(storage, account, attribute=LookupAttribute.ACCESS_KEY_ID, value="AKIA2") == [bodies[1]]
    assert _page(storage, account, attribute=LookupAttribute.READ_ONLY, value="false") == [bodies[1]]
    assert _page(storage, account, attribute=LookupAttribute.READ_ONLY, value="true") == [bodies[3], bodies[2], bodies[0]]
    assert _page(storage, account, attribute=LookupAttribute.EVENT_SOURCE, value="sts.amazonaws.com") == [bodies[3]]
    # The second resource of ReEncrypt counts as much as the first.
    assert _page(storage, account, attribute=LookupAttribute.RESOURCE_NAME, value=key_b) == [bodies[2], bodies[1]]
    assert _page(storage, account, attribute=LookupAttribute.RESOURCE_TYPE, value="AWS::IAM::Role") == [bodies[3]]
    assert _page(storage, account, start=T0 + 2, end=T0 + 3) == [bodies[2], bodies[1]]
    assert _page(storage, account, attribute=LookupAttribute.EVENT_NAME, value="Nope") == []


def test_lookup_returns_management_events_only(storage: Storage) -> None:
    """LookupEvents reads CloudTrail's event history: management events. A data event (an
    S3 object call) is in the trail, in its segment's chain, but never looked up: not in
    a window, not by its name, its id or any other attribute."""
    account = fresh_account()

    def data_event(name: str, at: float) -> AuditRecord:
        event = {"eventID": str(uuid.uuid4()), "eventName": name, "eventSource": "s3.amazonaws.com",
                 "readOnly": False, "userIdentity": {"type": "IAMUser", "userName": "dana"},
                 "resources": [{"type": "AWS::S3::Object", "ARN": "arn:aws:s3:::b/k"}], "eventCategory": "Data",
                 "managementEvent": False}
        return AuditRecord(TrailKey(account, REGION), at, tokens_of_event(event), orjson.dumps(event))

    put = data_event("PutObject", T0 + 1)
    kms = record(account, name="GenerateDataKey", at=T0 + 1)  # the KMS call S3 made for it
    storage.append_audit_events([put, kms])
    storage.append_audit_events([data_event("GetObject", T0 + 2), data_event("GetObject", T0 + 3)])  # data only
    assert _page(storage, account) == [kms.body.decode()]
    for attribute, value in ((LookupAttribute.EVENT_NAME, "PutObject"), (LookupAttribute.EVENT_NAME, "GetObject"),
                             (LookupAttribute.EVENT_ID, event_id(put)), (LookupAttribute.USERNAME, "dana"),
                             (LookupAttribute.EVENT_SOURCE, "s3.amazonaws.com"),
                             (LookupAttribute.RESOURCE_TYPE, "AWS::S3::Object")):
        assert _page(storage, account, attribute=attribute, value=value) == [], (attribute, value)
    assert _page(storage, account, attribute=LookupAttribute.EVENT_NAME, value="GenerateDataKey") == [kms.body.decode()]
    assert put.tokens == () and kms.tokens
    # the trail still holds all four, chained
    assert_chain(storage, TrailKey(account, REGION), 4)


def test_lookup_pages_with_a_cursor(storage: Storage) -> None:
    account = fresh_account()
    recs = [record(account, at=T0 + (i // 3)) for i in range(10)]  # ties in time: seq orders them
    storage.append_audit_events(recs)
    seen: list[str] = []
    after = None
    while True:
        events, more = storage.lookup_audit_events(LookupQuery(account, REGION, T0, T0 + 100, 4, after=after))
        seen += [e.body.decode() for e in events]
        if not more:
            break
        after = (events[-1].event_time, events[-1].sequence)
    assert seen == [r.body.decode() for r in recs][::-1]


# -- delivery records ----------------------------------------------------------------------


def _log_file(account: str, first: int, last: int, key: str) -> LogFileRecord:
    return LogFileRecord(account, REGION, "bucket", key, first, last, "ab" * 32, T0, T0 + 1, T0 + 2)


def test_log_files_follow_the_delivered_sequence(storage: Storage) -> None:
    account = fresh_account()
    trail = TrailKey(account, REGION)
    storage.append_audit_events([record(account) for _ in range(5)])
    storage.record_log_file(_log_file(account, 1, 3, f"k-{account}-1"))
    with pytest.raises(ValueError):
        storage.record_log_file(_log_file(account, 1, 3, f"k-{account}-dup"))  # a second deliverer
    head = storage.get_trail_head(trail)
    assert head is not None and head.delivered_sequence == 3
    assert [f.state for f in storage.log_files(trail)] == [DeliveryState.PENDING]
    storage.mark_log_file_delivered("bucket", f"k-{account}-1")
    (delivered,) = storage.log_files(trail, state=DeliveryState.DELIVERED, undigested=True)
    digest = DigestRecord(account, REGION, 1, "bucket", f"d-{account}-1", T0, T0 + 3, b"{}", "00" * 32, "aa", "f" * 32)
    with pytest.raises(ValueError):  # not the trail's next digest number
        storage.record_digest(dataclasses.replace(digest, number=2, object_key="x"), [])
    storage.record_digest(digest, [delivered.object_key])
    assert storage.log_files(trail, undigested=True) == []
    (newest,) = storage.digests(trail, newest_only=True)
    assert newest.number == 1 and newest.state is DeliveryState.PENDING and newest.body == b"{}"
    storage.mark_digest_delivered(trail, 1)
    assert storage.digests(trail, state=DeliveryState.DELIVERED)[0].object_key == f"d-{account}-1"


def test_the_newest_digests_only(storage: Storage) -> None:
    """``digests(newest=N)``: the last N by number, in order (the console's bounded check)."""
    account = fresh_account()
    trail = TrailKey(account, REGION)
    storage.append_audit_events([record(account)])
    for number in range(1, 6):
        storage.record_digest(DigestRecord(account, REGION, number, "bucket", f"d-{account}-{number}", T0, T0 + 1,
                                           b"{}", "00" * 32, "aa", "f" * 32), [])
    storage.mark_digest_delivered(trail, 1)
    storage.mark_digest_delivered(trail, 2)
    assert [d.number for d in storage.digests(trail, newest=3)] == [3, 4, 5]
    assert [d.number for d in storage.digests(trail, newest=10)] == [1, 2, 3, 4, 5]
    assert [d.number for d in storage.digests(trail, state=DeliveryState.DELIVERED, newest=1)] == [2]
    assert storage.digests(TrailKey(fresh_account(), REGION), newest=3) == []


def test_one_lease_holder_at_a_time(storage: Storage) -> None:
    """Delivery's lease is storage/leases.py's, on the database's clock."""
    name = f"lease-{uuid.uuid4()}"
    assert storage.acquire_lease(name, "node-a", 30)
    assert not storage.acquire_lease(name, "node-b", 30)
    assert storage.acquire_lease(name, "node-a", 30)  # renewal
    storage.release_lease(name, "node-a")
    assert storage.acquire_lease(name, "node-b", 0.2)  # released: taken at once
    assert not storage.acquire_lease(name, "node-a", 30)
    time.sleep(0.4)
    assert storage.acquire_lease(name, "node-a", 30)  # expired: taken over


def test_signing_key_rotation_keeps_old_keys(storage: Storage) -> None:
    before = {k.fingerprint for k in storage.signing_keys()}
    current = next((k.fingerprint for k in storage.signing_keys() if k.valid_to is None), None)
    first = SigningKeyRecord(uuid.uuid4().hex, b"pub1", b"priv1", "software", T0)
    assert storage.add_signing_key(first, current)
    second = SigningKeyRecord(uuid.uuid4().hex, b"pub2", b"priv2", "software", T0 + 100)
    assert not storage.add_signing_key(second, current)  # lost a race: the current key moved on
    assert storage.add_signing_key(second, first.fingerprint)
    keys = {k.fingerprint: k for k in storage.signing_keys() if k.fingerprint not in before}
    assert keys[first.fingerprint].valid_to == T0 + 100 and keys[second.fingerprint].valid_to is None


def test_prune_moves_the_anchor(storage: Storage) -> None:
    account = fresh_account()
    trail = TrailKey(account, REGION)
    for pair in range(3):  # three segments: events 1-2, 3-4, 5-6
        storage.append_audit_events([record(account, at=T0 + 2 * pair + i) for i in range(2)])
    storage.record_log_file(_log_file(account, 1, 3, f"p-{account}"))
    assert storage.prune_audit_events(trail, T0 + 1000) == 0  # not in a digest yet
    storage.mark_log_file_delivered("bucket", f"p-{account}")
    storage.record_digest(DigestRecord(account, REGION, 1, "bucket", f"pd-{account}", T0, T0, b"{}", "0", "a", "f"),
                          [f"p-{account}"])
    second = storage.read_audit_events(trail, 1, 1)[0]
    # whole segments go: 3 is digested but shares its segment with 4, which is not
    assert storage.prune_audit_events(trail, T0 + 1000) == 2
    head = storage.get_trail_head(trail)
    assert head is not None and head.pruned_sequence == 2 and head.pruned_hash == second.chain_hash
    assert [e.sequence for e in storage.read_audit_events(trail, 0, 10)] == [3, 4, 5, 6]
    assert [e.sequence for e in storage.read_audit_events(trail, 3, 10)] == [4, 5, 6]


# -- several processes (nodes) on one database -------------------------------------------------


def _process_appends(url: str, account: str, rounds: int) -> None:
    from trent.storage.sql import SqlStorage

    node = SqlStorage(url)
    try:
        for i in range(rounds):
            if i % 2:
                node.append_audit_events([record(account) for _ in range(3)])
            else:
                key = b.key(account_id=account)
                with node.atomic():
                    node.create_key(key, b.material(key))
                    node.append_audit_events([record(account, name="CreateKey", read_only=False)])
    finally:
        node.close()


@pytest.mark.parametrize("backend", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def test_several_processes_share_one_gapless_chain(backend: str, request: pytest.FixtureRequest) -> None:
    import multiprocessing

    url = request.getfixturevalue("sqlite_url" if backend == "sqlite" else "postgres_url")
    storage = request.getfixturevalue("sqlite_storage" if backend == "sqlite" else "postgres_storage")
    account = fresh_account()
    processes, rounds = 3, 20
    context = multiprocessing.get_context("spawn")
    workers = [context.Process(target=_process_appends, args=(url, account, rounds)) for _ in range(processes)]
    for w in workers:
        w.start()
    for w in workers:
        w.join(120)
        assert w.exitcode == 0
    per_process = (rounds // 2) * 3 + (rounds - rounds // 2)
    assert_chain(storage, TrailKey(account, REGION), processes * per_process)
