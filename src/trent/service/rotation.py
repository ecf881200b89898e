"""Key rotation (spec §5.4): automatic schedules, on-demand rotation, ListKeyRotations,
and the sweeper step that performs automatic rotations when they fall due.

Every rotation adds a material version under the same key id: the new one becomes
CURRENT, the previous CURRENT becomes NON_CURRENT (decrypt only), and old ciphertexts
keep naming the version they were sealed under (ciphertext header), so they all
still decrypt. Storage does the state swap and the key update in one transaction.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

from trent.domain.key_states import check_state
from trent.domain.keys import IMPORTED, Key, KeyMaterial, KeySpec, KeyState, MaterialState, Origin
from trent.domain.lifecycle import (
    DAY,
    DEFAULT_ROTATION_PERIOD_DAYS,
    MAX_ROTATION_PERIOD_DAYS,
    MIN_ROTATION_PERIOD_DAYS,
    ON_DEMAND_ROTATION_LIMIT,
    RotationSchedule,
)
from trent.errors import KMSInvalidState, LimitExceeded, UnsupportedOperation, ValidationError
from trent.service import multi_region
from trent.service.context import RequestContext
from trent.service.deps import ServiceDeps
from trent.service.imports import key_with_import_summary, shared_version
from trent.service.pagination import paginate_list
from trent.service.authorization import authorized_key
from trent.service.availability import effective
from trent.service.locking import locked_key, locked_member
from trent.storage.repositories import Page

AUTOMATIC = "AUTOMATIC"
ON_DEMAND = "ON_DEMAND"
ROTATIONS_ONLY = "ROTATIONS_ONLY"
_PENDING_DELETION = frozenset({KeyState.PENDING_DELETION, KeyState.PENDING_REPLICA_DELETION})


@dataclass(frozen=True, slots=True)
class RotationStatus:
    key: Key
    enabled: bool
    period_days: int | None = None
    next_rotation_at: float | None = None


def _origin_error(key: Key) -> UnsupportedOperation:
    return UnsupportedOperation(f"{key.arn} origin is {key.origin} which is not valid for this operation.")


def _require_rotatable(key: Key) -> None:
    """spec §5.4: only symmetric encryption keys in Trent's own store rotate; asymmetric
    and HMAC keys (and custom key store keys) are refused with no message (REC)."""
    if key.key_spec is not KeySpec.SYMMETRIC_DEFAULT or key.custom_key_store_id is not None:
        raise UnsupportedOperation()


def _require_automatic(key: Key, operation: str) -> None:
    _require_rotatable(key)
    if key.origin is not Origin.AWS_KMS:  # automatic rotation is not for imported material
        raise _origin_error(key)
    check_state(operation, key)
    if key.is_replica:  # spec §12: a shared property, set on the primary only
        raise multi_region.not_primary(key)


def enable_key_rotation(deps: ServiceDeps, ctx: RequestContext, key_id: str, period_days: int | None) -> Key:
    extra = {} if period_days is None else {"kms:RotationPeriodInDays": str(period_days)}
    key = authorized_key(deps, ctx, key_id, "EnableKeyRotation", extra=extra)
    days = DEFAULT_ROTATION_PERIOD_DAYS if period_days is None else period_days
    if not MIN_ROTATION_PERIOD_DAYS <= days <= MAX_ROTATION_PERIOD_DAYS:
        raise ValidationError(
            f"1 validation error detected: Value '{days}' at 'rotationPeriodInDays' failed to satisfy "
            f"constraint: Member must have value {'greater than or equal to 90' if days < 90 else 'less than or equal to 2560'}"
        )
    _require_automatic(key, "EnableKeyRotation")
    with locked_key(deps, key) as stored:  # the schedule is read and replaced as one step
        _require_automatic(effective(deps, stored), "EnableKeyRotation")
        current = deps.storage.get_rotation_schedule(key.region, key.key_id)
        if current is not None and current.enabled and current.next_rotation_at is not None:
            # Re-calling changes the period: the next date counts from the last rotation.
            last = current.next_rotation_at - current.period_days * DAY
            next_at = last + days * DAY
        else:
            next_at = ctx.now + days * DAY
        deps.storage.put_rotation_schedule(RotationSchedule(key.region, key.key_id, True, days, next_at))
        multi_region.synchronize(deps, key)
    return key


def disable_key_rotation(deps: ServiceDeps, ctx: RequestContext, key_id: str) -> Key:
    key = authorized_key(deps, ctx, key_id, "DisableKeyRotation")
    _require_automatic(key, "DisableKeyRotation")
    with locked_key(deps, key) as stored:
        _require_automatic(effective(deps, stored), "DisableKeyRotation")
        current = deps.storage.get_rotation_schedule(key.region, key.key_id)
        period = current.period_days if current is not None else DEFAULT_ROTATION_PERIOD_DAYS
        deps.storage.put_rotation_schedule(RotationSchedule(key.region, key.key_id, False, period, None))
        multi_region.synchronize(deps, key)
    return key


def get_key_rotation_status(deps: ServiceDeps, ctx: RequestContext, key_id: str) -> RotationStatus:
    key = authorized_key(deps, ctx, key_id, "GetKeyRotationStatus")
    _require_rotatable(key)
    if key.origin is not Origin.AWS_KMS:
        if key.state is KeyState.PENDING_IMPORT:
            raise _origin_error(key)  # spec §4.3 row GetKeyRotationStatus, PImp column
        return RotationStatus(key, False)
    check_state("GetKeyRotationStatus", key)
    # A replica reports its primary's setting: automatic rotation is shared (spec §12).
    schedule = deps.storage.get_rotation_schedule(multi_region.rotation_region(key), key.key_id)
    # spec §5.3: while pending deletion the status reads false (rotation is suspended);
    # PendingReplicaDeletion is pending deletion too (spec §4.3 puts both in one column).
    if schedule is None or not schedule.enabled or key.state in _PENDING_DELETION:
        return RotationStatus(key, False)
    return RotationStatus(key, True, schedule.period_days, schedule.next_rotation_at)


def _rotated_key(deps: ServiceDeps, key: Key, material: KeyMaterial) -> Key:
    rotated = key.with_changes(current_material_id=material.material_id)
    if key.origin is Origin.EXTERNAL:
        others = [m for m in deps.storage.list_materials(key.key_id, key.region) if m.material_id != material.material_id]
        rotated = key_with_import_summary(rotated, [*others, material])
    return rotated


def _imported_by_every_member(deps: ServiceDeps, key: Key, material_id: str) -> bool:
    """Pending material of a multi-Region key is rotated in only once every member has
    imported it (spec §9 "Multi-Region"; until then it is
    PENDING_MULTI_REGION_IMPORT_AND_ROTATION)."""
    if not key.multi_region:
        return True
    holders = {i.region for i in deps.storage.list_material_imports(key.key_id) if i.material_id == material_id}
    return all(m.region in holders for m in multi_region.members(deps, key))


def rotate(deps: ServiceDeps, key: Key, now: float, rotation_type: str) -> KeyMaterial:
    """Make new material CURRENT (spec §5.4 "Effect")."""
    if key.origin is Origin.EXTERNAL:
        pending = [
            m for m in deps.storage.list_materials(key.key_id, key.region)
            if m.state is MaterialState.PENDING_ROTATION and m.import_state == IMPORTED
            and _imported_by_every_member(deps, key, m.material_id)
        ]
        if not pending:  # [?] AWS's text when replicas still lack the pending material
            raise KMSInvalidState(f"No available key material pending rotation for the key: {key.arn}.")
        material = replace(pending[0], state=MaterialState.CURRENT, created_at=now, rotation_type=rotation_type)
        deps.storage.rotate_material(_rotated_key(deps, key, material), shared_version(material))
        _resummarize_other_members(deps, key)
    else:
        material_id, wrapped = deps.keystore.new_symmetric_material(key.key_id)
        material = KeyMaterial(key.key_id, material_id, wrapped, MaterialState.CURRENT, now, rotation_type)
        deps.storage.rotate_material(_rotated_key(deps, key, material), material)
    if key.multi_region:  # every member now uses the new material (same transaction)
        multi_region.synchronize(deps, key)
    return material


def _resummarize_other_members(deps: ServiceDeps, key: Key) -> None:
    """Imported material: the rotated-in version is now associated with every member, so
    each member's ValidTo (earliest expiry of its associated material) may change."""
    for member in multi_region.members(deps, key):
        if member.region == key.region:
            continue
        stored = deps.storage.get_key(member.region, member.key_id)
        if stored is None:
            continue
        updated = key_with_import_summary(stored, deps.storage.list_materials(stored.key_id, stored.region))
        if updated != stored:
            deps.storage.update_key(updated)


