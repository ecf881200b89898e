"""CachedStorage semantics beyond the shared contract: what is cached, for how long, and
what a write invalidates (trent/storage/cache.py module doc).

The inner store is the session's SQLite store, reached both through the cache and
directly (standing in for "another node writing to the shared database").
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import pytest

from trent.domain.clock import FixedClock
from trent.domain.keys import KeyState, Tag
from trent.storage.cache import CachedStorage
from trent.storage.changes import Change, ChangeKind
from trent.storage.repositories import Duplicate
from trent.storage.sql import SqlStorage

from . import builders as b
from .builders import ACCOUNT, REGION, T0

TTL = 1.0


@pytest.fixture
def inner(sqlite_storage: SqlStorage) -> SqlStorage:
    sqlite_storage.reset()
    return sqlite_storage


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(T0)


@pytest.fixture
def cache(inner: SqlStorage, clock: FixedClock) -> CachedStorage:
    return CachedStorage(inner, clock, ttl_seconds=TTL)


class Counting:
    """Wraps a store and counts the calls that reach it."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.calls: dict[str, int] = {}
        self.before: dict[str, Callable[[], None]] = {}

    # Transaction-scope questions (issue 16) read no data: not counted.
    UNCOUNTED = frozenset({"in_write_transaction", "in_atomic", "after_transaction", "atomic"})

    def __getattr__(self, name: str) -> Any:
        found = getattr(self.inner, name)  # AttributeError early for names the store lacks
        if name in self.UNCOUNTED:
            return found

        def call(*args: Any, **kwargs: Any) -> Any:
            self.calls[name] = self.calls.get(name, 0) + 1
            if name in self.before:
                self.before.pop(name)()
            return getattr(self.inner, name)(*args, **kwargs)

        return call


# -- writes through the cache are visible at once ----------------------------------------


def test_update_key_through_cache_is_visible_at_once(cache: CachedStorage) -> None:
    key = b.key()
    cache.create_key(key, None)
    assert cache.get_key(REGION, key.key_id) == key
    disabled = key.with_changes(state=KeyState.DISABLED)
    cache.update_key(disabled)
    assert cache.get_key(REGION, key.key_id) == disabled


def test_create_replaces_cached_absence(cache: CachedStorage) -> None:
    key = b.key()
    p = b.principal()
    assert cache.get_key(REGION, key.key_id) is None
    assert cache.get_alias(ACCOUNT, REGION, "alias/x") is None
    assert cache.get_account(ACCOUNT) is None
    assert cache.get_principal(p.arn) is None
    m = b.material(key)
    assert cache.get_material(key.key_id, m.material_id) is None
    cache.create_key(key, m)
    cache.create_alias(b.alias("alias/x", key))
    cache.create_account(b.account())
    cache.create_principal(p)
    ak = b.access_key(p)
    assert cache.get_access_key(ak.access_key_id) is None
    cache.create_access_key(ak)
    assert cache.get_key(REGION, key.key_id) == key
    assert cache.get_material(key.key_id, m.material_id) == m
    assert cache.get_alias(ACCOUNT, REGION, "alias/x") is not None
    assert cache.get_account(ACCOUNT) is not None
    assert cache.get_principal(p.arn) == p
    assert cache.get_access_key(ak.access_key_id) == ak


def test_add_material_replaces_cached_absence(cache: CachedStorage) -> None:
    key = b.key()
    cache.create_key(key, None)
    m = b.material(key)
    assert cache.get_material(key.key_id, m.material_id) is None
    cache.add_material(m)
    assert cache.get_material(key.key_id, m.material_id) == m


