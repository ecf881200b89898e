"""The S3 repository (issue 17) on SQLite (file and memory) and PostgreSQL, including
the rules that must hold when requests race (s3_repository.py docstring)."""

from __future__ import annotations

import dataclasses
import os
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from tests.racing import race

from trent.domain.s3.records import (
    Blob,
    Bucket,
    EncryptionConfig,
    ObjectMetadata,
    ObjectRecord,
    OwnedKey,
    Part,
    SseMode,
    SseRecord,
    Upload,
)
from trent.storage.repositories import Duplicate
from trent.storage.s3_repository import BucketGone, BucketState, UploadGone
from trent.storage.sql import SqlStorage
from trent.storage.sql_s3 import SqlS3Repository

from .builders import ACCOUNT, OTHER_ACCOUNT, REGION, T0


@pytest.fixture(params=["sqlite", "sqlite-memory", pytest.param("postgres", marks=pytest.mark.postgres)])
def repo(request: pytest.FixtureRequest) -> SqlS3Repository:
    storage: SqlStorage = request.getfixturevalue(
        {"sqlite": "sqlite_storage", "sqlite-memory": "sqlite_memory_storage", "postgres": "postgres_storage"}[
            request.param
        ]
    )
    storage.reset()
    return SqlS3Repository.for_storage(storage)


SSE = SseRecord(SseMode.SSE_KMS, b"\x01blob", kms_key_arn="arn:aws:kms:us-east-1:111122223333:key/k",
                kms_context={"a": "b"}, bucket_key=True, derivation_salt=b"s" * 16)


def bucket(name: str = "b1", account: str = ACCOUNT, **changes: Any) -> Bucket:
    return Bucket(**{"name": name, "account_id": account, "region": REGION, "created_at": T0, **changes})


def blob(size: int = 10, part: int = 0) -> Blob:
    return Blob(os.urandom(8).hex(), part, os.urandom(16), size)


def obj(key: str = "k", bucket_name: str = "b1", **changes: Any) -> ObjectRecord:
    fields: dict[str, Any] = {
        "bucket": bucket_name, "key": key, "size": 10, "etag": '"e"', "last_modified": T0,
        "metadata": ObjectMetadata("text/plain", {"m": "v"}, {"Cache-Control": "no"}), "sse": SSE,
        "blobs": (blob(),),
    }
    fields.update(changes)
    return ObjectRecord(**fields)


def stored_names(record: ObjectRecord) -> tuple[str, ...]:
    """What put_object returns when it replaces ``record``: its blobs' object-store names."""
    return tuple(b.name for b in record.blobs if b.stored)


def upload(upload_id: str = "u1", key: str = "k", bucket_name: str = "b1", initiated: float = T0) -> Upload:
    return Upload(upload_id, bucket_name, key, initiated, "arn:aws:iam::111122223333:user/a", ACCOUNT,
                  ObjectMetadata(), SseRecord(SseMode.SSE_S3, b"w", owned_key_id="ok1"), "crc32")


def part(n: int, upload_id: str = "u1", size: int = 5) -> Part:
    return Part(upload_id, n, f'"p{n}"', size, T0, blob(size, n), "AAAA")


# --- buckets -------------------------------------------------------------------------


def test_bucket_round_trip_and_uniqueness(repo: SqlS3Repository) -> None:
    config = EncryptionConfig(SseMode.SSE_KMS, "alias/x", True)
    repo.create_bucket(bucket("b1", policy='{"p":1}', encryption=config))
    repo.create_bucket(bucket("a0"))
    repo.create_bucket(bucket("c2", OTHER_ACCOUNT))
    with pytest.raises(Duplicate):
        repo.create_bucket(bucket("b1", OTHER_ACCOUNT))
    got = repo.get_bucket("b1")
    assert got == bucket("b1", policy='{"p":1}', encryption=config)
    assert [b.name for b in repo.list_buckets(ACCOUNT)] == ["a0", "b1"]
    assert repo.get_bucket("zz") is None
    assert repo.set_bucket_policy("a0", "{}") and repo.get_bucket("a0").policy == "{}"  # type: ignore[union-attr]
    assert repo.set_bucket_encryption("b1", None) and repo.get_bucket("b1").encryption is None  # type: ignore[union-attr]
    assert not repo.set_bucket_policy("zz", "{}")
    assert not repo.set_bucket_encryption("zz", config)


