"""The evaluation model of spec §7.3 and the AccessDenied messages of §7.5."""

from __future__ import annotations

import pytest

from trent.authz import (
    Allow,
    AllowReason,
    ExplicitDeny,
    Grant,
    GrantConstraints,
    GrantRef,
    ImplicitDeny,
    ImplicitDenyReason,
    PolicyKind,
    access_denied_message,
    evaluate,
    parse_key_policy,
)
from trent.domain.policies import default_key_policy

from .helpers import (
    ACCT,
    ALICE,
    BOB,
    CAROL,
    KEY,
    KEY2,
    OTHER,
    OTHER_ROOT,
    ROLE,
    ROOT,
    SESSION,
    allow,
    deny,
    identity,
    key_policy,
    request,
)

DEFAULT = parse_key_policy(default_key_policy(ACCT))
IAM_ALL = identity(allow(None), name="all")
IAM_ENCRYPT = identity(allow(None, action="kms:Encrypt", resource=KEY), name="encrypt-only")
NO_IAM: tuple = ()

A, E, IM = "allow", "explicit", "implicit"
RES, IDN = ImplicitDenyReason.NO_RESOURCE_POLICY, ImplicitDenyReason.NO_IDENTITY_POLICY


def kind(decision):
    return {Allow: A, ExplicitDeny: E, ImplicitDeny: IM}[type(decision)]


