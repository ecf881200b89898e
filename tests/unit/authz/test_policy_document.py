"""Parsing and validation of policy documents (spec §7.1, §7.2)."""

from __future__ import annotations

import json

import pytest

from trent.authz import (
    INVALID_PRINCIPALS,
    KEY_POLICY_MAX_BYTES,
    Effect,
    PolicyKind,
    parse_identity_policy,
    parse_key_policy,
)
from trent.domain.policies import default_key_policy
from trent.errors import LimitExceeded, MalformedPolicyDocument

from .helpers import ACCT, ALICE, ROOT, allow, doc


def test_default_policy_parses_byte_exact_text():
    p = parse_key_policy(default_key_policy(ACCT))
    assert p.kind is PolicyKind.KEY
    assert (p.version, p.id) == ("2012-10-17", "key-default-1")
    (s,) = p.statements
    assert s.sid == "Enable IAM User Permissions"
    assert s.effect is Effect.ALLOW
    assert s.principal is not None and s.principal.aws == frozenset({ROOT})
    assert s.actions == ("kms:*",) and s.resources == ("*",)


def test_statement_object_or_list():
    one = json.dumps({"Version": "2012-10-17", "Statement": allow("*")})
    assert len(parse_key_policy(one).statements) == 1
    assert len(parse_key_policy(doc(allow("*"), allow("*"))).statements) == 2


def test_account_id_principal_becomes_root_arn_and_lists_accepted():
    p = parse_key_policy(doc(allow({"AWS": [ACCT, ALICE]})))
    assert p.statements[0].principal.aws == frozenset({ROOT, ALICE})


@pytest.mark.parametrize(
    "principal",
    ["*", {"AWS": "*"}, {"Service": "logs.amazonaws.com"}, {"AWS": ALICE, "Service": ["a.amazonaws.com"]}],
)
def test_valid_principals(principal):
    parse_key_policy(doc(allow(principal)))


@pytest.mark.parametrize(
    "principal",
    [
        "alice",
        {"AWS": "not-an-arn"},
        {"AWS": "arn:aws:iam::111122223333:user/*"},
        {"AWS": []},
        {"AWS": 5},
        {"Group": "x"},
        {},
        {"AWS": "arn:aws:iam::111122223333:user/ghost"},  # principal_exists says no
    ],
)
def test_invalid_principals_use_the_aws_message(principal):
    with pytest.raises(MalformedPolicyDocument) as e:
        parse_key_policy(doc(allow(principal)), principal_exists=lambda arn: not arn.endswith("ghost"))
    assert e.value.message == INVALID_PRINCIPALS


def test_principal_exists_is_asked_with_root_arn_for_account_ids():
    asked: list[str] = []
    parse_key_policy(doc(allow({"AWS": ACCT})), principal_exists=lambda a: asked.append(a) or True)
    assert asked == [ROOT]


@pytest.mark.parametrize(
    "text",
    [
        "",
        "not json",
        "[]",
        json.dumps({"Statement": [allow("*")]}),  # no Version
        json.dumps({"Version": "2012-10-18", "Statement": [allow("*")]}),
        json.dumps({"Version": "2012-10-17"}),  # no Statement
        json.dumps({"Version": "2012-10-17", "Statement": []}),
        json.dumps({"Version": "2012-10-17", "Statement": ["x"]}),
        json.dumps({"Version": "2012-10-17", "Statement": [allow("*")], "Extra": 1}),
        doc({"Effect": "Permit", "Principal": "*", "Action": "kms:*", "Resource": "*"}),
        doc({"Principal": "*", "Action": "kms:*", "Resource": "*"}),
        doc({"Effect": "Allow", "Action": "kms:*", "Resource": "*"}),  # key policy without principal
        doc(allow("*", Bogus=1)),
        doc({**allow("*"), "NotAction": "kms:Decrypt"}),
        doc({**allow("*"), "NotResource": "x"}),
        doc(allow("*", action="kms Encrypt")),
        doc(allow("*", action=[])),
        doc(allow("*", Condition={"StringEqualz": {"kms:CallerAccount": ACCT}})),
        doc(allow("*", Condition={"StringEquals": "x"})),
        doc(allow("*", Condition={"IpAddress": {"aws:SourceIp": "300.1.1.1/8"}})),
        doc(allow("*", Condition={"NumericLessThan": {"kms:X": "ten"}})),
        doc(allow("*", Condition={"DateLessThan": {"aws:CurrentTime": "yesterday"}})),
        doc(allow("*", Condition={"Bool": {"aws:SecureTransport": "yes"}})),
        doc(allow("*", Condition={"Null": {"kms:X": "maybe"}})),
        doc(allow("*", Condition={"NullIfExists": {"kms:X": "true"}})),
        doc(allow("*", Condition={"ForSomeValues:StringEquals": {"kms:X": "a"}})),
        doc(allow("*", Condition={"StringEquals": {"kms:X": []}})),
        doc(allow("*", Condition={"StringEquals": {"kms:X": {"a": 1}}})),
        doc(allow("*", Sid=5)),
    ],
)
def test_malformed_documents(text):
    with pytest.raises(MalformedPolicyDocument):
        parse_key_policy(text)


