"""protocol.operations_grants: the GrantListEntry shape and that grant tokens never reach
audit parameters (issue 5, spec §8, §11)."""

from __future__ import annotations

from trent.domain.grants import GrantRecord
from trent.protocol import validation
from trent.protocol.operations import OPERATIONS
from trent.protocol.operations_grants import grant_entry

ARN = "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"


def record(**kw) -> GrantRecord:
    base = {
        "grant_id": "a" * 64, "region": "us-east-1", "key_id": "1234abcd-12ab-34cd-56ef-1234567890ab", "key_arn": ARN,
        "key_account_id": "111122223333", "issuing_account": "arn:aws:iam::111122223333:root",
        "grantee_principal": "arn:aws:iam::111122223333:user/alice", "operations": ("Encrypt", "Decrypt"),
        "created_at": 1_800_000_000.0,
    }
    return GrantRecord(**{**base, **kw})


def test_minimal_entry_omits_unset_members():
    assert grant_entry(record()) == {
        "KeyId": ARN,
        "GrantId": "a" * 64,
        "CreationDate": 1_800_000_000.0,
        "GranteePrincipal": "arn:aws:iam::111122223333:user/alice",
        "IssuingAccount": "arn:aws:iam::111122223333:root",
        "Operations": ["Encrypt", "Decrypt"],
    }


def test_full_entry():
    entry = grant_entry(record(name="app", retiring_principal="arn:aws:iam::111122223333:user/bob",
                               encryption_context_subset={"tenant": "7"}))
    assert entry["Name"] == "app"
    assert entry["RetiringPrincipal"] == "arn:aws:iam::111122223333:user/bob"
    assert entry["Constraints"] == {"EncryptionContextSubset": {"tenant": "7"}}
    equals = grant_entry(record(encryption_context_equals={}))
    assert equals["Constraints"] == {"EncryptionContextEquals": {}}


def test_grant_operations_are_registered():
    for name in ("CreateGrant", "ListGrants", "ListRetirableGrants", "RetireGrant", "RevokeGrant"):
        assert name in OPERATIONS and not OPERATIONS[name].inline


def test_grant_tokens_never_in_audit_parameters():
    token = "tok-secret-value"
    params = validation.audit_safe_params(
        "CreateGrant",
        {"KeyId": "k", "GranteePrincipal": "p", "Operations": ["Encrypt"], "GrantTokens": [token], "Name": "n"},
    )
    assert params == {"keyId": "k", "granteePrincipal": "p", "operations": ["Encrypt"], "name": "n"}
    assert validation.audit_safe_params("RetireGrant", {"GrantToken": token, "GrantId": "g"}) == {"grantId": "g"}
    for op in ("Encrypt", "Decrypt", "GenerateDataKey", "Sign", "DescribeKey"):
        assert token not in repr(validation.audit_safe_params(op, {"KeyId": "k", "GrantTokens": [token]}))
