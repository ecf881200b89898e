"""Multi-Region keys in storage (issue 19, spec §12): members are rows of one database with
the same key id, one per Region; material is shared by key id. Every backend."""

from __future__ import annotations

import pytest

from trent.domain.keys import KeyState, MaterialState
from trent.storage.repositories import Duplicate, Storage

from .builders import T0, key, material


def _mrk_id() -> str:
    return "mrk-" + key().key_id.replace("-", "")


def test_members_are_rows_of_every_region_in_creation_order(storage: Storage) -> None:
    kid = _mrk_id()
    primary = key(key_id=kid, region="us-east-1", multi_region=True, primary_region="us-east-1")
    first = material(primary)
    primary = primary.with_changes(current_material_id=first.material_id)
    storage.create_key(primary, first)
    replica = primary.with_changes(region="eu-west-1", state=KeyState.CREATING, transient_until=T0 + 1,
                                   settled_state=KeyState.ENABLED)
    storage.create_key(replica, None)
    assert list(storage.list_key_members(kid)) == [primary, replica]
    assert storage.get_key("eu-west-1", kid) == replica  # the transient fields round-trip
    with pytest.raises(Duplicate):  # one replica per Region, whatever races
        storage.create_key(replica, None)
    assert list(storage.list_key_members("mrk-" + "0" * 32)) == []


def test_update_keys_changes_every_member_at_once(storage: Storage) -> None:
    kid = _mrk_id()
    east = key(key_id=kid, region="us-east-1", multi_region=True, primary_region="us-east-1")
    west = east.with_changes(region="us-west-2")
    storage.create_key(east, None)
    storage.create_key(west, None)
    assert list(storage.list_key_members(kid))[1].primary_region == "us-east-1"
    moved = [m.with_changes(primary_region="us-west-2", state=KeyState.UPDATING) for m in (east, west)]
    storage.update_keys(moved)
    assert list(storage.list_key_members(kid)) == moved
    assert storage.get_key("us-east-1", kid) == moved[0]


def test_rotation_moves_every_member_to_the_new_material(storage: Storage) -> None:
    kid = _mrk_id()
    east = key(key_id=kid, region="us-east-1", multi_region=True, primary_region="us-east-1")
    first = material(east)
    east = east.with_changes(current_material_id=first.material_id)
    west = east.with_changes(region="us-west-2")
    storage.create_key(east, first)
    storage.create_key(west, None)
    assert storage.get_key("us-west-2", kid).current_material_id == first.material_id  # warm any cache
    second = material(east, state=MaterialState.CURRENT, created_at=T0 + 1, rotation_type="ON_DEMAND")
    storage.rotate_material(east.with_changes(current_material_id=second.material_id), second)
    assert storage.get_key("us-west-2", kid).current_material_id == second.material_id
    assert storage.get_key("us-east-1", kid).current_material_id == second.material_id
    # Material is shared: deleting one member keeps it; deleting the last removes it.
    storage.delete_key("us-west-2", kid)
    assert len(storage.list_materials(kid)) == 2
    storage.delete_key("us-east-1", kid)
    assert list(storage.list_materials(kid)) == []
