"""Condition operators, set qualifiers, IfExists, key-name case (spec §7.4; IAM operator reference)."""

from __future__ import annotations

import pytest

from trent.authz import (
    ConditionContext,
    RequestFacts,
    condition_context,
    parse_condition_block,
    parse_operator,
)
from trent.authz.conditions import ConditionError, parse_date

from .helpers import ACCT, ALICE, KEY, SESSION


def holds(block: dict, ctx: dict) -> bool:
    context = ConditionContext.of(ctx)
    return all(c.holds(context) for c in parse_condition_block(block))


T, F = True, False

CASES = [
    # (operator, policy values, request values (None = absent), expected)
    ("StringEquals", "a", "a", T),
    ("StringEquals", "a", "A", F),
    ("StringEquals", ["a", "b"], "b", T),
    ("StringEquals", "a", None, F),
    ("StringNotEquals", "a", "b", T),
    ("StringNotEquals", ["a", "b"], "b", F),
    ("StringNotEquals", "a", None, T),  # negated operators: absent key -> true
    ("StringEqualsIgnoreCase", "Finance", "fINANCE", T),
    ("StringNotEqualsIgnoreCase", "Finance", "fINANCE", F),
    ("StringLike", "fin*", "finance", T),
    ("StringLike", "fin*", "FINANCE", F),
    ("StringLike", "f?n", "fin", T),
    ("StringLike", "f?n", "fiin", F),
    ("StringLike", "*", "", T),
    ("StringLike", "a.b", "axb", F),  # regex metacharacters are literal
    ("StringNotLike", "fin*", "hr", T),
    ("StringNotLike", "fin*", "finance", F),
    ("StringNotLike", "fin*", None, T),
    ("NumericEquals", "10", "10.0", T),
    ("NumericNotEquals", "10", "11", T),
    ("NumericLessThan", "10", "9", T),
    ("NumericLessThan", "10", "10", F),
    ("NumericLessThanEquals", "10", "10", T),
    ("NumericGreaterThan", "10", "11", T),
    ("NumericGreaterThanEquals", "10", "9", F),
    ("NumericLessThan", "10", "abc", F),
    ("NumericLessThan", "10", None, F),
    ("DateLessThan", "2030-01-01T00:00:00Z", "2026-11-23T04:00:00Z", T),
    ("DateLessThan", "2030-01-01T00:00:00Z", "2031-01-01T00:00:00Z", F),
    ("DateGreaterThan", "2020-01-01", "2026-11-23T04:00:00Z", T),
    ("DateEquals", "1700000000", "2023-11-14T22:13:20Z", T),  # epoch vs ISO
    ("DateNotEquals", "1700000000", "2023-11-14T22:13:21Z", T),
    ("DateLessThanEquals", "2026-11-23T04:00:00+01:00", "2026-11-23T03:00:00Z", T),
    ("DateGreaterThanEquals", "2026-11-23T04:00:00.500Z", "2026-11-23T04:00:00Z", F),
    ("Bool", "true", "true", T),
    ("Bool", "true", "True", T),
    ("Bool", "true", "false", F),
    ("Bool", "false", None, F),
    ("IpAddress", "10.0.0.0/8", "10.1.2.3", T),
    ("IpAddress", "10.0.0.0/8", "11.1.2.3", F),
    ("IpAddress", ["192.0.2.0/24", "203.0.113.7"], "203.0.113.7", T),
    ("IpAddress", "2001:db8::/32", "2001:db8::1", T),
    ("IpAddress", "10.0.0.0/8", "not-an-ip", F),
    ("NotIpAddress", "10.0.0.0/8", "11.1.2.3", T),
    ("NotIpAddress", "10.0.0.0/8", "10.1.2.3", F),
    ("ArnEquals", "arn:aws:iam::111122223333:user/alice", ALICE, T),
    ("ArnLike", "arn:aws:iam::*:user/*", ALICE, T),
    ("ArnLike", "arn:aws:iam::*:role/*", ALICE, F),
    ("ArnLike", "arn:aws:*", ALICE, F),  # six parts are matched separately
    ("ArnLike", "arn:aws:*:*:*:*", ALICE, T),
    ("ArnNotEquals", "arn:aws:iam::111122223333:user/bob", ALICE, T),
    ("ArnNotLike", "arn:aws:iam::*:user/*", ALICE, F),
    ("ArnNotLike", "arn:aws:iam::*:user/*", None, T),
    ("ArnLike", "arn:aws:iam::*:user/*", "nonsense", F),
    ("Null", "true", None, T),
    ("Null", "true", "x", F),
    ("Null", "false", "x", T),
    ("Null", "false", None, F),
    ("StringEqualsIfExists", "a", None, T),
    ("StringEqualsIfExists", "a", "b", F),
    ("StringEqualsIfExists", "a", "a", T),
    ("NumericLessThanIfExists", "5", None, T),
    ("BoolIfExists", "true", None, T),
    ("ArnLikeIfExists", "arn:*:*:*:*:*", None, T),
    ("IpAddressIfExists", "10.0.0.0/8", None, T),
    ("StringNotEqualsIfExists", "a", "a", F),
]


