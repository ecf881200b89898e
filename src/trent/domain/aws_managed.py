"""AWS managed keys as data (spec §2.1, §5.4; issue 19): the predefined ``alias/aws/<service>``
aliases and the key policy AWS attaches to a managed key.

An AWS managed key belongs to the customer's account but is managed by an integrated
service: KeyManager AWS, rotated yearly (not changeable), usable only through its
service (``kms:ViaService``) by principals of the account (``kms:CallerAccount``), and
readable (Describe*/Get*/List*) by the account. Nothing else is in its policy, so every
other call — ScheduleKeyDeletion, PutKeyPolicy, EnableKeyRotation, direct Encrypt —
is refused by policy evaluation itself with AWS's AccessDeniedException.
"""

from __future__ import annotations

from trent.domain.policies import aws_policy_layout

AWS_ALIAS_PREFIX = "alias/aws/"

#: Services whose ``alias/aws/<service>`` AWS lists in ListAliases before the service has
#: created its key (no TargetKeyId then). The S3 encryption service is Trent's user of
#: ``aws/s3``; the others appear because AWS lists them in every account and Region.
PREDEFINED_SERVICES: tuple[str, ...] = (
    "acm", "dynamodb", "ebs", "elasticfilesystem", "es", "glue", "kinesisvideo", "lambda", "rds",
    "redshift", "s3", "secretsmanager", "sns", "sqs", "ssm", "xray",
)

#: AWS's descriptions of managed keys, where known; others use the generic form.
_DESCRIPTIONS = {"s3": "Default key that protects my S3 objects when no other key is defined"}
#: How AWS names a service in its managed-key policy statement, where it differs from the id.
_DISPLAY_NAMES = {"s3": "S3", "dynamodb": "Amazon DynamoDB", "ebs": "EBS", "rds": "RDS"}

ROTATION_PERIOD_DAYS = 365


def alias_name(service: str) -> str:
    return f"{AWS_ALIAS_PREFIX}{service}"


def predefined_service(alias: str) -> str | None:
    """The service of a predefined ``alias/aws/<service>`` name, else None."""
    if not alias.startswith(AWS_ALIAS_PREFIX):
        return None
    service = alias[len(AWS_ALIAS_PREFIX):]
    return service if service in PREDEFINED_SERVICES else None


def description(service: str) -> str:
    return _DESCRIPTIONS.get(service, f"Default key that protects my {service} data when no other key is defined")


#: The endpoint a service calls KMS through, where it is not the alias's service id
#: (EBS volumes are encrypted through EC2: aws/ebs's policy names ec2.<region>).
_VIA_ENDPOINTS = {"ebs": "ec2"}


def via_service(service: str, region: str) -> str:
    """The ``kms:ViaService`` value of calls a service makes on a caller's behalf (spec §7.4)."""
    return f"{_VIA_ENDPOINTS.get(service, service)}.{region}.amazonaws.com"


def managed_key_policy(account_id: str, partition: str, region: str, service: str) -> str:
    """The policy AWS attaches to the AWS managed key of ``service`` (the developer guide's
    "Key policies for AWS managed keys"), as GetKeyPolicy returns it for ``aws/s3``: Id
    ``auto-<service>-2``, the via-service statement first (its condition names
    kms:CallerAccount, then kms:ViaService), then the account's read access; in AWS's
    Jackson layout (spec §7.1). Other services' managed keys differ in details (extra
    actions such as kms:CreateGrant, their own ViaService host) that Trent does not need."""
    name = _DISPLAY_NAMES.get(service, service)
    document = {
        "Version": "2012-10-17",
        "Id": f"auto-{service}-2",
        "Statement": [
            {
                "Sid": f"Allow access through {name} for all principals in the account that are authorized "
                       f"to use {name}",
                "Effect": "Allow",
                "Principal": {"AWS": "*"},
                "Action": ["kms:Encrypt", "kms:Decrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:DescribeKey"],
                "Resource": "*",
                "Condition": {
                    "StringEquals": {"kms:CallerAccount": account_id, "kms:ViaService": via_service(service, region)}
                },
            },
            {
                "Sid": "Allow direct access to key metadata to the account",
                "Effect": "Allow",
                "Principal": {"AWS": f"arn:{partition}:iam::{account_id}:root"},
                "Action": ["kms:Describe*", "kms:Get*", "kms:List*"],
                "Resource": "*",
            },
        ],
    }
    return aws_policy_layout(document)
