"""service.authorization: what the evaluator is given and how decisions are cached
(issue 5; spec §7.3-7.5, §8). Real SQLite storage, real root key; no server."""

from __future__ import annotations

import json
import os

import pytest

from tests.unit.service.iam_fixtures import make_deps
from trent.domain.grants import GrantRecord
from trent.domain.keys import Key, KeySpec, KeyState, KeyUsage, Origin
from trent.domain.policies import default_key_policy
from trent.domain.principals import IdentityPolicy, Principal, PrincipalKind, Role
from trent.errors import AccessDenied, InvalidGrantToken, KMSInternal
from trent.service import authorization, grant_tokens
from trent.service.context import RequestContext

NOW = 1_800_000_000.0
ACCOUNT = "111122223333"
OTHER = "444455556666"
ALICE = f"arn:aws:iam::{ACCOUNT}:user/alice"
BOB = f"arn:aws:iam::{ACCOUNT}:user/bob"
ROOT = f"arn:aws:iam::{ACCOUNT}:root"
ALLOW_ALL = json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]})


@pytest.fixture()
def deps():
    yield from make_deps({ACCOUNT: ("alice", "bob"), OTHER: ("carol",)})


def ctx_for(deps, arn: str, *, tokens: tuple[str, ...] = (), source_ip: str = "10.0.0.1") -> RequestContext:
    principal = deps.storage.get_principal(arn)
    if principal is None:  # account roots are created with their account
        raise AssertionError(arn)
    return RequestContext(principal, "AKIA", "us-east-1", "aws", "req", NOW, source_ip, None, tokens)


def make_key(deps, policy: str | None = None, account: str = ACCOUNT) -> Key:
    key = Key(
        key_id=f"{os.urandom(4).hex()}-1111-2222-3333-444455556666",
        account_id=account, region="us-east-1", partition="aws", key_spec=KeySpec.SYMMETRIC_DEFAULT,
        key_usage=KeyUsage.ENCRYPT_DECRYPT, origin=Origin.AWS_KMS, state=KeyState.ENABLED, created_at=NOW,
        description="", multi_region=False, current_material_id=None,
        policy=policy if policy is not None else default_key_policy(account),
    )
    deps.storage.create_key(key, None)
    return key


def key_policy(*statements: dict) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def test_default_policy_delegates_to_iam(deps):
    key = make_key(deps)
    alice = ctx_for(deps, ALICE)
    with pytest.raises(AccessDenied) as denied:
        authorization.authorize(deps, alice, "Encrypt", key)
    assert str(denied.value) == (
        f"User: {ALICE} is not authorized to perform: kms:Encrypt on resource: {key.arn} "
        "because no identity-based policy allows the kms:Encrypt action"
    )
    deps.storage.put_identity_policy(IdentityPolicy(ALICE, "all", ALLOW_ALL))
    authorization.authorize(deps, alice, "Encrypt", key)
    # The account root needs no identity policy.
    authorization.authorize(deps, ctx_for(deps, ROOT), "Encrypt", key)


def test_cached_decision_follows_policy_text(deps):
    deps.storage.put_identity_policy(IdentityPolicy(ALICE, "all", ALLOW_ALL))
    key = make_key(deps)
    alice = ctx_for(deps, ALICE)
    authorization.authorize(deps, alice, "Encrypt", key)
    authorization.authorize(deps, alice, "Encrypt", key)  # served from the cache
    denying = key.with_changes(policy=key_policy(
        {"Effect": "Allow", "Principal": {"AWS": ROOT}, "Action": "kms:*", "Resource": "*"},
        {"Effect": "Deny", "Principal": {"AWS": ALICE}, "Action": "kms:Encrypt", "Resource": "*"},
    ))
    with pytest.raises(AccessDenied, match="with an explicit deny in a resource-based policy"):
        authorization.authorize(deps, alice, "Encrypt", denying)
    # a cached explicit deny is still worded with the right policy kind
    with pytest.raises(AccessDenied, match="with an explicit deny in a resource-based policy"):
        authorization.authorize(deps, alice, "Encrypt", denying)
    deps.storage.put_identity_policy(IdentityPolicy(ALICE, "no-encrypt", json.dumps(
        {"Version": "2012-10-17", "Statement": [{"Effect": "Deny", "Action": "kms:Encrypt", "Resource": "*"}]})))
    with pytest.raises(AccessDenied, match="with an explicit deny in an identity-based policy"):
        authorization.authorize(deps, alice, "Encrypt", key)


