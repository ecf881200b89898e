"""The ``Storage`` contract (trent/storage/repositories.py), run on every backend.

Each test gets a freshly reset ``storage`` from conftest.py, parametrized over SQLite
(file and memory), PostgreSQL and CachedStorage-over-SQLite. Anything true of one
backend and not another is a bug in that backend, not a reason to branch here.
"""

from __future__ import annotations

import base64
import math

import pytest

from trent.domain.keys import (
    Key,
    KeyManager,
    KeySpec,
    KeyState,
    KeyUsage,
    MaterialState,
    Origin,
    Tag,
)
from trent.domain.principals import AccessKeyStatus, PrincipalKind
from trent.storage.repositories import BadMarker, Duplicate, Page, Storage

from . import builders as b
from .builders import ACCOUNT, OTHER_ACCOUNT, OTHER_REGION, REGION, T0

# Floats that must come back bit-for-bit: microseconds, binary-inexact decimals,
# large and tiny magnitudes.
AWKWARD_TIMES = [T0, 0.1 + 0.2, 1_715_250_000.000001, 4_102_444_800.999999, 1e-6, 0.0]


def all_keys(storage: Storage, account: str = ACCOUNT, region: str = REGION, limit: int = 1000) -> list[Key]:
    page = storage.list_keys(account, region, limit, None)
    assert page.next_marker is None
    return list(page.items)


# -- keys --------------------------------------------------------------------------------


def test_key_round_trips_every_field_exactly(storage: Storage) -> None:
    key = b.key(
        key_spec=KeySpec.ECC_NIST_P384,
        key_usage=KeyUsage.SIGN_VERIFY,
        origin=Origin.EXTERNAL,
        state=KeyState.PENDING_DELETION,
        created_at=0.1 + 0.2,
        description="ünïcödé — with 'quotes' and \"more\"",
        key_manager=KeyManager.AWS,
        multi_region=True,
        current_material_id=b.material_id(),
        deletion_date=1_715_250_000.000001,
        pending_window_days=7,
        policy='{"Version":"2012-10-17","Statement":[]}',
        custom_key_store_id="cks-1234567890abcdef0",
        partition="aws-us-gov",
    )
    storage.create_key(key, None)
    got = storage.get_key(key.region, key.key_id)
    assert got == key
    assert got is not None
    assert isinstance(got.key_spec, KeySpec) and isinstance(got.state, KeyState)
    assert isinstance(got.key_usage, KeyUsage) and isinstance(got.origin, Origin)
    assert isinstance(got.key_manager, KeyManager)
    assert got.multi_region is True


def test_key_defaults_and_nones_round_trip(storage: Storage) -> None:
    key = b.key()
    storage.create_key(key, None)
    got = storage.get_key(REGION, key.key_id)
    assert got == key
    assert got is not None
    assert got.description == "" and got.deletion_date is None and got.policy is None
    assert got.multi_region is False


@pytest.mark.parametrize("when", AWKWARD_TIMES)
def test_times_round_trip_bit_for_bit(storage: Storage, when: float) -> None:
    key = b.key(created_at=when, deletion_date=when)
    storage.create_key(key, b.material(key, created_at=when))
    got = storage.get_key(REGION, key.key_id)
    assert got is not None
    assert math.copysign(1, got.created_at) == math.copysign(1, when)
    assert got.created_at.hex() == when.hex() and got.deletion_date == when
    assert storage.list_materials(key.key_id)[0].created_at.hex() == when.hex()


def test_get_missing_key_is_none(storage: Storage) -> None:
    assert storage.get_key(REGION, b.key_id()) is None


def test_keys_are_scoped_by_region(storage: Storage) -> None:
    east = b.key()
    west = b.key(key_id=east.key_id, region=OTHER_REGION, description="west")
    storage.create_key(east, None)
    storage.create_key(west, None)
    assert storage.get_key(REGION, east.key_id) == east
    assert storage.get_key(OTHER_REGION, east.key_id) == west


