"""The key policy the create-key wizard proposes, in the shape the AWS Management Console
generates (issue 21: "review of the generated key policy"): the account principal (which
enables IAM policies), the key administrators, the key users, and for symmetric
encryption keys the statement that lets AWS-integrated services attach grants.

The user reviews and may edit it before CreateKey; CreateKey validates it as it would
any policy (principals must exist, lockout check).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from trent.domain.keys import KeySpec, KeyUsage

ADMIN_ACTIONS = (
    "kms:Create*", "kms:Describe*", "kms:Enable*", "kms:List*", "kms:Put*", "kms:Update*", "kms:Revoke*",
    "kms:Disable*", "kms:Get*", "kms:Delete*", "kms:TagResource", "kms:UntagResource",
)
ADMIN_DELETE_ACTIONS = ("kms:ScheduleKeyDeletion", "kms:CancelKeyDeletion")
ADMIN_ROTATE_ACTIONS = ("kms:RotateKeyOnDemand",)
USER_ACTIONS: dict[KeyUsage, tuple[str, ...]] = {
    KeyUsage.ENCRYPT_DECRYPT: ("kms:Encrypt", "kms:Decrypt", "kms:ReEncrypt*", "kms:DescribeKey",
                               "kms:GetPublicKey"),
    KeyUsage.SIGN_VERIFY: ("kms:DescribeKey", "kms:GetPublicKey", "kms:Sign", "kms:Verify"),
    KeyUsage.GENERATE_VERIFY_MAC: ("kms:DescribeKey", "kms:GenerateMac", "kms:VerifyMac"),
    KeyUsage.KEY_AGREEMENT: ("kms:DescribeKey", "kms:GetPublicKey", "kms:DeriveSharedSecret"),
    KeyUsage.ENCAPSULATE_DECAPSULATE: ("kms:DescribeKey", "kms:GetPublicKey", "kms:Encapsulate", "kms:Decapsulate"),
}
SYMMETRIC_USER_ACTIONS = ("kms:Encrypt", "kms:Decrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:DescribeKey")
GRANT_ACTIONS = ("kms:CreateGrant", "kms:ListGrants", "kms:RevokeGrant")


def _principal(arns: Sequence[str]) -> dict[str, Any]:
    return {"AWS": arns[0] if len(arns) == 1 else list(arns)}


def console_key_policy(
    account_id: str, spec: str, usage: str, administrators: Sequence[str], users: Sequence[str],
    *, administrators_may_delete: bool = True, partition: str = "aws",
) -> str:
    statements: list[dict[str, Any]] = [
        {
            "Sid": "Enable IAM User Permissions",
            "Effect": "Allow",
            "Principal": {"AWS": f"arn:{partition}:iam::{account_id}:root"},
            "Action": "kms:*",
            "Resource": "*",
        }
    ]
    if administrators:
        actions = list(ADMIN_ACTIONS)
        if administrators_may_delete:
            actions += ADMIN_DELETE_ACTIONS
        if spec == KeySpec.SYMMETRIC_DEFAULT:
            actions += ADMIN_ROTATE_ACTIONS
        statements.append({"Sid": "Allow access for Key Administrators", "Effect": "Allow",
                           "Principal": _principal(administrators), "Action": actions, "Resource": "*"})
    if users:
        symmetric = spec == KeySpec.SYMMETRIC_DEFAULT
        actions = list(SYMMETRIC_USER_ACTIONS if symmetric else USER_ACTIONS[KeyUsage(usage)])
        statements.append({"Sid": "Allow use of the key", "Effect": "Allow", "Principal": _principal(users),
                           "Action": actions, "Resource": "*"})
        if symmetric:
            statements.append({
                "Sid": "Allow attachment of persistent resources", "Effect": "Allow", "Principal": _principal(users),
                "Action": list(GRANT_ACTIONS), "Resource": "*",
                "Condition": {"Bool": {"kms:GrantIsForAWSResource": "true"}},
            })
    document = {"Id": "key-consolepolicy-3", "Version": "2012-10-17", "Statement": statements}
    return json.dumps(document, indent=4)
