"""What the service needs from storage, as Protocols (no SQL here).

Implementations: ``storage.sql`` (SQLite and PostgreSQL through SQLAlchemy Core)
and ``storage.cache`` (an in-process read cache in front of any of them). Each
method is one unit of work: it runs in one transaction and either happens
entirely or not at all. Foreign errors (SQLAlchemy, driver) never escape: a
uniqueness clash becomes :class:`Duplicate`, anything else :class:`StorageError`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Generic, Protocol, TypeVar

from trent.domain.audit_chain import AuditRecord, EventSegment, StoredEvent, TrailHead, TrailKey
from trent.domain.audit_delivery import DeliveryState, DigestRecord, LogFileRecord, LookupQuery, SigningKeyRecord
from trent.domain.console import ConsoleSession
from trent.domain.custom_key_stores import CustomKeyStore
from trent.domain.grants import GrantRecord
from trent.domain.keys import Alias, Key, KeyMaterial, MaterialImport, Tag
from trent.domain.lifecycle import KeyUse, RotationSchedule
from trent.domain.principals import AccessKey, Account, IdentityPolicy, Principal, Role
from trent.storage.changes import Change

T = TypeVar("T")


class StorageError(Exception):
    """The backing store failed; the service reports KMSInternalException."""


class Duplicate(StorageError):
    """A row with the same unique identity already exists."""


class BadMarker(StorageError):
    """A pagination marker this store did not issue."""


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    items: Sequence[T]
    next_marker: str | None  # None = not truncated


class KeyRepository(Protocol):
    def create_key(self, key: Key, material: KeyMaterial | None) -> None:
        """Insert a key and (unless PendingImport) its first material. Duplicate on clash."""

    def get_key(self, region: str, key_id: str) -> Key | None: ...

    def update_key(self, key: Key) -> None:
        """Overwrite the key row's mutable fields (state, description, dates, ...)."""

    def list_keys(self, account_id: str, region: str, limit: int, marker: str | None) -> Page[Key]:
        """Stable order (creation order). BadMarker for a marker not issued here."""

    def keys_due_for_deletion(self, now: float, limit: int = 100) -> Sequence[Key]:
        """Keys in PendingDeletion whose deletion_date <= now, any account/region."""

    def delete_key(self, region: str, key_id: str) -> None:
        """Remove the key with all its material, aliases, tags and grants (spec §5.3, §8)."""

    def list_key_members(self, key_id: str) -> Sequence[Key]:
        """Every regional row with this key id (a multi-Region key's primary and replicas,
        spec §12), in creation order; one row for a single-Region key, none if unknown."""

    def update_keys(self, keys: Sequence[Key]) -> None:
        """Overwrite several key rows' mutable fields in ONE transaction (UpdatePrimaryRegion)."""

    def add_material(self, material: KeyMaterial) -> None: ...

    def get_material(self, key_id: str, material_id: str, region: str | None = None) -> KeyMaterial | None:
        """The version as the member in ``region`` holds it: imported material carries that
        member's import (bytes, ExpirationModel, ValidTo; spec §9, §12) or none. Without a
        Region: the shared version alone."""

    def list_materials(self, key_id: str, region: str | None = None) -> Sequence[KeyMaterial]:
        """Every version in insertion order, as the member in ``region`` holds it."""

    # -- keys over time (issue 4) ------------------------------------------------------

    def update_material(self, material: KeyMaterial) -> None:
        """Overwrite a material row's mutable fields (wrapped, state, import fields). No-op if absent."""

    def delete_material(self, key_id: str, material_id: str) -> None:
        """The version and every member's import of it."""

    def rotate_material(self, key: Key, material: KeyMaterial) -> None:
        """One transaction: every CURRENT material of the key becomes NON_CURRENT, ``material``
        is inserted (or, if its row exists, overwritten) as given, and the key row is updated.
        Material is shared by every regional row of the key id (multi-Region keys, spec §12),
        so the other rows' current material id follows in the same transaction."""

    def materials_expiring(self, now: float, limit: int = 100) -> Sequence[tuple[Key, KeyMaterial]]:
        """Imports whose valid_to <= now, any key and Region: the member holding each, and
        the material as that member holds it."""

    # -- imported material per member (issue 19) ----------------------------------------

    def put_material_import(self, imported: MaterialImport) -> None:
        """Insert or replace the import of one version into one member (spec §9, §12)."""

    def delete_material_import(self, region: str, key_id: str, material_id: str) -> None:
        """That member no longer holds the material's bytes. Missing rows are ignored."""

    def list_material_imports(self, key_id: str) -> Sequence[MaterialImport]:
        """Every member's imports of the key id's material, by Region then material id."""

    def get_rotation_schedule(self, region: str, key_id: str) -> RotationSchedule | None: ...

    def put_rotation_schedule(self, schedule: RotationSchedule) -> None:
        """Insert or replace."""

    def rotations_due(self, now: float, limit: int = 100) -> Sequence[RotationSchedule]:
        """Enabled schedules with next_rotation_at <= now whose key is in state Enabled."""

    def record_key_usage(self, uses: Sequence[KeyUse]) -> None:
        """Upsert; an older use never overwrites a newer one."""

    def get_key_usage(self, region: str, key_id: str) -> KeyUse | None: ...

    def ensure_marker(self, name: str, value: float) -> float:
        """Store ``value`` under ``name`` unless a value is there; return the stored value."""


