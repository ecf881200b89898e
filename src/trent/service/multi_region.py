"""Multi-Region keys (spec §12, issue 19): ReplicateKey, UpdatePrimaryRegion, and the rules
that tie the members of one key id together.

One Trent serves every Region it is configured for (``--regions``); a replica is simply
another row of the same key id in another Region of the same database, so nothing here
assumes one Region per process. What the members share lives once: the key material
(rows keyed by key id — every version, so related keys decrypt each other's
ciphertexts), and the automatic rotation schedule (kept on the primary's row). What is
independent lives per row: description, policy, grants, aliases, tags, enabled state,
deletion — and, for imported material, each member's import of it (bytes, ExpirationModel,
ValidTo: service/imports.py).

Texts AWS was not recorded saying are marked [?] (spec §14 lists the open questions).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass

from trent.domain.ids import key_arn
from trent.domain.key_states import check_state
from trent.domain.keys import Key, KeyState, Origin, Tag
from trent.domain.lifecycle import DAY
from trent.domain.multi_region import TRANSIENT_SECONDS, MultiRegionConfiguration, configuration
from trent.domain.policies import default_key_policy
from trent.domain.regions import partition_for, region_served
from trent.errors import AlreadyExists, NotFound, UnsupportedOperation
from trent.service import key_policies
from trent.service.authorization import authorize, authorize_create_key, authorized_key
from trent.service.availability import settled
from trent.service.context import RequestContext
from trent.service.deps import ServiceDeps
from trent.service.tags import check_new_tags
from trent.storage.repositories import Duplicate

SYNCHRONIZE = "SynchronizeMultiRegionKey"
CREATE_KEY = "CreateKey"  # the replica's creation, recorded in its own Region


def not_primary(key: Key) -> UnsupportedOperation:
    """[V: REC] ReplicateKey on a replica; also used for every other primary-only call."""
    return UnsupportedOperation(f"{key.arn} is not a multi-region primary key.")


def members(deps: ServiceDeps, key: Key) -> Sequence[Key]:
    """Every member row of ``key``'s multi-Region key (just ``key`` for a single-Region key)."""
    if not key.multi_region:
        return (key,)
    return [m for m in deps.storage.list_key_members(key.key_id) if m.account_id == key.account_id]


def has_replicas(deps: ServiceDeps, key: Key) -> bool:
    """Is ``key`` a primary with at least one replica?"""
    return key.multi_region and not key.is_replica and len(members(deps, key)) > 1


def configuration_of(deps: ServiceDeps, key: Key) -> MultiRegionConfiguration | None:
    return configuration(key, members(deps, key)) if key.multi_region else None


def synchronize(deps: ServiceDeps, primary: Key) -> None:
    """Record that the shared properties reached the replicas (spec §11 service event).
    Storage already made them shared in the change's own transaction."""
    if has_replicas(deps, primary):
        deps.service_events.emit(SYNCHRONIZE, primary)


def rotation_region(key: Key) -> str:
    """Automatic rotation is a shared property kept on the primary's row (spec §12)."""
    return key.primary_region if key.multi_region and key.primary_region else key.region


# --- ReplicateKey -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ReplicateKeyRequest:
    key_id: str
    replica_region: str
    policy: str | None = None
    bypass_policy_lockout_safety_check: bool = False
    description: str = ""
    tags: Sequence[Tag] = ()


@dataclass(frozen=True, slots=True)
class Replicated:
    primary: Key
    replica: Key
    tags: Sequence[Tag]


def _check_replica_region(deps: ServiceDeps, primary: Key, region: str) -> None:
    # spec §12: same partition, a Region this server serves. [?: AWS's text for a Region it
    # does not offer] UnsupportedOperationException, which ReplicateKey declares.
    if partition_for(region) != primary.partition or not region_served(deps.regions, region):
        raise UnsupportedOperation(f"{region} is not a supported region for this operation.")
    if region == primary.region or deps.storage.get_key(region, primary.key_id) is not None:
        raise AlreadyExists(f"{key_arn(primary.partition, region, primary.account_id, primary.key_id)} already exists")


