"""service.grants: CreateGrant/ListGrants/ListRetirableGrants/RetireGrant/RevokeGrant rules
(issue 5, spec §8). Real SQLite storage and root key; no server."""

from __future__ import annotations

import json
import os
import re

import pytest

from tests.unit.service.iam_fixtures import make_deps
from trent.domain.grants import GrantRecord
from trent.domain.keys import Key, KeySpec, KeyState, KeyUsage, Origin
from trent.domain.policies import default_key_policy
from trent.domain.principals import IdentityPolicy
from trent.errors import (
    AccessDenied,
    DryRunOperation,
    InvalidArn,
    InvalidGrantId,
    InvalidGrantToken,
    KMSInvalidState,
    LimitExceeded,
    NotFound,
    UnsupportedOperation,
    ValidationError,
)
from trent.service import authorization, grants
from trent.service.context import RequestContext
from trent.service.grants import EQUALS, SUBSET, Constraint, CreateGrantRequest

NOW = 1_800_000_000.0
ACCOUNT = "111122223333"
OTHER = "444455556666"
ROOT = f"arn:aws:iam::{ACCOUNT}:root"
ADMIN = f"arn:aws:iam::{ACCOUNT}:user/admin"
ALICE = f"arn:aws:iam::{ACCOUNT}:user/alice"
BOB = f"arn:aws:iam::{ACCOUNT}:user/bob"
CAROL = f"arn:aws:iam::{OTHER}:user/carol"
ALLOW_ALL = json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]})


@pytest.fixture()
def deps():
    for deps in make_deps({ACCOUNT: ("admin", "alice", "bob"), OTHER: ("carol",)}):
        # admin may do anything through the default key policy's IAM delegation; alice and
        # bob have no identity policy at all: only grants can let them use a key.
        deps.storage.put_identity_policy(IdentityPolicy(ADMIN, "all", ALLOW_ALL))
        yield deps


def ctx_for(deps, arn: str, *, tokens: tuple[str, ...] = (), region: str = "us-east-1") -> RequestContext:
    principal = deps.storage.get_principal(arn)
    assert principal is not None, arn
    return RequestContext(principal, "AKIA", region, "aws", "req", NOW, "10.0.0.1", None, tokens)


def make_key(
    deps,
    *,
    spec: KeySpec = KeySpec.SYMMETRIC_DEFAULT,
    usage: KeyUsage = KeyUsage.ENCRYPT_DECRYPT,
    account: str = ACCOUNT,
    state: KeyState = KeyState.ENABLED,
    policy: str | None = None,
) -> Key:
    key = Key(
        key_id=f"{os.urandom(4).hex()}-1111-2222-3333-444455556666",
        account_id=account, region="us-east-1", partition="aws", key_spec=spec,
        key_usage=usage, origin=Origin.AWS_KMS, state=state, created_at=NOW,
        description="", multi_region=False, current_material_id=None,
        policy=policy if policy is not None else default_key_policy(account),
    )
    deps.storage.create_key(key, None)
    return key


def request(key: Key, *ops: str, grantee: str = ALICE, **kw) -> CreateGrantRequest:
    return CreateGrantRequest(key_id=key.key_id, operations=ops, grantee_principal=grantee, **kw)


def create(deps, key: Key, *ops: str, caller: str = ADMIN, **kw) -> grants.CreatedGrant:
    return grants.create_grant(deps, ctx_for(deps, caller), request(key, *ops, **kw))


# --- pure rules ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("spec", "usage", "allowed", "refused"),
    [
        (KeySpec.SYMMETRIC_DEFAULT, KeyUsage.ENCRYPT_DECRYPT, {"Encrypt", "GenerateDataKeyPair", "ReEncryptTo"},
         {"Sign", "GetPublicKey", "GenerateMac"}),
        (KeySpec.RSA_2048, KeyUsage.ENCRYPT_DECRYPT, {"Encrypt", "Decrypt", "GetPublicKey"},
         {"GenerateDataKey", "Sign"}),
        (KeySpec.ECC_NIST_P256, KeyUsage.SIGN_VERIFY, {"Sign", "Verify", "GetPublicKey"}, {"Encrypt", "GenerateDataKey"}),
        (KeySpec.HMAC_256, KeyUsage.GENERATE_VERIFY_MAC, {"GenerateMac", "VerifyMac"}, {"Encrypt", "GetPublicKey"}),
        (KeySpec.ECC_NIST_P256, KeyUsage.KEY_AGREEMENT, {"DeriveSharedSecret", "GetPublicKey"}, {"Sign"}),
    ],
)
def test_supported_operations_by_key_type(deps, spec, usage, allowed, refused):
    key = make_key(deps, spec=spec, usage=usage)
    ops = grants.supported_operations(key)
    assert allowed <= ops and not (refused & ops)
    assert {"DescribeKey", "CreateGrant", "RetireGrant"} <= ops