def test_delete_bucket_states(repo: SqlS3Repository) -> None:
    repo.create_bucket(bucket("b1"))
    repo.put_object(obj())
    assert repo.delete_bucket("b1").state is BucketState.NOT_EMPTY
    assert repo.delete_bucket("nope").state is BucketState.NOT_FOUND
    repo.delete_object("b1", "k")
    repo.create_upload(upload())
    repo.put_part(part(1))
    deleted = repo.delete_bucket("b1")
    assert deleted.state is BucketState.DELETED and [p.part_number for p in deleted.abandoned_parts] == [1]
    assert repo.get_bucket("b1") is None and repo.get_upload("u1") is None


# --- objects -------------------------------------------------------------------------


def test_object_round_trip_and_replace(repo: SqlS3Repository) -> None:
    repo.create_bucket(bucket())
    first = obj(parts_count=None, checksum_algorithm="crc32", checksum_value="AAAAAA==")
    assert repo.put_object(first) is None
    assert repo.get_object("b1", "k") == first
    second = obj(size=99, blobs=(blob(3, 1), blob(4, 2)), parts_count=2)
    assert repo.put_object(second) == stored_names(first)
    assert repo.get_object("b1", "k") == second
    assert repo.delete_object("b1", "k") == second
    assert repo.delete_object("b1", "k") is None
    with pytest.raises(BucketGone):
        repo.put_object(obj(bucket_name="missing"))


def test_json_columns_round_trip_what_only_json_reads(repo: SqlS3Repository) -> None:
    """Metadata values that orjson alone cannot read back (a lone surrogate, which
    ``json.dumps`` escapes as ``\\udc80``) and non-ASCII ones still round trip."""
    repo.create_bucket(bucket())
    odd = obj(metadata=ObjectMetadata("text/plain", {"lone": "\udc80", "accent": "caf\u00e9"}, {}),
              sse=dataclasses.replace(SSE, kms_context={"ctx": "\ud800", "plain": "v"}))
    repo.put_object(odd)
    assert repo.get_object("b1", "k") == odd
    plain = obj(key="plain")
    repo.put_object(plain)
    assert repo.get_object("b1", "plain") == plain


def inline_blob(size: int = 10) -> Blob:
    """A small object's content kept in its row (service/s3/content.py)."""
    return Blob("", 0, os.urandom(16), size, os.urandom(size + 44))


def test_inline_content_round_trips_and_is_never_garbage(repo: SqlS3Repository) -> None:
    """A small object's ciphertext is stored in its row and read back byte for byte (its
    blob has no name: nothing in the object store). Replacing or deleting it records no
    garbage for the reaper, while a stored blob it replaces is recorded, and one that
    replaces it is not: the inline content went with the row. Same on every backend, on
    file SQLite through the DB-API cursor as well."""
    import sqlalchemy as sa

    from trent.storage.s3_tables import s3_blob_garbage

    def garbage() -> set[str]:
        with repo._unit(write=False) as conn:  # noqa: SLF001 - the reaper's table
            return {r[0] for r in conn.execute(sa.select(s3_blob_garbage.c.name))}

    repo.create_bucket(bucket())
    small = obj(blobs=(inline_blob(),))
    assert repo.put_object(small) is None
    read = repo.get_object("b1", "k")
    assert read == small and read is not None
    assert read.blobs[0].inline == small.blobs[0].inline and not read.blobs[0].stored
    stored = obj(size=99, blobs=(blob(99),))
    assert repo.put_object(stored) == () and garbage() == set()  # replaced inline content: no blob
    again = obj(blobs=(inline_blob(),))
    assert repo.put_object(again) == stored_names(stored) and garbage() == {stored.blobs[0].name}
    assert repo.get_object("b1", "k") == again
    assert repo.delete_object("b1", "k") == again and garbage() == {stored.blobs[0].name}
    # a listing reads the rows whole, the content with them
    repo.put_object(obj("small-in-list", blobs=(small.blobs[0],)))
    assert repo.list_objects("b1", "", None, 10)[0].blobs[0].inline == small.blobs[0].inline


