"""service/sts.py: AssumeRole authorization, durations and temporary credentials (issue 5).

Expiry is checked here, at the Authenticator, with an explicit wall-clock ``now``: the
wire server judges credentials on the real clock, which a test cannot move.
"""

from __future__ import annotations

import hashlib

import pytest

from tests.unit.service.iam_fixtures import (
    ALICE,
    BOB,
    NOW,
    A,
    B,
    doc,
    make_deps,
    trusting,
)
from trent.domain.principals import PrincipalKind
from trent.errors import AccessDenied, ExpiredToken, UnrecognizedClient, ValidationError
from trent.service import iam, identity, sts
from trent.service.context import RequestContext


@pytest.fixture()
def deps():
    yield from make_deps()


WALL = 1_900_000_000.0


def ctx_for(deps, arn: str) -> RequestContext:
    principal = deps.storage.get_principal(arn)
    return RequestContext(principal, None, "us-east-1", "aws", "req", NOW, "127.0.0.1")


def assume(deps, caller: str, role: str, session: str = "s1", **kw) -> sts.TemporaryCredentials:
    return sts.assume_role(deps, ctx_for(deps, caller), sts.AssumeRoleInput(role, session, **kw), WALL)


def test_assume_role_issues_temporary_credentials(deps):
    role = iam.create_role(deps, A, "app", trusting(ALICE))
    creds = assume(deps, ALICE, role.arn, duration_seconds=900)
    assert creds.access_key_id.startswith("ASIA") and len(creds.access_key_id) == 20
    assert creds.assumed_role_arn == f"arn:aws:sts::{A}:assumed-role/app/s1"
    assert creds.assumed_role_id == f"{role.role_id}:s1"
    assert creds.expiration == WALL + 900
    assert len(creds.session_token) >= 200
    stored = deps.storage.get_access_key(creds.access_key_id)
    assert stored.session_token_sha256 == hashlib.sha256(creds.session_token.encode()).digest()
    assert creds.secret_access_key.encode() not in stored.wrapped_secret
    session = deps.storage.get_principal(creds.assumed_role_arn)
    assert session.kind is PrincipalKind.ASSUMED_ROLE and session.principal_id == creds.assumed_role_id
    assert sts.get_caller_identity(ctx_for(deps, creds.assumed_role_arn)).user_id == f"{role.role_id}:s1"

    auth = identity.Authenticator(deps)
    who = auth.authenticate(creds.access_key_id, creds.session_token, WALL + 899)
    assert who.principal.arn == creds.assumed_role_arn and who.secret == creds.secret_access_key
    with pytest.raises(UnrecognizedClient):
        auth.authenticate(creds.access_key_id, None, WALL)
    with pytest.raises(UnrecognizedClient):
        auth.authenticate(creds.access_key_id, creds.session_token + "x", WALL)
    with pytest.raises(ExpiredToken):
        auth.authenticate(creds.access_key_id, creds.session_token, WALL + 900)

    again = assume(deps, ALICE, role.arn)  # same session name: the principal row is reused
    assert again.assumed_role_arn == creds.assumed_role_arn and again.access_key_id != creds.access_key_id
    assert again.expiration == WALL + 3600


def test_caller_identity_of_users_and_root(deps):
    alice = sts.get_caller_identity(ctx_for(deps, ALICE))
    assert (alice.account, alice.arn) == (A, ALICE) and alice.user_id.startswith("AIDA")
    root = sts.get_caller_identity(ctx_for(deps, f"arn:aws:iam::{A}:root"))
    assert root.user_id == A


def test_denied_by_trust_policy_and_missing_role_look_the_same(deps):
    role = iam.create_role(deps, A, "app", trusting(f"arn:aws:iam::{A}:root"))
    with pytest.raises(AccessDenied) as denied:
        assume(deps, ALICE, role.arn)
    assert denied.value.message == (
        f"User: {ALICE} is not authorized to perform: sts:AssumeRole on resource: {role.arn} "
        "because no identity-based policy allows the sts:AssumeRole action"
    )
    iam.put_user_policy(deps, A, "alice", "assume",
                        doc({"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": role.arn}))
    assume(deps, ALICE, role.arn)
    missing = f"arn:aws:iam::{A}:role/missing"
    with pytest.raises(AccessDenied, match=f"sts:AssumeRole on resource: {missing}"):
        assume(deps, ALICE, missing)