def test_duplicate_key_is_rejected_atomically(storage: Storage) -> None:
    key = b.key()
    storage.create_key(key, b.material(key))
    second = b.material(key)
    with pytest.raises(Duplicate):
        storage.create_key(key.with_changes(description="again"), second)
    assert storage.get_key(REGION, key.key_id) == key
    assert storage.get_material(key.key_id, second.material_id) is None
    assert len(storage.list_materials(key.key_id)) == 1


def test_create_key_with_first_material(storage: Storage) -> None:
    key = b.key()
    first = b.material(key)
    storage.create_key(key.with_changes(current_material_id=first.material_id), first)
    assert storage.get_material(key.key_id, first.material_id) == first
    assert storage.list_materials(key.key_id) == [first]


def test_pending_import_key_has_no_material(storage: Storage) -> None:
    key = b.key(origin=Origin.EXTERNAL, state=KeyState.PENDING_IMPORT)
    storage.create_key(key, None)
    assert storage.list_materials(key.key_id) == []


def test_update_key_overwrites_mutable_fields(storage: Storage) -> None:
    key = b.key()
    storage.create_key(key, None)
    changed = key.with_changes(
        state=KeyState.PENDING_DELETION,
        description="changed",
        deletion_date=T0 + 7 * 86400,
        pending_window_days=7,
        policy="{}",
        current_material_id=b.material_id(),
    )
    storage.update_key(changed)
    assert storage.get_key(REGION, key.key_id) == changed
    storage.update_key(changed.with_changes(deletion_date=None, pending_window_days=None))
    got = storage.get_key(REGION, key.key_id)
    assert got is not None and got.deletion_date is None and got.pending_window_days is None


def test_update_missing_key_creates_nothing(storage: Storage) -> None:
    ghost = b.key()
    storage.update_key(ghost)
    assert storage.get_key(REGION, ghost.key_id) is None
    assert all_keys(storage) == []


# -- list_keys ---------------------------------------------------------------------------


def _populate_listing(storage: Storage, n: int = 5) -> list[Key]:
    # Same created_at for all and random ids: the order must be creation order,
    # not time order and not id order.
    mine = []
    for i in range(n):
        key = b.key(description=f"k{i}")
        storage.create_key(key, None)
        mine.append(key)
        storage.create_key(b.key(account_id=OTHER_ACCOUNT), None)
        storage.create_key(b.key(region=OTHER_REGION), None)
    return mine


def test_list_keys_in_creation_order(storage: Storage) -> None:
    mine = _populate_listing(storage)
    assert all_keys(storage) == mine


@pytest.mark.parametrize("limit", [1, 2, 3, 4, 5, 6, 100])
def test_list_keys_pages_round_trip(storage: Storage, limit: int) -> None:
    mine = _populate_listing(storage, 5)
    seen: list[Key] = []
    marker: str | None = None
    pages = 0
    while True:
        page = storage.list_keys(ACCOUNT, REGION, limit, marker)
        assert isinstance(page, Page)
        assert 0 < len(page.items) <= limit
        seen.extend(page.items)
        pages += 1
        if page.next_marker is None:
            break
        assert isinstance(page.next_marker, str) and page.next_marker
        marker = page.next_marker
    assert seen == mine
    assert pages == math.ceil(5 / limit)


def test_list_keys_empty(storage: Storage) -> None:
    page = storage.list_keys(ACCOUNT, REGION, 10, None)
    assert list(page.items) == [] and page.next_marker is None


def test_list_keys_marker_survives_new_keys(storage: Storage) -> None:
    mine = _populate_listing(storage, 3)
    first = storage.list_keys(ACCOUNT, REGION, 2, None)
    later = b.key()
    storage.create_key(later, None)
    assert first.next_marker is not None
    rest = storage.list_keys(ACCOUNT, REGION, 10, first.next_marker)
    assert list(rest.items) == [mine[2], later]