def test_list_objects_is_bytewise_with_prefix_and_after(repo: SqlS3Repository) -> None:
    repo.create_bucket(bucket())
    keys = ["a", "a/b", "a/c", "a0", "B", "é", "z", "ab", "a/", "a\U0001f600"]
    for k in keys:
        repo.put_object(obj(k))
    assert [o.key for o in repo.list_objects("b1", "", None, 100)] == sorted(keys)
    assert [o.key for o in repo.list_objects("b1", "a/", None, 100)] == ["a/", "a/b", "a/c"]
    assert [o.key for o in repo.list_objects("b1", "a", "a/c", 3)] == ["a0", "ab", "a\U0001f600"]
    assert [o.key for o in repo.list_objects("b1", "", "z", 3)] == ["é"]


# --- multipart -----------------------------------------------------------------------


def test_upload_parts_and_complete(repo: SqlS3Repository) -> None:
    repo.create_bucket(bucket())
    repo.create_upload(upload())
    assert repo.get_upload("u1") == upload()
    for n in (3, 1, 2):
        assert repo.put_part(part(n)) is None
    replacement = part(2, size=7)
    replaced = repo.put_part(replacement)
    assert replaced is not None and (replaced.part_number, replaced.size, replaced.etag) == (2, 5, '"p2"')
    assert [(p.part_number, p.size) for p in repo.list_parts("u1", 0, 10)] == [(1, 5), (2, 7), (3, 5)]
    assert [p.part_number for p in repo.list_parts("u1", 1, 1)] == [2]

    def build(up: Upload, parts: Any) -> ObjectRecord:
        assert up.upload_id == "u1"
        chosen = [p for p in parts if p.part_number in (1, 2)]
        return obj(blobs=tuple(p.blob for p in chosen), parts_count=2)

    done = repo.complete_upload("u1", build)
    assert [p.part_number for p in done.unused_parts] == [3]
    assert done.replaced is None and repo.get_object("b1", "k") == done.record
    assert repo.get_upload("u1") is None and repo.list_parts("u1", 0, 10) == []
    with pytest.raises(UploadGone):
        repo.complete_upload("u1", build)
    with pytest.raises(UploadGone):
        repo.put_part(part(1))
    with pytest.raises(UploadGone):
        repo.abort_upload("u1")


def test_complete_that_raises_changes_nothing(repo: SqlS3Repository) -> None:
    repo.create_bucket(bucket())
    repo.create_upload(upload())
    repo.put_part(part(1))

    def refuse(up: Upload, parts: Any) -> ObjectRecord:
        raise ValueError("InvalidPart")

    with pytest.raises(ValueError):
        repo.complete_upload("u1", refuse)
    assert repo.get_upload("u1") is not None and len(repo.list_parts("u1", 0, 10)) == 1


def test_list_uploads_markers(repo: SqlS3Repository) -> None:
    repo.create_bucket(bucket())
    repo.create_upload(upload("u3", "b", initiated=T0 + 2))
    repo.create_upload(upload("u1", "a", initiated=T0))
    repo.create_upload(upload("u2", "b", initiated=T0 + 1))
    repo.create_upload(upload("u4", "c/d", initiated=T0))
    ids = lambda ups: [u.upload_id for u in ups]  # noqa: E731
    assert ids(repo.list_uploads("b1", "", None, None, 10)) == ["u1", "u2", "u3", "u4"]
    assert ids(repo.list_uploads("b1", "", "b", None, 10)) == ["u4"]
    assert ids(repo.list_uploads("b1", "", "b", "u2", 10)) == ["u3", "u4"]
    assert ids(repo.list_uploads("b1", "c/", None, None, 10)) == ["u4"]
    assert ids(repo.list_uploads("b1", "", None, None, 2)) == ["u1", "u2"]
    assert [p.part_number for p in repo.abort_upload("u1")] == []