def test_cross_account_needs_trust_and_identity_policy(deps):
    role = iam.create_role(deps, A, "shared", trusting(B))
    with pytest.raises(AccessDenied, match="no identity-based policy"):
        assume(deps, BOB, role.arn)
    iam.put_user_policy(deps, B, "bob", "assume", doc({"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": "*"}))
    creds = assume(deps, BOB, role.arn, session="bob")
    assert creds.assumed_role_arn == f"arn:aws:sts::{A}:assumed-role/shared/bob"
    other = iam.create_role(deps, A, "private", trusting(ALICE))
    with pytest.raises(AccessDenied, match="no resource-based policy"):
        assume(deps, BOB, other.arn)


def test_explicit_deny_in_identity_policy_wins(deps):
    role = iam.create_role(deps, A, "app", trusting(ALICE))
    iam.put_user_policy(deps, A, "alice", "deny", doc({"Effect": "Deny", "Action": "sts:*", "Resource": "*"}))
    with pytest.raises(AccessDenied, match="with an explicit deny in an identity-based policy"):
        assume(deps, ALICE, role.arn)


def test_external_id(deps):
    role = iam.create_role(deps, A, "app", trusting(ALICE, Condition={"StringEquals": {"sts:ExternalId": "tenant-7"}}))
    with pytest.raises(AccessDenied):
        assume(deps, ALICE, role.arn)
    with pytest.raises(AccessDenied):
        assume(deps, ALICE, role.arn, external_id="tenant-8")
    assume(deps, ALICE, role.arn, external_id="tenant-7")


def test_durations(deps):
    role = iam.create_role(deps, A, "app", trusting(ALICE), max_session_duration=7200)
    assert assume(deps, ALICE, role.arn, duration_seconds=7200).expiration == WALL + 7200
    with pytest.raises(ValidationError, match="exceeds the MaxSessionDuration set for this role"):
        assume(deps, ALICE, role.arn, duration_seconds=7201)
    # role chaining: a session assuming a role is limited to one hour
    chained = iam.create_role(deps, A, "next", trusting(f"arn:aws:iam::{A}:role/app"), max_session_duration=7200)
    first = assume(deps, ALICE, role.arn)
    with pytest.raises(ValidationError, match="1 hour session limit for roles assumed by role chaining"):
        assume(deps, first.assumed_role_arn, chained.arn, duration_seconds=3601)
    second = assume(deps, first.assumed_role_arn, chained.arn, duration_seconds=3600)
    assert second.assumed_role_arn.endswith("assumed-role/next/s1")


def test_session_uses_its_roles_identity_policies(deps):
    role = iam.create_role(deps, A, "app", trusting(ALICE))
    iam.put_role_policy(deps, A, "app", "kms", doc({"Effect": "Allow", "Action": "kms:Encrypt", "Resource": "*"}))
    creds = assume(deps, ALICE, role.arn)
    names = [p.name for p in sts.identity_policies_of(deps, creds.assumed_role_arn)]
    assert names == ["kms"]


def test_minimum_session_token_size(deps):
    role = iam.create_role(deps, A, "app", trusting(ALICE))
    assert len(assume(deps, ALICE, role.arn, minimum_session_token_size=4096).session_token) >= 4096


def test_sweeper_removes_session_keys_an_hour_after_expiry(deps):
    from trent.audit.sink import MemorySink
    from trent.bootstrap import EXPIRED_SESSION_GRACE_SECONDS, Sweeper
    from trent.domain.clock import FixedClock

    role = iam.create_role(deps, A, "app", trusting(ALICE))
    creds = assume(deps, ALICE, role.arn, duration_seconds=900)
    long_term = identity.create_access_key(deps, ALICE, NOW)
    expiry = WALL + 900
    Sweeper(deps, MemorySink(), 60, wall_clock=FixedClock(expiry + EXPIRED_SESSION_GRACE_SECONDS - 1)).run_once()
    assert deps.storage.get_access_key(creds.access_key_id) is not None  # still answers ExpiredToken
    sweeper = Sweeper(deps, MemorySink(), 60, wall_clock=FixedClock(expiry + EXPIRED_SESSION_GRACE_SECONDS))
    sweeper.run_once()
    assert deps.storage.get_access_key(creds.access_key_id) is None
    assert sweeper.last_sweep["expiredSessionKeysDeleted"] == 1
    assert deps.storage.get_access_key(long_term.access_key_id) is not None  # long-term keys never expire
