"""protocol/s3/seen_buckets.py (issue 17 performance): the event names the owner of the bucket
row the request read, without a second read; nothing is remembered outside a request or
across threads, so no cache can go stale across worker processes."""

from __future__ import annotations

import threading

import pytest

from trent.domain.s3.records import Bucket
from trent.protocol.s3.seen_buckets import SeenBuckets
from trent.storage.sql import SqlStorage
from trent.storage.sql_s3 import SqlS3Repository

from .builders import ACCOUNT, OTHER_ACCOUNT, REGION, T0


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def repo(request: pytest.FixtureRequest) -> SqlS3Repository:
    storage: SqlStorage = request.getfixturevalue({"sqlite": "sqlite_storage", "postgres": "postgres_storage"}[
        request.param])
    storage.reset()
    return SqlS3Repository.for_storage(storage)


def test_the_owner_is_the_one_read_during_the_request(repo: SqlS3Repository) -> None:
    repo.create_bucket(Bucket("b1", ACCOUNT, REGION, T0))
    repo.create_bucket(Bucket("b2", OTHER_ACCOUNT, REGION, T0))
    seen = SeenBuckets(repo)
    assert seen.get_bucket("b1") is not None and seen.owner("b1") is None  # outside a request: not kept
    seen.begin()
    assert seen.owner("b1") is None  # not read yet in this request
    assert seen.get_bucket("b1") == repo.get_bucket("b1")
    assert seen.get_bucket("nope") is None
    assert seen.owner("b1") == ACCOUNT and seen.owner("nope") is None and seen.owner("b2") is None
    assert seen.get_bucket("b2") is not None and seen.owner("b2") == OTHER_ACCOUNT
    assert [b.name for b in seen.list_buckets(ACCOUNT)] == ["b1"]  # everything else is delegated
    other: list[str | None] = []
    thread = threading.Thread(target=lambda: other.append(seen.owner("b1")))
    thread.start()
    thread.join()
    assert other == [None]  # another thread's request has its own
    seen.end()
    assert seen.owner("b1") is None  # the next request reads the row again
    seen.begin()
    assert seen.owner("b1") is None
    seen.end()