def test_alias_and_tag_writes_invalidate(cache: CachedStorage) -> None:
    k1, k2 = b.key(), b.key()
    cache.create_key(k1, None)
    cache.create_key(k2, None)
    cache.create_alias(b.alias("alias/x", k1))
    assert cache.get_alias(ACCOUNT, REGION, "alias/x") is not None
    cache.update_alias(b.alias("alias/x", k2))
    got = cache.get_alias(ACCOUNT, REGION, "alias/x")
    assert got is not None and got.target_key_id == k2.key_id
    cache.delete_alias(ACCOUNT, REGION, "alias/x")
    assert cache.get_alias(ACCOUNT, REGION, "alias/x") is None

    assert list(cache.get_tags(REGION, k1.key_id)) == []
    cache.put_tags(REGION, k1.key_id, [Tag("a", "1")])
    assert list(cache.get_tags(REGION, k1.key_id)) == [Tag("a", "1")]
    cache.remove_tags(REGION, k1.key_id, ["a"])
    assert list(cache.get_tags(REGION, k1.key_id)) == []


def test_delete_access_key_invalidates(cache: CachedStorage) -> None:
    cache.create_account(b.account())
    p = b.principal()
    cache.create_principal(p)
    ak = b.access_key(p)
    cache.create_access_key(ak)
    assert cache.get_access_key(ak.access_key_id) == ak
    cache.delete_access_key(ak.access_key_id)
    assert cache.get_access_key(ak.access_key_id) is None


def test_failed_write_still_invalidates(cache: CachedStorage, inner: SqlStorage) -> None:
    key = b.key()
    cache.create_key(key, None)
    assert cache.get_key(REGION, key.key_id) == key
    inner.update_key(key.with_changes(description="changed elsewhere"))
    with pytest.raises(Duplicate):
        cache.create_key(key, None)
    got = cache.get_key(REGION, key.key_id)
    assert got is not None and got.description == "changed elsewhere"


# -- writes elsewhere are visible after the TTL ------------------------------------------


def test_direct_write_is_visible_after_ttl(
    cache: CachedStorage, inner: SqlStorage, clock: FixedClock
) -> None:
    key = b.key()
    cache.create_key(key, None)
    assert cache.get_key(REGION, key.key_id) == key
    changed = key.with_changes(description="from another node")
    inner.update_key(changed)
    assert cache.get_key(REGION, key.key_id) == key  # still cached
    clock.advance(TTL / 2)
    assert cache.get_key(REGION, key.key_id) == key
    clock.advance(TTL / 2)
    assert cache.get_key(REGION, key.key_id) == changed


def test_direct_create_is_visible_after_negative_ttl(
    inner: SqlStorage, clock: FixedClock
) -> None:
    cache = CachedStorage(inner, clock, ttl_seconds=10.0, negative_ttl_seconds=0.5)
    key = b.key()
    assert cache.get_key(REGION, key.key_id) is None
    inner.create_key(key, None)
    assert cache.get_key(REGION, key.key_id) is None
    clock.advance(0.5)
    assert cache.get_key(REGION, key.key_id) == key


def test_direct_alias_and_access_key_changes_after_ttl(
    cache: CachedStorage, inner: SqlStorage, clock: FixedClock
) -> None:
    inner.create_account(b.account())
    p = b.principal()
    inner.create_principal(p)
    ak = b.access_key(p)
    inner.create_access_key(ak)
    inner.create_alias(b.alias("alias/x", b.key_id()))
    assert cache.get_access_key(ak.access_key_id) == ak
    assert cache.get_alias(ACCOUNT, REGION, "alias/x") is not None
    inner.delete_access_key(ak.access_key_id)
    inner.delete_alias(ACCOUNT, REGION, "alias/x")
    assert cache.get_access_key(ak.access_key_id) == ak
    clock.advance(TTL)
    assert cache.get_access_key(ak.access_key_id) is None
    assert cache.get_alias(ACCOUNT, REGION, "alias/x") is None


# -- what the cache does not do ----------------------------------------------------------


def test_hits_do_not_reach_the_inner_store(inner: SqlStorage, clock: FixedClock) -> None:
    counting = Counting(inner)
    cache = CachedStorage(counting, clock, ttl_seconds=TTL)  # type: ignore[arg-type]
    key = b.key()
    m = b.material(key)
    inner.create_key(key, m)
    for _ in range(5):
        assert cache.get_key(REGION, key.key_id) == key
        assert cache.get_material(key.key_id, m.material_id) == m
        assert cache.get_key(REGION, "missing") is None
    assert counting.calls == {"get_key": 2, "get_material": 1}
    # Listings always pass through.
    cache.list_keys(ACCOUNT, REGION, 10, None)
    cache.list_keys(ACCOUNT, REGION, 10, None)
    assert counting.calls["list_keys"] == 2


