"""The one authorization decision (spec §7.3), as a value (habits §11).

    evaluate(request, key_policy, identity_policies, grants) -> Allow | ExplicitDeny | ImplicitDeny

1. An applicable explicit Deny in the key policy or an identity policy -> ExplicitDeny.
2. Allow when any of:
   * the key policy Allows the caller directly (its ARN, its role for an assumed-role
     session, or `*`) -- for a caller of another account the caller's identity policy
     must Allow too (§7.3.4);
   * the key policy Allows the caller's *account* principal (`arn:aws:iam::<acct>:root`,
     "enables IAM") and an identity policy of the caller Allows the action on the key ARN;
   * a grant on the key names the caller, lists the operation and its constraint holds.
3. Otherwise ImplicitDeny, saying which side was missing (the §7.5 message differs).

IAM-only operations (no key resource) are decided by identity policies alone, on
resource `*`; so is the alias-ARN half of the alias operations, on the alias ARN. The account root user holds every identity permission of its account
(IAM: no identity policy can be attached to it, and none is needed).

Only the service turns a decision into an exception; ``access_denied_message`` gives
it the exact text of spec §7.5.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from trent.authz.context import (
    ConditionContext,
    RequestFacts,
    condition_context,
    partition_of,
    role_arn_of,
)
from trent.authz.grants import Grant, grant_mismatch
from trent.authz.policy_document import (
    Effect,
    PolicyDocument,
    PolicyKind,
    Statement,
    StatementRef,
)

# spec §7.3: operations without a key resource; authorized by IAM alone on resource "*".
IAM_ONLY_ACTIONS = frozenset(
    {
        "CreateKey",
        "ListKeys",
        "ListAliases",
        "GenerateRandom",
        "CreateCustomKeyStore",
        "ConnectCustomKeyStore",
        "DeleteCustomKeyStore",
        "DescribeCustomKeyStores",
        "DisconnectCustomKeyStore",
        "UpdateCustomKeyStore",
        "ListRetirableGrants",
    }
)


@dataclass(frozen=True, slots=True)
class AuthzRequest:
    """Who asks to do what to which key. ``action`` has no `kms:` prefix ("Encrypt",
    "ReEncryptFrom"); ``key_arn`` is None for IAM-only operations."""

    principal_arn: str
    account_id: str
    action: str
    key_arn: str | None
    context: ConditionContext
    encryption_context: Mapping[str, str] | None = None  # for grant constraints (§8)
    # The action prefix: "kms" for KMS calls; "sts" when STS evaluates a role's trust
    # policy as the resource policy of `sts:AssumeRole` (``key_arn`` is then the role ARN);
    # "s3" for S3 (``key_arn`` is then the bucket or object ARN, issue 17).
    service: str = "kms"
    # Services with no resource policy here (issue 16: cloudtrail reads, the trail bucket
    # on S3): only identity policies decide, whatever the resource.
    iam_only: bool = False
    # KMS and role trust: the resource policy must allow (spec §7.3). S3 follows IAM's
    # standard logic instead (IAM User Guide, "Policy evaluation logic"): within one
    # account an identity-policy Allow suffices without the bucket policy, and so does a
    # bucket-policy Allow naming the caller without an identity policy.
    resource_policy_required: bool = True
    # The resource's account when its ARN does not say (S3 ARNs carry none: the bucket
    # owner's); None = read it from ``key_arn``.
    resource_account: str | None = None
    # derived once at construction (hot path): the ARNs a policy may name this caller by
    # (its own, and its role's for an assumed-role session), and its account principal.
    caller_arns: tuple[str, ...] = field(init=False, repr=False, compare=False)
    root_arn: str = field(init=False, repr=False, compare=False)
    key_account: str | None = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        role = role_arn_of(self.principal_arn)
        arns = (self.principal_arn,) if role is None else (self.principal_arn, role)
        object.__setattr__(self, "caller_arns", arns)
        root = f"arn:{partition_of(self.principal_arn)}:iam::{self.account_id}:root"
        object.__setattr__(self, "root_arn", root)
        parts = self.key_arn.split(":", 5) if self.key_arn is not None else ()
        account = self.resource_account or (parts[4] if len(parts) == 6 else None)
        object.__setattr__(self, "key_account", account)

    @staticmethod
    def from_facts(facts: RequestFacts) -> AuthzRequest:
        return AuthzRequest(
            principal_arn=facts.principal_arn,
            account_id=facts.account_id,
            action=facts.action,
            key_arn=facts.key_arn,
            context=condition_context(facts),
            encryption_context=facts.encryption_context,
        )

    @property
    def full_action(self) -> str:
        return self.service + ":" + self.action

    @property
    def identity_only(self) -> bool:
        """No key policy (and no grant) is consulted: an IAM-only operation (resource `*`),
        or the alias half of CreateAlias/UpdateAlias/DeleteAlias, which spec §7.3 authorizes
        by IAM on the alias ARN (the service evaluates that with the alias ARN as
        ``key_arn``, and the key half separately). A key request whose key policy is
        missing (None) is *not* identity-only: it is denied unless a grant allows."""
        resource = self.resource
        return self.iam_only or resource == "*" or (self.service == "kms" and ":alias/" in resource)

    @property
    def resource(self) -> str:
        """What the policy `Resource` is matched against: the key ARN, or `*` (IAM-only)."""
        if self.key_arn is None or self.action in IAM_ONLY_ACTIONS:
            return "*"
        return self.key_arn


@dataclass(frozen=True, slots=True)
class GrantRef:
    grant_id: str
    name: str | None

    def to_json(self) -> dict[str, object]:
        return {"grant_id": self.grant_id, "name": self.name}


class AllowReason(enum.StrEnum):
    KEY_POLICY = "the key policy allows the caller"
    KEY_POLICY_AND_IAM = "cross-account: the key policy allows the caller and the caller's identity policy allows"
    IAM_DELEGATION = "the key policy allows the account principal (enables IAM) and an identity policy allows"
    GRANT = "a grant allows"
    IDENTITY_POLICY = "an identity policy allows (IAM-only operation)"
    SAME_ACCOUNT_IDENTITY = "an identity policy allows, in the resource's own account (no resource policy needed)"
    ROOT_USER = "the account root user has every identity permission of its account"


class ImplicitDenyReason(enum.StrEnum):
    """The values are the spec §7.5 wording."""

    NO_IDENTITY_POLICY = "no identity-based policy allows"
    NO_RESOURCE_POLICY = "no resource-based policy allows"


@dataclass(frozen=True, slots=True)
class Allow:
    reason: AllowReason
    by: StatementRef | GrantRef | None  # key-policy statement, grant, or identity statement (IAM-only)
    identity_statement: StatementRef | None = None  # the IAM allow that completed a delegation


@dataclass(frozen=True, slots=True)
class ExplicitDeny:
    statement: StatementRef

    @property
    def policy_kind(self) -> PolicyKind:
        return self.statement.policy_kind


@dataclass(frozen=True, slots=True)
class ImplicitDeny:
    reason: ImplicitDenyReason


Decision = Allow | ExplicitDeny | ImplicitDeny


def ref(policy: PolicyDocument, statement: Statement) -> StatementRef:
    return statement.ref


def conditions_hold(statement: Statement, context: ConditionContext) -> bool:
    for clause in statement.conditions:
        if not clause.holds(context):
            return False
    return True


def deny_names_caller(statement: Statement, caller_arns: tuple[str, ...], root: str) -> bool:
    """Does a key-policy *Deny* statement's Principal/NotPrincipal cover the caller? Naming an
    account in a Deny denies everyone in it. NotPrincipal excludes a caller only when every
    identity it has (session, role, account) is listed (IAM NotPrincipal rules)."""
    if statement.principal is not None:
        p = statement.principal
        return p.everyone or root in p.aws or any(a in p.aws for a in caller_arns)
    if statement.not_principal is not None:
        np = statement.not_principal
        if np.everyone:
            return False
        return not (root in np.aws and all(a in np.aws for a in caller_arns))
    return False


def allow_names_caller(statement: Statement, caller_arns: tuple[str, ...], root: str) -> str | None:
    """For a key-policy *Allow*: "direct" when it names the caller (or everyone), "account"
    when it names only the caller's account principal (delegation to IAM), else None."""
    if statement.principal is not None:
        p = statement.principal
        if p.everyone or any(a in p.aws for a in caller_arns):
            return "direct"
        if root in p.aws:
            return "account"
        return None
    if statement.not_principal is not None:
        np = statement.not_principal
        if np.everyone or (root in np.aws and all(a in np.aws for a in caller_arns)):
            return None
        return "direct"
    return None