@pytest.mark.parametrize(("operator", "expected", "actual", "result"), CASES)
def test_operator(operator, expected, actual, result):
    ctx = {} if actual is None else {"k:Key": actual}
    assert holds({operator: {"k:Key": expected}}, ctx) is result


MULTI = [
    # set qualifiers on a multi-valued key: (operator, policy values, request values, expected)
    ("ForAllValues:StringEquals", ["a", "b"], ["a"], T),
    ("ForAllValues:StringEquals", ["a", "b"], ["a", "c"], F),
    ("ForAllValues:StringEquals", ["a"], [], T),  # empty set -> true
    ("ForAllValues:StringEquals", ["a"], None, T),  # absent -> true
    ("ForAnyValue:StringEquals", ["a"], ["c", "a"], T),
    ("ForAnyValue:StringEquals", ["a"], ["c"], F),
    ("ForAnyValue:StringEquals", ["a"], [], F),  # empty set -> false
    ("ForAnyValue:StringEquals", ["a"], None, F),
    ("ForAnyValue:StringLike", ["Dep*"], ["Department"], T),
    ("ForAllValues:StringLike", ["Dep*", "Proj*"], ["Department", "Project"], T),
    ("ForAllValues:StringNotEquals", ["x"], ["a", "b"], T),
    ("ForAllValues:StringNotEquals", ["x"], ["a", "x"], F),
    ("ForAnyValue:StringNotEquals", ["x"], ["a", "x"], T),
    ("ForAnyValue:StringEqualsIfExists", ["a"], None, T),
    ("StringEquals", ["a"], ["c", "a"], T),  # no qualifier on a multi-valued key: any
    ("StringNotEquals", ["a"], ["c", "a"], F),  # negated, no qualifier: none may match
    ("forallvalues:stringequals", ["a"], ["a"], T),  # operator names are case-insensitive
]


@pytest.mark.parametrize(("operator", "expected", "actual", "result"), MULTI)
def test_set_qualifiers(operator, expected, actual, result):
    ctx = {} if actual is None else {"kms:EncryptionContextKeys": actual}
    assert holds({operator: {"kms:EncryptionContextKeys": expected}}, ctx) is result


def test_condition_key_names_are_case_insensitive():
    assert holds({"StringEquals": {"KMS:CALLERACCOUNT": ACCT}}, {"kms:CallerAccount": ACCT})
    assert holds({"StringEquals": {"kms:encryptioncontext:DEPT": "x"}}, {"kms:EncryptionContext:Dept": "x"})


def test_multiple_keys_and_operators_are_anded():
    block = {"StringEquals": {"a:x": "1", "a:y": "2"}, "Bool": {"a:z": "true"}}
    assert holds(block, {"a:x": "1", "a:y": "2", "a:z": "true"})
    assert not holds(block, {"a:x": "1", "a:y": "3", "a:z": "true"})
    assert not holds(block, {"a:x": "1", "a:y": "2"})


def test_json_booleans_and_numbers_in_policy_values():
    assert holds({"Bool": {"aws:SecureTransport": True}}, {"aws:SecureTransport": "true"})
    assert holds({"NumericEquals": {"kms:X": 7}}, {"kms:X": "7"})


@pytest.mark.parametrize("name", ["StringEqualz", "Foo:StringEquals", "NullIfExists", "IfExists", ""])
def test_unknown_operators(name):
    with pytest.raises(ConditionError):
        parse_operator(name)


def test_operator_parsing():
    op = parse_operator("ForAnyValue:StringLikeIfExists")
    assert (op.base, op.qualifier.value, op.if_exists, op.negated) == ("StringLike", "ForAnyValue", True, False)
    assert parse_operator("StringNotLike").negated


@pytest.mark.parametrize(
    ("text", "epoch"),
    [
        ("1700000000", 1700000000.0),
        ("2023-11-14T22:13:20Z", 1700000000.0),
        ("2023-11-14T22:13:20.000Z", 1700000000.0),
        ("2023-11-14T23:13:20+01:00", 1700000000.0),
        ("2023-11-14", 1699920000.0),
        ("garbage", None),
        ("", None),
    ],
)
def test_parse_date(text, epoch):
    assert parse_date(text) == epoch


