"""STS use cases (issue 5): GetCallerIdentity and AssumeRole.

AssumeRole is authorized the IAM way, with the one evaluator (``authz.evaluate``): the
role's trust policy is the *resource* policy of ``sts:AssumeRole`` on the role ARN, the
caller's inline identity policies the identity side. So, as for KMS key policies
(spec §7.3): a trust policy naming the caller (or its role, for a session) allows it in
its own account; naming the account root delegates to the caller's identity policies;
a caller from another account needs both. A role that does not exist is denied with the
same message as one whose trust policy does not allow (IAM does not reveal which).

Temporary credentials: access key id ``ASIA...``, a random secret (stored wrapped under
the root, as every secret access key), and a random opaque session token stored only as
its SHA-256 (``AccessKey.session_token_sha256``), so a database reader cannot replay it.
``expires_at`` is on the *wall* clock, like every credential check (ARCHITECTURE
"Time"): moving the --dev clock never expires or revives a session.

Session policies (``Policy``, ``PolicyArns``) and session tags are refused by the
protocol layer rather than ignored: ignoring a session policy would hand out more access
than the caller asked for.
"""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass, field

from trent.authz import (
    AuthzRequest,
    ExplicitDeny,
    ImplicitDeny,
    ImplicitDenyReason,
    PolicyDocument,
    RequestFacts,
    access_denied_message,
    condition_context,
    evaluate,
    parse_identity_policy,
    role_arn_of,
)
from trent.authz.trust_policy import compiled_trust_policy
from trent.domain.principals import (
    AccessKey,
    AccessKeyStatus,
    Principal,
    PrincipalKind,
    Role,
)
from trent.errors import AccessDenied, KMSInternal, ValidationError
from trent.service.context import RequestContext
from trent.service.deps import ServiceDeps
from trent.service.iam import parse_role_arn
from trent.service.identity import secret_aad
from trent.storage.repositories import Duplicate

DEFAULT_DURATION_SECONDS = 3600
MIN_DURATION_SECONDS = 900
# IAM: "role chaining limits your AWS CLI or AWS API role session to a maximum of one hour"
ROLE_CHAINING_MAX_SECONDS = 3600
_TOKEN_BYTES = 192  # 256 base64url characters: long and opaque, like AWS's
_ID_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"


@dataclass(frozen=True, slots=True)
class CallerIdentity:
    account: str
    arn: str
    user_id: str


@dataclass(frozen=True, slots=True)
class AssumeRoleInput:
    role_arn: str
    role_session_name: str
    duration_seconds: int | None = None
    external_id: str | None = None
    minimum_session_token_size: int | None = None


@dataclass(frozen=True, slots=True)
class TemporaryCredentials:
    access_key_id: str
    secret_access_key: str = field(repr=False)
    session_token: str = field(repr=False)
    expiration: float  # epoch seconds, wall clock
    assumed_role_arn: str
    assumed_role_id: str  # "<role id>:<session name>"
    role_arn: str
    account_id: str


def get_caller_identity(ctx: RequestContext) -> CallerIdentity:
    """UserId as IAM's aws:userid: AIDA... for a user, "AROA...:session" for a role
    session, the account id for the root (IAM "Principal table")."""
    principal = ctx.principal
    user_id = principal.account_id if principal.kind is PrincipalKind.ROOT else principal.principal_id
    return CallerIdentity(principal.account_id, principal.arn, user_id)


def identity_policies_of(deps: ServiceDeps, principal_arn: str) -> tuple[PolicyDocument, ...]:
    """The caller's inline identity policies; a role session has its role's."""
    owner = role_arn_of(principal_arn) or principal_arn
    partition = owner.split(":", 2)[1]
    return tuple(
        parse_identity_policy(p.document, name=p.name, partition=partition)
        for p in deps.storage.list_identity_policies(owner)
    )