def _garbled(marker: str) -> list[str]:
    # Change a middle character: the last one may carry only padding bits, so flipping
    # it (A <-> B) can decode to the very same bytes for some markers.
    middle = len(marker) // 2
    flipped = ("A" if marker[middle] != "A" else "B")
    raw = base64.urlsafe_b64decode(marker + "=" * (-len(marker) % 4))
    return [
        marker[:middle] + flipped + marker[middle + 1 :],  # one character changed
        marker[:-3],  # truncated
        marker + "AAAA",  # extended
        base64.urlsafe_b64encode(b"\x02" + raw[1:]).decode().rstrip("="),  # other version
    ]


BAD_MARKERS = ["", "garbage", "!!!!", "é", "AAAAAAAAAAAAAAAA", "eyJrZXkiOiAxfQ==", "0" * 2000]


@pytest.mark.parametrize("marker", BAD_MARKERS)
def test_list_keys_rejects_foreign_markers(storage: Storage, marker: str) -> None:
    with pytest.raises(BadMarker):
        storage.list_keys(ACCOUNT, REGION, 10, marker)


def test_list_keys_rejects_garbled_and_alias_markers(storage: Storage) -> None:
    _populate_listing(storage, 3)
    marker = storage.list_keys(ACCOUNT, REGION, 1, None).next_marker
    assert marker is not None
    for bad in _garbled(marker):
        with pytest.raises(BadMarker):
            storage.list_keys(ACCOUNT, REGION, 10, bad)
    storage.create_alias(b.alias("alias/a", None))
    storage.create_alias(b.alias("alias/b", None))
    alias_marker = storage.list_aliases(ACCOUNT, REGION, None, 1, None).next_marker
    assert alias_marker is not None
    with pytest.raises(BadMarker):
        storage.list_keys(ACCOUNT, REGION, 10, alias_marker)
    with pytest.raises(BadMarker):
        storage.list_aliases(ACCOUNT, REGION, None, 10, marker)


# -- keys_due_for_deletion ---------------------------------------------------------------


def test_keys_due_for_deletion(storage: Storage) -> None:
    now = T0 + 1000
    due_later = b.key(state=KeyState.PENDING_DELETION, deletion_date=now - 10)
    due_first = b.key(
        state=KeyState.PENDING_DELETION, deletion_date=now - 20, account_id=OTHER_ACCOUNT
    )
    due_exactly = b.key(state=KeyState.PENDING_DELETION, deletion_date=now, region=OTHER_REGION)
    not_yet = b.key(state=KeyState.PENDING_DELETION, deletion_date=now + 0.000001)
    cancelled = b.key(state=KeyState.DISABLED, deletion_date=now - 30)  # stale date, not pending
    enabled = b.key()
    for key in (due_later, due_first, due_exactly, not_yet, cancelled, enabled):
        storage.create_key(key, None)
    assert list(storage.keys_due_for_deletion(now)) == [due_first, due_later, due_exactly]
    assert list(storage.keys_due_for_deletion(now, limit=2)) == [due_first, due_later]
    assert list(storage.keys_due_for_deletion(T0)) == []


# -- delete_key --------------------------------------------------------------------------


def test_delete_key_cascades(storage: Storage) -> None:
    doomed, survivor = b.key(), b.key()
    doomed_materials = [b.material(doomed), b.material(doomed)]
    storage.create_key(doomed, doomed_materials[0])
    storage.add_material(doomed_materials[1])
    storage.create_key(survivor, b.material(survivor))
    for name, target in (("alias/d1", doomed), ("alias/d2", doomed), ("alias/s", survivor)):
        storage.create_alias(b.alias(name, target))
    storage.put_tags(REGION, doomed.key_id, [Tag("a", "1")])
    storage.put_tags(REGION, survivor.key_id, [Tag("a", "2")])
    # Warm any cache so the cascade has something to invalidate.
    assert storage.get_alias(ACCOUNT, REGION, "alias/d1") is not None
    assert storage.get_material(doomed.key_id, doomed_materials[1].material_id) is not None
    assert storage.get_tags(REGION, doomed.key_id)

    storage.delete_key(REGION, doomed.key_id)

    assert storage.get_key(REGION, doomed.key_id) is None
    assert storage.list_materials(doomed.key_id) == []
    for m in doomed_materials:
        assert storage.get_material(doomed.key_id, m.material_id) is None
    assert storage.get_alias(ACCOUNT, REGION, "alias/d1") is None
    assert storage.count_aliases_for_key(REGION, doomed.key_id) == 0
    assert list(storage.get_tags(REGION, doomed.key_id)) == []
    assert storage.get_key(REGION, survivor.key_id) == survivor
    assert len(storage.list_materials(survivor.key_id)) == 1
    assert [a.name for a in storage.list_aliases(ACCOUNT, REGION, None, 10, None).items] == [
        "alias/s"
    ]
    assert list(storage.get_tags(REGION, survivor.key_id)) == [Tag("a", "2")]


