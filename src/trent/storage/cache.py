"""An in-process read-through cache in front of any ``Storage`` (architecture.md, hot path).

A crypto request must not touch the database for its key, material, alias or caller,
so :class:`CachedStorage` answers those point reads from memory:

    get_key  get_material  get_alias  get_tags  get_access_key  get_principal  get_account
    list_identity_policies  get_role  grants_for_key  get_grant        (issue 5)

Everything else (listings, counts, the deletion sweep) passes straight through.

Consistency, stated plainly:

- **This node's writes** are visible at once: every write method calls the inner store
  and then drops the entries it affects (``delete_key`` drops the key, its tags, every
  cached material of that key id and every cached alias pointing at it; ``reset`` drops
  everything). A miss that raced a write does not store its possibly-stale answer: a
  generation counter, bumped by every invalidation, must be unchanged between the start
  of the load and the store.
- **Other nodes' writes** (several nodes sharing one PostgreSQL) are visible once the
  entry expires: every entry lives at most ``ttl_seconds`` (default 1 s) by the injected
  clock. That bound is the whole cross-node contract; there is no invalidation bus.
  Absent rows ("no such key / access key") are cached too, for ``negative_ttl_seconds``,
  so floods of unknown ids stay off the database; this node's create of that row drops
  the negative entry at once.

Cost of a hit: one dict lookup, one ``clock.now()`` and a float compare — no lock; the
lock is taken only on misses and writes. Each table holds at most ``max_entries``;
when full, expired entries are swept, and if that is not enough the table is emptied
(a crude but O(1)-amortized bound on memory under floods of distinct unknown ids).

Adding a method to ``Storage`` means adding it here explicitly: there is deliberately no
``__getattr__`` pass-through, because a forwarded *write* would silently skip invalidation.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from trent.domain.clock import Clock
from trent.domain.custom_key_stores import CustomKeyStore
from trent.domain.grants import GrantRecord
from trent.domain.keys import Alias, Key, KeyMaterial, Tag
from trent.domain.lifecycle import KeyUse, RotationSchedule
from trent.domain.principals import AccessKey, Account, IdentityPolicy, Principal, Role
from trent.storage.repositories import Page, Storage

V = TypeVar("V")
_Table = dict[Any, tuple[float, Any]]


class CachedStorage:
    """``Storage`` that serves hot point reads from memory (see the module doc)."""

    def __init__(
        self,
        inner: Storage,
        clock: Clock,
        ttl_seconds: float = 1.0,
        *,
        negative_ttl_seconds: float | None = None,
        max_entries: int = 100_000,
    ) -> None:
        if ttl_seconds < 0 or (negative_ttl_seconds is not None and negative_ttl_seconds < 0):
            raise ValueError("cache lifetimes must not be negative")
        self._inner = inner
        self._now = clock.now  # bound once: the hit path calls it on every read
        self._ttl = ttl_seconds
        self._negative_ttl = ttl_seconds if negative_ttl_seconds is None else negative_ttl_seconds
        self._max_entries = max_entries
        self._lock = threading.Lock()
        self._generation = 0
        self._keys: _Table = {}
        self._materials: _Table = {}
        self._aliases: _Table = {}
        self._tags: _Table = {}
        self._access_keys: _Table = {}
        self._principals: _Table = {}
        self._accounts: _Table = {}
        # issue 5: read on every authorized call
        self._identity_policies: _Table = {}
        self._roles: _Table = {}
        self._key_grants: _Table = {}
        self._grants: _Table = {}
        # issue 19: the members of a multi-Region key (DescribeKey's MultiRegionConfiguration)
        self._members: _Table = {}
        self._tables = (
            self._members,
            self._identity_policies,
            self._roles,
            self._key_grants,
            self._grants,
            self._keys,
            self._materials,
            self._aliases,
            self._tags,
            self._access_keys,
            self._principals,
            self._accounts,
        )

    @property
    def inner(self) -> Storage:
        return self._inner

    def __repr__(self) -> str:
        return f"CachedStorage({self._inner!r}, ttl_seconds={self._ttl})"

    # -- machinery --------------------------------------------------------------------

    def _load(self, table: _Table, cache_key: Any, load: Callable[[], V]) -> V:
        """The miss path: read through, and store unless a write raced us."""
        generation = self._generation
        started = self._now()
        value = load()
        lifetime = self._negative_ttl if value is None else self._ttl
        with self._lock:
            if generation == self._generation:
                if len(table) >= self._max_entries and cache_key not in table:
                    self._make_room(table, started)
                table[cache_key] = (started + lifetime, value)
        return value

    def _make_room(self, table: _Table, now: float) -> None:
        for stale in [k for k, (expires, _) in table.items() if expires <= now]:
            del table[stale]
        if len(table) >= self._max_entries:
            table.clear()

    def _invalidate(self, table: _Table, *cache_keys: Any) -> None:
        with self._lock:
            self._generation += 1
            for cache_key in cache_keys:
                table.pop(cache_key, None)

    def invalidate_all(self) -> None:
        """Forget everything (``reset``; also handy after an out-of-band change)."""
        with self._lock:
            self._generation += 1
            for table in self._tables:
                table.clear()

    # -- keys -------------------------------------------------------------------------

    def get_key(self, region: str, key_id: str) -> Key | None:
        entry = self._keys.get((region, key_id))
        if entry is not None and entry[0] > self._now():
            return entry[1]  # type: ignore[no-any-return]
        return self._load(
            self._keys, (region, key_id), lambda: self._inner.get_key(region, key_id)
        )

    def get_material(self, key_id: str, material_id: str) -> KeyMaterial | None:
        entry = self._materials.get((key_id, material_id))
        if entry is not None and entry[0] > self._now():
            return entry[1]  # type: ignore[no-any-return]
        return self._load(
            self._materials,
            (key_id, material_id),
            lambda: self._inner.get_material(key_id, material_id),
        )

    def create_key(self, key: Key, material: KeyMaterial | None) -> None:
        try:
            self._inner.create_key(key, material)
        finally:
            self._invalidate(self._keys, (key.region, key.key_id))
            self._invalidate(self._tags, (key.region, key.key_id))
            self._invalidate(self._members, key.key_id)
            if material is not None:
                self._invalidate(self._materials, (material.key_id, material.material_id))

    def update_key(self, key: Key) -> None:
        try:
            self._inner.update_key(key)
        finally:
            self._invalidate(self._keys, (key.region, key.key_id))
            self._invalidate(self._members, key.key_id)

    def delete_key(self, region: str, key_id: str) -> None:
        try:
            self._inner.delete_key(region, key_id)
        finally:
            with self._lock:
                self._generation += 1
                self._keys.pop((region, key_id), None)
                self._members.pop(key_id, None)
                self._tags.pop((region, key_id), None)
                self._key_grants.pop((region, key_id), None)
                self._grants.clear()  # the key's grants are gone too (spec §8)
                for cache_key in [k for k in self._materials if k[0] == key_id]:
                    del self._materials[cache_key]
                for cache_key, (_, alias) in list(self._aliases.items()):
                    if alias is not None and (alias.region, alias.target_key_id) == (
                        region,
                        key_id,
                    ):
                        del self._aliases[cache_key]

    def list_key_members(self, key_id: str) -> Sequence[Key]:
        entry = self._members.get(key_id)
        if entry is not None and entry[0] > self._now():
            return entry[1]  # type: ignore[no-any-return]
        return self._load(self._members, key_id, lambda: tuple(self._inner.list_key_members(key_id)))

    def update_keys(self, keys: Sequence[Key]) -> None:
        try:
            self._inner.update_keys(keys)
        finally:
            with self._lock:
                self._generation += 1
                for key in keys:
                    self._keys.pop((key.region, key.key_id), None)
                    self._members.pop(key.key_id, None)

    def add_material(self, material: KeyMaterial) -> None:
        try:
            self._inner.add_material(material)
        finally:
            self._invalidate(self._materials, (material.key_id, material.material_id))

    def update_material(self, material: KeyMaterial) -> None:
        try:
            self._inner.update_material(material)
        finally:
            self._invalidate(self._materials, (material.key_id, material.material_id))

    def delete_material(self, key_id: str, material_id: str) -> None:
        try:
            self._inner.delete_material(key_id, material_id)
        finally:
            self._invalidate(self._materials, (key_id, material_id))

    def rotate_material(self, key: Key, material: KeyMaterial) -> None:
        # Every material of the key may change state: drop them all, and the key row.
        try:
            self._inner.rotate_material(key, material)
        finally:
            with self._lock:
                self._generation += 1
                # Every regional row of the key id follows the new material (spec §12).
                for cache_key in [k for k in self._keys if k[1] == key.key_id]:
                    del self._keys[cache_key]
                self._members.pop(key.key_id, None)
                for cache_key in [k for k in self._materials if k[0] == key.key_id]:
                    del self._materials[cache_key]

    def materials_expiring(self, now: float, limit: int = 100) -> Sequence[tuple[Key, KeyMaterial]]:
        return self._inner.materials_expiring(now, limit)

    def get_rotation_schedule(self, region: str, key_id: str) -> RotationSchedule | None:
        return self._inner.get_rotation_schedule(region, key_id)  # not on the hot path

    def put_rotation_schedule(self, schedule: RotationSchedule) -> None:
        self._inner.put_rotation_schedule(schedule)

    def rotations_due(self, now: float, limit: int = 100) -> Sequence[RotationSchedule]:
        return self._inner.rotations_due(now, limit)

    def record_key_usage(self, uses: Sequence[KeyUse]) -> None:
        self._inner.record_key_usage(uses)

    def get_key_usage(self, region: str, key_id: str) -> KeyUse | None:
        return self._inner.get_key_usage(region, key_id)

    def ensure_marker(self, name: str, value: float) -> float:
        return self._inner.ensure_marker(name, value)

    def list_keys(self, account_id: str, region: str, limit: int, marker: str | None) -> Page[Key]:
        return self._inner.list_keys(account_id, region, limit, marker)

    def keys_due_for_deletion(self, now: float, limit: int = 100) -> Sequence[Key]:
        return self._inner.keys_due_for_deletion(now, limit)

    def list_materials(self, key_id: str) -> Sequence[KeyMaterial]:
        return self._inner.list_materials(key_id)

    # -- aliases ----------------------------------------------------------------------

    def get_alias(self, account_id: str, region: str, name: str) -> Alias | None:
        entry = self._aliases.get((account_id, region, name))
        if entry is not None and entry[0] > self._now():
            return entry[1]  # type: ignore[no-any-return]
        return self._load(
            self._aliases,
            (account_id, region, name),
            lambda: self._inner.get_alias(account_id, region, name),
        )

    def create_alias(self, alias: Alias) -> None:
        try:
            self._inner.create_alias(alias)
        finally:
            self._invalidate(self._aliases, (alias.account_id, alias.region, alias.name))

    def update_alias(self, alias: Alias) -> None:
        try:
            self._inner.update_alias(alias)
        finally:
            self._invalidate(self._aliases, (alias.account_id, alias.region, alias.name))

    def claim_alias(self, alias: Alias) -> bool:
        try:
            return self._inner.claim_alias(alias)
        finally:
            self._invalidate(self._aliases, (alias.account_id, alias.region, alias.name))

    def delete_alias(self, account_id: str, region: str, name: str) -> None:
        try:
            self._inner.delete_alias(account_id, region, name)
        finally:
            self._invalidate(self._aliases, (account_id, region, name))

    def list_aliases(
        self, account_id: str, region: str, key_id: str | None, limit: int, marker: str | None
    ) -> Page[Alias]:
        return self._inner.list_aliases(account_id, region, key_id, limit, marker)

    def count_aliases_for_key(self, region: str, key_id: str) -> int:
        return self._inner.count_aliases_for_key(region, key_id)

    # -- tags -------------------------------------------------------------------------

    def get_tags(self, region: str, key_id: str) -> Sequence[Tag]:
        entry = self._tags.get((region, key_id))
        if entry is not None and entry[0] > self._now():
            return entry[1]  # type: ignore[no-any-return]
        # A tuple, so no caller can mutate what the next caller will be handed.
        return self._load(
            self._tags, (region, key_id), lambda: tuple(self._inner.get_tags(region, key_id))
        )

    def put_tags(self, region: str, key_id: str, tags: Sequence[Tag]) -> None:
        try:
            self._inner.put_tags(region, key_id, tags)
        finally:
            self._invalidate(self._tags, (region, key_id))

    def remove_tags(self, region: str, key_id: str, tag_keys: Sequence[str]) -> None:
        try:
            self._inner.remove_tags(region, key_id, tag_keys)
        finally:
            self._invalidate(self._tags, (region, key_id))

    # -- identities -------------------------------------------------------------------

    def get_account(self, account_id: str) -> Account | None:
        entry = self._accounts.get(account_id)
        if entry is not None and entry[0] > self._now():
            return entry[1]  # type: ignore[no-any-return]
        return self._load(
            self._accounts, account_id, lambda: self._inner.get_account(account_id)
        )

    def get_principal(self, arn: str) -> Principal | None:
        entry = self._principals.get(arn)
        if entry is not None and entry[0] > self._now():
            return entry[1]  # type: ignore[no-any-return]
        return self._load(self._principals, arn, lambda: self._inner.get_principal(arn))

    def get_access_key(self, access_key_id: str) -> AccessKey | None:
        entry = self._access_keys.get(access_key_id)
        if entry is not None and entry[0] > self._now():
            return entry[1]  # type: ignore[no-any-return]
        return self._load(
            self._access_keys, access_key_id, lambda: self._inner.get_access_key(access_key_id)
        )

    def create_account(self, account: Account) -> None:
        try:
            self._inner.create_account(account)
        finally:
            self._invalidate(self._accounts, account.account_id)

    def create_principal(self, principal: Principal) -> None:
        try:
            self._inner.create_principal(principal)
        finally:
            self._invalidate(self._principals, principal.arn)

    def create_access_key(self, key: AccessKey) -> None:
        try:
            self._inner.create_access_key(key)
        finally:
            self._invalidate(self._access_keys, key.access_key_id)

    def delete_access_key(self, access_key_id: str) -> None:
        try:
            self._inner.delete_access_key(access_key_id)
        finally:
            self._invalidate(self._access_keys, access_key_id)

    def list_accounts(self) -> Sequence[Account]:
        return self._inner.list_accounts()

    def list_principals(self, account_id: str) -> Sequence[Principal]:
        return self._inner.list_principals(account_id)

    def list_access_keys(self, principal_arn: str) -> Sequence[AccessKey]:
        return self._inner.list_access_keys(principal_arn)

    # -- roles and identity policies (issue 5) ------------------------------------------

    def list_identity_policies(self, principal_arn: str) -> Sequence[IdentityPolicy]:
        entry = self._identity_policies.get(principal_arn)
        if entry is not None and entry[0] > self._now():
            return entry[1]  # type: ignore[no-any-return]
        return self._load(
            self._identity_policies,
            principal_arn,
            lambda: tuple(self._inner.list_identity_policies(principal_arn)),
        )

    def put_identity_policy(self, policy: IdentityPolicy) -> None:
        try:
            self._inner.put_identity_policy(policy)
        finally:
            self._invalidate(self._identity_policies, policy.principal_arn)

    def delete_identity_policy(self, principal_arn: str, name: str) -> None:
        try:
            self._inner.delete_identity_policy(principal_arn, name)
        finally:
            self._invalidate(self._identity_policies, principal_arn)

    def get_role(self, arn: str) -> Role | None:
        entry = self._roles.get(arn)
        if entry is not None and entry[0] > self._now():
            return entry[1]  # type: ignore[no-any-return]
        return self._load(self._roles, arn, lambda: self._inner.get_role(arn))

    def create_role(self, role: Role) -> None:
        try:
            self._inner.create_role(role)
        finally:
            self._invalidate(self._roles, role.arn)
            self._invalidate(self._principals, role.arn)

    def update_role(self, role: Role) -> None:
        try:
            self._inner.update_role(role)
        finally:
            self._invalidate(self._roles, role.arn)

    def delete_role(self, arn: str) -> None:
        # Sessions, their principals and access keys go too: forget all identities.
        try:
            self._inner.delete_role(arn)
        finally:
            with self._lock:
                self._generation += 1
                for table in (self._roles, self._principals, self._access_keys, self._identity_policies):
                    table.clear()

    def list_roles(self, account_id: str) -> Sequence[Role]:
        return self._inner.list_roles(account_id)

    def delete_expired_access_keys(self, now: float) -> int:
        try:
            return self._inner.delete_expired_access_keys(now)
        finally:
            with self._lock:
                self._generation += 1
                self._access_keys.clear()

    # -- grants (issue 5) --------------------------------------------------------------

    def grants_for_key(self, region: str, key_id: str) -> Sequence[GrantRecord]:
        entry = self._key_grants.get((region, key_id))
        if entry is not None and entry[0] > self._now():
            return entry[1]  # type: ignore[no-any-return]
        return self._load(
            self._key_grants, (region, key_id), lambda: tuple(self._inner.grants_for_key(region, key_id))
        )

    def get_grant(self, grant_id: str) -> GrantRecord | None:
        entry = self._grants.get(grant_id)
        if entry is not None and entry[0] > self._now():
            return entry[1]  # type: ignore[no-any-return]
        return self._load(self._grants, grant_id, lambda: self._inner.get_grant(grant_id))

    def create_grant(self, grant: GrantRecord) -> None:
        try:
            self._inner.create_grant(grant)
        finally:
            self._invalidate(self._key_grants, (grant.region, grant.key_id))
            self._invalidate(self._grants, grant.grant_id)

    def delete_grant(self, grant_id: str) -> None:
        # The grant's key is not known here without a read: drop every key's grant list.
        try:
            self._inner.delete_grant(grant_id)
        finally:
            with self._lock:
                self._generation += 1
                self._grants.pop(grant_id, None)
                self._key_grants.clear()

    def find_grant_by_name(self, region: str, key_id: str, name: str) -> Sequence[GrantRecord]:
        return self._inner.find_grant_by_name(region, key_id, name)

    def list_grants(
        self,
        region: str,
        key_id: str,
        limit: int,
        marker: str | None,
        grant_id: str | None = None,
        grantee_principal: str | None = None,
    ) -> Page[GrantRecord]:
        return self._inner.list_grants(region, key_id, limit, marker, grant_id, grantee_principal)

    def list_retirable_grants(self, retiring_principal: str, limit: int, marker: str | None) -> Page[GrantRecord]:
        return self._inner.list_retirable_grants(retiring_principal, limit, marker)

    def count_grants(self, region: str, key_id: str) -> int:
        return self._inner.count_grants(region, key_id)

    # -- lifecycle --------------------------------------------------------------------

    # -- custom key stores (issue 7): management only, never on the hot path, not cached --

    def create_custom_key_store(self, store: CustomKeyStore) -> None:
        self._inner.create_custom_key_store(store)

    def get_custom_key_store(self, custom_key_store_id: str) -> CustomKeyStore | None:
        return self._inner.get_custom_key_store(custom_key_store_id)

    def list_custom_key_stores(self, account_id: str | None = None, region: str | None = None) -> Sequence[CustomKeyStore]:
        return self._inner.list_custom_key_stores(account_id, region)

    def update_custom_key_store(self, store: CustomKeyStore) -> None:
        self._inner.update_custom_key_store(store)

    def delete_custom_key_store(self, custom_key_store_id: str) -> None:
        self._inner.delete_custom_key_store(custom_key_store_id)

    def count_keys_in_custom_key_store(self, custom_key_store_id: str) -> int:
        return self._inner.count_keys_in_custom_key_store(custom_key_store_id)

    def rewrap_root_blobs(self, rewrap: Callable[[str, tuple[str, ...], bytes], bytes | None]) -> int:
        try:
            return self._inner.rewrap_root_blobs(rewrap)
        finally:
            self.invalidate_all()  # every wrapped blob may have changed

    def reset(self) -> None:
        try:
            self._inner.reset()
        finally:
            self.invalidate_all()

    def close(self) -> None:
        self.invalidate_all()
        self._inner.close()