def test_owned_keys(repo: SqlS3Repository) -> None:
    assert repo.current_owned_key() is None
    repo.add_owned_key(OwnedKey("k1", b"w1", T0))
    repo.add_owned_key(OwnedKey("k2", b"w2", T0 + 10))
    assert repo.current_owned_key() == OwnedKey("k2", b"w2", T0 + 10)
    assert repo.get_owned_key("k1") == OwnedKey("k1", b"w1", T0)


# --- races ---------------------------------------------------------------------------


def test_racing_create_bucket_one_wins(repo: SqlS3Repository) -> None:
    results = race(8, lambda i: repo.create_bucket(bucket("same", f"{i:012d}")))
    assert sum(r is None for r in results) == 1
    assert all(isinstance(r, Duplicate) for r in results if r is not None)


def test_racing_puts_each_replace_exactly_one(repo: SqlS3Repository) -> None:
    repo.create_bucket(bucket())
    records = [obj(blobs=(blob(i),)) for i in range(8)]  # each write's own blob names it
    results = race(8, lambda i: repo.put_object(records[i]))
    assert not any(isinstance(r, Exception) for r in results), results
    replaced = [name for r in results if r is not None for name in r]
    final = repo.get_object("b1", "k")
    assert final is not None
    # every write but the first replaced one; each replaced record is replaced once;
    # the surviving row is the one nobody replaced
    assert len(replaced) == 7 and len(set(replaced)) == 7
    assert {r.blobs[0].name for r in records} == set(replaced) | {final.blobs[0].name}


def test_racing_complete_and_abort_one_wins(repo: SqlS3Repository) -> None:
    repo.create_bucket(bucket())
    repo.create_upload(upload())
    repo.put_part(part(1))
    build = lambda up, parts: obj(blobs=tuple(p.blob for p in parts))  # noqa: E731
    results = race(6, lambda i: repo.complete_upload("u1", build) if i % 2 else repo.abort_upload("u1"))
    winners = [r for r in results if not isinstance(r, Exception)]
    assert len(winners) == 1, results
    assert all(isinstance(r, UploadGone) for r in results if isinstance(r, Exception))


def test_racing_put_and_delete_bucket_never_orphans(repo: SqlS3Repository) -> None:
    for round_ in range(5):
        repo.create_bucket(bucket(f"r{round_}"))
        results = race(
            4, lambda i: repo.delete_bucket(f"r{round_}") if i == 0 else repo.put_object(obj(f"k{i}", f"r{round_}"))
        )
        deleted = results[0]
        assert not isinstance(deleted, Exception), deleted
        objects = repo.list_objects(f"r{round_}", "", None, 10)
        if deleted.state is BucketState.DELETED:
            assert objects == [] and repo.get_bucket(f"r{round_}") is None
            # a put that had succeeded would have made the delete fail (or left an orphan)
            assert all(isinstance(r, BucketGone) for r in results[1:]), results
        else:
            assert deleted.state is BucketState.NOT_EMPTY and objects


