"""Issue 5 in storage, on every backend: roles, inline identity policies, grants and expired
STS access keys (repositories.py IdentityRepository / GrantRepository; spec §7, §8).
The last section checks what CachedStorage caches for these and what a write invalidates."""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

import pytest

from trent.domain.clock import FixedClock
from trent.domain.grants import GrantRecord
from trent.domain.keys import Key
from trent.domain.principals import IdentityPolicy, Principal, PrincipalKind, Role
from trent.storage.cache import CachedStorage
from trent.storage.repositories import BadMarker, Duplicate, Storage
from trent.storage.sql import SqlStorage

from . import builders as b
from .builders import ACCOUNT, OTHER_ACCOUNT, OTHER_REGION, REGION, T0

_serial = itertools.count(1)
BAD_MARKERS = ["", "garbage", "!!!!", "é", "AAAAAAAAAAAAAAAA", "eyJrZXkiOiAxfQ==", "0" * 2000]
TRUST = '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"*"},"Action":"sts:AssumeRole"}]}'


def role(name: str = "deployer", account_id: str = ACCOUNT, **changes: Any) -> Role:
    fields: dict[str, Any] = {
        "arn": Principal.role_arn(account_id, name),
        "account_id": account_id,
        "name": name,
        "role_id": f"AROA{next(_serial):016d}",
        "trust_policy": TRUST,
        "max_session_duration": 3600,
        "created_at": T0,
    }
    fields.update(changes)
    return Role(**fields)


def session(r: Role, session_name: str) -> Principal:
    return Principal(
        arn=Principal.assumed_role_arn(r.account_id, r.name, session_name),
        account_id=r.account_id,
        kind=PrincipalKind.ASSUMED_ROLE,
        name=f"{r.name}/{session_name}",
        principal_id=f"{r.role_id}:{session_name}",
    )


def grant(on: Key, **changes: Any) -> GrantRecord:
    n = next(_serial)
    fields: dict[str, Any] = {
        "grant_id": f"{n:064x}",
        "region": on.region,
        "key_id": on.key_id,
        "key_arn": on.arn,
        "key_account_id": on.account_id,
        "issuing_account": f"arn:aws:iam::{on.account_id}:root",
        "grantee_principal": f"arn:aws:iam::{on.account_id}:user/grantee",
        "operations": ("Encrypt", "Decrypt"),
        "created_at": T0,
    }
    fields.update(changes)
    return GrantRecord(**fields)


def _accounts(storage: Storage) -> None:
    storage.create_account(b.account())
    storage.create_account(b.account(OTHER_ACCOUNT))


def _key(storage: Storage, **changes: Any) -> Key:
    k = b.key(**changes)
    storage.create_key(k, b.material(k))
    return k


def _ids(grants: Sequence[GrantRecord]) -> list[str]:
    return [g.grant_id for g in grants]


# -- roles ---------------------------------------------------------------------------------


def test_create_role_round_trips_and_creates_its_principal(storage: Storage) -> None:
    _accounts(storage)
    r = role(created_at=0.1 + 0.2, max_session_duration=43200)
    assert storage.get_role(r.arn) is None
    storage.create_role(r)
    assert storage.get_role(r.arn) == r
    assert storage.get_principal(r.arn) == Principal(r.arn, ACCOUNT, PrincipalKind.ROLE, r.name, r.role_id)
    assert [p.arn for p in storage.list_principals(ACCOUNT)] == [r.arn]


def test_create_role_duplicate_changes_nothing(storage: Storage) -> None:
    _accounts(storage)
    r = role()
    storage.create_role(r)
    with pytest.raises(Duplicate):
        storage.create_role(role(trust_policy="{}", role_id="AROAOTHER"))
    assert storage.get_role(r.arn) == r
    assert storage.get_principal(r.arn).principal_id == r.role_id  # type: ignore[union-attr]
    # A user principal already holding the ARN is a clash too, and no role row appears.
    clash = role("taken")
    storage.create_principal(b.principal(arn=clash.arn, name="taken"))
    with pytest.raises(Duplicate):
        storage.create_role(clash)
    assert storage.get_role(clash.arn) is None
    assert storage.get_principal(clash.arn).kind is PrincipalKind.IAM_USER  # type: ignore[union-attr]