def test_delete_missing_key_is_a_noop(storage: Storage) -> None:
    storage.delete_key(REGION, b.key_id())


def test_delete_regional_copy_keeps_shared_material(storage: Storage) -> None:
    primary = b.key(multi_region=True)
    replica = primary.with_changes(region=OTHER_REGION)
    shared = b.material(primary)
    storage.create_key(primary, shared)
    storage.create_key(replica, None)
    storage.delete_key(OTHER_REGION, primary.key_id)
    assert storage.get_material(primary.key_id, shared.material_id) == shared
    storage.delete_key(REGION, primary.key_id)
    assert storage.get_material(primary.key_id, shared.material_id) is None


# -- materials ---------------------------------------------------------------------------


def test_materials_keep_every_version_in_insertion_order(storage: Storage) -> None:
    key = b.key()
    # Descending ids and equal times: order must be insertion order.
    ids = sorted((b.material_id() for _ in range(4)), reverse=True)
    versions = [
        b.material(key, material_id=ids[0], state=MaterialState.NON_CURRENT),
        b.material(key, material_id=ids[1], state=MaterialState.NON_CURRENT, rotation_type="AUTOMATIC"),
        b.material(key, material_id=ids[2], state=MaterialState.NON_CURRENT, rotation_type="ON_DEMAND"),
        b.material(key, material_id=ids[3], state=MaterialState.PENDING_ROTATION, rotation_type="ON_DEMAND"),
    ]
    storage.create_key(key, versions[0])
    for version in versions[1:]:
        storage.add_material(version)
    assert list(storage.list_materials(key.key_id)) == versions
    for version in versions:
        got = storage.get_material(key.key_id, version.material_id)
        assert got == version
        assert got is not None and isinstance(got.state, MaterialState)
        assert type(got.wrapped) is bytes


def test_material_blobs_are_opaque_bytes(storage: Storage) -> None:
    key = b.key()
    blob = bytes(range(256)) * 32  # every byte value, 8 KiB
    storage.create_key(key, b.material(key, wrapped=blob))
    assert storage.list_materials(key.key_id)[0].wrapped == blob


def test_duplicate_material_is_rejected(storage: Storage) -> None:
    key = b.key()
    first = b.material(key)
    storage.create_key(key, first)
    with pytest.raises(Duplicate):
        storage.add_material(first.__class__(**{**_fields(first), "wrapped": b"other"}))
    assert storage.get_material(key.key_id, first.material_id) == first


def test_get_missing_material_is_none(storage: Storage) -> None:
    key = b.key()
    storage.create_key(key, b.material(key))
    assert storage.get_material(key.key_id, b.material_id()) is None
    assert storage.get_material(b.key_id(), b.material_id()) is None
    assert storage.list_materials(b.key_id()) == []


def _fields(obj: object) -> dict[str, object]:
    return {name: getattr(obj, name) for name in obj.__slots__}  # type: ignore[attr-defined]


# -- aliases -----------------------------------------------------------------------------


def test_alias_round_trip_and_duplicate(storage: Storage) -> None:
    key = b.key()
    storage.create_key(key, None)
    alias = b.alias("alias/app", key, created_at=0.1 + 0.2, updated_at=T0 + 0.000001)
    storage.create_alias(alias)
    assert storage.get_alias(ACCOUNT, REGION, "alias/app") == alias
    with pytest.raises(Duplicate):
        storage.create_alias(b.alias("alias/app", b.key_id()))
    assert storage.get_alias(ACCOUNT, REGION, "alias/app") == alias


