"""The explain answer: decision, decider, and why every other statement/grant did not apply."""

from __future__ import annotations

import json

from trent.authz import (
    Allow,
    Caller,
    ConditionFailure,
    Grant,
    GrantConstraints,
    Mismatch,
    Outcome,
    evaluate,
    explain,
    parse_key_policy,
    would_lock_out,
)
from trent.domain.policies import default_key_policy

from .helpers import (
    ACCT,
    ALICE,
    BOB,
    CAROL,
    KEY,
    KEY2,
    ROOT,
    allow,
    deny,
    identity,
    key_policy,
    request,
)


def test_explain_names_decider_and_every_mismatch():
    policy = key_policy(
        {**allow({"AWS": BOB}), "Sid": "bob"},
        {**allow({"AWS": ALICE}, action="kms:Decrypt"), "Sid": "decrypt"},
        {**allow({"AWS": ALICE}, resource=KEY2), "Sid": "otherkey"},
        {**allow({"AWS": ALICE}, Condition={"StringEquals": {"kms:EncryptionContext:Dept": "fin"}}), "Sid": "cond"},
        {**allow({"AWS": ALICE}), "Sid": "winner"},
        {"Sid": "inert", "Effect": "Allow", "Principal": "*", "Action": "kms:*"},
    )
    grants = [
        Grant("g-other", KEY, BOB, frozenset({"Encrypt"})),
        Grant("g-op", KEY, ALICE, frozenset({"Decrypt"})),
        Grant("g-key", KEY2, ALICE, frozenset({"Encrypt"})),
        Grant("g-ctx", KEY, ALICE, frozenset({"Encrypt"}), GrantConstraints({"Dept": "fin"})),
        Grant("g-ok", KEY, ALICE, frozenset({"Encrypt"})),
    ]
    r = request(encryption_context={"Dept": "hr"})
    e = explain(r, policy, [identity(deny(None, action="kms:Decrypt"), name="nodecrypt")], grants)
    assert e.allowed and e.decision == evaluate(r, policy, [identity(deny(None, action="kms:Decrypt"), name="nodecrypt")], grants)
    by_sid = {s.statement.sid: s for s in e.statements if s.statement.sid}
    assert by_sid["bob"].mismatch is Mismatch.PRINCIPAL
    assert by_sid["decrypt"].mismatch is Mismatch.ACTION
    assert by_sid["otherkey"].mismatch is Mismatch.RESOURCE
    assert by_sid["cond"].mismatch is Mismatch.CONDITION
    assert by_sid["cond"].condition == ConditionFailure("StringEquals", "kms:EncryptionContext:Dept", ("fin",), ("hr",))
    assert by_sid["winner"].outcome is Outcome.DECIDED
    assert by_sid["inert"].mismatch is Mismatch.INERT
    iam = next(s for s in e.statements if s.statement.policy_name == "nodecrypt")
    assert iam.mismatch is Mismatch.ACTION
    g = {x.grant.grant_id: x for x in e.grants}
    assert g["g-other"].mismatch is Mismatch.GRANT_GRANTEE
    assert g["g-op"].mismatch is Mismatch.GRANT_OPERATION
    assert g["g-key"].mismatch is Mismatch.GRANT_KEY
    assert g["g-ctx"].mismatch is Mismatch.GRANT_CONSTRAINT
    assert g["g-ok"].outcome is Outcome.APPLIES  # applies, but the key policy decided
    assert e.message is None


def test_explain_denial_is_json_serializable_with_message():
    policy = key_policy(allow({"AWS": ALICE}, Condition={"IpAddress": {"aws:SourceIp": "10.0.0.0/8"}}))
    r = request(source_ip="192.0.2.1")
    out = explain(r, policy, [], []).to_json()
    again = json.loads(json.dumps(out))
    assert again["decision"] == {"effect": "ImplicitDeny", "reason": "no resource-based policy allows"}
    assert again["message"].endswith("because no resource-based policy allows the kms:Encrypt action")
    (stmt,) = again["statements"]
    assert stmt["mismatch"] == "condition"
    assert stmt["condition"] == {"operator": "IpAddress", "key": "aws:SourceIp", "expected": ["10.0.0.0/8"], "actual": ["192.0.2.1"]}
    assert again["request"] == {"principal": ALICE, "account": ACCT, "action": "kms:Encrypt", "resource": KEY}


def test_explain_absent_condition_key_shows_null_actual():
    policy = key_policy(allow({"AWS": ALICE}, Condition={"StringEquals": {"kms:ViaService": "s3.us-east-1.amazonaws.com"}}))
    out = explain(request(), policy, [], []).to_json()
    assert out["statements"][0]["condition"]["actual"] is None


def test_explain_explicit_deny_and_delegation():
    default = parse_key_policy(default_key_policy(ACCT))
    e = explain(request(), default, [identity(allow(None), name="a"), identity({**deny(None), "Sid": "stop"}, name="d")], [])
    out = e.to_json()
    assert out["decision"]["effect"] == "ExplicitDeny" and out["decision"]["policy"] == "identity-based"
    assert out["decision"]["by"]["sid"] == "stop"
    assert out["message"].endswith("with an explicit deny in an identity-based policy")
    rows = {(s["policy_name"], s["statement_index"]): s for s in out["statements"]}
    assert rows[("default", 0)]["outcome"] == "applies"
    assert "account principal" in rows[("default", 0)]["detail"]
    assert rows[("d", 0)]["outcome"] == "decided"


def test_explain_iam_only_operation_skips_key_policy_and_grants():
    r = request(action="CreateKey", key=None)
    e = explain(r, key_policy(deny("*")), [identity(allow(None, action="kms:Create*"))], [Grant("g", KEY, ALICE, frozenset({"Encrypt"}))])
    assert isinstance(e.decision, Allow)
    assert e.statements[0].mismatch is Mismatch.NOT_CONSULTED
    assert e.grants[0].mismatch is Mismatch.NOT_CONSULTED


# ---- lockout safety check (§7.2) ----


def test_lockout_check():
    alice = Caller(ALICE, ACCT)
    root = Caller(ROOT, ACCT)
    admin = [identity(allow(None, action="kms:PutKeyPolicy"))]
    default = parse_key_policy(default_key_policy(ACCT))
    assert not would_lock_out(default, alice, admin, KEY)  # root delegation + IAM allow
    assert would_lock_out(default, alice, [], KEY)  # delegation without IAM
    assert not would_lock_out(default, root, [], KEY)
    assert not would_lock_out(key_policy(allow({"AWS": ALICE}, action="kms:PutKeyPolicy")), alice, [], KEY)
    assert would_lock_out(key_policy(allow({"AWS": ALICE}, action="kms:Encrypt")), alice, admin, KEY)
    assert would_lock_out(key_policy(allow({"AWS": BOB})), alice, admin, KEY)
    assert would_lock_out(key_policy(allow({"AWS": ACCT}), deny({"AWS": ALICE}, action="kms:Put*")), alice, admin, KEY)
    assert would_lock_out(default, alice, admin + [identity(deny(None, action="kms:PutKeyPolicy"))], KEY)
    # cross-account caller: the other account's principal needs both sides
    assert would_lock_out(key_policy(allow({"AWS": CAROL})), Caller(CAROL, "444455556666"), [], KEY)