def rotate_key_on_demand(deps: ServiceDeps, ctx: RequestContext, key_id: str) -> Key:
    key = authorized_key(deps, ctx, key_id, "RotateKeyOnDemand")
    # AWS checks the key state before the key type: a Disabled HMAC key is
    # DisabledException, not UnsupportedOperationException (recorded; issue 19).
    check_state("RotateKeyOnDemand", key)
    _require_rotatable(key)
    if key.is_replica:  # spec §5.4: on the primary only; the replicas follow
        raise multi_region.not_primary(key)
    # Counted and rotated under the key's row lock (issue 20): however many calls race,
    # at most 25 on-demand rotations are ever recorded.
    with locked_member(deps, key) as stored:
        check_state("RotateKeyOnDemand", effective(deps, stored))
        done = sum(1 for m in deps.storage.list_materials(key.key_id) if m.rotation_type == ON_DEMAND)
        if done >= ON_DEMAND_ROTATION_LIMIT:
            raise LimitExceeded(
                "The on-demand rotations limit has been reached for the given keyId. "
                f"No more on-demand rotations can be performed for this key: {key.arn}"
            )
        # Synchronous here, so OnDemandRotationStartDate is never observed in progress, and
        # the automatic schedule is left as it was (spec §5.4).
        rotate(deps, stored, ctx.now, ON_DEMAND)
    return key


