"""Imported material per member in storage (issue 19, spec §9, §12), on every backend: a
multi-Region key's material versions are shared by key id, each member's import of them
(bytes, ExpirationModel, ValidTo) is its own; reads are made as one member sees them."""

from __future__ import annotations

from trent.domain.keys import KeyState, MaterialImport, MaterialState, Origin
from trent.storage.repositories import Storage

from .builders import T0, key, material

EAST, WEST = "us-east-1", "us-west-2"


def _external_mrk(storage: Storage):
    """A primary in EAST and a replica in WEST, one imported-kind version, no imports yet."""
    kid = "mrk-" + key().key_id.replace("-", "")
    east = key(key_id=kid, region=EAST, multi_region=True, primary_region=EAST, origin=Origin.EXTERNAL,
               state=KeyState.PENDING_IMPORT)
    version = material(east, wrapped=b"", import_state="PENDING_IMPORT")
    east = east.with_changes(current_material_id=version.material_id)
    west = east.with_changes(region=WEST, current_material_id=None)
    storage.create_key(east, version)
    storage.create_key(west, None)
    return east, west, version


def _import(region: str, version, wrapped: bytes = b"w", valid_to: float | None = None) -> MaterialImport:
    model = "KEY_MATERIAL_DOES_NOT_EXPIRE" if valid_to is None else "KEY_MATERIAL_EXPIRES"
    return MaterialImport(region, version.key_id, version.material_id, wrapped, model, valid_to)


def test_each_member_sees_its_own_import(storage: Storage) -> None:
    east, west, version = _external_mrk(storage)
    # Warm any cache for both members and the shared view first: imports must show at once.
    for region in (EAST, WEST, None):
        assert storage.get_material(version.key_id, version.material_id, region) == version
    storage.put_material_import(_import(EAST, version, b"east-bytes", T0 + 60))
    seen = storage.get_material(version.key_id, version.material_id, EAST)
    assert (seen.wrapped, seen.import_state, seen.expiration_model, seen.valid_to) == (
        b"east-bytes", "IMPORTED", "KEY_MATERIAL_EXPIRES", T0 + 60)
    assert (seen.state, seen.created_at, seen.material_id) == (version.state, version.created_at, version.material_id)
    assert storage.get_material(version.key_id, version.material_id, WEST) == version  # not imported there
    assert storage.get_material(version.key_id, version.material_id) == version  # the shared version alone
    assert [m.import_state for m in storage.list_materials(version.key_id, EAST)] == ["IMPORTED"]
    assert [m.import_state for m in storage.list_materials(version.key_id, WEST)] == ["PENDING_IMPORT"]
    assert storage.get_material(version.key_id, "0" * 64, EAST) is None

    # Re-import replaces the member's import (new ValidTo), the other member imports its own.
    storage.put_material_import(_import(EAST, version, b"east-bytes", None))
    storage.put_material_import(_import(WEST, version, b"west-bytes", T0 + 5))
    east_seen = storage.get_material(version.key_id, version.material_id, EAST)
    west_seen = storage.get_material(version.key_id, version.material_id, WEST)
    assert (east_seen.expiration_model, east_seen.valid_to) == ("KEY_MATERIAL_DOES_NOT_EXPIRE", None)
    assert (west_seen.wrapped, west_seen.valid_to) == (b"west-bytes", T0 + 5)
    assert [(i.region, i.valid_to) for i in storage.list_material_imports(version.key_id)] == [
        (EAST, None), (WEST, T0 + 5)]


def test_deleting_one_members_import_leaves_the_others(storage: Storage) -> None:
    east, west, version = _external_mrk(storage)
    for region in (EAST, WEST):
        storage.put_material_import(_import(region, version))
        assert storage.get_material(version.key_id, version.material_id, region).import_state == "IMPORTED"
    storage.delete_material_import(WEST, version.key_id, version.material_id)
    storage.delete_material_import(WEST, version.key_id, version.material_id)  # missing: ignored
    assert storage.get_material(version.key_id, version.material_id, WEST).import_state == "PENDING_IMPORT"
    assert storage.get_material(version.key_id, version.material_id, WEST).wrapped == b""
    assert storage.get_material(version.key_id, version.material_id, EAST).wrapped == b"w"


def test_expiry_names_the_member_that_holds_the_import(storage: Storage) -> None:
    east, west, version = _external_mrk(storage)
    storage.put_material_import(_import(EAST, version, valid_to=T0 + 100))
    storage.put_material_import(_import(WEST, version, valid_to=T0 + 10))
    due = storage.materials_expiring(T0 + 50)
    assert [(k.region, k.key_id, m.material_id, m.valid_to) for k, m in due] == [
        (WEST, version.key_id, version.material_id, T0 + 10)]
    assert [k.region for k, _ in storage.materials_expiring(T0 + 100)] == [WEST, EAST]


def test_a_deleted_version_takes_every_import_with_it(storage: Storage) -> None:
    """Pending material deleted from a primary leaves every member (spec §9)."""
    east, west, version = _external_mrk(storage)
    pending = material(east, wrapped=b"", import_state="PENDING_IMPORT", state=MaterialState.PENDING_ROTATION)
    storage.add_material(pending)
    for region in (EAST, WEST):
        storage.put_material_import(_import(region, pending))
        storage.get_material(pending.key_id, pending.material_id, region)  # warm any cache
    storage.delete_material(pending.key_id, pending.material_id)
    for region in (EAST, WEST, None):
        assert storage.get_material(pending.key_id, pending.material_id, region) is None
    assert storage.list_material_imports(pending.key_id) == []


def test_deleting_a_member_deletes_its_imports_only(storage: Storage) -> None:
    east, west, version = _external_mrk(storage)
    for region in (EAST, WEST):
        storage.put_material_import(_import(region, version))
    storage.delete_key(WEST, version.key_id)
    assert [i.region for i in storage.list_material_imports(version.key_id)] == [EAST]
    assert storage.get_material(version.key_id, version.material_id, EAST).import_state == "IMPORTED"
    storage.delete_key(EAST, version.key_id)
    assert storage.list_material_imports(version.key_id) == []
    assert list(storage.list_materials(version.key_id)) == []


def test_root_rewrap_reaches_every_members_import(storage: Storage) -> None:
    """`trent admin rewrap-root` moves each member's imported bytes too (same AAD as the
    material: key id and material id)."""
    east, west, version = _external_mrk(storage)
    storage.put_material_import(_import(EAST, version, b"old-east"))
    storage.put_material_import(_import(WEST, version, b"old-west"))
    seen: list[tuple[str, tuple[str, ...]]] = []

    def rewrap(kind: str, ids: tuple[str, ...], blob: bytes) -> bytes | None:
        seen.append((kind, ids))
        return b"new-" + blob if blob.startswith(b"old-") else None

    assert storage.rewrap_root_blobs(rewrap) == 2
    assert ("material", (version.key_id, version.material_id, WEST)) in seen
    assert storage.get_material(version.key_id, version.material_id, EAST).wrapped == b"new-old-east"
    assert storage.get_material(version.key_id, version.material_id, WEST).wrapped == b"new-old-west"