RULES = [
    # (id, key policy, identity policies, request kwargs, expected kind, reason/kind detail)
    ("default: IAM allow via root delegation", DEFAULT, [IAM_ALL], {}, A, AllowReason.IAM_DELEGATION),
    ("default: no IAM policy", DEFAULT, [], {}, IM, IDN),
    ("default: IAM allows another action only", DEFAULT, [IAM_ENCRYPT], {"action": "Decrypt"}, IM, IDN),
    ("default: IAM resource is another key", DEFAULT, [identity(allow(None, resource=KEY2))], {}, IM, IDN),
    ("default: IAM resource is an alias ARN", DEFAULT,
     [identity(allow(None, resource=f"arn:aws:kms:us-east-1:{ACCT}:alias/a"))], {}, IM, IDN),
    ("default: IAM resource wildcard ARN", DEFAULT, [identity(allow(None, resource="arn:aws:kms:*:111122223333:key/*"))], {}, A, AllowReason.IAM_DELEGATION),
    ("default: account root user needs no IAM", DEFAULT, [], {"principal": ROOT}, A, AllowReason.KEY_POLICY),
    ("direct user allow, no IAM needed", key_policy(allow({"AWS": ALICE})), [], {}, A, AllowReason.KEY_POLICY),
    ("direct allow names another user", key_policy(allow({"AWS": BOB})), [IAM_ALL], {}, IM, RES),
    ("IAM alone never suffices", key_policy(allow({"AWS": BOB})), [IAM_ALL], {"action": "Decrypt"}, IM, RES),
    ("principal * same account", key_policy(allow("*")), [], {}, A, AllowReason.KEY_POLICY),
    ("AWS * same account", key_policy(allow({"AWS": "*"})), [], {}, A, AllowReason.KEY_POLICY),
    ("key policy action mismatch", key_policy(allow({"AWS": ALICE}, action="kms:Decrypt")), [], {}, IM, RES),
    ("key policy resource is this key ARN", key_policy(allow({"AWS": ALICE}, resource=KEY)), [], {}, A, AllowReason.KEY_POLICY),
    ("key policy resource another key", key_policy(allow({"AWS": ALICE}, resource=KEY2)), [], {}, IM, RES),
    ("wildcard actions kms:Get*", key_policy(allow({"AWS": ALICE}, action="kms:Get*")), [], {"action": "GetKeyPolicy"}, A, AllowReason.KEY_POLICY),
    ("kms:ReEncrypt* covers From", key_policy(allow({"AWS": ALICE}, action="kms:ReEncrypt*")), [], {"action": "ReEncryptFrom"}, A, AllowReason.KEY_POLICY),
    ("kms:ReEncryptTo only", key_policy(allow({"AWS": ALICE}, action="kms:ReEncryptTo")), [], {"action": "ReEncryptFrom"}, IM, RES),
    ("role ARN covers its sessions", key_policy(allow({"AWS": ROLE})), [], {"principal": SESSION}, A, AllowReason.KEY_POLICY),
    ("session ARN itself", key_policy(allow({"AWS": SESSION})), [], {"principal": SESSION}, A, AllowReason.KEY_POLICY),
    ("root user without root in policy is locked out", key_policy(allow({"AWS": ALICE})), [], {"principal": ROOT}, IM, RES),
    ("explicit deny in key policy wins over direct allow",
     key_policy(allow({"AWS": ALICE}), deny({"AWS": ALICE})), [], {}, E, PolicyKind.KEY),
    ("deny naming the account covers its users", key_policy(allow({"AWS": ALICE}), deny({"AWS": ACCT})), [], {}, E, PolicyKind.KEY),
    ("deny * covers everyone", key_policy(allow({"AWS": ALICE}), deny("*", action="kms:Encrypt")), [], {}, E, PolicyKind.KEY),
    ("deny other action does not apply", key_policy(allow({"AWS": ALICE}), deny("*", action="kms:Decrypt")), [], {}, A, AllowReason.KEY_POLICY),
    ("deny for another user does not apply", key_policy(allow({"AWS": ALICE}), deny({"AWS": BOB})), [], {}, A, AllowReason.KEY_POLICY),
    ("explicit deny in IAM wins over key policy", key_policy(allow({"AWS": ALICE})), [identity(deny(None))], {}, E, PolicyKind.IDENTITY),
    ("IAM deny wins over IAM allow", DEFAULT, [IAM_ALL, identity(deny(None, action="kms:Encrypt"))], {}, E, PolicyKind.IDENTITY),
    ("IAM deny on another key", DEFAULT, [IAM_ALL, identity(deny(None, resource=KEY2))], {}, A, AllowReason.IAM_DELEGATION),
    ("IAM deny still applies without delegation", key_policy(allow({"AWS": BOB})), [identity(deny(None))], {}, E, PolicyKind.IDENTITY),
    ("NotPrincipal deny spares listed user+account", key_policy(allow("*"), {"Effect": "Deny", "NotPrincipal": {"AWS": [ALICE, ROOT]}, "Action": "kms:*", "Resource": "*"}), [], {}, A, AllowReason.KEY_POLICY),
    ("NotPrincipal deny without the account denies", key_policy(allow("*"), {"Effect": "Deny", "NotPrincipal": {"AWS": [ALICE]}, "Action": "kms:*", "Resource": "*"}), [], {}, E, PolicyKind.KEY),
    ("NotPrincipal deny hits others", key_policy(allow("*"), {"Effect": "Deny", "NotPrincipal": {"AWS": [BOB, ROOT]}, "Action": "kms:*", "Resource": "*"}), [], {}, E, PolicyKind.KEY),
    ("NotAction deny", key_policy(allow("*"), {"Effect": "Deny", "Principal": "*", "NotAction": "kms:Describe*", "Resource": "*"}), [], {}, E, PolicyKind.KEY),
    ("NotAction deny spares the listed action", key_policy(allow("*"), {"Effect": "Deny", "Principal": "*", "NotAction": "kms:Encrypt", "Resource": "*"}), [], {}, A, AllowReason.KEY_POLICY),
    ("inert allow statement", key_policy({"Effect": "Allow", "Principal": "*", "Action": "kms:*"}), [], {}, IM, RES),
    # conditions in either policy
    ("condition on encryption context holds", key_policy(allow({"AWS": ALICE}, Condition={"StringEquals": {"kms:EncryptionContext:Dept": "fin"}})),
     [], {"encryption_context": {"Dept": "fin"}}, A, AllowReason.KEY_POLICY),
    ("condition on encryption context fails", key_policy(allow({"AWS": ALICE}, Condition={"StringEquals": {"kms:EncryptionContext:Dept": "fin"}})),
     [], {"encryption_context": {"Dept": "hr"}}, IM, RES),
    ("condition: context absent", key_policy(allow({"AWS": ALICE}, Condition={"StringEquals": {"kms:EncryptionContext:Dept": "fin"}})), [], {}, IM, RES),
    ("conditional deny applies", key_policy(allow({"AWS": ALICE}), deny("*", Condition={"Bool": {"aws:SecureTransport": "false"}})),
     [], {"secure_transport": False}, E, PolicyKind.KEY),
    ("conditional deny does not apply", key_policy(allow({"AWS": ALICE}), deny("*", Condition={"Bool": {"aws:SecureTransport": "false"}})),
     [], {"secure_transport": True}, A, AllowReason.KEY_POLICY),
    ("IAM condition fails", DEFAULT, [identity(allow(None, Condition={"IpAddress": {"aws:SourceIp": "10.0.0.0/8"}}))], {"source_ip": "192.0.2.1"}, IM, IDN),
    ("IAM condition holds", DEFAULT, [identity(allow(None, Condition={"IpAddress": {"aws:SourceIp": "10.0.0.0/8"}}))], {"source_ip": "10.9.9.9"}, A, AllowReason.IAM_DELEGATION),
    ("delegation statement condition fails", key_policy(allow({"AWS": ACCT}, Condition={"StringEquals": {"kms:ViaService": "s3.us-east-1.amazonaws.com"}})),
     [IAM_ALL], {}, IM, RES),
    ("kms:CallerAccount with AWS *", key_policy(allow({"AWS": "*"}, Condition={"StringEquals": {"kms:CallerAccount": ACCT}})), [], {}, A, AllowReason.KEY_POLICY),
    ("kms:CallerAccount with AWS * other account", key_policy(allow({"AWS": "*"}, Condition={"StringEquals": {"kms:CallerAccount": ACCT}})), [IAM_ALL], {"principal": CAROL}, IM, RES),
    ("kms:RequestAlias", key_policy(allow({"AWS": ALICE}, Condition={"StringLike": {"kms:RequestAlias": "alias/app-*"}})), [], {"request_alias": "alias/app-1"}, A, AllowReason.KEY_POLICY),
    ("kms:RequestAlias not used", key_policy(allow({"AWS": ALICE}, Condition={"StringLike": {"kms:RequestAlias": "alias/app-*"}})), [], {}, IM, RES),
    ("aws:ResourceTag", DEFAULT, [identity(allow(None, Condition={"StringEquals": {"aws:ResourceTag/Team": "blue"}}))], {"key_tags": {"Team": "blue"}}, A, AllowReason.IAM_DELEGATION),
    ("aws:ResourceTag mismatch", DEFAULT, [identity(allow(None, Condition={"StringEquals": {"aws:ResourceTag/Team": "blue"}}))], {"key_tags": {"Team": "red"}}, IM, IDN),
    ("aws:CurrentTime window", key_policy(allow({"AWS": ALICE}, Condition={"DateLessThan": {"aws:CurrentTime": "2024-01-01T00:00:00Z"}})), [], {"now": 1700000000.0}, A, AllowReason.KEY_POLICY),
    ("aws:CurrentTime expired", key_policy(allow({"AWS": ALICE}, Condition={"DateLessThan": {"aws:CurrentTime": "2023-01-01T00:00:00Z"}})), [], {"now": 1700000000.0}, IM, RES),
    ("ForAllValues context keys", key_policy(allow({"AWS": ALICE}, Condition={"ForAllValues:StringEquals": {"kms:EncryptionContextKeys": ["Dept", "Project"]}})),
     [], {"encryption_context": {"Dept": "x", "Other": "y"}}, IM, RES),
    ("aws:PrincipalArn ArnLike for role sessions", key_policy(allow({"AWS": ACCT}), deny("*", Condition={"ArnNotLike": {"aws:PrincipalArn": "arn:aws:iam::*:role/*"}})),
     [IAM_ALL], {"principal": SESSION}, A, AllowReason.IAM_DELEGATION),
    ("aws:PrincipalArn deny non-roles", key_policy(allow({"AWS": ACCT}), deny("*", Condition={"ArnNotLike": {"aws:PrincipalArn": "arn:aws:iam::*:role/*"}})),
     [IAM_ALL], {}, E, PolicyKind.KEY),
    # cross-account (§7.3.4)
    ("cross-account: key policy allows other account + caller IAM", key_policy(allow({"AWS": ACCT}), allow({"AWS": OTHER}, action="kms:Decrypt")),
     [IAM_ALL], {"principal": CAROL, "action": "Decrypt"}, A, AllowReason.IAM_DELEGATION),
    ("cross-account: key policy allows other account, no IAM", key_policy(allow({"AWS": OTHER})), [], {"principal": CAROL}, IM, IDN),
    ("cross-account: key policy names the user, caller IAM allows", key_policy(allow({"AWS": CAROL})), [IAM_ALL], {"principal": CAROL}, A, AllowReason.KEY_POLICY_AND_IAM),
    ("cross-account: key policy names the user, no IAM", key_policy(allow({"AWS": CAROL})), [], {"principal": CAROL}, IM, IDN),
    ("cross-account: default policy of owner", DEFAULT, [IAM_ALL], {"principal": CAROL}, IM, RES),
    ("cross-account: other root user", key_policy(allow({"AWS": OTHER})), [], {"principal": OTHER_ROOT}, A, AllowReason.KEY_POLICY_AND_IAM),
    # IAM-only operations (resource "*")
    ("CreateKey allowed by IAM", None, [identity(allow(None, action="kms:CreateKey"))], {"action": "CreateKey", "key": None}, A, AllowReason.IDENTITY_POLICY),
    ("CreateKey needs IAM", None, [], {"action": "CreateKey", "key": None}, IM, IDN),
    ("CreateKey IAM resource must be *", None, [identity(allow(None, resource="arn:aws:kms:*:*:key/*"))], {"action": "ListKeys", "key": None}, IM, IDN),
    ("ListAliases IAM deny", None, [IAM_ALL, identity(deny(None, action="kms:List*"))], {"action": "ListAliases", "key": None}, E, PolicyKind.IDENTITY),
    ("GenerateRandom root user", None, [], {"principal": ROOT, "action": "GenerateRandom", "key": None}, A, AllowReason.ROOT_USER),
    ("IAM-only ignores key policy", key_policy(deny("*")), [IAM_ALL], {"action": "CreateKey", "key": None}, A, AllowReason.IDENTITY_POLICY),
]


