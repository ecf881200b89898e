"""Property tests on the evaluator (issue 5): explicit Deny always wins; removing an Allow
never widens access; evaluation never raises on well-formed documents."""

from __future__ import annotations

import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from trent.authz import (
    Allow,
    Grant,
    GrantConstraints,
    evaluate,
    explain,
    parse_identity_policy,
    parse_key_policy,
)

from .helpers import (
    ACCT,
    ALICE,
    BOB,
    CAROL,
    KEY,
    KEY2,
    OTHER,
    ROLE,
    ROOT,
    SESSION,
    request,
)

PRINCIPALS = [ALICE, BOB, CAROL, ROOT, SESSION, f"arn:aws:iam::{OTHER}:root"]
ACTIONS = ["Encrypt", "Decrypt", "ReEncryptFrom", "GenerateDataKey", "DescribeKey", "PutKeyPolicy", "CreateKey", "ListKeys"]

action_pattern = st.sampled_from(["kms:*", "*", "kms:Encrypt", "kms:Decrypt", "kms:Get*", "kms:ReEncrypt*", "kms:?ncrypt", "kms:Describe*", "kms:Create*"])
resource_pattern = st.sampled_from(["*", KEY, KEY2, "arn:aws:kms:*:*:key/*", "arn:aws:kms:*:111122223333:alias/*"])
principal_value = st.sampled_from(["*", {"AWS": "*"}, {"AWS": ACCT}, {"AWS": OTHER}, {"AWS": ALICE}, {"AWS": [BOB, CAROL]}, {"AWS": ROLE}, {"AWS": ROOT}])
condition = st.one_of(
    st.none(),
    st.sampled_from(
        [
            {"StringEquals": {"kms:EncryptionContext:Dept": "fin"}},
            {"StringLike": {"kms:EncryptionContext:Dept": "f*"}},
            {"StringNotEquals": {"kms:CallerAccount": ACCT}},
            {"ForAllValues:StringEquals": {"kms:EncryptionContextKeys": ["Dept"]}},
            {"ForAnyValue:StringEquals": {"kms:EncryptionContextKeys": ["Dept"]}},
            {"IpAddress": {"aws:SourceIp": "10.0.0.0/8"}},
            {"NotIpAddress": {"aws:SourceIp": "10.0.0.0/8"}},
            {"Bool": {"aws:SecureTransport": "true"}},
            {"Null": {"kms:EncryptionContext:Dept": "true"}},
            {"StringEqualsIfExists": {"kms:ViaService": "s3.us-east-1.amazonaws.com"}},
            {"ArnLike": {"aws:PrincipalArn": "arn:aws:iam::*:role/*"}},
            {"DateLessThan": {"aws:CurrentTime": "2024-01-01T00:00:00Z"}},
        ]
    ),
)


@st.composite
def statement(draw, with_principal: bool, effect=None):
    s = {
        "Effect": effect or draw(st.sampled_from(["Allow", "Deny"])),
        draw(st.sampled_from(["Action", "Action", "NotAction"])): draw(st.lists(action_pattern, min_size=1, max_size=3)),
        draw(st.sampled_from(["Resource", "Resource", "NotResource"])): draw(resource_pattern),
    }
    if with_principal:
        s[draw(st.sampled_from(["Principal", "Principal", "Principal", "NotPrincipal"]))] = draw(principal_value)
    c = draw(condition)
    if c is not None:
        s["Condition"] = c
    return s


def text(statements):
    return json.dumps({"Version": "2012-10-17", "Statement": statements})


key_statements = st.lists(statement(True), min_size=1, max_size=6)
iam_statement_lists = st.lists(st.lists(statement(False), min_size=1, max_size=4), max_size=2)