def test_alias_names_are_scoped_by_account_and_region(storage: Storage) -> None:
    here = b.alias("alias/x", b.key_id())
    elsewhere = b.alias("alias/x", b.key_id(), account_id=OTHER_ACCOUNT)
    west = b.alias("alias/x", b.key_id(), region=OTHER_REGION)
    for alias in (here, elsewhere, west):
        storage.create_alias(alias)
    assert storage.get_alias(ACCOUNT, REGION, "alias/x") == here
    assert storage.get_alias(OTHER_ACCOUNT, REGION, "alias/x") == elsewhere
    assert storage.get_alias(ACCOUNT, OTHER_REGION, "alias/x") == west
    assert storage.get_alias(ACCOUNT, REGION, "alias/y") is None


def test_alias_without_target(storage: Storage) -> None:
    reserved = b.alias("alias/aws/ebs", None)
    storage.create_alias(reserved)
    assert storage.get_alias(ACCOUNT, REGION, "alias/aws/ebs") == reserved


def test_update_alias_retargets(storage: Storage) -> None:
    old, new = b.key(), b.key()
    storage.create_key(old, None)
    storage.create_key(new, None)
    alias = b.alias("alias/app", old)
    storage.create_alias(alias)
    assert storage.get_alias(ACCOUNT, REGION, "alias/app") == alias  # warm caches
    moved = b.alias("alias/app", new, updated_at=T0 + 5)
    storage.update_alias(moved)
    assert storage.get_alias(ACCOUNT, REGION, "alias/app") == moved
    assert storage.count_aliases_for_key(REGION, old.key_id) == 0
    assert storage.count_aliases_for_key(REGION, new.key_id) == 1


def test_update_missing_alias_creates_nothing(storage: Storage) -> None:
    storage.update_alias(b.alias("alias/ghost", b.key_id()))
    assert storage.get_alias(ACCOUNT, REGION, "alias/ghost") is None


def test_delete_alias(storage: Storage) -> None:
    storage.create_alias(b.alias("alias/app", b.key_id()))
    assert storage.get_alias(ACCOUNT, REGION, "alias/app") is not None
    storage.delete_alias(ACCOUNT, REGION, "alias/app")
    assert storage.get_alias(ACCOUNT, REGION, "alias/app") is None
    storage.delete_alias(ACCOUNT, REGION, "alias/app")  # missing: no-op


def test_list_aliases_sorted_bytewise_and_filtered(storage: Storage) -> None:
    k1, k2 = b.key(), b.key()
    names = ["alias/b", "alias/B", "alias/a", "alias/a-b", "alias/a_b", "alias/Z"]
    for i, name in enumerate(names):
        storage.create_alias(b.alias(name, k1 if i % 2 == 0 else k2))
    storage.create_alias(b.alias("alias/other-account", b.key_id(), account_id=OTHER_ACCOUNT))
    storage.create_alias(b.alias("alias/other-region", k1, region=OTHER_REGION))
    page = storage.list_aliases(ACCOUNT, REGION, None, 100, None)
    assert [a.name for a in page.items] == sorted(names, key=lambda s: s.encode())
    assert page.next_marker is None
    only_k1 = storage.list_aliases(ACCOUNT, REGION, k1.key_id, 100, None)
    assert [a.name for a in only_k1.items] == sorted(names[0::2], key=lambda s: s.encode())
    assert storage.count_aliases_for_key(REGION, k1.key_id) == 3
    assert storage.count_aliases_for_key(OTHER_REGION, k1.key_id) == 1
    assert storage.count_aliases_for_key(REGION, b.key_id()) == 0