@pytest.mark.parametrize(
    ("child", "parent", "ok"),
    [
        (Constraint(EQUALS, {"a": "1"}), None, True),
        (Constraint(EQUALS, {"a": "1"}), Constraint(EQUALS, {"a": "1"}), True),
        (Constraint(EQUALS, {"a": "1", "b": "2"}), Constraint(EQUALS, {"a": "1"}), False),
        (Constraint(SUBSET, {"a": "1"}), Constraint(EQUALS, {"a": "1"}), False),
        (Constraint(SUBSET, {"a": "1", "b": "2"}), Constraint(SUBSET, {"a": "1"}), True),
        (Constraint(EQUALS, {"a": "1", "b": "2"}), Constraint(SUBSET, {"a": "1"}), True),
        (Constraint(SUBSET, {"b": "2"}), Constraint(SUBSET, {"a": "1"}), False),
        (Constraint(SUBSET, {"a": "2"}), Constraint(SUBSET, {"a": "1"}), False),
    ],
)
def test_constraint_strictness(child, parent, ok):
    assert child.at_least_as_strict_as(parent) is ok


# --- CreateGrant ---------------------------------------------------------------------


def test_create_grant_stores_the_grant_and_a_token_that_names_it(deps):
    key = make_key(deps)
    created = create(deps, key, "Encrypt", "Decrypt", retiring_principal=BOB, name="app",
                     encryption_context_subset={"tenant": "7"})
    assert re.fullmatch(r"[0-9a-f]{64}", created.grant_id)
    stored = deps.storage.get_grant(created.grant_id)
    assert stored is not None
    assert (stored.key_arn, stored.grantee_principal, stored.retiring_principal, stored.name) == (
        key.arn, ALICE, BOB, "app")
    assert stored.operations == ("Encrypt", "Decrypt")
    assert stored.issuing_account == ROOT and stored.created_at == NOW
    assert dict(stored.encryption_context_subset or {}) == {"tenant": "7"}
    assert stored.encryption_context_equals is None
    from trent.service.grant_tokens import grant_id_of
    assert grant_id_of(deps, created.grant_token) == created.grant_id


def test_the_grant_alone_lets_the_grantee_use_the_key(deps):
    key = make_key(deps)
    alice = ctx_for(deps, ALICE)
    with pytest.raises(AccessDenied):
        authorization.authorize(deps, alice, "Encrypt", key)
    create(deps, key, "Encrypt", encryption_context_equals={"a": "1"})
    authorization.authorize(deps, alice, "Encrypt", key, encryption_context={"a": "1"})
    with pytest.raises(AccessDenied):
        authorization.authorize(deps, alice, "Encrypt", key, encryption_context={"a": "1", "b": "2"})
    with pytest.raises(AccessDenied):
        authorization.authorize(deps, alice, "Decrypt", key, encryption_context={"a": "1"})


