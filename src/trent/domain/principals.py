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
    ROLE = "Role"  # an IAM role: a principal that can only be assumed (no access keys)
    ASSUMED_ROLE = "AssumedRole"  # a role session: arn:aws:sts::<acct>:assumed-role/<role>/<session>


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

    def __hash__(self) -> int:
        # The ARN names the principal (equal principals have equal ARNs): hashing it alone
        # spares the five-field tuple the generated __hash__ builds; principals key the
        # authorization decision caches on every request.
        return hash(self.arn)

    @staticmethod
    def root_arn(account_id: str, partition: str = "aws") -> str:
        return f"arn:{partition}:iam::{account_id}:root"

    @staticmethod
    def user_arn(account_id: str, name: str, partition: str = "aws") -> str:
        return f"arn:{partition}:iam::{account_id}:user/{name}"

    @staticmethod
    def role_arn(account_id: str, name: str, partition: str = "aws") -> str:
        return f"arn:{partition}:iam::{account_id}:role/{name}"

    @staticmethod
    def assumed_role_arn(account_id: str, role_name: str, session_name: str, partition: str = "aws") -> str:
        return f"arn:{partition}:sts::{account_id}:assumed-role/{role_name}/{session_name}"


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


@dataclass(frozen=True, slots=True)
class Role:
    """An IAM role (issue 5). Its principal row (kind ROLE) carries arn/name/role id; this
    adds what only roles have: the trust policy AssumeRole checks, and the longest session
    it may issue. ``arn`` is ``arn:aws:iam::<acct>:role/<name>``."""

    arn: str
    account_id: str
    name: str
    role_id: str  # AROA... (CloudTrail principalId prefix of its sessions)
    trust_policy: str  # JSON text as given (IAM policy language, Principal required)
    max_session_duration: int  # seconds, 3600..43200 (IAM)
    created_at: float


@dataclass(frozen=True, slots=True)
class IdentityPolicy:
    """An inline identity policy attached to a user or role (IAM PutUserPolicy/PutRolePolicy).
    Unique by (principal_arn, name); ``document`` is the JSON text as given."""

    principal_arn: str
    name: str
    document: str