class AliasRepository(Protocol):
    def create_alias(self, alias: Alias) -> None:
        """Duplicate if (account, region, name) exists."""

    def get_alias(self, account_id: str, region: str, name: str) -> Alias | None: ...

    def claim_alias(self, alias: Alias) -> bool:
        """Point an alias that has no target at ``alias.target_key_id``, atomically: True if
        this call did it, False if the alias is missing or already targets a key."""

    def update_alias(self, alias: Alias) -> None: ...

    def delete_alias(self, account_id: str, region: str, name: str) -> None: ...

    def list_aliases(
        self, account_id: str, region: str, key_id: str | None, limit: int, marker: str | None
    ) -> Page[Alias]:
        """Sorted by alias name. BadMarker for a foreign marker."""

    def count_aliases_for_key(self, region: str, key_id: str) -> int: ...


class TagRepository(Protocol):
    def get_tags(self, region: str, key_id: str) -> Sequence[Tag]:
        """In tag-key order."""

    def put_tags(self, region: str, key_id: str, tags: Sequence[Tag]) -> None:
        """Insert or replace by tag key."""

    def remove_tags(self, region: str, key_id: str, tag_keys: Sequence[str]) -> None:
        """Missing keys are ignored."""


class IdentityRepository(Protocol):
    def create_account(self, account: Account) -> None: ...

    def get_account(self, account_id: str) -> Account | None: ...

    def list_accounts(self) -> Sequence[Account]: ...

    def create_principal(self, principal: Principal) -> None: ...

    def get_principal(self, arn: str) -> Principal | None: ...

    def list_principals(self, account_id: str) -> Sequence[Principal]: ...

    def create_access_key(self, key: AccessKey) -> None: ...

    def get_access_key(self, access_key_id: str) -> AccessKey | None: ...

    def list_access_keys(self, principal_arn: str) -> Sequence[AccessKey]: ...

    def delete_access_key(self, access_key_id: str) -> None: ...

    # -- roles and identity policies (issue 5) -------------------------------------------

    def create_role(self, role: Role) -> None:
        """Insert the role AND its principal row (kind ROLE) in one transaction; Duplicate on clash."""

    def get_role(self, arn: str) -> Role | None: ...

    def list_roles(self, account_id: str) -> Sequence[Role]:
        """In name order."""

    def update_role(self, role: Role) -> None:
        """Overwrite trust_policy and max_session_duration."""

    def delete_role(self, arn: str) -> None:
        """Remove the role, its principal row, its identity policies, and every session principal
        and access key issued from it."""

    def put_identity_policy(self, policy: IdentityPolicy) -> None:
        """Insert or replace by (principal_arn, name)."""

    def delete_identity_policy(self, principal_arn: str, name: str) -> None:
        """Missing ones are ignored."""

    def list_identity_policies(self, principal_arn: str) -> Sequence[IdentityPolicy]:
        """Hot path (cached): the inline policies of a user or role, in name order."""

    def delete_expired_access_keys(self, now: float) -> int:
        """Temporary (STS) access keys whose expires_at <= now; returns how many."""


