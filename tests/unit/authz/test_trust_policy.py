"""Role trust policies (authz/trust_policy.py) and the evaluator's `service` prefix (issue 5)."""

from __future__ import annotations

import json

import pytest

from trent.authz import (
    Allow,
    AllowReason,
    AuthzRequest,
    ConditionContext,
    ImplicitDeny,
    ImplicitDenyReason,
    access_denied_message,
    evaluate,
    parse_identity_policy,
    parse_key_policy,
)
from trent.authz.trust_policy import STS_ONLY, TRUST_POLICY_MAX_CHARS, parse_trust_policy, policy_size
from trent.errors import LimitExceeded, MalformedPolicyDocument

ROLE = "arn:aws:iam::111122223333:role/app"
ALICE = "arn:aws:iam::111122223333:user/alice"
BOB = "arn:aws:iam::444455556666:user/bob"


def trust(principal: object, action: object = "sts:AssumeRole", **extra: object) -> str:
    statement = {"Effect": "Allow", "Principal": principal, "Action": action, **extra}
    return json.dumps({"Version": "2012-10-17", "Statement": [statement]})


def request(principal: str, account: str, **kw: object) -> AuthzRequest:
    return AuthzRequest(principal, account, "AssumeRole", ROLE, kw.pop("context", ConditionContext.of({})),
                        service="sts", **kw)  # type: ignore[arg-type]


ALLOW_ASSUME = parse_identity_policy(
    json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": ROLE}]}),
    name="assume",
)
ALLOW_KMS_ONLY = parse_identity_policy(
    json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "kms:*", "Resource": "*"}]}),
    name="kms",
)


def test_direct_principal_same_account_needs_no_identity_policy():
    policy = parse_trust_policy(trust({"AWS": ALICE}))
    decision = evaluate(request(ALICE, "111122223333"), policy)
    assert isinstance(decision, Allow) and decision.reason is AllowReason.KEY_POLICY


def test_account_root_delegates_to_identity_policies():
    policy = parse_trust_policy(trust({"AWS": "111122223333"}))
    denied = evaluate(request(ALICE, "111122223333"), policy, [ALLOW_KMS_ONLY])
    assert denied == ImplicitDeny(ImplicitDenyReason.NO_IDENTITY_POLICY)
    allowed = evaluate(request(ALICE, "111122223333"), policy, [ALLOW_ASSUME])
    assert isinstance(allowed, Allow) and allowed.reason is AllowReason.IAM_DELEGATION


def test_cross_account_needs_both_sides():
    policy = parse_trust_policy(trust({"AWS": "arn:aws:iam::444455556666:root"}))
    assert isinstance(evaluate(request(BOB, "444455556666"), policy), ImplicitDeny)
    assert isinstance(evaluate(request(BOB, "444455556666"), policy, [ALLOW_ASSUME]), Allow)
    other = parse_trust_policy(trust({"AWS": "111122223333"}))
    assert evaluate(request(BOB, "444455556666"), other, [ALLOW_ASSUME]) == ImplicitDeny(
        ImplicitDenyReason.NO_RESOURCE_POLICY
    )


def test_external_id_condition():
    policy = parse_trust_policy(trust({"AWS": ALICE}, Condition={"StringEquals": {"sts:ExternalId": "xyz"}}))
    without = request(ALICE, "111122223333")
    assert isinstance(evaluate(without, policy), ImplicitDeny)
    right = request(ALICE, "111122223333", context=ConditionContext.of({"sts:ExternalId": "xyz"}))
    assert isinstance(evaluate(right, policy), Allow)
    wrong = request(ALICE, "111122223333", context=ConditionContext.of({"sts:ExternalId": "abc"}))
    assert isinstance(evaluate(wrong, policy), ImplicitDeny)


def test_a_kms_action_in_a_trust_policy_is_refused_and_a_kms_allow_does_not_assume():
    with pytest.raises(MalformedPolicyDocument, match=STS_ONLY):
        parse_trust_policy(trust({"AWS": ALICE}, action="kms:Encrypt"))
    # the evaluator's action prefix follows `service`: a kms:* key policy never allows sts:AssumeRole
    key_policy = parse_key_policy(json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"AWS": ALICE}, "Action": "kms:*", "Resource": "*"}]}))
    assert isinstance(evaluate(request(ALICE, "111122223333"), key_policy), ImplicitDeny)


def test_resource_is_prohibited_and_principal_required():
    with pytest.raises(MalformedPolicyDocument, match="Has prohibited field Resource"):
        parse_trust_policy(trust({"AWS": ALICE}, Resource="*"))
    no_principal = json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole"}]})
    with pytest.raises(MalformedPolicyDocument):
        parse_trust_policy(no_principal)
    with pytest.raises(MalformedPolicyDocument):
        parse_trust_policy("{not json")


def test_unknown_principal_is_invalid():
    with pytest.raises(MalformedPolicyDocument, match="invalid principals"):
        parse_trust_policy(trust({"AWS": "arn:aws:iam::111122223333:user/nobody"}),
                           principal_exists=lambda arn: arn == ALICE)


def test_size_quota_ignores_white_space():
    padded = trust({"AWS": ALICE}).replace(",", ",      ")
    assert policy_size(padded) == policy_size(trust({"AWS": ALICE}))
    parse_trust_policy(padded)
    huge = trust({"AWS": [f"arn:aws:iam::111122223333:user/u{i:04d}" for i in range(60)]})
    assert policy_size(huge) > TRUST_POLICY_MAX_CHARS
    with pytest.raises(LimitExceeded, match="ACLSizePerRole"):
        parse_trust_policy(huge)


def test_messages_use_the_service_prefix():
    policy = parse_trust_policy(trust({"AWS": "111122223333"}))
    req = request(ALICE, "111122223333")
    decision = evaluate(req, policy)
    assert access_denied_message(req, decision) == (
        f"User: {ALICE} is not authorized to perform: sts:AssumeRole on resource: {ROLE} "
        "because no identity-based policy allows the sts:AssumeRole action"
    )
    assert req.full_action == "sts:AssumeRole"


def test_kms_stays_the_default_service():
    req = AuthzRequest(ALICE, "111122223333", "Encrypt", "arn:aws:kms:us-east-1:111122223333:key/k",
                       ConditionContext.of({}))
    assert req.service == "kms" and req.full_action == "kms:Encrypt"
    key_policy = parse_key_policy(json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"AWS": ALICE}, "Action": "kms:Encrypt", "Resource": "*"}]}))
    assert isinstance(evaluate(req, key_policy), Allow)