@pytest.mark.parametrize("limit", [1, 2, 3, 7, 8])
@pytest.mark.parametrize("by_key", [False, True])
def test_list_aliases_pages_round_trip(storage: Storage, limit: int, by_key: bool) -> None:
    target, noise = b.key(), b.key()
    expected = []
    for i in range(7):
        name = f"alias/n{i:02d}"
        storage.create_alias(b.alias(name, target))
        storage.create_alias(b.alias(f"alias/m{i:02d}", noise))
        expected.append(name)
    if not by_key:
        expected = sorted(expected + [f"alias/m{i:02d}" for i in range(7)])
    key_filter = target.key_id if by_key else None
    seen: list[str] = []
    marker: str | None = None
    while True:
        page = storage.list_aliases(ACCOUNT, REGION, key_filter, limit, marker)
        assert len(page.items) <= limit
        seen.extend(a.name for a in page.items)
        if page.next_marker is None:
            break
        marker = page.next_marker
    assert seen == expected


@pytest.mark.parametrize("marker", BAD_MARKERS)
def test_list_aliases_rejects_foreign_markers(storage: Storage, marker: str) -> None:
    with pytest.raises(BadMarker):
        storage.list_aliases(ACCOUNT, REGION, None, 10, marker)


# -- tags --------------------------------------------------------------------------------


def test_tags_put_get_in_key_order(storage: Storage) -> None:
    key = b.key()
    storage.create_key(key, None)
    assert list(storage.get_tags(REGION, key.key_id)) == []
    storage.put_tags(REGION, key.key_id, [Tag("b", "2"), Tag("a", "1"), Tag("B", "0"), Tag("c", "")])
    assert list(storage.get_tags(REGION, key.key_id)) == [
        Tag("B", "0"),
        Tag("a", "1"),
        Tag("b", "2"),
        Tag("c", ""),
    ]


def test_tags_replace_by_key(storage: Storage) -> None:
    key = b.key()
    storage.create_key(key, None)
    storage.put_tags(REGION, key.key_id, [Tag("env", "dev"), Tag("team", "x")])
    storage.put_tags(REGION, key.key_id, [Tag("env", "prod")])
    assert list(storage.get_tags(REGION, key.key_id)) == [Tag("env", "prod"), Tag("team", "x")]
    storage.put_tags(REGION, key.key_id, [Tag("env", "a"), Tag("env", "b")])  # last wins
    assert list(storage.get_tags(REGION, key.key_id)) == [Tag("env", "b"), Tag("team", "x")]
    storage.put_tags(REGION, key.key_id, [])
    assert len(storage.get_tags(REGION, key.key_id)) == 2


def test_remove_tags_ignores_missing(storage: Storage) -> None:
    key = b.key()
    storage.create_key(key, None)
    storage.put_tags(REGION, key.key_id, [Tag("a", "1"), Tag("b", "2"), Tag("c", "3")])
    storage.remove_tags(REGION, key.key_id, ["b", "nope"])
    assert list(storage.get_tags(REGION, key.key_id)) == [Tag("a", "1"), Tag("c", "3")]
    storage.remove_tags(REGION, key.key_id, [])
    storage.remove_tags(REGION, b.key_id(), ["a"])
    assert len(storage.get_tags(REGION, key.key_id)) == 2


def test_tags_are_per_key_and_region(storage: Storage) -> None:
    one, two = b.key(), b.key()
    west = one.with_changes(region=OTHER_REGION)
    for key in (one, two, west):
        storage.create_key(key, None)
    storage.put_tags(REGION, one.key_id, [Tag("k", "one")])
    storage.put_tags(REGION, two.key_id, [Tag("k", "two")])
    storage.put_tags(OTHER_REGION, one.key_id, [Tag("k", "west")])
    assert list(storage.get_tags(REGION, one.key_id)) == [Tag("k", "one")]
    assert list(storage.get_tags(REGION, two.key_id)) == [Tag("k", "two")]
    assert list(storage.get_tags(OTHER_REGION, one.key_id)) == [Tag("k", "west")]


# -- identities --------------------------------------------------------------------------


def test_accounts(storage: Storage) -> None:
    second, first = b.account(OTHER_ACCOUNT), b.account(ACCOUNT, created_at=0.1 + 0.2)
    assert storage.get_account(ACCOUNT) is None
    storage.create_account(second)
    storage.create_account(first)
    assert storage.get_account(ACCOUNT) == first
    assert list(storage.list_accounts()) == [first, second]
    with pytest.raises(Duplicate):
        storage.create_account(b.account(ACCOUNT, name="again"))
    assert storage.get_account(ACCOUNT) == first