class GrantRepository(Protocol):
    """Grants (issue 5, spec §8). Identity is (region, key_id, grant_id); grant ids are
    globally unique too, so a grant token can name one by id alone."""

    def create_grant(self, grant: GrantRecord) -> None:
        """Duplicate if the grant id exists."""

    def get_grant(self, grant_id: str) -> GrantRecord | None: ...

    def find_grant_by_name(self, region: str, key_id: str, name: str) -> Sequence[GrantRecord]:
        """Grants on the key with that Name (CreateGrant idempotency)."""

    def grants_for_key(self, region: str, key_id: str) -> Sequence[GrantRecord]:
        """Hot path (cached): every grant on the key, in creation order."""

    def list_grants(
        self,
        region: str,
        key_id: str,
        limit: int,
        marker: str | None,
        grant_id: str | None = None,
        grantee_principal: str | None = None,
    ) -> Page[GrantRecord]:
        """Creation order, optionally filtered. BadMarker for a foreign marker."""

    def list_retirable_grants(self, retiring_principal: str, limit: int, marker: str | None) -> Page[GrantRecord]:
        """Grants on any key whose retiring principal is exactly this ARN, creation order."""

    def count_grants(self, region: str, key_id: str) -> int: ...

    def delete_grant(self, grant_id: str) -> None:
        """Missing ones are ignored."""


class CustomKeyStoreRepository(Protocol):
    """Custom key stores (issue 7, spec §10.1)."""

    def create_custom_key_store(self, store: CustomKeyStore) -> None:
        """Duplicate if the name is taken in the account and Region."""

    def get_custom_key_store(self, custom_key_store_id: str) -> CustomKeyStore | None: ...

    def list_custom_key_stores(self, account_id: str | None = None, region: str | None = None) -> Sequence[CustomKeyStore]:
        """In creation order; every store when account and region are None."""
        ...

    def update_custom_key_store(self, store: CustomKeyStore) -> None: ...

    def delete_custom_key_store(self, custom_key_store_id: str) -> None: ...

    def count_keys_in_custom_key_store(self, custom_key_store_id: str) -> int: ...

    def rewrap_root_blobs(self, rewrap: Callable[[str, tuple[str, ...], bytes], bytes | None]) -> int:
        """Every root-wrapped blob through ``rewrap`` in ONE transaction (rewrap-root)."""
        ...


class ConsoleRepository(Protocol):
    """Web console sign-in (issue 21): sessions by token digest, sign-in attempt counters."""

    def create_console_session(self, session: ConsoleSession) -> None: ...

    def get_console_session(self, token_sha256: str) -> ConsoleSession | None: ...

    def update_console_session(self, session: ConsoleSession) -> None: ...

    def delete_console_session(self, token_sha256: str) -> None: ...

    def delete_console_sessions_ending(self, before: float) -> int:
        """Remove sessions whose absolute end is at or before ``before``; how many."""

    def list_console_sessions(self, principal_arn: str) -> Sequence[ConsoleSession]: ...

    def take_sign_in_attempt(self, subject: str, now: float, window_seconds: float, limit: int) -> bool:
        """Atomically count an attempt for ``subject`` unless it already has ``limit`` in the
        window that started less than ``window_seconds`` ago (then False)."""

    def give_back_sign_in_attempt(self, subject: str) -> None: ...

    def clear_sign_in_attempts(self, subject: str) -> None: ...