@pytest.mark.parametrize(("policy", "iam", "req", "expected", "detail"), [r[1:] for r in RULES], ids=[r[0] for r in RULES])
def test_rules(policy, iam, req, expected, detail):
    decision = evaluate(request(**req), policy, iam, ())
    assert kind(decision) == expected, decision
    if isinstance(decision, Allow):
        assert decision.reason is detail
    elif isinstance(decision, ExplicitDeny):
        assert decision.policy_kind is detail
    else:
        assert decision.reason is detail


# ---- grants (§8) ----

def grant(grantee=ALICE, ops=("Encrypt", "Decrypt"), key=KEY, constraints=None, gid="g1"):
    return Grant(grant_id=gid, key_arn=key, grantee_principal=grantee, operations=frozenset(ops), constraints=constraints)


EQ = GrantConstraints(encryption_context_equals={"Dept": "fin"})
SUB = GrantConstraints(encryption_context_subset={"Dept": "fin"})

GRANTS = [
    ("grant allows grantee", grant(), {}, True),
    ("grant for another grantee", grant(grantee=BOB), {}, False),
    ("grant for another key", grant(key=KEY2), {}, False),
    ("grant without the operation", grant(ops=("Decrypt",)), {}, False),
    ("grant to role covers sessions", grant(grantee=ROLE), {"principal": SESSION}, True),
    ("grant to a cross-account user", grant(grantee=CAROL), {"principal": CAROL}, True),
    ("EncryptionContextEquals exact", grant(constraints=EQ), {"encryption_context": {"Dept": "fin"}}, True),
    ("EncryptionContextEquals extra pair", grant(constraints=EQ), {"encryption_context": {"Dept": "fin", "X": "y"}}, False),
    ("EncryptionContextEquals missing", grant(constraints=EQ), {}, False),
    ("EncryptionContextSubset extra pair", grant(constraints=SUB), {"encryption_context": {"Dept": "fin", "X": "y"}}, True),
    ("EncryptionContextSubset wrong value", grant(constraints=SUB), {"encryption_context": {"Dept": "FIN"}}, False),
    ("constraints ignored for DescribeKey", grant(ops=("DescribeKey",), constraints=EQ), {"action": "DescribeKey"}, True),
    ("grants never allow IAM-only operations", grant(ops=("CreateKey",)), {"action": "CreateKey", "key": None}, False),
]