@pytest.mark.postgres
def test_delete_bucket_waits_for_a_completing_upload_instead_of_deadlocking(postgres_storage: SqlStorage) -> None:
    """Complete (and Abort) lock their upload row, then delete its parts. DeleteBucket
    once deleted the bucket's parts first and its uploads second: caught between the two,
    each held a row the other waited for, and PostgreSQL aborted one (DeadlockDetected).
    It now locks the uploads first; here it waits, then finds the completed object."""
    postgres_storage.reset()
    repo = SqlS3Repository.for_storage(postgres_storage)
    repo.create_bucket(bucket())
    repo.create_upload(upload())
    repo.put_part(part(1))
    repo.put_part(part(2))
    holding, release = threading.Event(), threading.Event()

    def build(up: Upload, parts: Any) -> ObjectRecord:
        holding.set()  # the upload row is locked; its parts not yet deleted
        assert release.wait(10)
        return obj(blobs=tuple(p.blob for p in parts))

    with ThreadPoolExecutor(2) as pool:
        completing = pool.submit(repo.complete_upload, "u1", build)
        assert holding.wait(10)
        deleting = pool.submit(repo.delete_bucket, "b1")
        _wait_for_a_lock_wait(postgres_storage)  # DeleteBucket is blocked on the completion
        release.set()
        completed = completing.result(timeout=30)
        deleted = deleting.result(timeout=30)
    assert deleted.state is BucketState.NOT_EMPTY
    assert repo.get_object("b1", "k") == completed.record


def _wait_for_a_lock_wait(storage: SqlStorage) -> None:
    waiting = "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND datname = current_database()"
    deadline = time.monotonic() + 10
    with storage.engine.connect() as conn:
        while conn.exec_driver_sql(waiting).scalar_one() == 0:
            conn.rollback()  # pg_stat_activity is read once per transaction
            assert time.monotonic() < deadline, "no session ever waited for a lock"
            time.sleep(0.01)


# --- the one-row reads (storage/sqlite_row_read.py on file SQLite) --------------------


def test_row_reads_answer_what_sqlalchemy_answers(repo: SqlS3Repository) -> None:
    """On file SQLite the bucket and object rows are read through the DB-API (issue 17):
    the same values, types included (SQLite's 0/1 as booleans, bytes, floats), as the
    SQLAlchemy read the other backends use."""
    from trent.storage import sql_s3

    config = EncryptionConfig(SseMode.SSE_KMS, "alias/x", False)
    repo.create_bucket(bucket("b1", policy='{"p":1}', encryption=config))
    repo.create_bucket(bucket("b2", encryption=EncryptionConfig(SseMode.SSE_KMS, "alias/y", True)))
    record = obj(checksum_algorithm="crc32", checksum_value="AAAAAA==", parts_count=3)
    repo.put_object(record)
    unit = repo._unit  # noqa: SLF001 - the test compares the two paths
    with unit(write=False) as conn:
        via_sqlalchemy = {
            "b1": conn.execute(sql_s3._GET_BUCKET, {"name": "b1"}).mappings().first(),
            "b2": conn.execute(sql_s3._GET_BUCKET, {"name": "b2"}).mappings().first(),
            "k": conn.execute(sql_s3._GET_OBJECT, {"bucket": "b1", "key": "k"}).mappings().first(),
        }
    assert repo.get_bucket("b1") == sql_s3._bucket_from(via_sqlalchemy["b1"])  # type: ignore[arg-type]
    assert repo.get_bucket("b2").encryption.bucket_key_enabled is True  # type: ignore[union-attr]
    assert repo.get_bucket("b1").encryption.bucket_key_enabled is False  # type: ignore[union-attr]
    assert repo.get_object("b1", "k") == sql_s3._object_from(via_sqlalchemy["k"]) == record  # type: ignore[arg-type]
    if unit.file_sqlite:
        assert repo._read_bucket is not None and repo._read_object is not None  # noqa: SLF001
        raw = repo._read_object({"bucket": "b1", "key": "k"})  # noqa: SLF001
        assert raw == dict(via_sqlalchemy["k"])  # type: ignore[arg-type]
        assert type(raw["bucket_key"]) is bool and isinstance(raw["key_blob"], bytes)
        assert repo._read_object({"bucket": "b1", "key": "nope"}) is None  # noqa: SLF001


