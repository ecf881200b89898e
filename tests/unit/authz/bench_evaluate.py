"""Micro-benchmark of authz.evaluate on the Encrypt hot path (issue 5: policy evaluation
must not dominate). Not collected by pytest; run:

    .venv/bin/python -m tests.unit.authz.bench_evaluate

Reports µs per call for (a) the default key policy (root delegation + one IAM policy) and
(b) a realistic 10-statement console-style key policy with conditions, each including the
per-request AuthzRequest/RequestFacts construction the service will do.
"""

from __future__ import annotations

import json
import timeit

from trent.authz import (
    AuthzRequest,
    RequestFacts,
    evaluate,
    parse_identity_policy,
    parse_key_policy,
)
from trent.domain.policies import default_key_policy

ACCT = "111122223333"
KEY = f"arn:aws:kms:us-east-1:{ACCT}:key/1234abcd-12ab-34cd-56ef-1234567890ab"
USER = f"arn:aws:iam::{ACCT}:user/app"

ADMIN_ACTIONS = [
    "kms:Create*", "kms:Describe*", "kms:Enable*", "kms:List*", "kms:Put*", "kms:Update*", "kms:Revoke*",
    "kms:Disable*", "kms:Get*", "kms:Delete*", "kms:TagResource", "kms:UntagResource",
    "kms:ScheduleKeyDeletion", "kms:CancelKeyDeletion", "kms:RotateKeyOnDemand",
]
USE_ACTIONS = ["kms:Encrypt", "kms:Decrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:DescribeKey"]

TEN = json.dumps(
    {
        "Version": "2012-10-17",
        "Id": "key-consolepolicy-3",
        "Statement": [
            {"Sid": "Enable IAM User Permissions", "Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCT}:root"}, "Action": "kms:*", "Resource": "*"},
            {"Sid": "Allow access for Key Administrators", "Effect": "Allow", "Principal": {"AWS": [f"arn:aws:iam::{ACCT}:role/Admin", f"arn:aws:iam::{ACCT}:user/ops"]}, "Action": ADMIN_ACTIONS, "Resource": "*"},
            {"Sid": "Allow use of the key", "Effect": "Allow", "Principal": {"AWS": [USER, f"arn:aws:iam::{ACCT}:role/worker"]}, "Action": USE_ACTIONS, "Resource": "*",
             "Condition": {"StringEquals": {"kms:EncryptionContext:tenant": "acme"}, "ForAllValues:StringEquals": {"kms:EncryptionContextKeys": ["tenant", "purpose"]}}},
            {"Sid": "Allow attachment of persistent resources", "Effect": "Allow", "Principal": {"AWS": USER}, "Action": ["kms:CreateGrant", "kms:ListGrants", "kms:RevokeGrant"], "Resource": "*",
             "Condition": {"Bool": {"kms:GrantIsForAWSResource": "true"}}},
            {"Sid": "Allow reports", "Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCT}:role/reporting"}, "Action": ["kms:Decrypt"], "Resource": "*",
             "Condition": {"StringLike": {"kms:EncryptionContext:report": "monthly-*"}}},
            {"Sid": "Cross-account decrypt", "Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::444455556666:root"}, "Action": ["kms:Decrypt", "kms:DescribeKey"], "Resource": "*"},
            {"Sid": "Via S3 only for the analytics role", "Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCT}:role/analytics"}, "Action": USE_ACTIONS, "Resource": "*",
             "Condition": {"StringEquals": {"kms:ViaService": "s3.us-east-1.amazonaws.com", "kms:CallerAccount": ACCT}}},
            {"Sid": "Deny plaintext transport", "Effect": "Deny", "Principal": "*", "Action": "kms:*", "Resource": "*", "Condition": {"Bool": {"aws:SecureTransport": "false"}}},
            {"Sid": "Deny outside corporate network", "Effect": "Deny", "Principal": "*", "Action": ["kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey*"], "Resource": "*",
             "Condition": {"NotIpAddress": {"aws:SourceIp": ["10.0.0.0/8", "192.168.0.0/16", "2001:db8::/32"]}, "StringNotEqualsIfExists": {"kms:ViaService": "s3.us-east-1.amazonaws.com"}}},
            {"Sid": "Deny key deletion", "Effect": "Deny", "Principal": "*", "Action": ["kms:ScheduleKeyDeletion", "kms:DisableKey"], "Resource": "*",
             "Condition": {"ArnNotLike": {"aws:PrincipalArn": f"arn:aws:iam::{ACCT}:role/Admin"}}},
        ],
    },
    indent=2,
)
IAM = parse_identity_policy(
    json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": ["kms:Encrypt", "kms:Decrypt", "kms:GenerateDataKey*"], "Resource": f"arn:aws:kms:us-east-1:{ACCT}:key/*"}]}),
    name="app-kms",
)
EC = {"tenant": "acme", "purpose": "orders"}


def one(policy, identity):
    def call():
        facts = RequestFacts(USER, ACCT, "Encrypt", KEY, now=1700000000.0, encryption_context=EC, source_ip="10.1.2.3", secure_transport=True,
                             key_spec="SYMMETRIC_DEFAULT", key_usage="ENCRYPT_DECRYPT", key_origin="AWS_KMS")
        return evaluate(AuthzRequest.from_facts(facts), policy, identity, ())

    return call


def main() -> None:
    default = parse_key_policy(default_key_policy(ACCT))
    ten = parse_key_policy(TEN)
    assert len(ten.statements) == 10
    for name, policy, identity in (("default policy + 1 IAM policy", default, [IAM]), ("10-statement key policy", ten, [IAM])):
        fn = one(policy, identity)
        print(name, "->", type(fn()).__name__, fn().reason.value)  # type: ignore[union-attr]
        n = 20000
        best = min(timeit.repeat(fn, number=n, repeat=7)) / n * 1e6
        print(f"  {best:.2f} µs per evaluate (incl. request/context construction)")
    t = min(timeit.repeat(lambda: parse_key_policy(TEN), number=200, repeat=5)) / 200 * 1e6
    print(f"parse + compile the 10-statement policy: {t:.0f} µs")


if __name__ == "__main__":
    main()