def test_list_roles_in_name_order_per_account(storage: Storage) -> None:
    _accounts(storage)
    for name in ["b", "B", "a-1", "a_1", "Z"]:
        storage.create_role(role(name))
    storage.create_role(role("elsewhere", OTHER_ACCOUNT))
    storage.create_principal(b.principal(name="a-user"))  # users are not roles
    assert [r.name for r in storage.list_roles(ACCOUNT)] == ["B", "Z", "a-1", "a_1", "b"]  # bytewise
    assert [r.name for r in storage.list_roles(OTHER_ACCOUNT)] == ["elsewhere"]
    assert storage.list_roles("999999999999") == []


def test_update_role_overwrites_trust_policy_and_duration_only(storage: Storage) -> None:
    _accounts(storage)
    r = role()
    storage.create_role(r)
    assert storage.get_role(r.arn) == r  # prime any cache
    changed = replace(r, trust_policy='{"Version":"2012-10-17","Statement":[]}', max_session_duration=7200)
    storage.update_role(replace(changed, role_id="AROAIGNORED", created_at=T0 + 99))
    assert storage.get_role(r.arn) == changed
    storage.update_role(role("missing"))  # no-op
    assert storage.get_role(role("missing").arn) is None
    assert [x.name for x in storage.list_roles(ACCOUNT)] == [r.name]


def test_delete_role_cascades_to_policies_sessions_and_their_keys(storage: Storage) -> None:
    _accounts(storage)
    r = role("app")
    keep = role("app2")  # a name that starts with the deleted one
    wild = role("a_p")  # LIKE wildcards in a name must not match "app"'s sessions
    for x in (r, keep, wild):
        storage.create_role(x)
    foreign = role("app", OTHER_ACCOUNT)  # same name, other account
    storage.create_role(foreign)
    doomed = [session(r, "s1"), session(r, "s.2")]
    survivors = [session(keep, "s1"), session(wild, "s1"), session(foreign, "s1")]
    user = b.principal(name="alice")
    for p in [*doomed, *survivors, user]:
        storage.create_principal(p)
    doomed_keys = [b.access_key(p, expires_at=T0 + 3600) for p in doomed]
    kept_keys = [b.access_key(p, expires_at=T0 + 3600) for p in survivors] + [b.access_key(user)]
    for k in [*doomed_keys, *kept_keys]:
        storage.create_access_key(k)
    storage.put_identity_policy(IdentityPolicy(r.arn, "p1", "{}"))
    storage.put_identity_policy(IdentityPolicy(keep.arn, "p1", "{}"))
    # prime any cache
    assert storage.get_role(r.arn) == r
    assert len(storage.list_identity_policies(r.arn)) == 1
    for k in doomed_keys:
        assert storage.get_access_key(k.access_key_id) == k
    for p in doomed:
        assert storage.get_principal(p.arn) == p

    storage.delete_role(r.arn)

    assert storage.get_role(r.arn) is None
    assert storage.get_principal(r.arn) is None
    assert storage.list_identity_policies(r.arn) == ()
    for p in doomed:
        assert storage.get_principal(p.arn) is None
        assert list(storage.list_access_keys(p.arn)) == []
    for k in doomed_keys:
        assert storage.get_access_key(k.access_key_id) is None
    for p in [*survivors, user]:
        assert storage.get_principal(p.arn) == p
    for k in kept_keys:
        assert storage.get_access_key(k.access_key_id) == k
    assert [x.name for x in storage.list_roles(ACCOUNT)] == ["a_p", "app2"]
    assert storage.get_role(foreign.arn) == foreign
    assert len(storage.list_identity_policies(keep.arn)) == 1
    storage.delete_role(r.arn)  # missing: no-op