@pytest.mark.parametrize(
    ("spec", "usage", "ops", "kw", "error"),
    [
        (KeySpec.SYMMETRIC_DEFAULT, KeyUsage.ENCRYPT_DECRYPT, ("Sign",), {}, ValidationError),
        (KeySpec.RSA_2048, KeyUsage.ENCRYPT_DECRYPT, ("GenerateDataKey",), {}, ValidationError),
        (KeySpec.HMAC_256, KeyUsage.GENERATE_VERIFY_MAC, ("Encrypt",), {}, ValidationError),
        (KeySpec.SYMMETRIC_DEFAULT, KeyUsage.ENCRYPT_DECRYPT, ("Encapsulate",), {}, ValidationError),
        (KeySpec.SYMMETRIC_DEFAULT, KeyUsage.ENCRYPT_DECRYPT, (), {}, ValidationError),
        (KeySpec.ECC_NIST_P256, KeyUsage.SIGN_VERIFY, ("Sign",), {"encryption_context_equals": {"a": "1"}},
         ValidationError),
        (KeySpec.SYMMETRIC_DEFAULT, KeyUsage.ENCRYPT_DECRYPT, ("Encrypt",),
         {"encryption_context_equals": {f"k{i}": "v" for i in range(9)}}, ValidationError),
        (KeySpec.SYMMETRIC_DEFAULT, KeyUsage.ENCRYPT_DECRYPT, ("Encrypt",),
         {"encryption_context_subset": {"k": "v" * 385}}, ValidationError),
        (KeySpec.SYMMETRIC_DEFAULT, KeyUsage.ENCRYPT_DECRYPT, ("Encrypt",),
         {"encryption_context_subset": {"k": "v"}, "encryption_context_equals": {"k": "v"}}, ValidationError),
        (KeySpec.SYMMETRIC_DEFAULT, KeyUsage.ENCRYPT_DECRYPT, ("Encrypt",),
         {"grantee": f"arn:aws:iam::{ACCOUNT}:user/nobody"}, InvalidArn),
        (KeySpec.SYMMETRIC_DEFAULT, KeyUsage.ENCRYPT_DECRYPT, ("Encrypt",), {"grantee": "not-an-arn"}, InvalidArn),
        (KeySpec.SYMMETRIC_DEFAULT, KeyUsage.ENCRYPT_DECRYPT, ("Encrypt",),
         {"retiring_principal": f"arn:aws:iam::{ACCOUNT}:role/missing"}, InvalidArn),
        (KeySpec.SYMMETRIC_DEFAULT, KeyUsage.ENCRYPT_DECRYPT, ("Encrypt",),
         {"grantee_service_principal": "s3.amazonaws.com"}, UnsupportedOperation),
        (KeySpec.SYMMETRIC_DEFAULT, KeyUsage.ENCRYPT_DECRYPT, ("Encrypt",),
         {"source_arn": "arn:aws:s3:::bucket-123456789012"}, UnsupportedOperation),
    ],
    ids=["sign-on-symmetric", "gdk-on-rsa", "encrypt-on-hmac", "not-a-grant-op", "no-ops", "constraint-on-ecc",
         "nine-pairs", "long-value", "both-constraints", "unknown-user", "bad-arn", "unknown-retiring-role",
         "service-principal", "source-arn"],
)
def test_create_grant_validation(deps, spec, usage, ops, kw, error):
    key = make_key(deps, spec=spec, usage=usage)
    with pytest.raises(error):
        create(deps, key, *ops, **kw)
    assert deps.storage.count_grants(key.region, key.key_id) == 0


def test_principals_of_any_kind_and_account(deps):
    key = make_key(deps)
    for grantee in (f"arn:aws:iam::{OTHER}:root", CAROL, ROOT):
        create(deps, key, "Encrypt", grantee=grantee)
    assert deps.storage.count_grants(key.region, key.key_id) == 3


def test_missing_grantee(deps):
    key = make_key(deps)
    with pytest.raises(ValidationError):
        grants.create_grant(deps, ctx_for(deps, ADMIN), CreateGrantRequest(key.key_id, ("Encrypt",), None))


def test_eight_pairs_and_384_chars_are_allowed(deps):
    key = make_key(deps)
    create(deps, key, "Encrypt", encryption_context_equals={f"k{i}": "v" * 384 for i in range(8)})


def test_name_idempotency(deps):
    key = make_key(deps)
    first = create(deps, key, "Encrypt", "Decrypt", name="retry-me", retiring_principal=BOB)
    again = create(deps, key, "Decrypt", "Encrypt", name="retry-me", retiring_principal=BOB)
    assert again.grant_id == first.grant_id
    assert again.grant_token != first.grant_token  # a new token every time (spec §8)
    assert deps.storage.count_grants(key.region, key.key_id) == 1
    # Same name, different parameters: another grant (names are not unique).
    other = create(deps, key, "Encrypt", name="retry-me", retiring_principal=BOB)
    assert other.grant_id != first.grant_id
    # No name: always a new grant.
    a, b = create(deps, key, "Encrypt"), create(deps, key, "Encrypt")
    assert a.grant_id != b.grant_id
    assert deps.storage.count_grants(key.region, key.key_id) == 4