def test_miss_racing_a_write_does_not_store_stale_value(
    inner: SqlStorage, clock: FixedClock
) -> None:
    key = b.key()
    inner.create_key(key, None)
    changed = key.with_changes(description="newer")
    racing = Counting(inner)
    cache = CachedStorage(racing, clock, ttl_seconds=TTL)  # type: ignore[arg-type]
    stale = inner.get_key(REGION, key.key_id)

    # The load has read the old row; a concurrent write lands before the load stores it.
    def read_old_then_write() -> None:
        racing.inner = type("Stale", (), {"get_key": staticmethod(lambda r, k: stale),
                                          "in_atomic": staticmethod(lambda: False),
                                          "in_write_transaction": staticmethod(lambda: False)})()
        inner.update_key(changed)
        cache.apply([Change(ChangeKind.KEY, (REGION, key.key_id))])  # what update_key does last

    racing.before["get_key"] = read_old_then_write
    assert cache.get_key(REGION, key.key_id) == key  # the racing reader gets what it read
    racing.inner = inner
    assert cache.get_key(REGION, key.key_id) == changed  # ...but did not cache it
    assert racing.calls["get_key"] == 2


def test_delete_key_invalidates_materials_aliases_and_tags(cache: CachedStorage) -> None:
    key = b.key()
    m1, m2 = b.material(key), b.material(key)
    cache.create_key(key, m1)
    cache.add_material(m2)
    cache.create_alias(b.alias("alias/x", key))
    cache.put_tags(REGION, key.key_id, [Tag("a", "1")])
    assert cache.get_material(key.key_id, m2.material_id) == m2
    assert cache.get_alias(ACCOUNT, REGION, "alias/x") is not None
    assert cache.get_tags(REGION, key.key_id)
    cache.delete_key(REGION, key.key_id)
    assert cache.get_key(REGION, key.key_id) is None
    assert cache.get_material(key.key_id, m1.material_id) is None
    assert cache.get_material(key.key_id, m2.material_id) is None
    assert cache.get_alias(ACCOUNT, REGION, "alias/x") is None
    assert list(cache.get_tags(REGION, key.key_id)) == []


def test_tags_are_returned_immutable(cache: CachedStorage) -> None:
    key = b.key()
    cache.create_key(key, None)
    cache.put_tags(REGION, key.key_id, [Tag("a", "1")])
    assert isinstance(cache.get_tags(REGION, key.key_id), tuple)


def test_entries_are_bounded(inner: SqlStorage, clock: FixedClock) -> None:
    cache = CachedStorage(inner, clock, ttl_seconds=TTL, max_entries=10)
    for i in range(35):
        cache.get_access_key(f"AKIAUNKNOWN{i:08d}")
    assert len(cache._access_keys) <= 10


def test_negative_ttl_validation(inner: SqlStorage, clock: FixedClock) -> None:
    with pytest.raises(ValueError):
        CachedStorage(inner, clock, ttl_seconds=-1)


def test_concurrent_readers_and_writers(cache: CachedStorage) -> None:
    key = b.key()
    cache.create_key(key, None)
    errors: list[BaseException] = []
    stop = threading.Event()

    def reader() -> None:
        try:
            while not stop.is_set():
                got = cache.get_key(REGION, key.key_id)
                assert got is not None and got.key_id == key.key_id
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=reader) for _ in range(4)]
    for t in threads:
        t.start()
    for i in range(50):
        cache.update_key(key.with_changes(description=f"v{i}"))
    stop.set()
    for t in threads:
        t.join()
    assert errors == []
    got = cache.get_key(REGION, key.key_id)
    assert got is not None and got.description == "v49"