def test_reads_inside_a_write_transaction_see_its_writes(repo: SqlS3Repository) -> None:
    """A read after the scope's first write runs on the scope's connection (it must see the
    uncommitted write); another thread sees only what committed."""
    import threading

    from trent.storage.engine import is_memory_sqlite

    repo.create_bucket(bucket())
    unit = repo._unit  # noqa: SLF001
    shared = is_memory_sqlite(unit.engine.url)  # one connection: the other thread would wait for the scope
    seen_elsewhere: list[object] = []
    with unit.atomic():
        repo.put_object(obj(size=7))
        assert repo.get_object("b1", "k").size == 7  # type: ignore[union-attr]
        if not shared:
            other = threading.Thread(target=lambda: seen_elsewhere.append(repo.get_object("b1", "k")))
            other.start()
            other.join(timeout=30)
    assert seen_elsewhere == ([] if shared else [None])
    assert repo.get_object("b1", "k").size == 7  # type: ignore[union-attr]


# --- the PutObject row (storage/sqlite_driver.py on file SQLite) ------------------------


def test_put_rows_are_what_sqlalchemy_writes(repo: SqlS3Repository) -> None:
    """On file SQLite PutObject's row goes through the DB-API cursor (issue 17): the stored
    row equals the one the portable SQLAlchemy upsert writes, column for column (SQLite's
    0/1 booleans, floats, bytes); an overwrite records the replaced blobs as garbage in the
    same transaction; If-None-Match and a missing bucket answer as on the other backends;
    a scope that rolls back leaves neither the row nor its garbage."""
    import sqlalchemy as sa

    from trent.storage import sql_s3
    from trent.storage.s3_tables import s3_blob_garbage

    unit = repo._unit  # noqa: SLF001 - the test compares the two paths
    assert (repo._put is not None) == unit.file_sqlite  # noqa: SLF001
    repo.create_bucket(bucket())
    first = obj("fast", checksum_algorithm="crc32", checksum_value="AAAAAA==", parts_count=3)
    assert repo.put_object(first) is None
    with unit(write=True) as conn:
        assert sql_s3.SqlS3Repository._upsert_object(conn, obj("portable", blobs=first.blobs, parts_count=3,  # noqa: SLF001
                                                                 checksum_algorithm="crc32",
                                                                 checksum_value="AAAAAA==")) is None

    def rows() -> dict[str, dict[str, Any]]:
        with unit(write=False) as conn:
            found = conn.execute(sa.select(sql_s3._O).order_by(sql_s3._O.c.key)).mappings().all()  # noqa: SLF001
        return {r["key"]: {k: v for k, v in r.items() if k != "key"} for r in found}

    def garbage() -> set[str]:
        with unit(write=False) as conn:
            return {r[0] for r in conn.execute(sa.select(s3_blob_garbage.c.name))}

    stored = rows()
    assert stored["fast"] == stored["portable"]
    assert {type(v) for v in stored["fast"].values()} == {type(v) for v in stored["portable"].values()}

    second = obj("fast", size=99, blobs=(first.blobs[0], blob(4, 2)), parts_count=2)
    assert repo.put_object(second) == stored_names(first)
    assert repo.get_object("b1", "fast") == second and garbage() == set()  # the kept blob is not garbage
    third = obj("fast", size=5)
    assert repo.put_object(third) == stored_names(second)
    assert garbage() == {b.name for b in second.blobs}
    with pytest.raises(Duplicate):
        repo.put_object(obj("fast"), only_if_absent=True)
    assert repo.put_object(obj("new"), only_if_absent=True) is None
    with pytest.raises(BucketGone):
        repo.put_object(obj(bucket_name="missing"))

    before_rows, before_garbage = rows(), garbage()
    with pytest.raises(RuntimeError), unit.atomic():
        repo.put_object(obj("fast", size=1))
        repo.put_object(obj("rolled-back"))
        raise RuntimeError("the call failed after its writes")
    assert rows() == before_rows and garbage() == before_garbage