class Transactions(Protocol):
    """Check-then-act rules made atomic (issue 20).

    Inside ``with storage.transaction():`` every method of this thread joins ONE
    database transaction, committed when the block ends (rolled back if it raises);
    the ``lock_*`` reads take a row lock (PostgreSQL ``SELECT ... FOR UPDATE``; on
    SQLite the write transaction itself excludes every other writer) held until then,
    so a rule read under the lock ("the key is not already PendingDeletion", "fewer
    than 25 on-demand rotations", "no grant with this Name yet") still holds when the
    write commits, whatever other threads, processes and nodes do meanwhile.
    """

    def transaction(self) -> AbstractContextManager[None]:
        """An ``atomic()`` block whose write transaction begins at once (row locks hold)."""
        ...

    def lock_key(self, region: str, key_id: str) -> Key | None:
        """The key row as stored now, locked until the transaction ends."""

    def lock_custom_key_store(self, custom_key_store_id: str) -> CustomKeyStore | None:
        """The custom key store row as stored now, locked until the transaction ends."""

    def lock_account(self, account_id: str) -> Account | None:
        """The account row, locked until the transaction ends (per-account limits)."""

    def lock_principal(self, arn: str) -> Principal | None:
        """The principal row, locked until the transaction ends."""

    def publish_changes(self, changes: Sequence[Change]) -> None:
        """Announce on the invalidation feed, in the current transaction (change_feed.py)."""

    # Issue 16: a mutation and its audit event in one transaction (storage/transaction.py).
    def atomic(self) -> AbstractContextManager[object]:
        """Every call of this thread inside the block commits together, or none does;
        the block's writes are visible to its own reads. Nested blocks join the outer."""
        ...

    def in_atomic(self) -> bool: ...

    def in_write_transaction(self) -> bool:
        """Inside ``atomic()`` and past its first write."""
        ...

    def commit_so_far(self) -> None:
        """Commit what this thread's ``atomic()`` block wrote so far; the block goes on
        (its next write begins a new transaction). S3 uploads: never stream under the lock."""
        ...

    def after_transaction(self, hook: Callable[[], None], *, committed_only: bool = False) -> bool:
        """Run ``hook`` when this thread's ``atomic()`` block ends (or only if it commits)."""
        ...

    @property
    def embedded(self) -> bool:
        """An in-process database (SQLite) rather than a server (PostgreSQL)."""
        ...


class AuditRepository(Protocol):
    """The audit trail (issue 16): the outbox with its chain, LookupEvents, delivery."""

    def append_audit_events(self, records: Sequence[AuditRecord]) -> list[tuple[int, bytes]]:
        """Number and chain ``records`` per trail and store them — in the open ``atomic()``
        transaction if there is one. Returns each one's (sequence, chain hash)."""
        ...

    def trail_heads(self) -> list[TrailHead]: ...

    def get_trail_head(self, trail: TrailKey) -> TrailHead | None: ...

    def read_audit_events(self, trail: TrailKey, after_sequence: int, limit: int) -> list[StoredEvent]:
        """Events after ``after_sequence`` in sequence order."""
        ...

    def lookup_audit_events(self, query: LookupQuery) -> tuple[list[StoredEvent], bool]:
        """A page newest first, and whether more match."""
        ...

    def audit_segments(self, trail: TrailKey, after_first_sequence: int, limit: int) -> list[EventSegment]:
        """The stored segments after ``after_first_sequence``, in order (verification)."""
        ...

    def record_log_file(self, record: LogFileRecord) -> None: ...

    def mark_log_file_delivered(self, bucket: str, object_key: str) -> None: ...

    def log_files(self, trail: TrailKey | None = None, *, state: DeliveryState | None = None,
                  undigested: bool = False) -> list[LogFileRecord]: ...

    def record_digest(self, digest: DigestRecord, log_file_keys: Sequence[str]) -> None: ...

    def mark_digest_delivered(self, trail: TrailKey, number: int) -> None: ...

    def digests(self, trail: TrailKey | None = None, *, state: DeliveryState | None = None,
                newest_only: bool = False, newest: int | None = None) -> list[DigestRecord]:
        """In order; ``newest_only``: each trail's newest; ``newest``: at most that many,
        the newest (of one ``trail``; the console's bounded integrity check)."""
        ...

    def signing_keys(self) -> list[SigningKeyRecord]: ...

    def add_signing_key(self, key: SigningKeyRecord, expected_current: str | None) -> bool: ...

    def acquire_lease(self, name: str, holder: str, ttl_seconds: float) -> bool:
        """Take or renew a lease (``storage/leases.py``); False while another holds it."""
        ...

    def release_lease(self, name: str, holder: str) -> None: ...

    def prune_audit_events(self, trail: TrailKey, before: float) -> int: ...


class Storage(
    Transactions,
    KeyRepository, AliasRepository, TagRepository, IdentityRepository, GrantRepository, CustomKeyStoreRepository,
    ConsoleRepository, AuditRepository, Protocol
):
    """Everything at once; what bootstrap hands the service."""

    def reset(self) -> None:
        """Delete every row (``--dev`` reset only)."""

    def close(self) -> None: ...
