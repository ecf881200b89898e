"""Keys over time in storage (issue 4), on every backend: material updates and atomic
rotation, expiry scans, rotation schedules, last usage, markers, and deletion cascades."""

from __future__ import annotations

from dataclasses import replace

from trent.domain.keys import KeyState, MaterialImport, MaterialState
from trent.domain.lifecycle import KeyUse, RotationSchedule
from trent.storage.repositories import Storage

from .builders import REGION, T0, key, material


def test_update_material_round_trips_the_shared_fields(storage: Storage) -> None:
    """The version's own fields round-trip; a member's import fields (ExpirationModel,
    ValidTo) live in its MaterialImport (issue 19), never in the shared row."""
    k = key()
    m = material(k)
    storage.create_key(k.with_changes(current_material_id=m.material_id), m)
    assert storage.get_material(k.key_id, m.material_id) == m  # prime any cache
    changed = replace(m, wrapped=b"", import_state="PENDING_IMPORT", description="imported once")
    storage.update_material(changed)
    assert storage.get_material(k.key_id, m.material_id) == changed
    assert storage.get_material(k.key_id, m.material_id, REGION) == changed  # no import: as shared
    storage.update_material(material(k))  # missing row: no-op
    assert len(storage.list_materials(k.key_id)) == 1


def test_delete_material(storage: Storage) -> None:
    k = key()
    m = material(k)
    storage.create_key(k, m)
    assert storage.get_material(k.key_id, m.material_id) is not None
    storage.delete_material(k.key_id, m.material_id)
    assert storage.get_material(k.key_id, m.material_id) is None
    assert storage.list_materials(k.key_id) == []


def test_rotate_material_is_one_step(storage: Storage) -> None:
    k = key()
    first = material(k)
    k = k.with_changes(current_material_id=first.material_id)
    storage.create_key(k, first)
    assert storage.get_key(k.region, k.key_id) == k
    second = material(k, state=MaterialState.CURRENT, created_at=T0 + 1, rotation_type="ON_DEMAND")
    rotated = k.with_changes(current_material_id=second.material_id)
    storage.rotate_material(rotated, second)
    assert storage.get_key(k.region, k.key_id) == rotated
    states = {m.material_id: m.state for m in storage.list_materials(k.key_id)}
    assert states == {first.material_id: MaterialState.NON_CURRENT, second.material_id: MaterialState.CURRENT}
    assert storage.get_material(k.key_id, first.material_id).state is MaterialState.NON_CURRENT
    # An existing (pending) row is overwritten rather than duplicated.
    pending = material(k, state=MaterialState.PENDING_ROTATION, created_at=T0 + 2)
    storage.add_material(pending)
    third = replace(pending, state=MaterialState.CURRENT, rotation_type="ON_DEMAND")
    storage.rotate_material(rotated.with_changes(current_material_id=third.material_id), third)
    assert [m.state for m in storage.list_materials(k.key_id)] == [
        MaterialState.NON_CURRENT, MaterialState.NON_CURRENT, MaterialState.CURRENT]


def test_materials_expiring(storage: Storage) -> None:
    k = key()
    soon, later, gone, forever = (material(k, wrapped=b"", import_state="PENDING_IMPORT") for _ in range(4))
    storage.create_key(k, soon)
    for m in (later, gone, forever):
        storage.add_material(m)
    for m, valid_to in ((soon, T0 + 10), (later, T0 + 100)):
        storage.put_material_import(MaterialImport(REGION, k.key_id, m.material_id, b"w", "KEY_MATERIAL_EXPIRES", valid_to))
    storage.put_material_import(MaterialImport(REGION, k.key_id, forever.material_id, b"w", "KEY_MATERIAL_DOES_NOT_EXPIRE"))
    assert storage.materials_expiring(T0) == []
    assert [(k2.key_id, m.material_id) for k2, m in storage.materials_expiring(T0 + 50)] == [(k.key_id, soon.material_id)]
    due = storage.materials_expiring(T0 + 100)
    assert [m.material_id for _, m in due] == [soon.material_id, later.material_id]
    assert [(m.import_state, m.valid_to, m.wrapped) for _, m in due] == [("IMPORTED", T0 + 10, b"w"), ("IMPORTED", T0 + 100, b"w")]


def test_rotation_schedules(storage: Storage) -> None:
    enabled, disabled = key(), key(state=KeyState.DISABLED)
    for k in (enabled, disabled):
        storage.create_key(k, None)
    assert storage.get_rotation_schedule(REGION, enabled.key_id) is None
    for k in (enabled, disabled):
        storage.put_rotation_schedule(RotationSchedule(k.region, k.key_id, True, 90, T0 + 10))
    assert storage.get_rotation_schedule(REGION, enabled.key_id) == RotationSchedule(REGION, enabled.key_id, True, 90, T0 + 10)
    assert storage.rotations_due(T0) == []
    # Disabled keys are paused: not due.
    assert [s.key_id for s in storage.rotations_due(T0 + 10)] == [enabled.key_id]
    storage.put_rotation_schedule(RotationSchedule(REGION, enabled.key_id, False, 365, None))
    assert storage.get_rotation_schedule(REGION, enabled.key_id).period_days == 365
    assert storage.rotations_due(T0 + 1000) == []
    storage.delete_key(REGION, enabled.key_id)
    assert storage.get_rotation_schedule(REGION, enabled.key_id) is None


def test_key_usage_keeps_the_latest(storage: Storage) -> None:
    k = key()
    storage.create_key(k, None)
    assert storage.get_key_usage(REGION, k.key_id) is None
    storage.record_key_usage([KeyUse(REGION, k.key_id, "Encrypt", T0 + 5, "r1")])
    storage.record_key_usage([KeyUse(REGION, k.key_id, "Decrypt", T0 + 1, "r0")])  # older: ignored
    assert storage.get_key_usage(REGION, k.key_id) == KeyUse(REGION, k.key_id, "Encrypt", T0 + 5, "r1")
    storage.record_key_usage([KeyUse(REGION, k.key_id, "Decrypt", T0 + 9, "r2")])
    assert storage.get_key_usage(REGION, k.key_id).operation == "Decrypt"
    storage.delete_key(REGION, k.key_id)
    assert storage.get_key_usage(REGION, k.key_id) is None


def test_markers_are_set_once(storage: Storage) -> None:
    assert storage.ensure_marker("usage-tracking-start", T0) == T0
    assert storage.ensure_marker("usage-tracking-start", T0 + 100) == T0