def test_principals(storage: Storage) -> None:
    storage.create_account(b.account(ACCOUNT))
    storage.create_account(b.account(OTHER_ACCOUNT))
    bob, alice = b.principal(name="bob"), b.principal(name="alice")
    root = b.principal(
        arn=f"arn:aws:iam::{ACCOUNT}:root", kind=PrincipalKind.ROOT, name=ACCOUNT
    )
    other = b.principal(OTHER_ACCOUNT, name="carol")
    assert storage.get_principal(alice.arn) is None
    for p in (bob, alice, root, other):
        storage.create_principal(p)
    got = storage.get_principal(alice.arn)
    assert got == alice and got is not None and isinstance(got.kind, PrincipalKind)
    assert list(storage.list_principals(ACCOUNT)) == sorted([bob, alice, root], key=lambda p: p.arn)
    assert list(storage.list_principals(OTHER_ACCOUNT)) == [other]
    with pytest.raises(Duplicate):
        storage.create_principal(b.principal(name="alice"))


def test_access_keys(storage: Storage) -> None:
    storage.create_account(b.account())
    alice, bob = b.principal(name="alice"), b.principal(name="bob")
    storage.create_principal(alice)
    storage.create_principal(bob)
    long_term = b.access_key(alice, created_at=T0)
    temporary = b.access_key(
        alice,
        created_at=T0 + 1,
        status=AccessKeyStatus.INACTIVE,
        session_token_sha256=bytes(range(32)),
        expires_at=T0 + 3600.000001,
    )
    bobs = b.access_key(bob)
    assert storage.get_access_key(long_term.access_key_id) is None
    for k in (temporary, long_term, bobs):
        storage.create_access_key(k)
    assert storage.get_access_key(long_term.access_key_id) == long_term
    got = storage.get_access_key(temporary.access_key_id)
    assert got == temporary
    assert got is not None and isinstance(got.status, AccessKeyStatus)
    assert type(got.session_token_sha256) is bytes and type(got.wrapped_secret) is bytes
    assert list(storage.list_access_keys(alice.arn)) == [long_term, temporary]
    with pytest.raises(Duplicate):
        storage.create_access_key(b.access_key(bob, access_key_id=long_term.access_key_id))
    storage.delete_access_key(long_term.access_key_id)
    assert storage.get_access_key(long_term.access_key_id) is None
    assert list(storage.list_access_keys(alice.arn)) == [temporary]
    storage.delete_access_key(long_term.access_key_id)  # missing: no-op


# -- reset -------------------------------------------------------------------------------


def test_reset_deletes_everything(storage: Storage) -> None:
    storage.create_account(b.account())
    p = b.principal()
    storage.create_principal(p)
    ak = b.access_key(p)
    storage.create_access_key(ak)
    key = b.key()
    m = b.material(key)
    storage.create_key(key, m)
    storage.create_alias(b.alias("alias/a", key))
    storage.put_tags(REGION, key.key_id, [Tag("a", "b")])
    # Warm caches.
    assert storage.get_key(REGION, key.key_id) and storage.get_access_key(ak.access_key_id)
    assert storage.get_principal(p.arn) and storage.get_alias(ACCOUNT, REGION, "alias/a")

    storage.reset()

    assert storage.get_key(REGION, key.key_id) is None
    assert storage.get_material(key.key_id, m.material_id) is None
    assert storage.get_alias(ACCOUNT, REGION, "alias/a") is None
    assert list(storage.get_tags(REGION, key.key_id)) == []
    assert storage.get_account(ACCOUNT) is None and list(storage.list_accounts()) == []
    assert storage.get_principal(p.arn) is None
    assert storage.get_access_key(ak.access_key_id) is None
    assert all_keys(storage) == []
    # ...and the store is usable again afterwards.
    storage.create_key(key, m)
    assert storage.get_key(REGION, key.key_id) == key