def test_conditions_are_evaluated_per_request(deps):
    deps.storage.put_identity_policy(IdentityPolicy(ALICE, "ctx", json.dumps({
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "kms:Encrypt", "Resource": "*",
                       "Condition": {"StringEquals": {"kms:EncryptionContext:team": "red"}}}],
    })))
    key = make_key(deps)
    alice = ctx_for(deps, ALICE)
    authorization.authorize(deps, alice, "Encrypt", key, encryption_context={"team": "red"})
    with pytest.raises(AccessDenied):
        authorization.authorize(deps, alice, "Encrypt", key, encryption_context={"team": "blue"})
    authorization.authorize(deps, alice, "Encrypt", key, encryption_context={"team": "red"})


def test_resource_tag_condition_reads_tags_only_when_asked(deps):
    from trent.domain.keys import Tag

    deps.storage.put_identity_policy(IdentityPolicy(ALICE, "abac", json.dumps({
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "kms:*", "Resource": "*",
                       "Condition": {"StringEquals": {"aws:ResourceTag/Project": "apollo"}}}],
    })))
    key = make_key(deps)
    alice = ctx_for(deps, ALICE)
    with pytest.raises(AccessDenied):
        authorization.authorize(deps, alice, "Decrypt", key)
    deps.storage.put_tags(key.region, key.key_id, [Tag("Project", "apollo")])
    authorization.authorize(deps, alice, "Decrypt", key)


def test_grant_allows_where_policies_do_not_and_token_names_it(deps):
    key = make_key(deps)
    bob = ctx_for(deps, BOB)
    with pytest.raises(AccessDenied):
        authorization.authorize(deps, bob, "Decrypt", key)
    grant = GrantRecord(
        grant_id="ab" * 32, region=key.region, key_id=key.key_id, key_arn=key.arn, key_account_id=ACCOUNT,
        issuing_account=ROOT, grantee_principal=BOB, operations=("Decrypt",), created_at=NOW,
        encryption_context_subset={"app": "x"},
    )
    deps.storage.create_grant(grant)
    authorization.authorize(deps, bob, "Decrypt", key, encryption_context={"app": "x", "more": "y"})
    with pytest.raises(AccessDenied):
        authorization.authorize(deps, bob, "Decrypt", key, encryption_context={"app": "z"})
    with pytest.raises(AccessDenied):
        authorization.authorize(deps, bob, "Encrypt", key, encryption_context={"app": "x"})
    token = grant_tokens.issue(deps, grant.grant_id)
    assert token != grant_tokens.issue(deps, grant.grant_id)  # a new token every time
    authorization.authorize(deps, ctx_for(deps, BOB, tokens=(token,)), "Decrypt", key,
                            encryption_context={"app": "x"})
    with pytest.raises(InvalidGrantToken):
        authorization.authorize(deps, ctx_for(deps, BOB, tokens=("not-a-token",)), "Decrypt", key)


def test_cross_account_needs_key_policy_and_identity_policy(deps):
    carol_arn = f"arn:aws:iam::{OTHER}:user/carol"
    key = make_key(deps, key_policy(
        {"Effect": "Allow", "Principal": {"AWS": ROOT}, "Action": "kms:*", "Resource": "*"},
        {"Effect": "Allow", "Principal": {"AWS": OTHER}, "Action": "kms:Decrypt", "Resource": "*"},
    ))
    carol = ctx_for(deps, carol_arn)
    with pytest.raises(AccessDenied, match="because no identity-based policy allows the kms:Decrypt action"):
        authorization.authorize(deps, carol, "Decrypt", key)
    deps.storage.put_identity_policy(IdentityPolicy(carol_arn, "use-keys", json.dumps({
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": ["kms:Decrypt", "kms:Encrypt"], "Resource": key.arn}],
    })))
    authorization.authorize(deps, carol, "Decrypt", key)
    with pytest.raises(AccessDenied, match="because no resource-based policy allows the kms:Encrypt action"):
        authorization.authorize(deps, carol, "Encrypt", key)