def test_limit_per_key(deps, monkeypatch):
    monkeypatch.setattr(grants, "MAX_GRANTS_PER_KEY", 2)
    key = make_key(deps)
    create(deps, key, "Encrypt", name="one")
    create(deps, key, "Encrypt")
    with pytest.raises(LimitExceeded):
        create(deps, key, "Encrypt")
    # An idempotent retry is not a new grant: still answered at the limit.
    assert create(deps, key, "Encrypt", name="one").grant_id


def test_dry_run_checks_everything_then_creates_nothing(deps):
    key = make_key(deps)
    with pytest.raises(DryRunOperation):
        create(deps, key, "Encrypt", dry_run=True)
    assert deps.storage.count_grants(key.region, key.key_id) == 0
    with pytest.raises(AccessDenied):  # authorization first
        create(deps, key, "Encrypt", caller=ALICE, dry_run=True)
    with pytest.raises(ValidationError):
        create(deps, key, "Sign", dry_run=True)


def test_create_grant_on_a_disabled_key(deps):
    key = make_key(deps, state=KeyState.PENDING_DELETION)
    with pytest.raises(KMSInvalidState):
        create(deps, key, "Encrypt")


def test_create_grant_is_authorized_with_grant_condition_keys(deps):
    policy = json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"AWS": ROOT}, "Action": "kms:*", "Resource": "*"},
        {"Effect": "Deny", "Principal": {"AWS": "*"}, "Action": "kms:CreateGrant", "Resource": "*",
         "Condition": {"ForAnyValue:StringEquals": {"kms:GrantOperations": "Decrypt"}}},
        {"Effect": "Deny", "Principal": {"AWS": "*"}, "Action": "kms:CreateGrant", "Resource": "*",
         "Condition": {"StringNotEquals": {"kms:EncryptionContext:tenant": "7"}}},
    ]})
    key = make_key(deps, policy=policy)
    create(deps, key, "Encrypt", encryption_context_equals={"tenant": "7"})
    with pytest.raises(AccessDenied) as denied:
        create(deps, key, "Decrypt", encryption_context_equals={"tenant": "7"})
    assert "explicit deny in a resource-based policy" in str(denied.value)
    with pytest.raises(AccessDenied):
        create(deps, key, "Encrypt", encryption_context_equals={"tenant": "8"})


def test_grant_derived_create_grant_needs_a_subset_and_stricter_constraints(deps):
    key = make_key(deps)
    create(deps, key, "Encrypt", "Decrypt", "CreateGrant", encryption_context_subset={"a": "1"})
    # alice's only permission is that grant.
    ok = create(deps, key, "Encrypt", caller=ALICE, grantee=BOB, encryption_context_subset={"a": "1", "b": "2"})
    assert deps.storage.get_grant(ok.grant_id) is not None
    create(deps, key, "Decrypt", caller=ALICE, grantee=BOB, encryption_context_equals={"a": "1"})
    for ops, kw in [
        (("Encrypt", "GenerateDataKey"), {"encryption_context_subset": {"a": "1"}}),  # not a subset of ops
        (("Encrypt",), {}),  # unconstrained: weaker
        (("Encrypt",), {"encryption_context_subset": {"b": "2"}}),  # does not contain a=1
    ]:
        with pytest.raises(AccessDenied) as denied:
            create(deps, key, *ops, caller=ALICE, grantee=BOB, **kw)
        assert f"User: {ALICE} is not authorized to perform: kms:CreateGrant on resource: {key.arn}" in str(denied.value)


def test_equals_parent_allows_only_the_same_equals(deps):
    key = make_key(deps)
    create(deps, key, "Encrypt", "CreateGrant", encryption_context_equals={"a": "1"})
    create(deps, key, "Encrypt", caller=ALICE, grantee=BOB, encryption_context_equals={"a": "1"})
    with pytest.raises(AccessDenied):
        create(deps, key, "Encrypt", caller=ALICE, grantee=BOB, encryption_context_subset={"a": "1"})


