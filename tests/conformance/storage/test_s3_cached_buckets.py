"""storage/cached_buckets.py (issue 17): bucket rows from memory, on SQLite and PostgreSQL.

A row is read from the database once and then served from the cache; this process's own
bucket writes are seen by its next read at once (also when they commit inside a larger
atomic scope, and not when they roll back); another process's writes arrive on the
invalidation feed (two caches over one database, as two workers or nodes hold them)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from trent.domain.clock import SystemClock
from trent.domain.s3.records import Bucket, EncryptionConfig, SseMode
from trent.storage.cache import CachedStorage
from trent.storage.cached_buckets import CachedBuckets
from trent.storage.s3_repository import BucketState
from trent.storage.sql import SqlStorage
from trent.storage.sql_s3 import SqlS3Repository

from .builders import ACCOUNT, OTHER_ACCOUNT, REGION, T0, listening, within

DENY_ALL = '{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Principal":"*","Action":"s3:*","Resource":"*"}]}'


class CountingRepo:
    """The SQL repository, counting the bucket rows read from the database."""

    def __init__(self, inner: SqlS3Repository) -> None:
        self.inner = inner
        self.reads = 0

    def get_bucket(self, name: str) -> Bucket | None:
        self.reads += 1
        return self.inner.get_bucket(name)

    def __getattr__(self, attr: str) -> Any:
        return getattr(self.inner, attr)


@dataclass
class Process:
    cache: CachedStorage
    sql: SqlStorage
    counting: CountingRepo
    buckets: CachedBuckets


def _process(url: str) -> Process:
    sql = SqlStorage(url)
    cache = CachedStorage(sql, SystemClock(), ttl_seconds=3600)  # only invalidation makes a row go
    counting = CountingRepo(SqlS3Repository.for_storage(sql))
    return Process(cache, sql, counting, CachedBuckets(counting, cache))  # type: ignore[arg-type]


@pytest.fixture
def one(migrated_url: str) -> Iterator[Process]:
    process = _process(migrated_url)
    yield process
    process.cache.close()


@pytest.fixture
def two(migrated_url: str) -> Iterator[tuple[Process, Process]]:
    processes = [_process(migrated_url) for _ in range(2)]
    with listening(migrated_url, [p.cache for p in processes]):
        yield processes[0], processes[1]


def _bucket(name: str = "b1", account: str = ACCOUNT) -> Bucket:
    return Bucket(name, account, REGION, T0)


def test_a_row_is_read_once_then_served_from_memory(one: Process) -> None:
    one.buckets.create_bucket(_bucket())
    first = one.buckets.get_bucket("b1")
    assert first is not None and first.account_id == ACCOUNT
    for _ in range(5):
        assert one.buckets.get_bucket("b1") == first
    assert one.counting.reads == 1
    assert one.buckets.get_bucket("nope") is None and one.buckets.get_bucket("nope") is None
    assert one.counting.reads == 2  # "no such bucket" is kept too (every create announces itself)
    assert [b.name for b in one.buckets.list_buckets(ACCOUNT)] == ["b1"]  # the rest is passed through


def test_this_process_reads_its_own_bucket_writes_at_once(one: Process) -> None:
    buckets = one.buckets
    assert buckets.get_bucket("b1") is None  # cached as absent
    buckets.create_bucket(_bucket())
    assert buckets.get_bucket("b1") == _bucket()
    assert buckets.set_bucket_policy("b1", DENY_ALL)
    assert buckets.get_bucket("b1").policy == DENY_ALL  # type: ignore[union-attr]
    config = EncryptionConfig(SseMode.SSE_KMS, "alias/x", True)
    assert buckets.set_bucket_encryption("b1", config)
    assert buckets.get_bucket("b1").encryption == config  # type: ignore[union-attr]
    assert buckets.delete_bucket("b1").state is BucketState.DELETED
    assert buckets.get_bucket("b1") is None
    buckets.create_bucket(_bucket(account=OTHER_ACCOUNT))  # the name taken again, by another owner
    assert buckets.get_bucket("b1").account_id == OTHER_ACCOUNT  # type: ignore[union-attr]
    assert buckets.get_bucket("b1").policy is None  # type: ignore[union-attr]


def test_a_write_inside_an_atomic_scope_is_seen_once_it_commits(one: Process) -> None:
    """An S3 request's write commits with its audit event at the end of its scope. A reader on
    another thread meanwhile reads (and may keep) the committed row; the commit drops it."""
    one.buckets.create_bucket(_bucket())
    assert one.buckets.get_bucket("b1").policy is None  # type: ignore[union-attr]
    seen_meanwhile: list[str | None] = []
    with one.cache.atomic():
        assert one.buckets.set_bucket_policy("b1", DENY_ALL)
        reader = threading.Thread(target=lambda: seen_meanwhile.append(one.buckets.get_bucket("b1").policy))  # type: ignore[union-attr]
        reader.start()
        reader.join(timeout=10)
    assert seen_meanwhile == [None]  # not committed yet
    assert one.buckets.get_bucket("b1").policy == DENY_ALL  # type: ignore[union-attr]


def test_a_rolled_back_write_leaves_the_committed_row(one: Process) -> None:
    one.buckets.create_bucket(_bucket())
    with pytest.raises(RuntimeError), one.cache.atomic():
        one.buckets.set_bucket_policy("b1", DENY_ALL)
        raise RuntimeError
    assert one.buckets.get_bucket("b1").policy is None  # type: ignore[union-attr]
    assert one.counting.inner.get_bucket("b1").policy is None  # type: ignore[union-attr]


def test_another_process_s_bucket_writes_arrive_on_the_feed(two: tuple[Process, Process]) -> None:
    a, b = two
    a.buckets.create_bucket(_bucket())
    assert b.buckets.get_bucket("b1").policy is None  # type: ignore[union-attr]  # kept by B for an hour
    a.buckets.set_bucket_policy("b1", DENY_ALL)
    within(0.5, lambda: b.buckets.get_bucket("b1").policy == DENY_ALL)  # type: ignore[union-attr]
    config = EncryptionConfig(SseMode.SSE_S3, None, False)
    a.buckets.set_bucket_encryption("b1", config)
    within(0.5, lambda: b.buckets.get_bucket("b1").encryption == config)  # type: ignore[union-attr]
    a.buckets.delete_bucket("b1")
    within(0.5, lambda: b.buckets.get_bucket("b1") is None)
    a.buckets.create_bucket(_bucket(account=OTHER_ACCOUNT))
    within(0.5, lambda: (row := b.buckets.get_bucket("b1")) is not None and row.account_id == OTHER_ACCOUNT)