def authorize_assume_role(
    deps: ServiceDeps, ctx: RequestContext, role_arn: str, role: Role | None, request: AssumeRoleInput
) -> None:
    extra: dict[str, str] = {"sts:RoleSessionName": request.role_session_name}
    if request.external_id is not None:
        extra["sts:ExternalId"] = request.external_id  # IAM condition key for the confused-deputy check
    facts = RequestFacts(
        principal_arn=ctx.principal.arn,
        account_id=ctx.account_id,
        action="AssumeRole",
        key_arn=role_arn,
        now=ctx.now,
        source_ip=ctx.source_ip,
        secure_transport=ctx.secure_transport,
        extra=extra,
    )
    authz_request = AuthzRequest(
        principal_arn=facts.principal_arn,
        account_id=facts.account_id,
        action=facts.action,
        key_arn=role_arn,
        context=condition_context(facts),
        service="sts",
    )
    if role is None:
        decision: ExplicitDeny | ImplicitDeny | object = ImplicitDeny(ImplicitDenyReason.NO_RESOURCE_POLICY)
    else:
        trust = compiled_trust_policy(role.trust_policy, parse_role_arn(role.arn)[0])
        decision = evaluate(authz_request, trust, identity_policies_of(deps, ctx.principal.arn))
    if isinstance(decision, (ExplicitDeny, ImplicitDeny)):
        raise AccessDenied(access_denied_message(authz_request, decision))


def _random_id(deps: ServiceDeps, prefix: str, length: int) -> str:
    return prefix + "".join(_ID_ALPHABET[b % 32] for b in deps.rng(length))


def _session_token(deps: ServiceDeps, minimum: int | None) -> str:
    n = _TOKEN_BYTES
    if minimum:
        n = max(n, (minimum * 3 + 3) // 4)
    return base64.urlsafe_b64encode(deps.rng(n)).decode().rstrip("=")


def _duration(ctx: RequestContext, role: Role, requested: int | None) -> int:
    chained = ctx.principal.kind is PrincipalKind.ASSUMED_ROLE
    if requested is None:
        return DEFAULT_DURATION_SECONDS
    if chained and requested > ROLE_CHAINING_MAX_SECONDS:
        raise ValidationError(
            "The requested DurationSeconds exceeds the 1 hour session limit for roles assumed by role chaining."
        )
    if requested > role.max_session_duration:
        raise ValidationError("The requested DurationSeconds exceeds the MaxSessionDuration set for this role.")
    return requested


def _session_principal(deps: ServiceDeps, role: Role, session_name: str, partition: str) -> Principal:
    arn = Principal.assumed_role_arn(role.account_id, role.name, session_name, partition)
    found = deps.storage.get_principal(arn)
    if found is not None:
        return found
    principal = Principal(arn, role.account_id, PrincipalKind.ASSUMED_ROLE, f"{role.name}/{session_name}",
                          f"{role.role_id}:{session_name}")
    try:
        deps.storage.create_principal(principal)
    except Duplicate:  # a concurrent AssumeRole of the same session name
        found = deps.storage.get_principal(arn)
        if found is None:
            raise KMSInternal() from None
        return found
    return found or principal


def assume_role(deps: ServiceDeps, ctx: RequestContext, request: AssumeRoleInput, wall_now: float) -> TemporaryCredentials:
    partition, _account, _name = parse_role_arn(request.role_arn)
    role = deps.storage.get_role(request.role_arn)
    authorize_assume_role(deps, ctx, request.role_arn, role, request)
    assert role is not None  # authorize_assume_role denies a missing role
    duration = _duration(ctx, role, request.duration_seconds)
    session = _session_principal(deps, role, request.role_session_name, partition)
    access_key_id = _random_id(deps, "ASIA", 16)
    secret = base64.b64encode(deps.rng(30)).decode()
    token = _session_token(deps, request.minimum_session_token_size)
    expires_at = float(int(wall_now) + duration)
    key = AccessKey(
        access_key_id=access_key_id,
        principal_arn=session.arn,
        account_id=session.account_id,
        wrapped_secret=deps.root_key.wrap(secret.encode(), secret_aad(access_key_id)),
        status=AccessKeyStatus.ACTIVE,
        created_at=ctx.now,
        session_token_sha256=hashlib.sha256(token.encode()).digest(),
        expires_at=expires_at,
    )
    deps.storage.create_access_key(key)
    return TemporaryCredentials(
        access_key_id=access_key_id,
        secret_access_key=secret,
        session_token=token,
        expiration=expires_at,
        assumed_role_arn=session.arn,
        assumed_role_id=session.principal_id,
        role_arn=role.arn,
        account_id=role.account_id,
    )