def test_delete_role_treats_like_wildcards_literally(storage: Storage) -> None:
    _accounts(storage)
    wild, plain = role("a_p%"), role("axp%x")
    storage.create_role(wild)
    storage.create_role(plain)
    mine, theirs = session(wild, "s"), session(plain, "s")
    storage.create_principal(mine)
    storage.create_principal(theirs)
    storage.delete_role(wild.arn)
    assert storage.get_principal(mine.arn) is None
    assert storage.get_principal(theirs.arn) == theirs
    assert storage.get_role(plain.arn) == plain


# -- identity policies ---------------------------------------------------------------------


def test_identity_policies_put_replace_list_delete(storage: Storage) -> None:
    _accounts(storage)
    user = b.principal(name="alice")
    storage.create_principal(user)
    r = role()
    storage.create_role(r)
    assert storage.list_identity_policies(user.arn) == ()
    for name in ["b", "B", "a"]:
        storage.put_identity_policy(IdentityPolicy(user.arn, name, f'{{"n":"{name}"}}'))
    storage.put_identity_policy(IdentityPolicy(r.arn, "a", "role-doc"))
    assert [p.name for p in storage.list_identity_policies(user.arn)] == ["B", "a", "b"]
    replaced = IdentityPolicy(user.arn, "a", '{"n":"a2"}')
    storage.put_identity_policy(replaced)
    assert storage.list_identity_policies(user.arn)[1] == replaced
    assert len(storage.list_identity_policies(user.arn)) == 3
    storage.delete_identity_policy(user.arn, "B")
    storage.delete_identity_policy(user.arn, "missing")  # ignored
    assert list(storage.list_identity_policies(user.arn)) == [replaced, IdentityPolicy(user.arn, "b", '{"n":"b"}')]
    assert list(storage.list_identity_policies(r.arn)) == [IdentityPolicy(r.arn, "a", "role-doc")]


def test_identity_policy_document_round_trips_exactly(storage: Storage) -> None:
    _accounts(storage)
    user = b.principal()
    storage.create_principal(user)
    document = '{ "Version" : "2012-10-17",\n\t"Statement": [{"Sid": "é ☃ \\u0000", "Effect":"Allow"}] }' + "x" * 6000
    storage.put_identity_policy(IdentityPolicy(user.arn, "big", document))
    assert storage.list_identity_policies(user.arn)[0].document == document


# -- expired STS access keys -----------------------------------------------------------------


def test_delete_expired_access_keys(storage: Storage) -> None:
    _accounts(storage)
    r = role()
    storage.create_role(r)
    s = session(r, "s")
    user = b.principal()
    storage.create_principal(s)
    storage.create_principal(user)
    permanent = b.access_key(user)
    expired = b.access_key(s, expires_at=T0 - 1)
    at_now = b.access_key(s, expires_at=T0)
    later = b.access_key(s, expires_at=T0 + 0.000001)
    for k in (permanent, expired, at_now, later):
        storage.create_access_key(k)
        assert storage.get_access_key(k.access_key_id) == k  # prime any cache
    assert storage.delete_expired_access_keys(T0) == 2
    assert storage.get_access_key(expired.access_key_id) is None
    assert storage.get_access_key(at_now.access_key_id) is None
    assert storage.get_access_key(later.access_key_id) == later
    assert storage.get_access_key(permanent.access_key_id) == permanent
    assert storage.delete_expired_access_keys(T0) == 0
    assert storage.delete_expired_access_keys(T0 + 10**9) == 1
    assert storage.get_access_key(permanent.access_key_id) == permanent


# -- grants --------------------------------------------------------------------------------