@st.composite
def scenario(draw):
    req = request(
        principal=draw(st.sampled_from(PRINCIPALS)),
        action=(action := draw(st.sampled_from(ACTIONS))),
        key=None if action in ("CreateKey", "ListKeys") else draw(st.sampled_from([KEY, KEY2])),
        encryption_context=draw(st.sampled_from([None, {}, {"Dept": "fin"}, {"Dept": "hr", "X": "y"}])),
        source_ip=draw(st.sampled_from([None, "10.1.1.1", "192.0.2.1"])),
        secure_transport=draw(st.sampled_from([None, True, False])),
        now=1700000000.0,
    )
    grants = draw(
        st.lists(
            st.builds(
                Grant,
                grant_id=st.sampled_from(["g1", "g2"]),
                key_arn=st.sampled_from([KEY, KEY2]),
                grantee_principal=st.sampled_from(PRINCIPALS + [ROLE]),
                operations=st.frozensets(st.sampled_from(ACTIONS), min_size=1),
                constraints=st.sampled_from([None, GrantConstraints({"Dept": "fin"}), GrantConstraints(None, {"Dept": "fin"})]),
            ),
            max_size=2,
        )
    )
    return req, draw(key_statements), draw(iam_statement_lists), grants


def parse(key_stmts, iam_lists):
    kp = parse_key_policy(text(key_stmts))
    iam = [parse_identity_policy(text(s), name=f"p{i}") for i, s in enumerate(iam_lists)]
    return kp, iam


SETTINGS = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@SETTINGS
@given(scenario())
def test_evaluation_never_raises_and_explain_agrees(sc):
    req, ks, iams, grants = sc
    kp, iam = parse(ks, iams)
    decision = evaluate(req, kp, iam, grants)
    e = explain(req, kp, iam, grants)
    assert e.decision == decision
    json.dumps(e.to_json())


@SETTINGS
@given(scenario(), st.booleans())
def test_adding_a_matching_deny_never_allows(sc, in_key_policy):
    req, ks, iams, grants = sc
    action = "kms:" + req.action
    # key policies are not consulted for IAM-only operations (spec §7.3): deny there in IAM
    if in_key_policy and req.key_arn is not None:
        ks = ks + [{"Effect": "Deny", "Principal": "*", "Action": action, "Resource": "*"}]
        kp, iam = parse(ks, iams)
    else:
        kp, iam = parse(ks, iams + [[{"Effect": "Deny", "Action": action, "Resource": "*"}]])
    assert not isinstance(evaluate(req, kp, iam, grants), Allow)


@SETTINGS
@given(scenario(), st.data())
def test_removing_an_allow_never_widens_access(sc, data):
    req, ks, iams, grants = sc
    kp, iam = parse(ks, iams)
    before = isinstance(evaluate(req, kp, iam, grants), Allow)
    allows = [("key", i) for i, s in enumerate(ks) if s["Effect"] == "Allow"]
    allows += [(p, i) for p, stmts in enumerate(iams) for i, s in enumerate(stmts) if s["Effect"] == "Allow"]
    if not allows:
        return
    where, idx = data.draw(st.sampled_from(allows))
    if where == "key":
        if len(ks) == 1:
            return  # a policy needs at least one statement
        ks = ks[:idx] + ks[idx + 1 :]
    else:
        stmts = iams[where][:idx] + iams[where][idx + 1 :]
        iams = [s for j, s in enumerate(iams) if j != where] + ([stmts] if stmts else [])
    kp2, iam2 = parse(ks, iams)
    after = isinstance(evaluate(req, kp2, iam2, grants), Allow)
    assert before or not after


@SETTINGS
@given(scenario())
def test_removing_grants_never_widens_access(sc):
    req, ks, iams, grants = sc
    kp, iam = parse(ks, iams)
    if not isinstance(evaluate(req, kp, iam, grants), Allow):
        assert not isinstance(evaluate(req, kp, iam, grants[:-1]), Allow)


@settings(max_examples=200, deadline=None)
@given(st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=8), lambda c: st.lists(c, max_size=3) | st.dictionaries(st.text(max_size=8), c, max_size=3), max_leaves=12))
def test_parser_only_raises_malformed_policy(value):
    from trent.errors import LimitExceeded, MalformedPolicyDocument

    for doc in (value, {"Version": "2012-10-17", "Statement": value}, {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": "*", "Action": "kms:*", "Resource": "*", "Condition": value}]}):
        try:
            parse_key_policy(json.dumps(doc))
        except (MalformedPolicyDocument, LimitExceeded):
            pass
