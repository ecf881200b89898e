"""The one evaluator with S3's logic (issue 17): resource_policy_required=False,
resource_account, alias-looking object keys, S3's quoted resource in messages."""

from __future__ import annotations

from trent.authz import (
    Allow,
    AllowReason,
    AuthzRequest,
    ExplicitDeny,
    ImplicitDeny,
    ImplicitDenyReason,
    access_denied_message,
    evaluate,
)
from trent.authz.context import ConditionContext

from .helpers import ACCT, ALICE, CAROL, OTHER, ROOT, allow, deny, identity, key_policy

OBJ = "arn:aws:s3:::bkt/x:alias/y"


def s3(principal: str = ALICE, account: str = ACCT, action: str = "GetObject", owner: str = ACCT,
       context: dict | None = None) -> AuthzRequest:
    return AuthzRequest(principal, account, action, OBJ, ConditionContext.of(context or {}), service="s3",
                        resource_policy_required=False, resource_account=owner)


def test_same_account_identity_policy_alone_allows() -> None:
    decision = evaluate(s3(), None, [identity(allow(action="s3:GetObject"))])
    assert isinstance(decision, Allow) and decision.reason is AllowReason.SAME_ACCOUNT_IDENTITY


def test_same_account_bucket_policy_alone_allows() -> None:
    decision = evaluate(s3(), key_policy(allow({"AWS": ALICE}, "s3:GetObject")), [])
    assert isinstance(decision, Allow) and decision.reason is AllowReason.KEY_POLICY


def test_nothing_is_an_identity_denial_with_a_quoted_resource() -> None:
    request = s3()
    decision = evaluate(request, None, [])
    assert decision == ImplicitDeny(ImplicitDenyReason.NO_IDENTITY_POLICY)
    assert access_denied_message(request, decision) == (
        f'User: {ALICE} is not authorized to perform: s3:GetObject on resource: "{OBJ}" '
        "because no identity-based policy allows the s3:GetObject action"
    )


def test_owner_root_allowed_unless_denied() -> None:
    assert isinstance(evaluate(s3(ROOT), None, []), Allow)
    denied = evaluate(s3(ROOT), key_policy(deny("*", "s3:*")), [])
    assert isinstance(denied, ExplicitDeny)


def test_cross_account_needs_both() -> None:
    request = s3(CAROL, OTHER)
    policy = key_policy(allow({"AWS": OTHER}, "s3:GetObject"))
    assert isinstance(evaluate(request, None, [identity(allow(action="s3:*"))]), ImplicitDeny)
    assert isinstance(evaluate(request, policy, []), ImplicitDeny)
    assert isinstance(evaluate(request, policy, [identity(allow(action="s3:*"))]), Allow)


def test_explicit_deny_in_bucket_policy_beats_identity_allow() -> None:
    policy = key_policy(deny("*", "s3:PutObject", Condition={
        "StringNotEquals": {"s3:x-amz-server-side-encryption": "aws:kms"}}))
    put = s3(action="PutObject")
    assert isinstance(evaluate(put, policy, [identity(allow(action="s3:*"))]), ExplicitDeny)
    with_kms = s3(action="PutObject", context={"s3:x-amz-server-side-encryption": "aws:kms"})
    assert isinstance(evaluate(with_kms, policy, [identity(allow(action="s3:*"))]), Allow)


def test_an_object_key_with_alias_in_it_is_not_identity_only() -> None:
    assert not s3().identity_only
    kms_alias = AuthzRequest(ALICE, ACCT, "CreateAlias", "arn:aws:kms:us-east-1:111122223333:alias/x",
                             ConditionContext.of({}))
    assert kms_alias.identity_only