def test_policy_permission_is_not_narrowed_by_grants(deps):
    key = make_key(deps)
    create(deps, key, "CreateGrant", grantee=ADMIN, encryption_context_equals={"a": "1"})
    # admin's permission comes from the key policy + IAM: no subset rule applies.
    create(deps, key, "Encrypt", "Decrypt")


def test_grant_tokens_are_checked(deps):
    key = make_key(deps)
    ctx = ctx_for(deps, ADMIN, tokens=("garbage",))
    with pytest.raises(InvalidGrantToken):
        grants.create_grant(deps, ctx, request(key, "Encrypt"))


# --- ListGrants / ListRetirableGrants --------------------------------------------------


def test_list_grants_filters_and_pages(deps):
    key = make_key(deps)
    ids = [create(deps, key, "Encrypt", grantee=g).grant_id for g in (ALICE, BOB, ALICE)]
    admin = ctx_for(deps, ADMIN)
    _, page = grants.list_grants(deps, admin, key.arn, 2, None)
    assert [g.grant_id for g in page.items] == ids[:2] and page.next_marker is not None
    _, rest = grants.list_grants(deps, admin, key.key_id, 2, page.next_marker)
    assert [g.grant_id for g in rest.items] == ids[2:] and rest.next_marker is None
    _, by_grantee = grants.list_grants(deps, admin, key.key_id, 50, None, grantee_principal=ALICE)
    assert [g.grant_id for g in by_grantee.items] == [ids[0], ids[2]]
    _, by_id = grants.list_grants(deps, admin, key.key_id, 50, None, grant_id=ids[1])
    assert [g.grant_id for g in by_id.items] == [ids[1]]
    _, none = grants.list_grants(deps, admin, key.key_id, 50, None, grant_id="0" * 64)
    assert list(none.items) == []
    with pytest.raises(InvalidGrantId):
        grants.list_grants(deps, admin, key.key_id, 50, None, grant_id="nope")
    with pytest.raises(AccessDenied):
        grants.list_grants(deps, ctx_for(deps, ALICE), key.key_id, 50, None)


def test_list_retirable_grants(deps):
    key = make_key(deps)
    mine = create(deps, key, "Encrypt", retiring_principal=BOB).grant_id
    create(deps, key, "Encrypt", retiring_principal=ALICE)
    page = grants.list_retirable_grants(deps, ctx_for(deps, ADMIN), BOB, 50, None)
    assert [g.grant_id for g in page.items] == [mine]
    # Grants in another Region are not listed there.
    west = grants.list_retirable_grants(deps, ctx_for(deps, ADMIN, region="us-west-2"), BOB, 50, None)
    assert list(west.items) == []
    with pytest.raises(AccessDenied):  # IAM-only: bob has no identity policy
        grants.list_retirable_grants(deps, ctx_for(deps, BOB), BOB, 50, None)
    with pytest.raises(AccessDenied):  # a principal of another account
        grants.list_retirable_grants(deps, ctx_for(deps, ADMIN), CAROL, 50, None)
    with pytest.raises(ValidationError):
        grants.list_retirable_grants(deps, ctx_for(deps, ADMIN), None, 50, None)


# --- RetireGrant / RevokeGrant -----------------------------------------------------------


def _record(grantee: str, ops: tuple[str, ...], retiring: str | None = None, issuing: str = ROOT) -> GrantRecord:
    return GrantRecord("0" * 64, "us-east-1", "k", "arn", ACCOUNT, issuing, grantee, ops, NOW, None, retiring)


@pytest.mark.parametrize(
    ("caller", "record", "ok"),
    [
        ((BOB,), _record(ALICE, ("Encrypt",), retiring=BOB), True),
        ((ALICE,), _record(ALICE, ("Encrypt",), retiring=BOB), False),
        ((ALICE,), _record(ALICE, ("Encrypt", "RetireGrant")), True),
        ((ROOT,), _record(ALICE, ("Encrypt",)), True),
        ((f"arn:aws:iam::{OTHER}:root",), _record(ALICE, ("Encrypt",), issuing=f"arn:aws:iam::{OTHER}:root"), True),
        ((f"arn:aws:iam::{OTHER}:root",), _record(ALICE, ("Encrypt",)), False),
        ((ADMIN,), _record(ALICE, ("Encrypt",)), False),
        ((f"arn:aws:sts::{ACCOUNT}:assumed-role/r/s", f"arn:aws:iam::{ACCOUNT}:role/r"),
         _record(ALICE, ("Encrypt",), retiring=f"arn:aws:iam::{ACCOUNT}:role/r"), True),
    ],
)
def test_who_may_retire(caller, record, ok):
    assert grants.may_retire(caller, record, "aws") is ok