@pytest.mark.parametrize(("g", "req", "allowed"), [r[1:] for r in GRANTS], ids=[r[0] for r in GRANTS])
def test_grants(g, req, allowed):
    policy = key_policy(allow({"AWS": ACCT}, action="kms:DescribeKey", resource=KEY2))  # allows nothing relevant
    decision = evaluate(request(**req), policy, [], [g])
    assert isinstance(decision, Allow) is allowed, decision
    if allowed:
        assert decision.reason is AllowReason.GRANT and decision.by == GrantRef("g1", None)


def test_grant_never_overrides_explicit_deny():
    policy = key_policy(deny({"AWS": ALICE}))
    assert isinstance(evaluate(request(), policy, [], [grant()]), ExplicitDeny)
    assert isinstance(evaluate(request(), DEFAULT, [identity(deny(None))], [grant()]), ExplicitDeny)


def test_grant_decides_when_policies_do_not():
    d = evaluate(request(), DEFAULT, [], [grant(grantee=BOB, gid="x"), grant(gid="y")])
    assert d == Allow(AllowReason.GRANT, GrantRef("y", None))


# ---- messages (§7.5) ----

def test_access_denied_messages():
    r = request(action="Decrypt")
    head = f"User: {ALICE} is not authorized to perform: kms:Decrypt on resource: {KEY}"
    assert access_denied_message(r, evaluate(r, DEFAULT, [])) == f"{head} because no identity-based policy allows the kms:Decrypt action"
    assert access_denied_message(r, evaluate(r, key_policy(allow({"AWS": BOB})), [])) == (
        f"{head} because no resource-based policy allows the kms:Decrypt action"
    )
    assert access_denied_message(r, evaluate(r, key_policy(deny("*")), [])) == f"{head} with an explicit deny in a resource-based policy"
    assert access_denied_message(r, evaluate(r, DEFAULT, [identity(deny(None))])) == (
        f"{head} with an explicit deny in an identity-based policy"
    )