def test_grant_round_trips(storage: Storage) -> None:
    k = _key(storage)
    full = grant(
        k,
        name="my-grant",
        retiring_principal=f"arn:aws:iam::{ACCOUNT}:role/retirer",
        operations=("GenerateDataKey", "Decrypt", "CreateGrant"),
        encryption_context_equals={"b": "2", "a": "é"},
        created_at=0.1 + 0.2,
    )
    bare = grant(k)
    empty = grant(k, encryption_context_subset={}, operations=("Sign",))
    for g in (full, bare, empty):
        assert storage.get_grant(g.grant_id) is None
        storage.create_grant(g)
    for g in (full, bare, empty):
        got = storage.get_grant(g.grant_id)
        assert got == g
        assert got.operations == g.operations  # order kept  # type: ignore[union-attr]
    assert storage.get_grant(empty.grant_id).encryption_context_subset == {}  # type: ignore[union-attr]
    assert storage.get_grant(bare.grant_id).encryption_context_equals is None  # type: ignore[union-attr]


def test_create_grant_duplicate_id(storage: Storage) -> None:
    k = _key(storage)
    other = _key(storage)
    g = grant(k)
    storage.create_grant(g)
    with pytest.raises(Duplicate):
        storage.create_grant(replace(g, name="again"))
    with pytest.raises(Duplicate):  # grant ids are globally unique, not per key
        storage.create_grant(grant(other, grant_id=g.grant_id))
    assert storage.get_grant(g.grant_id) == g
    assert storage.count_grants(REGION, other.key_id) == 0


def test_grants_for_key_in_creation_order(storage: Storage) -> None:
    k = _key(storage)
    other = _key(storage)
    elsewhere = _key(storage, region=OTHER_REGION)
    # ids that sort differently from creation order; same created_at
    made = [grant(k, grant_id=c * 64) for c in "f0a9"]
    for g in made:
        storage.create_grant(g)
    storage.create_grant(grant(other))
    storage.create_grant(grant(elsewhere))
    assert list(storage.grants_for_key(REGION, k.key_id)) == made
    assert storage.count_grants(REGION, k.key_id) == 4
    assert storage.count_grants(REGION, other.key_id) == 1
    assert storage.count_grants(REGION, elsewhere.key_id) == 0
    assert len(storage.grants_for_key(OTHER_REGION, elsewhere.key_id)) == 1
    assert list(storage.grants_for_key(REGION, b.key_id())) == []


def test_find_grant_by_name(storage: Storage) -> None:
    k = _key(storage)
    other = _key(storage)
    a1 = grant(k, name="a")
    a2 = grant(k, name="a", operations=("Decrypt",))
    storage.create_grant(a1)
    storage.create_grant(grant(k, name="A"))
    storage.create_grant(grant(k))
    storage.create_grant(a2)
    storage.create_grant(grant(other, name="a"))
    assert list(storage.find_grant_by_name(REGION, k.key_id, "a")) == [a1, a2]
    assert list(storage.find_grant_by_name(REGION, k.key_id, "missing")) == []


def test_list_grants_paginates_in_creation_order(storage: Storage) -> None:
    k = _key(storage)
    made = [grant(k, grant_id=f"{9 - i:064x}") for i in range(7)]
    for g in made:
        storage.create_grant(g)
    storage.create_grant(grant(_key(storage)))
    seen: list[str] = []
    marker: str | None = None
    pages = 0
    while True:
        page = storage.list_grants(REGION, k.key_id, 3, marker)
        pages += 1
        assert len(page.items) <= 3
        seen += _ids(page.items)
        marker = page.next_marker
        if marker is None:
            break
    assert seen == _ids(made)
    assert pages == 3
    exact = storage.list_grants(REGION, k.key_id, 7, None)
    assert _ids(exact.items) == _ids(made) and exact.next_marker is None
    with pytest.raises(ValueError):
        storage.list_grants(REGION, k.key_id, 0, None)


def test_list_grants_marker_survives_deletions(storage: Storage) -> None:
    k = _key(storage)
    made = [grant(k) for _ in range(4)]
    for g in made:
        storage.create_grant(g)
    first = storage.list_grants(REGION, k.key_id, 2, None)
    storage.delete_grant(made[1].grant_id)  # the marker's own row
    storage.delete_grant(made[2].grant_id)
    rest = storage.list_grants(REGION, k.key_id, 2, first.next_marker)
    assert _ids(rest.items) == [made[3].grant_id]
    assert rest.next_marker is None