def test_assumed_role_session_uses_its_roles_policies(deps):
    role_arn = f"arn:aws:iam::{ACCOUNT}:role/reader"
    deps.storage.create_role(Role(role_arn, ACCOUNT, "reader", "AROAREADER", json.dumps({
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Principal": {"AWS": ROOT}, "Action": "sts:AssumeRole"}],
    }), 3600, NOW))
    deps.storage.put_identity_policy(IdentityPolicy(role_arn, "read", json.dumps({
        "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "kms:Decrypt", "Resource": "*"}]})))
    session_arn = f"arn:aws:sts::{ACCOUNT}:assumed-role/reader/s1"
    deps.storage.create_principal(Principal(session_arn, ACCOUNT, PrincipalKind.ASSUMED_ROLE, "reader/s1",
                                            "AROAREADER:s1"))
    key = make_key(deps)
    session = ctx_for(deps, session_arn)
    authorization.authorize(deps, session, "Decrypt", key)
    with pytest.raises(AccessDenied) as denied:
        authorization.authorize(deps, session, "Encrypt", key)
    assert str(denied.value).startswith(f"User: {session_arn} is not authorized to perform: kms:Encrypt")


def test_iam_only_actions_and_alias_resources(deps):
    alice = ctx_for(deps, ALICE)
    with pytest.raises(AccessDenied) as denied:
        authorization.authorize_account(deps, alice, "CreateKey")
    assert str(denied.value) == (
        f"User: {ALICE} is not authorized to perform: kms:CreateKey on resource: * "
        "because no identity-based policy allows the kms:CreateKey action"
    )
    deps.storage.put_identity_policy(IdentityPolicy(ALICE, "aliases", json.dumps({
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "kms:CreateAlias",
                       "Resource": f"arn:aws:kms:us-east-1:{ACCOUNT}:alias/team-*"}],
    })))
    authorization.authorize_alias(deps, alice, "CreateAlias", "alias/team-a")
    with pytest.raises(AccessDenied):
        authorization.authorize_alias(deps, alice, "CreateAlias", "alias/other")


def test_principal_exists_rules(deps):
    exists = authorization.principal_exists(deps, "aws")
    assert exists(ROOT) and exists(f"arn:aws:iam::{OTHER}:root") and exists("arn:aws:iam::999999999999:root")
    assert exists(ALICE)
    assert not exists(f"arn:aws:iam::{ACCOUNT}:user/nobody")
    assert not exists(f"arn:aws:iam::{ACCOUNT}:role/nobody")
    assert not exists(f"arn:aws-cn:iam::{ACCOUNT}:root")  # other partition
    assert not exists("arn:aws:iam::12345:root")


def test_a_stored_policy_that_does_not_parse_fails_closed(deps):
    key = make_key(deps).with_changes(policy="{not json")
    with pytest.raises(KMSInternal):
        authorization.authorize(deps, ctx_for(deps, ROOT), "Encrypt", key)


def test_cached_decisions_are_keyed_by_the_condition_values_that_matter(deps):
    """A decision served from the cache must be the one evaluation gives for *these*
    condition values: the source IP and the context pair both change the verdict."""
    key = make_key(deps, key_policy(
        {"Effect": "Allow", "Principal": {"AWS": ROOT}, "Action": "kms:*", "Resource": "*"},
        {"Effect": "Deny", "Principal": "*", "Action": "kms:*", "Resource": "*",
         "Condition": {"NotIpAddress": {"aws:SourceIp": "10.0.0.0/8"}}},
    ))
    deps.storage.put_identity_policy(IdentityPolicy(ALICE, "ctx", json.dumps({
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "kms:Encrypt", "Resource": "*",
                       "Condition": {"StringEquals": {"kms:EncryptionContext:team": "red"}}}],
    })))
    inside, outside = ctx_for(deps, ALICE, source_ip="10.1.2.3"), ctx_for(deps, ALICE, source_ip="192.0.2.1")
    for _ in range(2):  # the second round is served from the cache
        authorization.authorize(deps, inside, "Encrypt", key, encryption_context={"team": "red"})
        with pytest.raises(AccessDenied, match="explicit deny in a resource-based policy"):
            authorization.authorize(deps, outside, "Encrypt", key, encryption_context={"team": "red"})
        with pytest.raises(AccessDenied, match="no identity-based policy allows"):
            authorization.authorize(deps, inside, "Encrypt", key, encryption_context={"team": "blue"})
        # an unrelated context pair does not change the verdict
        authorization.authorize(deps, inside, "Encrypt", key, encryption_context={"team": "red", "x": "1"})