def test_access_denied_message_assumed_role_and_iam_only():
    r = request(principal=SESSION, action="CreateKey", key=None)
    assert access_denied_message(r, evaluate(r, None, [])) == (
        f"User: {SESSION} is not authorized to perform: kms:CreateKey on resource: * "
        "because no identity-based policy allows the kms:CreateKey action"
    )


def test_allow_has_no_message():
    r = request()
    with pytest.raises(ValueError):
        access_denied_message(r, evaluate(r, DEFAULT, [IAM_ALL]))


def test_explicit_deny_names_the_statement():
    policy = key_policy(allow("*"), {**deny("*"), "Sid": "NoWay"})
    d = evaluate(request(), policy, [])
    assert isinstance(d, ExplicitDeny)
    assert (d.statement.index, d.statement.sid, d.statement.policy_name) == (1, "NoWay", "default")


def test_delegated_allow_names_both_statements():
    d = evaluate(request(), DEFAULT, [IAM_ENCRYPT])
    assert isinstance(d, Allow)
    assert d.by is not None and d.by.sid == "Enable IAM User Permissions"
    assert d.identity_statement is not None and d.identity_statement.policy_name == "encrypt-only"


def test_action_case_insensitive_in_request():
    assert isinstance(evaluate(request(action="encrypt"), key_policy(allow({"AWS": ALICE}, action="kms:Encrypt")), []), Allow)


# ---- alias operations (§7.3): IAM on the alias ARN, plus the key side separately ----

ALIAS = f"arn:aws:kms:us-east-1:{ACCT}:alias/app"


def test_alias_half_is_decided_by_iam_on_the_alias_arn():
    r = request(action="CreateAlias", key=ALIAS)
    assert r.identity_only and r.resource == ALIAS
    assert isinstance(evaluate(r, None, [identity(allow(None, action="kms:CreateAlias", resource="arn:aws:kms:*:*:alias/app"))]), Allow)
    d = evaluate(r, None, [identity(allow(None, action="kms:CreateAlias", resource=KEY))])
    assert d == ImplicitDeny(IDN)
    assert access_denied_message(r, d) == (
        f"User: {ALICE} is not authorized to perform: kms:CreateAlias on resource: {ALIAS} "
        "because no identity-based policy allows the kms:CreateAlias action"
    )
    # the key half is an ordinary key-policy evaluation
    assert isinstance(evaluate(request(action="CreateAlias"), DEFAULT, [IAM_ALL]), Allow)


def test_missing_key_policy_never_lets_iam_alone_decide():
    d = evaluate(request(), None, [IAM_ALL])
    assert d == ImplicitDeny(RES)
    assert isinstance(evaluate(request(), None, [IAM_ALL], [grant()]), Allow)  # a grant still can


def test_grant_constraint_keys_are_case_insensitive_values_are_not():
    """Model GrantConstraints: keys not case sensitive, values case sensitive."""
    from trent.authz.grants import GrantConstraints

    equals = GrantConstraints(encryption_context_equals={"Dept": "IT"})
    assert equals.satisfied_by({"dept": "IT"})
    assert not equals.satisfied_by({"dept": "it"})
    assert not equals.satisfied_by({"dept": "IT", "DEPT": "IT"})  # two pairs are not the one required
    subset = GrantConstraints(encryption_context_subset={"Dept": "IT"})
    assert subset.satisfied_by({"DEPT": "IT", "other": "x"})
    assert not subset.satisfied_by({"DEPT": "It"})
    assert not subset.satisfied_by(None)
