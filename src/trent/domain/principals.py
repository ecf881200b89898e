"""Accounts, principals and access keys (spec §1.6, §7.5)."""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass, field

ACCOUNT_ID_RE = re.compile(r"^[0-9]{12}$")
# IAM names: letters, digits and +=,.@_- (IAM user-name rules), 1..64
IAM_NAME_RE = re.compile(r"^[A-Za-z0-9+=,.@_-]{1,64}$")


class PrincipalKind(enum.StrEnum):
    ROOT = "Root"
    IAM_USER = "IAMUser"
    ASSUMED_ROLE = "AssumedRole"


@dataclass(frozen=True, slots=True)
class Account:
    account_id: str
    name: str
    created_at: float


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is calling. ``arn`` is what AccessDenied messages and audit events show."""

    arn: str
    account_id: str
    kind: PrincipalKind
    name: str
    principal_id: str  # AIDA... for users (CloudTrail userIdentity.principalId)

    @staticmethod
    def root_arn(account_id: str, partition: str = "aws") -> str:
        return f"arn:{partition}:iam::{account_id}:root"

    @staticmethod
    def user_arn(account_id: str, name: str, partition: str = "aws") -> str:
        return f"arn:{partition}:iam::{account_id}:user/{name}"


class AccessKeyStatus(enum.StrEnum):
    ACTIVE = "Active"
    INACTIVE = "Inactive"


@dataclass(frozen=True, slots=True)
class AccessKey:
    """An access key. The secret is only ever stored wrapped under the root key."""

    access_key_id: str
    principal_arn: str
    account_id: str
    wrapped_secret: bytes = field(repr=False)
    status: AccessKeyStatus
    created_at: float
    # Temporary credentials (STS) carry a session token and an expiry; the token is
    # stored as a SHA-256 digest so a database reader cannot replay it.
    session_token_sha256: bytes | None = field(default=None, repr=False)
    expires_at: float | None = None