def test_characters_outside_the_model_pattern_are_refused():
    parse_key_policy(doc(allow("*", Sid="caf\u00e9 \t")))  # Latin-1 is fine
    with pytest.raises(MalformedPolicyDocument):
        parse_key_policy(doc(allow("*", Sid="\u20ac")).replace("\\u20ac", "\u20ac"))
    with pytest.raises(MalformedPolicyDocument):
        parse_key_policy(doc(allow("*")) + "\x00")


def test_size_limit_32kb_is_limit_exceeded():
    base = doc(allow("*", Sid=""))
    pad = KEY_POLICY_MAX_BYTES - len(base)
    exact = doc(allow("*", Sid="x" * pad))
    assert len(exact) == KEY_POLICY_MAX_BYTES
    parse_key_policy(exact)
    with pytest.raises(LimitExceeded):
        parse_key_policy(doc(allow("*", Sid="x" * (pad + 1))))


def test_statement_without_action_or_resource_is_accepted_but_inert():
    p = parse_key_policy(doc({"Effect": "Allow", "Principal": "*", "Resource": "*"}, {"Effect": "Allow", "Principal": "*", "Action": "kms:*"}))
    assert all(s.inert for s in p.statements)
    assert not any(s.matches_action("kms:Encrypt") for s in p.statements)


def test_identity_policy_rules():
    p = parse_identity_policy(doc({"Sid": "x", "Effect": "Allow", "Action": ["kms:Encrypt", "kms:Decrypt"], "Resource": "*"}), name="p")
    assert p.kind is PolicyKind.IDENTITY and p.name == "p"
    with pytest.raises(MalformedPolicyDocument):
        parse_identity_policy(doc(allow("*")), name="p")  # identity policies name no principal


def test_action_matching_is_case_insensitive_with_wildcards():
    p = parse_key_policy(doc(allow("*", action=["KMS:get*", "kms:ReEncrypt*", "kms:Encrypt"])))
    s = p.statements[0]
    for yes in ("kms:GetKeyPolicy", "kms:getpublickey", "kms:ReEncryptFrom", "kms:ReEncryptTo", "kms:encrypt"):
        assert s.matches_action(yes), yes
    for no in ("kms:Decrypt", "kms:Describekey", "s3:GetObject", "kms:EncryptX"):
        assert not s.matches_action(no), no


def test_not_action_and_not_resource():
    s = parse_key_policy(doc({"Effect": "Deny", "Principal": "*", "NotAction": "kms:Describe*", "NotResource": "arn:aws:kms:*:*:key/k?"})).statements[0]
    assert s.matches_action("kms:Encrypt") and not s.matches_action("kms:DescribeKey")
    assert s.matches_resource("arn:aws:kms:us-east-1:1:key/k12") and not s.matches_resource("arn:aws:kms:us-east-1:1:key/k1")


def test_documents_are_frozen():
    p = parse_key_policy(default_key_policy(ACCT))
    with pytest.raises(AttributeError):
        p.version = "x"  # type: ignore[misc]
    with pytest.raises(AttributeError):
        p.statements[0].sid = "x"  # type: ignore[misc]
