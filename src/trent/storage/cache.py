"""An in-process read-through cache in front of any ``Storage`` (architecture.md, hot path).

A crypto request must not touch the database for its key, material, alias or caller,
so :class:`CachedStorage` answers those point reads from memory:

    get_key  get_material  get_alias  get_tags  get_access_key  get_principal  get_account
    list_identity_policies  get_role  grants_for_key  get_grant        (issue 5)
    bucket (an S3 bucket's row, for ``storage/cached_buckets.py``)      (issue 17)

Everything else (listings, counts, the deletion sweep) passes straight through.

Consistency, stated plainly:

- **This node's writes** are visible at once: every write method calls the inner store
  and then drops the entries it affects (``delete_key`` drops the key, its tags, every
  cached material of that key id and every cached alias pointing at it; ``reset`` drops
  everything). A miss that raced a write does not store its possibly-stale answer: a
  generation counter, bumped by every invalidation, must be unchanged between the start
  of the load and the store.
- **Other processes' and nodes' writes** (issue 20): every write names what it changed
  (:mod:`trent.storage.changes`) and publishes that inside its transaction on the
  invalidation feed (:mod:`trent.storage.change_feed`: PostgreSQL NOTIFY, or a change
  log polled on SQLite); each process's listener calls :meth:`CachedStorage.apply`.
  The TTL (``ttl_seconds``, by the injected clock) is the fallback: bootstrap keeps it
  short (1 s) while the feed is down and long while it is up (:meth:`use_ttl`).
  Absent rows ("no such key / access key") are cached too, for ``negative_ttl_seconds``,
  so floods of unknown ids stay off the database; this node's create of that row drops
  the negative entry at once.

Cost of a hit: one dict lookup, one ``clock.now()`` and a float compare — no lock; the
lock is taken only on misses and writes. Each table holds at most ``max_entries``;
when full, expired entries are swept, and if that is not enough the table is emptied
(a crude but O(1)-amortized bound on memory under floods of distinct unknown ids).

- **Transactions** (:meth:`transaction`, issue 20): inside one, reads bypass the cache
  (a check-then-act rule must decide on what the database holds under its row lock),
  and the changes of every write are applied again when the transaction ends, so a
  value read from the uncommitted transaction, or before a rollback, never survives.

Adding a method to ``Storage`` means adding it here explicitly: there is deliberately no
``__getattr__`` pass-through, because a forwarded *write* would silently skip invalidation.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterator, Sequence
from typing import Any, TypeVar

from trent.domain.audit_chain import AuditRecord, EventSegment, StoredEvent, TrailHead, TrailKey
from trent.domain.audit_delivery import DeliveryState, DigestRecord, LogFileRecord, LookupQuery, SigningKeyRecord
from trent.domain.clock import Clock
from trent.domain.console import ConsoleSession
from trent.domain.custom_key_stores import CustomKeyStore
from trent.domain.grants import GrantRecord
from trent.domain.keys import Alias, Key, KeyMaterial, MaterialImport, Tag
from trent.domain.lifecycle import KeyUse, RotationSchedule
from trent.domain.principals import AccessKey, Account, IdentityPolicy, Principal, Role
from trent.storage.changes import Change, ChangeKind
from trent.storage.repositories import Page, Storage

V = TypeVar("V")
_Table = dict[Any, tuple[float, Any]]
K = ChangeKind


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
        # Transactions (issue 20): how many are open in any thread (the hit path reads
        # only this int), and this thread's own, with the changes it has written.
        self._open_transactions = 0
        self._local = threading.local()
        # Issue 20, /metrics: approximate (unlocked) counts of hot-path lookups.
        self.hits = 0
        self.misses = 0
        self._keys: _Table = {}
        self._materials: _Table = {}  # (key_id, material_id, region or None)
        self._material_regions: set[str | None] = {None}  # every Region a material was read for
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
        # issue 17: the bucket row every S3 request reads (storage/cached_buckets.py)
        self._buckets: _Table = {}
        self._tables = (
            self._buckets,
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
        if self._open_transactions and self._in_transaction():
            return load()  # under a transaction: the database's answer, never cached
        self.misses += 1
        generation = self._generation
        started = self._now()
        value = load()
        if self._inner.in_write_transaction():
            return value  # uncommitted (issue 16: an atomic scope that wrote): may yet roll back
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

    def invalidate_all(self) -> None:
        """Forget everything (``reset``; also handy after an out-of-band change)."""
        with self._lock:
            self._generation += 1
            for table in self._tables:
                table.clear()

    def stats(self) -> tuple[int, int, int]:
        """(hits, misses, entries) for /metrics."""
        return self.hits, self.misses, sum(len(t) for t in self._tables)

    def use_ttl(self, seconds: float) -> None:
        """Entries loaded from now on live ``seconds`` (the feed's health decides, see
        the module doc); a shorter lifetime also drops what is cached now."""
        if seconds < 0:
            raise ValueError("cache lifetimes must not be negative")
        shorter = seconds < self._ttl
        self._ttl = self._negative_ttl = seconds
        if shorter:
            self.invalidate_all()

    def apply(self, changes: Sequence[Change]) -> None:
        """Drop what ``changes`` name (this process's writes, and the feed's)."""
        with self._lock:
            self._generation += 1
            for change in changes:
                self._drop(change)

    def _drop(self, change: Change) -> None:  # caller holds the lock
        kind, ids = change.kind, change.ids
        if kind is K.KEY:
            self._keys.pop(ids, None)
            self._members.pop(ids[1], None)  # a member's row is part of its key id's member list
        elif kind is K.KEY_MEMBERS:
            for cache_key in [k for k in self._keys if k[1] == ids[0]]:
                del self._keys[cache_key]
            self._members.pop(ids[0], None)
        elif kind is K.MATERIAL:  # (key_id, material_id): as every member sees it
            for region in self._material_regions:
                self._materials.pop((*ids, region), None)
        elif kind is K.KEY_MATERIALS:
            for cache_key in [k for k in self._materials if k[0] == ids[0]]:
                del self._materials[cache_key]
        elif kind is K.ALIAS:
            self._aliases.pop(ids, None)
        elif kind is K.TAGS:
            self._tags.pop(ids, None)
        elif kind is K.ACCOUNT:
            self._accounts.pop(ids[0], None)
        elif kind is K.PRINCIPAL:
            self._principals.pop(ids[0], None)
        elif kind is K.ACCESS_KEY:
            self._access_keys.pop(ids[0], None)
        elif kind is K.ALL_ACCESS_KEYS:
            self._access_keys.clear()
        elif kind is K.IDENTITY_POLICIES:
            self._identity_policies.pop(ids[0], None)
        elif kind is K.ROLE:
            self._roles.pop(ids[0], None)
        elif kind is K.ALL_IDENTITIES:
            for table in (self._roles, self._principals, self._access_keys, self._identity_policies):
                table.clear()
        elif kind is K.KEY_GRANTS:
            self._key_grants.pop(ids, None)
        elif kind is K.GRANT:
            self._grants.pop(ids[0], None)
        elif kind is K.ALL_GRANTS:
            self._grants.clear()
            self._key_grants.clear()
        elif kind is K.KEY_DELETED:
            self._drop_deleted_key(ids[0], ids[1])
        elif kind is K.BUCKET:
            self._buckets.pop(ids[0], None)
        else:  # EVERYTHING, or a kind this version does not know
            for table in self._tables:
                table.clear()

    def _drop_deleted_key(self, region: str, key_id: str) -> None:
        self._keys.pop((region, key_id), None)
        self._members.pop(key_id, None)
        self._tags.pop((region, key_id), None)
        self._key_grants.pop((region, key_id), None)
        self._grants.clear()  # the key's grants are gone too (spec §8)
        for cache_key in [k for k in self._materials if k[0] == key_id]:
            del self._materials[cache_key]
        for cache_key, (_, alias) in list(self._aliases.items()):
            if alias is not None and (alias.region, alias.target_key_id) == (region, key_id):
                del self._aliases[cache_key]

    # -- transactions (issue 20) -------------------------------------------------------

    @contextlib.contextmanager
    def transaction(self) -> Iterator[None]:
        """One database transaction for everything this thread does inside (re-entrant)."""
        local = self._local
        if getattr(local, "written", None) is not None:
            yield
            return
        local.written = []
        with self._lock:
            self._open_transactions += 1
        try:
            with self._inner.transaction():
                yield
        finally:
            written, local.written = local.written, None
            with self._lock:
                self._open_transactions -= 1
            self.apply(written)
            if written and self._inner.in_atomic():
                # Joined an enclosing atomic scope (issue 16: a mutation and its audit
                # event): the writes commit only when it ends, and a reader may cache the
                # old rows meanwhile, so drop them again then.
                self._inner.after_transaction(lambda: self.apply(written))

    def _in_transaction(self) -> bool:
        return self._open_transactions > 0 and getattr(self._local, "written", None) is not None

    def lock_key(self, region: str, key_id: str) -> Key | None:
        return self._inner.lock_key(region, key_id)

    def lock_custom_key_store(self, custom_key_store_id: str) -> CustomKeyStore | None:
        return self._inner.lock_custom_key_store(custom_key_store_id)

    def lock_account(self, account_id: str) -> Account | None:
        return self._inner.lock_account(account_id)

    def lock_principal(self, arn: str) -> Principal | None:
        return self._inner.lock_principal(arn)

    def publish_changes(self, changes: Sequence[Change]) -> None:
        self._write(lambda: None, *changes)

    def _write(self, action: Callable[[], V], *changes: Change) -> V:
        """Run a write in a transaction that also publishes ``changes`` on the feed;
        drop them here when it ends (and again when an enclosing transaction ends)."""
        try:
            with self.transaction():
                result = action()
                self._inner.publish_changes(changes)
                self._local.written.extend(changes)
            return result
        finally:
            self.apply(changes)

    def _written(self, action: Callable[[], V], changes_of: Callable[[V], Sequence[Change]]) -> V:
        """:meth:`_write` when what changed depends on the result."""
        try:
            with self.transaction():
                result = action()
                changes = tuple(changes_of(result))
                self._inner.publish_changes(changes)
                self._local.written.extend(changes)
            return result
        except BaseException:
            self.invalidate_all()
            raise

    # -- S3 buckets (issue 17) ------------------------------------------------------------

    def bucket(self, name: str, load: Callable[[], V]) -> V:
        """The bucket row ``name`` through the cache; ``load`` reads it from the database
        (``CachedBuckets``: the S3 tables are not part of ``Storage``). Bucket writes
        announce ``Change(BUCKET, (name,))`` with :meth:`changed_with`."""
        entry = self._buckets.get(name)
        if entry is not None and entry[0] > self._now() and not (
            self._open_transactions and self._in_transaction()
        ):
            self.hits += 1
            return entry[1]  # type: ignore[no-any-return]
        return self._load(self._buckets, name, load)

    def changed_with(self, action: Callable[[], V], *changes: Change) -> V:
        """Run a write of tables outside ``Storage`` (the S3 bucket rows) in a transaction
        that also publishes ``changes`` on the feed; they are dropped here when it ends,
        and again when an enclosing atomic scope commits (as for every write here)."""
        return self._write(action, *changes)

    # -- keys -------------------------------------------------------------------------

    def get_key(self, region: str, key_id: str) -> Key | None:
        entry = self._keys.get((region, key_id))
        if entry is not None and entry[0] > self._now() and not (
            self._open_transactions and self._in_transaction()
        ):
            self.hits += 1
            return entry[1]  # type: ignore[no-any-return]
        return self._load(
            self._keys, (region, key_id), lambda: self._inner.get_key(region, key_id)
        )

    def get_material(self, key_id: str, material_id: str, region: str | None = None) -> KeyMaterial | None:
        # Keyed by Region too: imported material is held per member (issue 19).
        entry = self._materials.get((key_id, material_id, region))
        if entry is not None and entry[0] > self._now() and not (
            self._open_transactions and self._in_transaction()
        ):
            self.hits += 1
            return entry[1]  # type: ignore[no-any-return]
        if region not in self._material_regions:
            with self._lock:  # _drop iterates the set under the lock
                self._material_regions.add(region)
        return self._load(
            self._materials,
            (key_id, material_id, region),
            lambda: self._inner.get_material(key_id, material_id, region),
        )

    def create_key(self, key: Key, material: KeyMaterial | None) -> None:
        ids = (key.region, key.key_id)
        changes = [Change(K.KEY, ids), Change(K.TAGS, ids)]
        if material is not None:
            changes.append(Change(K.MATERIAL, (material.key_id, material.material_id)))
        self._write(lambda: self._inner.create_key(key, material), *changes)

    def update_key(self, key: Key) -> None:
        self._write(lambda: self._inner.update_key(key), Change(K.KEY, (key.region, key.key_id)))

    def delete_key(self, region: str, key_id: str) -> None:
        self._write(lambda: self._inner.delete_key(region, key_id), Change(K.KEY_DELETED, (region, key_id)))

    def list_key_members(self, key_id: str) -> Sequence[Key]:
        entry = self._members.get(key_id)
        if entry is not None and entry[0] > self._now():
            return entry[1]  # type: ignore[no-any-return]
        return self._load(self._members, key_id, lambda: tuple(self._inner.list_key_members(key_id)))

    def update_keys(self, keys: Sequence[Key]) -> None:
        self._write(lambda: self._inner.update_keys(keys), *(Change(K.KEY, (k.region, k.key_id)) for k in keys))

    def add_material(self, material: KeyMaterial) -> None:
        self._write(lambda: self._inner.add_material(material), Change(K.MATERIAL, (material.key_id, material.material_id)))

    def update_material(self, material: KeyMaterial) -> None:
        self._write(lambda: self._inner.update_material(material), Change(K.MATERIAL, (material.key_id, material.material_id)))

    def delete_material(self, key_id: str, material_id: str) -> None:
        self._write(lambda: self._inner.delete_material(key_id, material_id), Change(K.MATERIAL, (key_id, material_id)))

    def rotate_material(self, key: Key, material: KeyMaterial) -> None:
        # Every material of the key may change state: drop them all, and the key row.
        # Every regional row of the key id follows the new material (spec §12).
        self._write(
            lambda: self._inner.rotate_material(key, material),
            Change(K.KEY_MEMBERS, (key.key_id,)), Change(K.KEY_MATERIALS, (key.key_id,)),
        )

    def materials_expiring(self, now: float, limit: int = 100) -> Sequence[tuple[Key, KeyMaterial]]:
        return self._inner.materials_expiring(now, limit)

    def put_material_import(self, imported: MaterialImport) -> None:
        self._write(lambda: self._inner.put_material_import(imported),
                    Change(K.MATERIAL, (imported.key_id, imported.material_id)))

    def delete_material_import(self, region: str, key_id: str, material_id: str) -> None:
        self._write(lambda: self._inner.delete_material_import(region, key_id, material_id),
                    Change(K.MATERIAL, (key_id, material_id)))

    def list_material_imports(self, key_id: str) -> Sequence[MaterialImport]:
        return self._inner.list_material_imports(key_id)

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

    def list_materials(self, key_id: str, region: str | None = None) -> Sequence[KeyMaterial]:
        return self._inner.list_materials(key_id, region)

    # -- aliases ----------------------------------------------------------------------

    def get_alias(self, account_id: str, region: str, name: str) -> Alias | None:
        entry = self._aliases.get((account_id, region, name))
        if entry is not None and entry[0] > self._now() and not (
            self._open_transactions and self._in_transaction()
        ):
            self.hits += 1
            return entry[1]  # type: ignore[no-any-return]
        return self._load(
            self._aliases,
            (account_id, region, name),
            lambda: self._inner.get_alias(account_id, region, name),
        )

    def create_alias(self, alias: Alias) -> None:
        self._write(lambda: self._inner.create_alias(alias), _alias_change(alias.account_id, alias.region, alias.name))

    def update_alias(self, alias: Alias) -> None:
        self._write(lambda: self._inner.update_alias(alias), _alias_change(alias.account_id, alias.region, alias.name))

    def claim_alias(self, alias: Alias) -> bool:
        return self._write(lambda: self._inner.claim_alias(alias), _alias_change(alias.account_id, alias.region, alias.name))

    def delete_alias(self, account_id: str, region: str, name: str) -> None:
        self._write(lambda: self._inner.delete_alias(account_id, region, name), _alias_change(account_id, region, name))

    def list_aliases(
        self, account_id: str, region: str, key_id: str | None, limit: int, marker: str | None
    ) -> Page[Alias]:
        return self._inner.list_aliases(account_id, region, key_id, limit, marker)

    def count_aliases_for_key(self, region: str, key_id: str) -> int:
        return self._inner.count_aliases_for_key(region, key_id)

    # -- tags -------------------------------------------------------------------------

    def get_tags(self, region: str, key_id: str) -> Sequence[Tag]:
        entry = self._tags.get((region, key_id))
        if entry is not None and entry[0] > self._now() and not (
            self._open_transactions and self._in_transaction()
        ):
            self.hits += 1
            return entry[1]  # type: ignore[no-any-return]
        # A tuple, so no caller can mutate what the next caller will be handed.
        return self._load(
            self._tags, (region, key_id), lambda: tuple(self._inner.get_tags(region, key_id))
        )

    def put_tags(self, region: str, key_id: str, tags: Sequence[Tag]) -> None:
        self._write(lambda: self._inner.put_tags(region, key_id, tags), Change(K.TAGS, (region, key_id)))

    def remove_tags(self, region: str, key_id: str, tag_keys: Sequence[str]) -> None:
        self._write(lambda: self._inner.remove_tags(region, key_id, tag_keys), Change(K.TAGS, (region, key_id)))

    # -- identities -------------------------------------------------------------------

    def get_account(self, account_id: str) -> Account | None:
        entry = self._accounts.get(account_id)
        if entry is not None and entry[0] > self._now() and not (
            self._open_transactions and self._in_transaction()
        ):
            self.hits += 1
            return entry[1]  # type: ignore[no-any-return]
        return self._load(
            self._accounts, account_id, lambda: self._inner.get_account(account_id)
        )

    def get_principal(self, arn: str) -> Principal | None:
        entry = self._principals.get(arn)
        if entry is not None and entry[0] > self._now() and not (
            self._open_transactions and self._in_transaction()
        ):
            self.hits += 1
            return entry[1]  # type: ignore[no-any-return]
        return self._load(self._principals, arn, lambda: self._inner.get_principal(arn))

    def get_access_key(self, access_key_id: str) -> AccessKey | None:
        entry = self._access_keys.get(access_key_id)
        if entry is not None and entry[0] > self._now() and not (
            self._open_transactions and self._in_transaction()
        ):
            self.hits += 1
            return entry[1]  # type: ignore[no-any-return]
        return self._load(
            self._access_keys, access_key_id, lambda: self._inner.get_access_key(access_key_id)
        )

    def create_account(self, account: Account) -> None:
        self._write(lambda: self._inner.create_account(account), Change(K.ACCOUNT, (account.account_id,)))

    def create_principal(self, principal: Principal) -> None:
        self._write(lambda: self._inner.create_principal(principal), Change(K.PRINCIPAL, (principal.arn,)))

    def create_access_key(self, key: AccessKey) -> None:
        self._write(lambda: self._inner.create_access_key(key), Change(K.ACCESS_KEY, (key.access_key_id,)))

    def delete_access_key(self, access_key_id: str) -> None:
        self._write(lambda: self._inner.delete_access_key(access_key_id), Change(K.ACCESS_KEY, (access_key_id,)))

    def list_accounts(self) -> Sequence[Account]:
        return self._inner.list_accounts()

    def list_principals(self, account_id: str) -> Sequence[Principal]:
        return self._inner.list_principals(account_id)

    def list_access_keys(self, principal_arn: str) -> Sequence[AccessKey]:
        return self._inner.list_access_keys(principal_arn)

    # -- roles and identity policies (issue 5) ------------------------------------------

    def list_identity_policies(self, principal_arn: str) -> Sequence[IdentityPolicy]:
        entry = self._identity_policies.get(principal_arn)
        if entry is not None and entry[0] > self._now() and not (
            self._open_transactions and self._in_transaction()
        ):
            self.hits += 1
            return entry[1]  # type: ignore[no-any-return]
        return self._load(
            self._identity_policies,
            principal_arn,
            lambda: tuple(self._inner.list_identity_policies(principal_arn)),
        )

    def put_identity_policy(self, policy: IdentityPolicy) -> None:
        self._write(
            lambda: self._inner.put_identity_policy(policy), Change(K.IDENTITY_POLICIES, (policy.principal_arn,))
        )

    def delete_identity_policy(self, principal_arn: str, name: str) -> None:
        self._write(
            lambda: self._inner.delete_identity_policy(principal_arn, name),
            Change(K.IDENTITY_POLICIES, (principal_arn,)),
        )

    def get_role(self, arn: str) -> Role | None:
        entry = self._roles.get(arn)
        if entry is not None and entry[0] > self._now() and not (
            self._open_transactions and self._in_transaction()
        ):
            self.hits += 1
            return entry[1]  # type: ignore[no-any-return]
        return self._load(self._roles, arn, lambda: self._inner.get_role(arn))

    def create_role(self, role: Role) -> None:
        self._write(lambda: self._inner.create_role(role), Change(K.ROLE, (role.arn,)), Change(K.PRINCIPAL, (role.arn,)))

    def update_role(self, role: Role) -> None:
        self._write(lambda: self._inner.update_role(role), Change(K.ROLE, (role.arn,)))

    def delete_role(self, arn: str) -> None:
        # Sessions, their principals and access keys go too: forget all identities.
        self._write(lambda: self._inner.delete_role(arn), Change(K.ALL_IDENTITIES))

    def list_roles(self, account_id: str) -> Sequence[Role]:
        return self._inner.list_roles(account_id)

    def delete_expired_access_keys(self, now: float) -> int:
        # Announced only when something went: the sweeper calls this every few seconds.
        return self._written(
            lambda: self._inner.delete_expired_access_keys(now),
            lambda deleted: (Change(K.ALL_ACCESS_KEYS),) if deleted else (),
        )

    # -- grants (issue 5) --------------------------------------------------------------

    def grants_for_key(self, region: str, key_id: str) -> Sequence[GrantRecord]:
        entry = self._key_grants.get((region, key_id))
        if entry is not None and entry[0] > self._now() and not (
            self._open_transactions and self._in_transaction()
        ):
            self.hits += 1
            return entry[1]  # type: ignore[no-any-return]
        return self._load(
            self._key_grants, (region, key_id), lambda: tuple(self._inner.grants_for_key(region, key_id))
        )

    def get_grant(self, grant_id: str) -> GrantRecord | None:
        entry = self._grants.get(grant_id)
        if entry is not None and entry[0] > self._now() and not (
            self._open_transactions and self._in_transaction()
        ):
            self.hits += 1
            return entry[1]  # type: ignore[no-any-return]
        return self._load(self._grants, grant_id, lambda: self._inner.get_grant(grant_id))

    def create_grant(self, grant: GrantRecord) -> None:
        self._write(
            lambda: self._inner.create_grant(grant),
            Change(K.KEY_GRANTS, (grant.region, grant.key_id)), Change(K.GRANT, (grant.grant_id,)),
        )

    def delete_grant(self, grant_id: str) -> None:
        # The grant's key is not known here without a read: drop every key's grant list.
        self._write(lambda: self._inner.delete_grant(grant_id), Change(K.ALL_GRANTS))

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

    # -- web console (issue 21): sessions and sign-in counters are shared state, never cached --

    def create_console_session(self, session: ConsoleSession) -> None:
        self._inner.create_console_session(session)

    def get_console_session(self, token_sha256: str) -> ConsoleSession | None:
        return self._inner.get_console_session(token_sha256)

    def update_console_session(self, session: ConsoleSession) -> None:
        self._inner.update_console_session(session)

    def delete_console_session(self, token_sha256: str) -> None:
        self._inner.delete_console_session(token_sha256)

    def delete_console_sessions_ending(self, before: float) -> int:
        return self._inner.delete_console_sessions_ending(before)

    def list_console_sessions(self, principal_arn: str) -> Sequence[ConsoleSession]:
        return self._inner.list_console_sessions(principal_arn)

    def take_sign_in_attempt(self, subject: str, now: float, window_seconds: float, limit: int) -> bool:
        return self._inner.take_sign_in_attempt(subject, now, window_seconds, limit)

    def give_back_sign_in_attempt(self, subject: str) -> None:
        self._inner.give_back_sign_in_attempt(subject)

    def clear_sign_in_attempts(self, subject: str) -> None:
        self._inner.clear_sign_in_attempts(subject)

    def rewrap_root_blobs(self, rewrap: Callable[[str, tuple[str, ...], bytes], bytes | None]) -> int:
        # every wrapped blob may have changed
        return self._write(lambda: self._inner.rewrap_root_blobs(rewrap), Change(K.EVERYTHING))

    def reset(self) -> None:
        self._write(self._inner.reset, Change(K.EVERYTHING))

    # -- one transaction for a change and its audit event (issue 16) ----------------------

    def atomic(self) -> contextlib.AbstractContextManager[object]:
        return self._inner.atomic()

    def in_write_transaction(self) -> bool:
        return self._inner.in_write_transaction()

    def in_atomic(self) -> bool:
        return self._inner.in_atomic()

    def commit_so_far(self) -> None:
        self._inner.commit_so_far()

    @property
    def embedded(self) -> bool:
        return self._inner.embedded

    def after_transaction(self, hook: Callable[[], None], *, committed_only: bool = False) -> bool:
        return self._inner.after_transaction(hook, committed_only=committed_only)

    # -- the audit trail (issue 16): never cached ------------------------------------------

    def append_audit_events(self, records: Sequence[AuditRecord]) -> list[tuple[int, bytes]]:
        return self._inner.append_audit_events(records)

    def trail_heads(self) -> list[TrailHead]:
        return self._inner.trail_heads()

    def get_trail_head(self, trail: TrailKey) -> TrailHead | None:
        return self._inner.get_trail_head(trail)

    def read_audit_events(self, trail: TrailKey, after_sequence: int, limit: int) -> list[StoredEvent]:
        return self._inner.read_audit_events(trail, after_sequence, limit)

    def lookup_audit_events(self, query: LookupQuery) -> tuple[list[StoredEvent], bool]:
        return self._inner.lookup_audit_events(query)

    def audit_segments(self, trail: TrailKey, after_first_sequence: int, limit: int) -> list[EventSegment]:
        return self._inner.audit_segments(trail, after_first_sequence, limit)

    def record_log_file(self, record: LogFileRecord) -> None:
        self._inner.record_log_file(record)

    def mark_log_file_delivered(self, bucket: str, object_key: str) -> None:
        self._inner.mark_log_file_delivered(bucket, object_key)

    def log_files(self, trail: TrailKey | None = None, *, state: DeliveryState | None = None,
                  undigested: bool = False) -> list[LogFileRecord]:
        return self._inner.log_files(trail, state=state, undigested=undigested)

    def record_digest(self, digest: DigestRecord, log_file_keys: Sequence[str]) -> None:
        self._inner.record_digest(digest, log_file_keys)

    def mark_digest_delivered(self, trail: TrailKey, number: int) -> None:
        self._inner.mark_digest_delivered(trail, number)

    def digests(self, trail: TrailKey | None = None, *, state: DeliveryState | None = None,
                newest_only: bool = False, newest: int | None = None) -> list[DigestRecord]:
        return self._inner.digests(trail, state=state, newest_only=newest_only, newest=newest)

    def signing_keys(self) -> list[SigningKeyRecord]:
        return self._inner.signing_keys()

    def add_signing_key(self, key: SigningKeyRecord, expected_current: str | None) -> bool:
        return self._inner.add_signing_key(key, expected_current)

    def acquire_lease(self, name: str, holder: str, ttl_seconds: float) -> bool:
        return self._inner.acquire_lease(name, holder, ttl_seconds)

    def release_lease(self, name: str, holder: str) -> None:
        self._inner.release_lease(name, holder)

    def prune_audit_events(self, trail: TrailKey, before: float) -> int:
        return self._inner.prune_audit_events(trail, before)

    def close(self) -> None:
        self.invalidate_all()
        self._inner.close()


def _alias_change(account_id: str, region: str, name: str) -> Change:
    return Change(K.ALIAS, (account_id, region, name))
