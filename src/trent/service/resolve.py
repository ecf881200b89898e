"""Turn a KeyId parameter into a stored key, with AWS's NotFound texts (spec §2.2, §2.3).

Resolution never authorizes: an account boundary is reported here only where AWS
reports it as "not found" (operations that are same-account only). Cross-account
use of the operations that allow it is decided by :mod:`trent.service.authorization`.
"""

from __future__ import annotations

from trent.domain.ids import alias_arn, is_key_id, key_arn, parse_key_ref
from trent.domain.keys import Key
from trent.errors import NotFound
from trent.service.availability import effective, needs_overlay
from trent.service.context import RequestContext
from trent.service.deps import ServiceDeps

# spec §2.3: only these accept alias names / alias ARNs as KeyId.
ALIAS_OPERATIONS = frozenset(
    {
        "Encrypt", "Decrypt", "ReEncrypt", "GenerateDataKey", "GenerateDataKeyWithoutPlaintext",
        "GenerateDataKeyPair", "GenerateDataKeyPairWithoutPlaintext", "Sign", "Verify",
        "GenerateMac", "VerifyMac", "DeriveSharedSecret", "GetPublicKey", "DescribeKey",
    }
)

# spec §2.3 "Cross-account use": the key ARN / alias ARN of another account is looked up.
CROSS_ACCOUNT_OPERATIONS = frozenset(
    {
        "CreateGrant", "Decrypt", "DeriveSharedSecret", "DescribeKey", "Encrypt", "GenerateDataKey",
        "GenerateDataKeyWithoutPlaintext", "GenerateDataKeyPair", "GenerateDataKeyPairWithoutPlaintext",
        "GenerateMac", "GetKeyRotationStatus", "GetPublicKey", "ListGrants", "ReEncrypt", "RetireGrant",
        "RevokeGrant", "Sign", "Verify", "VerifyMac",
    }
)


def _invalid_key_id(raw: str) -> NotFound:
    return NotFound(f"Invalid keyId '{raw}'")


def resolve_key(deps: ServiceDeps, ctx: RequestContext, raw: str, operation: str) -> Key:
    ref = parse_key_ref(raw)
    if ref.kind == "malformed":
        raise _invalid_key_id(raw)
    if ref.is_alias and operation not in ALIAS_OPERATIONS:
        raise _invalid_key_id(raw)
    if ref.region is not None and ref.region != ctx.region:
        raise NotFound(f"Invalid arn {ref.region}")
    account = ref.account_id or ctx.account_id
    # Same-account-only operations can't even see another account's keys: the
    # lookups below find nothing there, and say so in AWS's words.
    account_visible = account == ctx.account_id or operation in CROSS_ACCOUNT_OPERATIONS

    if ref.is_alias:
        assert ref.alias_name is not None
        alias = deps.storage.get_alias(account, ctx.region, ref.alias_name) if account_visible else None
        if alias is None or alias.target_key_id is None:
            raise NotFound(f"Alias {alias_arn(ctx.partition, ctx.region, account, ref.alias_name)} is not found.")
        key_id = alias.target_key_id
    else:
        assert ref.key_id is not None
        if ref.kind == "key_arn" and not is_key_id(ref.key_id):
            raise _invalid_key_id(raw)
        key_id = ref.key_id

    key = deps.storage.get_key(ctx.region, key_id) if account_visible else None
    if key is None or key.account_id != account:
        raise _not_found(ctx, account, key_id)
    # Custom-key-store keys read as Unavailable while their store is disconnected; a
    # replica reads Creating until it settles (service/availability.py).
    return effective(deps, key) if needs_overlay(key) else key


def _not_found(ctx: RequestContext, account: str, key_id: str | None) -> NotFound:
    return NotFound(f"Key '{key_arn(ctx.partition, ctx.region, account, key_id or '')}' does not exist")
