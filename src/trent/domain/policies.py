"""Key policy documents as data (spec §7). Evaluation lives in ``trent.authz``."""

from __future__ import annotations

DEFAULT_POLICY_NAME = "default"


def default_key_policy(account_id: str, partition: str = "aws") -> str:
    """The policy CreateKey attaches when none is given, byte-exact as AWS returns it
    (spec §7.1: Jackson pretty layout, 2-space indent, `" : "` separators)."""
    return (
        "{\n"
        '  "Version" : "2012-10-17",\n'
        '  "Id" : "key-default-1",\n'
        '  "Statement" : [ {\n'
        '    "Sid" : "Enable IAM User Permissions",\n'
        '    "Effect" : "Allow",\n'
        '    "Principal" : {\n'
        f'      "AWS" : "arn:{partition}:iam::{account_id}:root"\n'
        "    },\n"
        '    "Action" : "kms:*",\n'
        '    "Resource" : "*"\n'
        "  } ]\n"
        "}"
    )