def replicate_key(deps: ServiceDeps, ctx: RequestContext, req: ReplicateKeyRequest) -> Replicated:
    """kms:ReplicateKey on the primary (its key policy), kms:CreateKey (and TagResource for
    Tags) in IAM in the replica's Region; the replica answers Creating, Enabled false, and
    settles to Enabled (PendingImport for imported material) shortly after (spec §12)."""
    primary = authorized_key(deps, ctx, req.key_id, "ReplicateKey", extra={"kms:ReplicaRegion": req.replica_region})
    if not primary.multi_region or primary.is_replica:
        raise not_primary(primary)
    check_state("ReplicateKey", primary)
    region = req.replica_region
    _check_replica_region(deps, primary, region)
    replica_ctx = dataclasses.replace(ctx, region=region)
    authorize_create_key(deps, replica_ctx, primary.key_spec, primary.key_usage, primary.origin, True, req.tags,
                     req.bypass_policy_lockout_safety_check)
    check_new_tags(req.tags)
    arn = key_arn(primary.partition, region, primary.account_id, primary.key_id)
    if req.policy is not None:
        key_policies.check_new_policy(deps, replica_ctx, req.policy, arn, req.bypass_policy_lockout_safety_check)
    imported = primary.origin is Origin.EXTERNAL
    replica = Key(
        key_id=primary.key_id,
        account_id=primary.account_id,
        region=region,
        partition=primary.partition,
        key_spec=primary.key_spec,
        key_usage=primary.key_usage,
        origin=primary.origin,
        state=KeyState.CREATING,
        created_at=ctx.now,
        description=req.description,
        key_manager=primary.key_manager,
        multi_region=True,
        # Imported material is imported into each member (spec §9): none until then.
        current_material_id=None if imported else primary.current_material_id,
        policy=req.policy if req.policy is not None else default_key_policy(primary.account_id, primary.partition),
        primary_region=primary.region,
        transient_until=ctx.now + TRANSIENT_SECONDS,
        settled_state=KeyState.PENDING_IMPORT if imported else KeyState.ENABLED,
    )
    try:
        deps.storage.create_key(replica, None)
    except Duplicate:  # a concurrent ReplicateKey into the same Region won the race
        raise AlreadyExists(f"{arn} already exists") from None
    if req.tags:
        deps.storage.put_tags(region, replica.key_id, req.tags)
    # AWS records ReplicateKey in the primary's Region (the call's own event) and CreateKey
    # in the replica's Region (ReplicateKey docs; spec §11, §12).
    deps.service_events.emit(CREATE_KEY, replica)
    return Replicated(primary, replica, list(req.tags))


# --- UpdatePrimaryRegion ------------------------------------------------------------------


def _state_before_transition(key: Key) -> KeyState:
    if key.state in (KeyState.CREATING, KeyState.UPDATING) and key.settled_state is not None:
        return key.settled_state
    return key.state


def update_primary_region(deps: ServiceDeps, ctx: RequestContext, key_id: str, primary_region: str) -> Key:
    """Promote the replica in ``primary_region``; the old and the new primary both read
    Updating for a moment, then their own states again (spec §12). kms:UpdatePrimaryRegion
    is needed on both keys, each in its own Region."""
    primary = authorized_key(deps, ctx, key_id, "UpdatePrimaryRegion", extra={"kms:PrimaryRegion": primary_region})
    if not primary.multi_region or primary.is_replica:
        raise not_primary(primary)
    check_state("UpdatePrimaryRegion", primary)
    if primary_region == primary.region:
        return primary  # already the primary: nothing changes [?]
    stored = deps.storage.get_key(primary_region, primary.key_id)
    if stored is None or stored.account_id != primary.account_id:
        arn = key_arn(primary.partition, primary_region, primary.account_id, primary.key_id)
        raise NotFound(f"Key '{arn}' does not exist")
    target = settled(stored, ctx.now)
    # The same request on the replica that becomes primary: kms:PrimaryRegion applies there too.
    authorize(deps, dataclasses.replace(ctx, region=primary_region), "UpdatePrimaryRegion", target,
              extra={"kms:PrimaryRegion": primary_region})
    check_state("UpdatePrimaryRegion", target)
    until = ctx.now + TRANSIENT_SECONDS
    updated = []
    for member in members(deps, primary):
        member = settled(member, ctx.now)
        changes: dict[str, object] = {"primary_region": primary_region}
        if member.region in (primary.region, primary_region):
            changes.update(state=KeyState.UPDATING, settled_state=_state_before_transition(member),
                           transient_until=until)
        updated.append(member.with_changes(**changes))
    deps.storage.update_keys(updated)
    _move_rotation_schedule(deps, primary.key_id, primary.region, primary_region)
    new_primary = next(m for m in updated if m.region == primary_region)
    deps.service_events.emit(SYNCHRONIZE, new_primary)
    return primary


def _move_rotation_schedule(deps: ServiceDeps, key_id: str, old_region: str, new_region: str) -> None:
    """The automatic rotation setting is shared and kept on the primary's row: it moves."""
    schedule = deps.storage.get_rotation_schedule(old_region, key_id)
    if schedule is None:
        return
    deps.storage.put_rotation_schedule(dataclasses.replace(schedule, region=new_region))
    deps.storage.put_rotation_schedule(dataclasses.replace(schedule, enabled=False, next_rotation_at=None))


# --- deletion -----------------------------------------------------------------------------


def member_deleted(deps: ServiceDeps, deleted: Key, now: float) -> None:
    """The sweeper deleted a member: a primary waiting in PendingReplicaDeletion whose last
    replica this was starts its own waiting period now (spec §5.3, §12)."""
    remaining = [m for m in deps.storage.list_key_members(deleted.key_id) if m.account_id == deleted.account_id]
    if len(remaining) != 1:
        return
    last = remaining[0]
    if last.state is KeyState.PENDING_REPLICA_DELETION:
        days = last.pending_window_days or 30
        deps.storage.update_key(last.with_changes(state=KeyState.PENDING_DELETION, deletion_date=now + days * DAY))
