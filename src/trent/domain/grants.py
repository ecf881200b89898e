"""Grants as stored rows (spec §8). Evaluation uses ``trent.authz.Grant``; the service
converts between the two (storage may not import authz: sibling layers)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

# spec §8 / model GrantOperation enum.
GRANT_OPERATIONS = frozenset(
    {
        "Decrypt", "Encrypt", "GenerateDataKey", "GenerateDataKeyWithoutPlaintext", "ReEncryptFrom",
        "ReEncryptTo", "Sign", "Verify", "GetPublicKey", "CreateGrant", "RetireGrant", "DescribeKey",
        "GenerateDataKeyPair", "GenerateDataKeyPairWithoutPlaintext", "GenerateMac", "VerifyMac",
        "DeriveSharedSecret", "Encapsulate", "Decapsulate",
    }
)

MAX_GRANTS_PER_KEY = 50_000  # spec §8 limits


@dataclass(frozen=True, slots=True)
class GrantRecord:
    grant_id: str  # 64 hex characters, as AWS grant ids look
    region: str
    key_id: str  # the key the grant is on
    key_arn: str
    key_account_id: str  # the key owner's account
    issuing_account: str  # "arn:aws:iam::<acct>:root" of the creator's account (ListGrants)
    grantee_principal: str
    operations: tuple[str, ...]  # in the order given
    created_at: float
    name: str | None = None
    retiring_principal: str | None = None
    encryption_context_equals: Mapping[str, str] | None = None
    encryption_context_subset: Mapping[str, str] | None = None
