"""The invalidation feed (storage/change_feed.py, storage/changes.py), on SQLite and
PostgreSQL: two caches over one database, as two processes would hold them."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from trent.domain.clock import SystemClock
from trent.storage import changes
from trent.storage.cache import CachedStorage
from trent.storage.changes import Change, ChangeKind
from trent.storage.sql import SqlStorage

from . import builders as b
from .builders import REGION


def test_codec_round_trip_and_limits() -> None:
    batch = (Change(ChangeKind.KEY, ("us-east-1", "k1")), Change(ChangeKind.ALL_GRANTS))
    assert changes.decode(changes.encode(batch)) == batch
    assert changes.decode(changes.encode(batch + batch)) == batch  # duplicates dropped
    huge = [Change(ChangeKind.ACCESS_KEY, (f"AKIA{i:016d}",)) for i in range(1000)]
    assert changes.decode(changes.encode(huge)) == (changes.EVERYTHING,)  # over NOTIFY's 8000 bytes
    for garbage in ("", "{", '[["no-such-kind"]]', "[1]", '[["key"]]x'):
        assert changes.decode(garbage) == (changes.EVERYTHING,)


@pytest.fixture
def two_processes(migrated_url: str) -> Iterator[tuple[CachedStorage, CachedStorage]]:
    """Two caches, each with its own engine and listener (what two workers hold)."""
    caches = [CachedStorage(SqlStorage(migrated_url), SystemClock(), ttl_seconds=3600) for _ in range(2)]
    with b.listening(migrated_url, caches):
        yield caches[0], caches[1]


def test_a_write_in_one_process_invalidates_the_other(two_processes) -> None:
    a, b_cache = two_processes
    key = b.key()
    a.create_key(key, None)
    assert b_cache.get_key(REGION, key.key_id) == key  # cached in "process" B for an hour
    a.update_key(key.with_changes(description="changed by A"))
    b.within(0.5, lambda: b_cache.get_key(REGION, key.key_id).description == "changed by A")


def test_a_rolled_back_write_announces_nothing(two_processes) -> None:
    a, b_cache = two_processes
    key = b.key()
    a.create_key(key, None)
    assert b_cache.get_key(REGION, key.key_id) == key
    seen: list[tuple[Change, ...]] = []
    original = b_cache.apply
    b_cache.apply = lambda batch: (seen.append(tuple(batch)), original(batch))  # type: ignore[method-assign]
    with pytest.raises(RuntimeError), a.transaction():
        a.update_key(key.with_changes(description="never committed"))
        raise RuntimeError
    time.sleep(0.3)
    assert not any(Change(ChangeKind.KEY, (REGION, key.key_id)) in batch for batch in seen)
    assert b_cache.get_key(REGION, key.key_id).description == key.description


def test_every_write_kind_reaches_the_other_process(two_processes) -> None:
    a, b_cache = two_processes
    account = b.account()
    a.create_account(account)
    user = b.principal(account.account_id)
    a.create_principal(user)
    access = b.access_key(user)
    a.create_access_key(access)
    assert b_cache.get_access_key(access.access_key_id) == access
    a.delete_access_key(access.access_key_id)
    b.within(0.5, lambda: b_cache.get_access_key(access.access_key_id) is None)
    key = b.key(account_id=account.account_id)
    a.create_key(key, None)
    alias = b.alias("alias/feed", key, account_id=account.account_id)
    a.create_alias(alias)
    assert b_cache.get_alias(account.account_id, REGION, "alias/feed") == alias
    a.delete_key(REGION, key.key_id)  # takes its aliases along
    b.within(0.5, lambda: b_cache.get_alias(account.account_id, REGION, "alias/feed") is None)
