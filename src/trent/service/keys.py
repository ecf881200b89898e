"""Key lifecycle: CreateKey, DescribeKey, ListKeys, Enable/Disable, descriptions,
scheduled deletion and the sweeper that carries it out (spec §3.1, §4, §5)."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from trent.domain.ids import key_arn, uuid4_from
from trent.domain.key_specs import CHINA_REGION_PREFIX, IMPLEMENTED_SPECS, KEY_SPECS
from trent.domain.key_states import check_state
from trent.domain.keys import Key, KeyMaterial, KeySpec, KeyState, KeyUsage, MaterialState, Origin, Tag
from trent.domain.policies import default_key_policy
from trent.errors import (
    InvalidMarker,
    UnsupportedOperation,
    ValidationError,
)
from trent.keystores.base import KeyStoreError
from trent.service import aws_managed_keys, custom_key_stores, key_policies, multi_region
from trent.service.context import RequestContext
from trent.service.key_generation import new_material
from trent.service.key_material import forget as forget_parsed_material
from trent.service.deps import ServiceDeps
from trent.service.authorization import authorize_account, authorize_create_key, authorized_key
from trent.service.availability import effective
from trent.service.locking import locked_key, locked_store
from trent.service.tags import check_new_tags
from trent.storage.repositories import BadMarker, Page

log = logging.getLogger("trent.keys")

DAY = 86_400
MIN_PENDING_WINDOW_DAYS = 7
MAX_PENDING_WINDOW_DAYS = 30
DEFAULT_PENDING_WINDOW_DAYS = 30


@dataclass(frozen=True, slots=True)
class CreateKeyRequest:
    key_spec: str | None = None
    customer_master_key_spec: str | None = None
    key_usage: str | None = None
    origin: str | None = None
    description: str = ""
    policy: str | None = None
    tags: Sequence[Tag] = ()
    multi_region: bool = False
    custom_key_store_id: str | None = None
    xks_key_id: str | None = None
    bypass_policy_lockout_safety_check: bool = False


def _validated_spec_and_usage(req: CreateKeyRequest, region: str) -> tuple[KeySpec, KeyUsage]:
    """spec §3.1 CreateKey validation, in the order AWS applies it."""
    if req.key_spec is not None and req.customer_master_key_spec is not None:
        raise ValidationError(
            "You cannot specify KeySpec and CustomerMasterKeySpec in the same request. "
            "CustomerMasterKeySpec is deprecated."
        )
    spec = KeySpec(req.key_spec or req.customer_master_key_spec or KeySpec.SYMMETRIC_DEFAULT)
    info = KEY_SPECS[spec]
    if req.key_usage is None:
        if info.default_usage is None:
            raise ValidationError("You must specify a KeyUsage value for all KMS keys except for symmetric encryption keys.")
        usage = info.default_usage
    else:
        usage = KeyUsage(req.key_usage)
    if usage not in info.usages:
        raise ValidationError(f"KeyUsage {usage} is not compatible with KeySpec {spec}")
    if info.china_regions_only and not region.startswith(CHINA_REGION_PREFIX):
        # spec §3.1: SM2 exists only in the China Regions; elsewhere AWS refuses it.
        raise UnsupportedOperation(f"KeySpec {spec} is not supported in this region. SM2 is available only in China Regions.")
    return spec, usage


def create_key(deps: ServiceDeps, ctx: RequestContext, req: CreateKeyRequest) -> Key:
    spec, usage = _validated_spec_and_usage(req, ctx.region)
    origin = Origin(req.origin or Origin.AWS_KMS)
    authorize_create_key(deps, ctx, spec, usage, origin, req.multi_region, req.tags, req.bypass_policy_lockout_safety_check)
    store_id: str | None = None
    if req.custom_key_store_id is not None or origin in (Origin.AWS_CLOUDHSM, Origin.EXTERNAL_KEY_STORE):
        # spec §10.1: the key is created inside the store's HSM (issue 7).
        store_id = custom_key_stores.store_for_new_key(
            deps, ctx, origin, req.custom_key_store_id, spec, req.multi_region
        )
    if spec not in IMPLEMENTED_SPECS:
        raise UnsupportedOperation(f"KeySpec {spec} is not supported by this Trent server yet.")
    check_new_tags(req.tags)

    key_id = f"mrk-{deps.rng(16).hex()}" if req.multi_region else uuid4_from(deps.rng(16))
    if req.policy is not None:
        # spec §7.2: validated, and the lockout check, before anything is created.
        key_policies.check_new_policy(
            deps, ctx, req.policy, key_arn(ctx.partition, ctx.region, ctx.account_id, key_id),
            req.bypass_policy_lockout_safety_check,
        )
    material: KeyMaterial | None = None
    state = KeyState.ENABLED
    if origin is Origin.EXTERNAL:
        state = KeyState.PENDING_IMPORT  # spec §4.1: no material until ImportKeyMaterial
    elif store_id is not None:
        material_id, wrapped = custom_key_stores.new_key_material(deps, store_id, key_id)
        material = KeyMaterial(key_id, material_id, wrapped, MaterialState.CURRENT, ctx.now)
    else:
        material_id, wrapped = new_material(deps, key_id, spec)  # spec §3.1: every family
        material = KeyMaterial(key_id, material_id, wrapped, MaterialState.CURRENT, ctx.now)
    key = Key(
        key_id=key_id,
        account_id=ctx.account_id,
        region=ctx.region,
        partition=ctx.partition,
        key_spec=spec,
        key_usage=usage,
        origin=origin,
        state=state,
        created_at=ctx.now,
        description=req.description,
        multi_region=req.multi_region,
        primary_region=ctx.region if req.multi_region else None,
        current_material_id=material.material_id if material else None,
        policy=req.policy if req.policy is not None else default_key_policy(ctx.account_id, ctx.partition),
        custom_key_store_id=store_id,
    )
    # One transaction: the key with its tags, or nothing. A key in a custom key store is
    # created under the store's row lock, so DeleteCustomKeyStore cannot slip in between
    # its "connected, no keys" check and this insert (issue 20).
    with deps.storage.transaction():
        if store_id is not None:
            with locked_store(deps, store_id) as store:
                custom_key_stores.require_connected(store)
        deps.storage.create_key(key, material)
        if req.tags:
            deps.storage.put_tags(key.region, key.key_id, req.tags)
    return key


def describe_key(deps: ServiceDeps, ctx: RequestContext, key_id: str) -> Key:
    aws_managed_keys.create_on_describe(deps, ctx, key_id)  # alias/aws/<service> with no key yet
    return authorized_key(deps, ctx, key_id, "DescribeKey")


def list_keys(deps: ServiceDeps, ctx: RequestContext, limit: int, marker: str | None) -> Page[Key]:
    authorize_account(deps, ctx, "ListKeys")  # IAM-only (spec §7.3)
    try:
        return deps.storage.list_keys(ctx.account_id, ctx.region, limit, marker)
    except BadMarker:
        raise InvalidMarker() from None


def _set_state(deps: ServiceDeps, ctx: RequestContext, key_id: str, operation: str, state: KeyState) -> Key:
    key = authorized_key(deps, ctx, key_id, operation)
    with locked_key(deps, key) as stored:
        check_state(operation, effective(deps, stored))
        if stored.state is not state:  # spec §5.3: idempotent
            stored = stored.with_changes(state=state)
            deps.storage.update_key(stored)
    return stored


def enable_key(deps: ServiceDeps, ctx: RequestContext, key_id: str) -> Key:
    return _set_state(deps, ctx, key_id, "EnableKey", KeyState.ENABLED)


def disable_key(deps: ServiceDeps, ctx: RequestContext, key_id: str) -> Key:
    return _set_state(deps, ctx, key_id, "DisableKey", KeyState.DISABLED)


def update_key_description(deps: ServiceDeps, ctx: RequestContext, key_id: str, description: str) -> Key:
    key = authorized_key(deps, ctx, key_id, "UpdateKeyDescription")
    # Write over the stored row: ``key`` may carry the Unavailable overlay (spec §4.1).
    with locked_key(deps, key) as stored:
        check_state("UpdateKeyDescription", effective(deps, stored))
        deps.storage.update_key(stored.with_changes(description=description))
    return effective(deps, stored).with_changes(description=description)


def schedule_key_deletion(deps: ServiceDeps, ctx: RequestContext, key_id: str, window_days: int | None) -> Key:
    days = DEFAULT_PENDING_WINDOW_DAYS if window_days is None else window_days
    key = authorized_key(
        deps, ctx, key_id, "ScheduleKeyDeletion", extra={"kms:ScheduleKeyDeletionPendingWindowInDays": str(days)}
    )
    # The model allows 1-365; the service allows 7-30 (spec §5.3). AWS words it
    # in the front-end template (spec §1.7).
    if days < MIN_PENDING_WINDOW_DAYS:
        raise ValidationError(
            f"1 validation error detected: Value '{days}' at 'pendingWindowInDays' failed to satisfy "
            f"constraint: Member must have value greater than or equal to {MIN_PENDING_WINDOW_DAYS}"
        )
    if days > MAX_PENDING_WINDOW_DAYS:
        raise ValidationError(
            f"1 validation error detected: Value '{days}' at 'pendingWindowInDays' failed to satisfy "
            f"constraint: Member must have value less than or equal to {MAX_PENDING_WINDOW_DAYS}"
        )
    # Under the key's row lock (issue 20): of 16 racing calls exactly one finds the key
    # Enabled/Disabled; the others find it PendingDeletion (KMSInvalidStateException).
    with locked_key(deps, key) as stored:
        check_state("ScheduleKeyDeletion", effective(deps, stored))
        if multi_region.has_replicas(deps, stored):
            # spec §12: a primary waits in PendingReplicaDeletion until its replicas are gone;
            # its own window starts then (multi_region.member_deleted).
            scheduled = stored.with_changes(
                state=KeyState.PENDING_REPLICA_DELETION, deletion_date=None, pending_window_days=days
            )
        else:
            scheduled = stored.with_changes(
                state=KeyState.PENDING_DELETION, deletion_date=ctx.now + days * DAY, pending_window_days=days
            )
        deps.storage.update_key(scheduled)
    return scheduled


def cancel_key_deletion(deps: ServiceDeps, ctx: RequestContext, key_id: str) -> Key:
    key = authorized_key(deps, ctx, key_id, "CancelKeyDeletion")
    with locked_key(deps, key) as stored:
        check_state("CancelKeyDeletion", effective(deps, stored))
        # spec §5.3: the key comes back Disabled; the caller must EnableKey.
        cancelled = stored.with_changes(state=KeyState.DISABLED, deletion_date=None, pending_window_days=None)
        deps.storage.update_key(cancelled)
    return cancelled


def _destroy_store_objects(deps: ServiceDeps, key: Key, materials: Sequence[KeyMaterial]) -> None:
    """Keys inside an HSM store their material there: destroy it too (spec §10.1)."""
    destroy = getattr(deps.keystore, "destroy_material", None)
    if destroy is None:
        return
    for material in materials:
        try:
            destroyed = destroy(material)
        except KeyStoreError as exc:
            destroyed = False
            log.error("could not destroy the HSM object of deleted key %s: %s", key.arn, exc)
        if not destroyed:
            log.warning("deleted key %s left an orphaned key object in custom key store %s", key.arn,
                        key.custom_key_store_id)


def _still_due(key: Key | None, now: float) -> bool:
    return (
        key is not None and key.state is KeyState.PENDING_DELETION
        and key.deletion_date is not None and key.deletion_date <= now
    )


def delete_due_keys(deps: ServiceDeps, now: float, on_deleted: Callable[[Key], None]) -> int:
    """The sweeper's step: delete every key whose window has ended (spec §5.3).

    Each deletion removes the key, its material, aliases and tags in one
    transaction with ``on_deleted``'s writes (its audit event), then drops any
    unwrapped material the key store has cached.
    """
    deleted = 0
    while True:
        due = deps.storage.keys_due_for_deletion(now)
        if not due:
            return deleted
        for key in due:
            # Re-checked under the key's lock: a CancelKeyDeletion that won the race (or
            # another node's sweep that already deleted it) leaves the key alone. The
            # deletion and its DeleteKey event commit together (issue 16): if the event
            # cannot be recorded the key stays, and the next sweep tries again.
            with deps.storage.transaction():
                stored = deps.storage.lock_key(key.region, key.key_id)
                if not _still_due(stored, now):
                    continue
                materials = deps.storage.list_materials(key.key_id) if key.custom_key_store_id else ()
                deps.storage.delete_key(key.region, key.key_id)
                on_deleted(key)
            _destroy_store_objects(deps, key, materials)
            forget = getattr(deps.keystore, "forget", None)
            if forget is not None:
                forget(key.key_id)
            forget_parsed_material(key.key_id)
            deleted += 1
            if key.multi_region:
                multi_region.member_deleted(deps, key, now)