def test_retire_by_token_and_by_id(deps):
    key = make_key(deps)
    g1 = create(deps, key, "Encrypt", retiring_principal=BOB)
    bob = ctx_for(deps, BOB)
    with pytest.raises(DryRunOperation):
        grants.retire_grant(deps, bob, g1.grant_token, None, None, dry_run=True)
    assert deps.storage.get_grant(g1.grant_id) is not None
    grants.retire_grant(deps, bob, g1.grant_token, None, None)
    assert deps.storage.get_grant(g1.grant_id) is None
    with pytest.raises(NotFound):  # the token outlives its grant
        grants.retire_grant(deps, bob, g1.grant_token, None, None)

    g2 = create(deps, key, "Encrypt", retiring_principal=BOB)
    with pytest.raises(AccessDenied):  # the grantee without RetireGrant
        grants.retire_grant(deps, ctx_for(deps, ALICE), None, key.arn, g2.grant_id)
    grants.retire_grant(deps, ctx_for(deps, ROOT), None, key.arn, g2.grant_id)
    assert deps.storage.get_grant(g2.grant_id) is None
    # issue 19: an IAM principal of the key's account whose identity policy allows
    # kms:RetireGrant on the key (admin: "*") may retire it too (delegation).
    g3 = create(deps, key, "Encrypt", retiring_principal=BOB)
    grants.retire_grant(deps, ctx_for(deps, ADMIN), None, key.arn, g3.grant_id)
    assert deps.storage.get_grant(g3.grant_id) is None


def test_retire_errors(deps):
    key = make_key(deps)
    other = make_key(deps)
    g = create(deps, key, "Encrypt", "RetireGrant")
    alice = ctx_for(deps, ALICE)
    with pytest.raises(InvalidGrantToken):
        grants.retire_grant(deps, alice, "garbage", None, None)
    with pytest.raises(ValidationError):
        grants.retire_grant(deps, alice, None, key.arn, None)
    with pytest.raises(InvalidGrantId):
        grants.retire_grant(deps, alice, None, key.arn, "x" * 64)
    with pytest.raises(NotFound):  # the grant is on another key
        grants.retire_grant(deps, alice, None, other.arn, g.grant_id)
    grants.retire_grant(deps, alice, None, key.arn, g.grant_id)  # grantee with RetireGrant


def test_explicit_deny_stops_retire(deps):
    policy = json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"AWS": ROOT}, "Action": "kms:*", "Resource": "*"},
        {"Effect": "Deny", "Principal": {"AWS": BOB}, "Action": "kms:RetireGrant", "Resource": "*"},
    ]})
    key = make_key(deps, policy=policy)
    g = create(deps, key, "Encrypt", retiring_principal=BOB)
    with pytest.raises(AccessDenied) as denied:
        grants.retire_grant(deps, ctx_for(deps, BOB), g.grant_token, None, None)
    assert "explicit deny" in str(denied.value)


def test_revoke(deps):
    key = make_key(deps)
    g = create(deps, key, "Encrypt")
    admin = ctx_for(deps, ADMIN)
    with pytest.raises(AccessDenied):
        grants.revoke_grant(deps, ctx_for(deps, ALICE), key.arn, g.grant_id)
    with pytest.raises(DryRunOperation):
        grants.revoke_grant(deps, admin, key.arn, g.grant_id, dry_run=True)
    grants.revoke_grant(deps, admin, key.key_id, g.grant_id)
    assert deps.storage.get_grant(g.grant_id) is None
    with pytest.raises(NotFound) as missing:
        grants.revoke_grant(deps, admin, key.key_id, g.grant_id)
    assert str(missing.value) == f"Grant ID {g.grant_id} not found"
    with pytest.raises(InvalidGrantId):
        grants.revoke_grant(deps, admin, key.key_id, "not-a-grant-id")