def evaluate(
    request: AuthzRequest,
    key_policy: PolicyDocument | None,
    identity_policies: Sequence[PolicyDocument] = (),
    grants: Sequence[Grant] = (),
) -> Decision:
    action = request.service + ":" + request.action
    context = request.context
    caller_arns = request.caller_arns
    root = request.root_arn
    is_root_user = request.principal_arn == root
    key_arn = request.key_arn
    resource = request.resource
    key_bound = not request.identity_only

    # 1. explicit deny anywhere wins (§7.3.1); the key policy is looked at first.
    direct: Statement | None = None
    delegated: Statement | None = None
    if key_bound and key_policy is not None:
        for s in key_policy.for_action(action):
            if s.effect is Effect.DENY:
                if (
                    deny_names_caller(s, caller_arns, root)
                    and s.matches_resource(resource)
                    and conditions_hold(s, context)
                ):
                    return ExplicitDeny(ref(key_policy, s))
            elif direct is None:
                how = allow_names_caller(s, caller_arns, root)
                if how is None or (how == "account" and delegated is not None):
                    continue
                if s.matches_resource(resource) and conditions_hold(s, context):
                    if how == "direct":
                        direct = s
                    else:
                        delegated = s

    identity_allow: StatementRef | None = None
    for policy in identity_policies:
        for s in policy.for_action(action):
            if s.effect is Effect.ALLOW and identity_allow is not None:
                continue
            if s.matches_resource(resource) and conditions_hold(s, context):
                if s.effect is Effect.DENY:
                    return ExplicitDeny(ref(policy, s))
                identity_allow = ref(policy, s)

    if not key_bound:
        if identity_allow is not None:
            return Allow(AllowReason.IDENTITY_POLICY, identity_allow)
        if is_root_user:
            return Allow(AllowReason.ROOT_USER, None)
        return ImplicitDeny(ImplicitDenyReason.NO_IDENTITY_POLICY)

    identity_ok = identity_allow is not None or is_root_user
    cross_account = request.key_account != request.account_id
    assert key_policy is not None or (direct is None and delegated is None)
    if direct is not None and key_policy is not None:
        if not cross_account:
            return Allow(AllowReason.KEY_POLICY, ref(key_policy, direct))
        if identity_ok:
            return Allow(AllowReason.KEY_POLICY_AND_IAM, ref(key_policy, direct), identity_allow)
    if delegated is not None and key_policy is not None and identity_ok:
        return Allow(AllowReason.IAM_DELEGATION, ref(key_policy, delegated), identity_allow)
    if not request.resource_policy_required and not cross_account:
        if identity_allow is not None:
            return Allow(AllowReason.SAME_ACCOUNT_IDENTITY, identity_allow)
        if is_root_user:
            return Allow(AllowReason.ROOT_USER, None)
        return ImplicitDeny(ImplicitDenyReason.NO_IDENTITY_POLICY)

    for grant in grants:
        if (
            grant_mismatch(
                grant,
                key_arn=key_arn,
                caller_arns=caller_arns,
                action=request.action,
                encryption_context=request.encryption_context,
            )
            is None
        ):
            return Allow(AllowReason.GRANT, GrantRef(grant.grant_id, grant.name))

    if direct is not None or delegated is not None:
        return ImplicitDeny(ImplicitDenyReason.NO_IDENTITY_POLICY)
    return ImplicitDeny(ImplicitDenyReason.NO_RESOURCE_POLICY)


def access_denied_message(request: AuthzRequest, decision: Decision) -> str:
    """The AccessDeniedException `Message` of spec §7.5 for a denial."""
    action = request.service + ":" + request.action
    # S3 quotes the resource ARN in its messages (S3 User Guide, "Access denied error messages").
    resource = f'"{request.resource}"' if request.service == "s3" else request.resource
    head = f"User: {request.principal_arn} is not authorized to perform: {action} on resource: {resource}"
    if isinstance(decision, ExplicitDeny):
        article = "an" if decision.policy_kind is PolicyKind.IDENTITY else "a"
        return f"{head} with an explicit deny in {article} {decision.policy_kind.value} policy"
    if isinstance(decision, ImplicitDeny):
        return f"{head} because {decision.reason.value} the {action} action"
    raise ValueError("an Allow has no AccessDenied message")