def _facts(**kw):
    base = {"principal_arn": ALICE, "account_id": ACCT, "action": "Encrypt", "key_arn": KEY, "now": 1700000000.0}
    base.update(kw)
    return RequestFacts(**base)


def test_context_from_request_facts():
    f = _facts(
        key_spec="SYMMETRIC_DEFAULT",
        key_usage="ENCRYPT_DECRYPT",
        key_origin="AWS_KMS",
        key_tags={"Team": "blue"},
        key_aliases=("alias/a", "alias/b"),
        encryption_context={"Dept": "fin", "Project": "x"},
        request_alias="alias/a",
        encryption_algorithm="SYMMETRIC_DEFAULT",
        source_ip="10.0.0.1",
        secure_transport=True,
        reencrypt_on_same_key=False,
        request_tags={"Env": "prod"},
        grant_operations=("Decrypt",),
        grantee_principal=ALICE,
        extra={"kms:BypassPolicyLockoutSafetyCheck": "false"},
    )
    v = condition_context(f).values()
    assert v["aws:principalarn"] == (ALICE,)
    assert v["kms:calleraccount"] == (ACCT,)
    assert v["aws:currenttime"] == ("2023-11-14T22:13:20Z",)
    assert v["aws:epochtime"] == ("1700000000",)
    assert v["kms:keyspec"] == ("SYMMETRIC_DEFAULT",)
    assert v["kms:keyusage"] == ("ENCRYPT_DECRYPT",)
    assert v["kms:keyorigin"] == ("AWS_KMS",)
    assert v["aws:resourcetag/team"] == ("blue",)
    assert v["kms:resourcealiases"] == ("alias/a", "alias/b")
    assert v["kms:requestalias"] == ("alias/a",)
    assert v["kms:encryptioncontext:dept"] == ("fin",)
    assert v["kms:encryptioncontextkeys"] == ("Dept", "Project")
    assert v["kms:encryptionalgorithm"] == ("SYMMETRIC_DEFAULT",)
    assert v["aws:sourceip"] == ("10.0.0.1",)
    assert v["aws:securetransport"] == ("true",)
    assert v["kms:reencryptonsamekey"] == ("false",)
    assert v["aws:requesttag/env"] == ("prod",)
    assert v["aws:tagkeys"] == ("Env",)
    assert v["kms:grantoperations"] == ("Decrypt",)
    assert v["kms:granteeprincipal"] == (ALICE,)
    assert v["kms:bypasspolicylockoutsafetycheck"] == ("false",)
    assert "kms:viaservice" not in v  # spec §7.4: absent for direct calls


def test_context_absent_keys_and_sessions():
    v = condition_context(_facts(principal_arn=SESSION, encryption_context={})).values()
    assert v["aws:principalarn"] == ("arn:aws:iam::111122223333:role/app",)
    assert "kms:encryptioncontextkeys" not in v  # empty multi-valued key is absent
    assert "aws:sourceip" not in v and "kms:requestalias" not in v


def test_context_is_built_lazily_and_overrides_win():
    ctx = ConditionContext(facts=_facts(), overrides={"kms:calleraccount": ("999",)})
    assert ctx._cache == {}  # nothing read yet
    assert ctx.get("kms:calleraccount") == ("999",)
    assert ctx.get("aws:principalarn") == (ALICE,)


def test_lazy_lookup_is_case_insensitive_for_context_and_tag_keys():
    ctx = condition_context(_facts(encryption_context={"Dept": "a", "dept": "b"}, key_tags={"Team": "blue"}))
    assert ctx.get("kms:encryptioncontext:dept") == ("a", "b")
    assert ctx.get("aws:resourcetag/team") == ("blue",)
    assert ctx.get("aws:resourcetag/missing") is None
    assert ctx.get("kms:encryptioncontext:other") is None
    assert set(ctx._cache) == {"kms:encryptioncontext:dept", "aws:resourcetag/team", "aws:resourcetag/missing", "kms:encryptioncontext:other"}


def test_ip_conditions_on_mixed_families():
    assert not holds({"IpAddress": {"aws:SourceIp": "10.0.0.0/8"}}, {"aws:SourceIp": "2001:db8::1"})
    assert holds({"NotIpAddress": {"aws:SourceIp": ["10.0.0.0/8", "2001:db8::/32"]}}, {"aws:SourceIp": "192.0.2.1"})