def test_list_grants_filters(storage: Storage) -> None:
    k = _key(storage)
    bob = f"arn:aws:iam::{ACCOUNT}:user/bob"
    g1 = grant(k, grantee_principal=bob)
    g2 = grant(k)
    g3 = grant(k, grantee_principal=bob)
    for g in (g1, g2, g3):
        storage.create_grant(g)
    other_key_grant = grant(_key(storage), grantee_principal=bob)
    storage.create_grant(other_key_grant)
    assert storage.list_grants(REGION, k.key_id, 10, None, grant_id=g2.grant_id).items == [g2]
    assert storage.list_grants(REGION, k.key_id, 10, None, grant_id=other_key_grant.grant_id).items == []
    assert storage.list_grants(REGION, k.key_id, 10, None, grantee_principal=bob).items == [g1, g3]
    assert storage.list_grants(REGION, k.key_id, 10, None, grant_id=g1.grant_id, grantee_principal=bob).items == [g1]
    assert storage.list_grants(REGION, k.key_id, 10, None, grant_id=g2.grant_id, grantee_principal=bob).items == []
    page = storage.list_grants(REGION, k.key_id, 1, None, grantee_principal=bob)
    assert page.items == [g1]
    assert storage.list_grants(REGION, k.key_id, 1, page.next_marker, grantee_principal=bob).items == [g3]


def test_list_retirable_grants_across_keys(storage: Storage) -> None:
    retirer = f"arn:aws:iam::{ACCOUNT}:role/retirer"
    k1 = _key(storage)
    k2 = _key(storage, region=OTHER_REGION)
    made = [grant(k1, retiring_principal=retirer), grant(k2, retiring_principal=retirer)]
    storage.create_grant(made[0])
    storage.create_grant(grant(k1, retiring_principal=retirer + "2"))
    storage.create_grant(grant(k1))
    storage.create_grant(made[1])
    made.append(grant(k1, retiring_principal=retirer))
    storage.create_grant(made[2])
    first = storage.list_retirable_grants(retirer, 2, None)
    assert first.items == made[:2]
    assert first.next_marker is not None
    second = storage.list_retirable_grants(retirer, 2, first.next_marker)
    assert second.items == made[2:] and second.next_marker is None
    assert storage.list_retirable_grants(f"arn:aws:iam::{ACCOUNT}:role/RETIRER", 10, None).items == []


@pytest.mark.parametrize("marker", BAD_MARKERS)
def test_grant_listings_reject_foreign_markers(storage: Storage, marker: str) -> None:
    with pytest.raises(BadMarker):
        storage.list_grants(REGION, b.key_id(), 10, marker)
    with pytest.raises(BadMarker):
        storage.list_retirable_grants("arn:aws:iam::111122223333:root", 10, marker)