def list_key_rotations(
    deps: ServiceDeps, ctx: RequestContext, key_id: str, include: str | None, limit: int, marker: str | None
) -> tuple[Key, Page[KeyMaterial]]:
    key = authorized_key(deps, ctx, key_id, "ListKeyRotations")
    _require_rotatable(key)
    # As this member holds them: ImportState, ExpirationModel and ValidTo are its own.
    materials: Sequence[KeyMaterial] = deps.storage.list_materials(key.key_id, key.region)
    if key.origin is Origin.EXTERNAL and key.multi_region:
        materials = [
            replace(m, state=MaterialState.PENDING_MULTI_REGION_IMPORT_AND_ROTATION)
            if m.state is MaterialState.PENDING_ROTATION and not _imported_by_every_member(deps, key, m.material_id)
            else m
            for m in materials
        ]
    if (include or ROTATIONS_ONLY) == ROTATIONS_ONLY:
        # Only material that rotations made current; not the first, not pending.
        materials = [m for m in materials if m.rotation_type is not None]
    return key, paginate_list(materials, limit, marker)


def _still_due(schedule: RotationSchedule, key: Key | None, now: float) -> bool:
    if not schedule.enabled or schedule.next_rotation_at is None or schedule.next_rotation_at > now:
        return False
    return key is None or key.state is KeyState.ENABLED


def rotate_due_keys(deps: ServiceDeps, now: float, on_rotated: Callable[[Key, KeyMaterial], None]) -> int:
    """The sweeper's step: automatic rotations that are due (spec §5.4).

    Storage only hands back schedules of Enabled keys, so a Disabled or PendingDeletion
    key is skipped until it is Enabled again, and then rotated at once if its date
    passed meanwhile (the catch-up rule). One rotation per due date: a long clock jump
    rotates once, dated now, and schedules the next one a full period later.
    """
    rotated = 0
    while True:
        due = deps.storage.rotations_due(now)
        if not due:
            return rotated
        for due_schedule in due:
            # Re-read under the key's row lock (issue 20): a rotation another node's sweep
            # made meanwhile moved next_rotation_at, and this one is skipped. The rotation
            # and its RotateKey event commit together (issue 16).
            with deps.storage.transaction():
                key = deps.storage.lock_key(due_schedule.region, due_schedule.key_id)
                schedule = deps.storage.get_rotation_schedule(due_schedule.region, due_schedule.key_id)
                if schedule is None or not _still_due(schedule, key, now):
                    continue
                if key is None or key.origin is not Origin.AWS_KMS or key.key_spec is not KeySpec.SYMMETRIC_DEFAULT:
                    deps.storage.put_rotation_schedule(replace(schedule, enabled=False, next_rotation_at=None))
                    continue
                material = rotate(deps, key, now, AUTOMATIC)
                deps.storage.put_rotation_schedule(replace(schedule, next_rotation_at=now + schedule.period_days * DAY))
                on_rotated(key, material)
            rotated += 1