def test_grant_markers_are_not_interchangeable(storage: Storage) -> None:
    retirer = f"arn:aws:iam::{ACCOUNT}:user/r"
    k = _key(storage)
    _key(storage)
    for _ in range(3):
        storage.create_grant(grant(k, retiring_principal=retirer))
    grants_marker = storage.list_grants(REGION, k.key_id, 1, None).next_marker
    retirable_marker = storage.list_retirable_grants(retirer, 1, None).next_marker
    keys_marker = storage.list_keys(ACCOUNT, REGION, 1, None).next_marker
    assert grants_marker and retirable_marker and keys_marker
    with pytest.raises(BadMarker):
        storage.list_grants(REGION, k.key_id, 10, retirable_marker)
    with pytest.raises(BadMarker):
        storage.list_grants(REGION, k.key_id, 10, keys_marker)
    with pytest.raises(BadMarker):
        storage.list_retirable_grants(retirer, 10, grants_marker)
    with pytest.raises(BadMarker):
        storage.list_keys(ACCOUNT, REGION, 10, grants_marker)
    garbled = grants_marker[: len(grants_marker) // 2] + (
        "A" if grants_marker[len(grants_marker) // 2] != "A" else "B") + grants_marker[len(grants_marker) // 2 + 1 :]
    with pytest.raises(BadMarker):
        storage.list_grants(REGION, k.key_id, 10, garbled)


def test_delete_grant(storage: Storage) -> None:
    k = _key(storage)
    g1, g2 = grant(k), grant(k)
    storage.create_grant(g1)
    storage.create_grant(g2)
    assert len(storage.grants_for_key(REGION, k.key_id)) == 2  # prime any cache
    assert storage.get_grant(g1.grant_id) == g1
    storage.delete_grant(g1.grant_id)
    storage.delete_grant("f" * 64)  # missing: ignored
    assert storage.get_grant(g1.grant_id) is None
    assert list(storage.grants_for_key(REGION, k.key_id)) == [g2]
    assert storage.count_grants(REGION, k.key_id) == 1


def test_delete_key_deletes_its_grants_only(storage: Storage) -> None:
    retirer = f"arn:aws:iam::{ACCOUNT}:user/r"
    k = _key(storage)
    other = _key(storage)
    replica = b.key(key_id=k.key_id, region=OTHER_REGION)  # same key id, other region
    storage.create_key(replica, None)
    doomed = [grant(k, retiring_principal=retirer, name="n"), grant(k)]
    kept = [grant(other, retiring_principal=retirer), grant(replica)]
    for g in [*doomed, *kept]:
        storage.create_grant(g)
    assert len(storage.grants_for_key(REGION, k.key_id)) == 2  # prime any cache
    for g in [*doomed, *kept]:
        assert storage.get_grant(g.grant_id) == g

    storage.delete_key(REGION, k.key_id)

    for g in doomed:
        assert storage.get_grant(g.grant_id) is None
    for g in kept:
        assert storage.get_grant(g.grant_id) == g
    assert list(storage.grants_for_key(REGION, k.key_id)) == []
    assert storage.count_grants(REGION, k.key_id) == 0
    assert list(storage.find_grant_by_name(REGION, k.key_id, "n")) == []
    assert storage.list_retirable_grants(retirer, 10, None).items == [kept[0]]
    assert list(storage.grants_for_key(OTHER_REGION, k.key_id)) == [kept[1]]


def test_reset_clears_roles_policies_and_grants(storage: Storage) -> None:
    _accounts(storage)
    r = role()
    storage.create_role(r)
    storage.put_identity_policy(IdentityPolicy(r.arn, "p", "{}"))
    k = _key(storage)
    g = grant(k)
    storage.create_grant(g)
    assert storage.get_role(r.arn) == r and storage.get_grant(g.grant_id) == g
    assert len(storage.grants_for_key(REGION, k.key_id)) == 1
    assert len(storage.list_identity_policies(r.arn)) == 1
    storage.reset()
    assert storage.get_role(r.arn) is None
    assert storage.list_roles(ACCOUNT) == []
    assert storage.list_identity_policies(r.arn) == ()
    assert storage.get_grant(g.grant_id) is None
    assert list(storage.grants_for_key(REGION, k.key_id)) == []


# -- CachedStorage: what is cached, what a write invalidates ------------------------------

TTL = 1.0


@pytest.fixture
def inner(sqlite_storage: SqlStorage) -> SqlStorage:
    sqlite_storage.reset()
    return sqlite_storage


@pytest.fixture
def cache(inner: SqlStorage, clock: FixedClock) -> CachedStorage:
    return CachedStorage(inner, clock, ttl_seconds=TTL)


def test_cache_serves_hot_reads_from_memory_until_ttl(inner: SqlStorage, cache: CachedStorage, clock: FixedClock) -> None:
    """``inner`` stands in for another node writing to the shared database."""
    _accounts(cache)
    r = role()
    cache.create_role(r)
    cache.put_identity_policy(IdentityPolicy(r.arn, "p", "v1"))
    k = _key(cache)
    g = grant(k)
    cache.create_grant(g)
    assert cache.get_role(r.arn) == r
    assert [p.document for p in cache.list_identity_policies(r.arn)] == ["v1"]
    assert list(cache.grants_for_key(REGION, k.key_id)) == [g]
    assert cache.get_grant(g.grant_id) == g

    changed = replace(r, max_session_duration=7200)
    inner.update_role(changed)
    inner.put_identity_policy(IdentityPolicy(r.arn, "p", "v2"))
    inner.delete_grant(g.grant_id)

    assert cache.get_role(r.arn) == r  # stale within the TTL: served from memory
    assert [p.document for p in cache.list_identity_policies(r.arn)] == ["v1"]
    assert list(cache.grants_for_key(REGION, k.key_id)) == [g]
    assert cache.get_grant(g.grant_id) == g

    clock.advance(TTL + 0.001)
    assert cache.get_role(r.arn) == changed
    assert [p.document for p in cache.list_identity_policies(r.arn)] == ["v2"]
    assert list(cache.grants_for_key(REGION, k.key_id)) == []
    assert cache.get_grant(g.grant_id) is None


def test_cache_own_writes_are_visible_at_once(cache: CachedStorage) -> None:
    _accounts(cache)
    r = role()
    assert cache.get_role(r.arn) is None  # cached absence
    assert cache.get_principal(r.arn) is None
    cache.create_role(r)
    assert cache.get_role(r.arn) == r
    assert cache.get_principal(r.arn) is not None
    changed = replace(r, trust_policy="{}")
    cache.update_role(changed)
    assert cache.get_role(r.arn) == changed

    assert cache.list_identity_policies(r.arn) == ()
    cache.put_identity_policy(IdentityPolicy(r.arn, "p", "v1"))
    assert [p.document for p in cache.list_identity_policies(r.arn)] == ["v1"]
    cache.put_identity_policy(IdentityPolicy(r.arn, "p", "v2"))
    assert [p.document for p in cache.list_identity_policies(r.arn)] == ["v2"]
    cache.delete_identity_policy(r.arn, "p")
    assert cache.list_identity_policies(r.arn) == ()

    k = _key(cache)
    g = grant(k)
    assert cache.get_grant(g.grant_id) is None
    assert list(cache.grants_for_key(REGION, k.key_id)) == []
    cache.create_grant(g)
    assert cache.get_grant(g.grant_id) == g
    assert list(cache.grants_for_key(REGION, k.key_id)) == [g]
    cache.delete_grant(g.grant_id)
    assert cache.get_grant(g.grant_id) is None
    assert list(cache.grants_for_key(REGION, k.key_id)) == []

    s = session(r, "s")
    cache.create_principal(s)
    ak = b.access_key(s, expires_at=1.0)
    cache.create_access_key(ak)
    assert cache.get_access_key(ak.access_key_id) == ak
    assert cache.delete_expired_access_keys(T0) == 1
    assert cache.get_access_key(ak.access_key_id) is None

    cache.put_identity_policy(IdentityPolicy(r.arn, "p", "v3"))
    assert len(cache.list_identity_policies(r.arn)) == 1
    assert cache.get_principal(s.arn) == s
    cache.delete_role(r.arn)
    assert cache.get_role(r.arn) is None
    assert cache.get_principal(r.arn) is None
    assert cache.get_principal(s.arn) is None
    assert cache.list_identity_policies(r.arn) == ()


def test_cache_failed_create_grant_keeps_cache_correct(cache: CachedStorage) -> None:
    k = _key(cache)
    g = grant(k)
    cache.create_grant(g)
    assert list(cache.grants_for_key(REGION, k.key_id)) == [g]
    with pytest.raises(Duplicate):
        cache.create_grant(replace(g, name="dup"))
    assert cache.get_grant(g.grant_id) == g
    assert list(cache.grants_for_key(REGION, k.key_id)) == [g]
