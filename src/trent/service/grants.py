"""CreateGrant, ListGrants, ListRetirableGrants, RetireGrant, RevokeGrant (issue 5, spec §8).

Grants are stored as ``GrantRecord`` rows; the evaluator consults them on every key
operation (``service.authorization.grants_for``), so creating one here is all it takes
for the grantee to use the key — no identity policy needed (spec §7.3.2).

Choices the spec leaves open, made here (each pinned by a test):

* **Name idempotency** (spec §8, model ``CreateGrantRequest.Name``): a retry with the same
  Name and identical parameters (grantee, retiring principal, operations as a set,
  constraints, issuing account) on the same key returns the existing GrantId and a *new*
  token. The same Name with different parameters creates another grant: the model only
  promises de-duplication "with identical parameters", never that names are unique, and
  the repository contract (``find_grant_by_name`` returns a sequence) allows several.
* **Unknown vs malformed grant ids** (spec §14.10): the model declares
  InvalidGrantIdException ("the specified GrantId is not valid") for ListGrants too, where a
  filter naming a missing grant can only return an empty list — so that exception is about
  the *form* of the id. A grant id that is not 64 lower-case hex characters →
  InvalidGrantIdException; a well-formed id with no grant on the key → NotFoundException
  ``Grant ID <id> not found`` (spec §8 [E: MOTO]).
* **Who may retire** (spec §8, DG23): the grant's retiring principal, its grantee when the
  grant includes RetireGrant, and the account root of the account that issued the grant or
  owns the key. Policies cannot *allow* RetireGrant, but an explicit Deny for
  kms:RetireGrant in the key policy or an identity policy still denies.
* **Grant-derived CreateGrant** (spec §8 Constraints): a caller whose kms:CreateGrant comes
  from a grant (not from policies) may only create grants with a subset of that grant's
  operations and an equal-or-stricter encryption-context constraint.
* Service principals (GranteeServicePrincipal, RetiringServicePrincipal) and the SourceArn
  constraint exist for AWS services acting for a resource; Trent has none, so they are
  refused with UnsupportedOperationException.

Grant tokens are secrets of sorts (whoever holds one makes the grant effective at once):
they are returned by CreateGrant only, never listed, never audited (spec §8).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from trent.authz import (
    Allow,
    AllowReason,
    ExplicitDeny,
    Grant,
    ImplicitDeny,
    ImplicitDenyReason,
    evaluate,
    role_arn_of,
)
from trent.authz.grants import grant_mismatch
from trent.domain.grants import GRANT_OPERATIONS, MAX_GRANTS_PER_KEY, GrantRecord
from trent.domain.key_states import check_state
from trent.domain.keys import Key, KeySpec, KeyUsage
from trent.domain.principals import Principal
from trent.errors import (
    AccessDenied,
    DryRunOperation,
    InvalidArn,
    InvalidGrantId,
    InvalidMarker,
    LimitExceeded,
    NotFound,
    UnsupportedOperation,
    ValidationError,
)
from trent.service.authorization import (
    authorize_account,
    authorized_key,
    decide,
    denial_message,
    grants_for,
    identity_documents,
    key_policy,
    principal_exists,
    validate_tokens,
)
from trent.service.availability import effective
from trent.service.context import RequestContext
from trent.service.locking import locked_key
from trent.service.deps import ServiceDeps
from trent.service.grant_tokens import grant_id_of, issue
from trent.service.resolve import resolve_key
from trent.storage.repositories import BadMarker, Page

GRANT_ID_RE = re.compile(r"^[0-9a-f]{64}$")
EQUALS = "EncryptionContextEquals"
SUBSET = "EncryptionContextSubset"
MAX_CONSTRAINT_PAIRS = 8  # spec §8 / model GrantConstraints: per constraint
MAX_CONSTRAINT_VALUE_CHARS = 384

# Operations every key type supports in a grant (management of the key and its grants).
_COMMON = frozenset({"DescribeKey", "CreateGrant", "RetireGrant"})
# spec §8 / model CreateGrantRequest.Operations: "the operation must be supported on the KMS
# key" — the DG's "Grant operations" table, by key type.
_SYMMETRIC_OPS = _COMMON | {
    "Encrypt", "Decrypt", "ReEncryptFrom", "ReEncryptTo", "GenerateDataKey", "GenerateDataKeyWithoutPlaintext",
    "GenerateDataKeyPair", "GenerateDataKeyPairWithoutPlaintext",
}
_BY_USAGE: Mapping[KeyUsage, frozenset[str]] = {
    KeyUsage.ENCRYPT_DECRYPT: _COMMON | {"Encrypt", "Decrypt", "ReEncryptFrom", "ReEncryptTo", "GetPublicKey"},
    KeyUsage.SIGN_VERIFY: _COMMON | {"Sign", "Verify", "GetPublicKey"},
    KeyUsage.GENERATE_VERIFY_MAC: _COMMON | {"GenerateMac", "VerifyMac"},
    KeyUsage.KEY_AGREEMENT: _COMMON | {"DeriveSharedSecret", "GetPublicKey"},
    KeyUsage.ENCAPSULATE_DECAPSULATE: _COMMON | {"Encapsulate", "Decapsulate", "GetPublicKey"},  # issue 19
}


def supported_operations(key: Key) -> frozenset[str]:
    """The grant operations ``key`` can be used for (spec §8)."""
    return operations_for(key.key_spec, key.key_usage)


def operations_for(spec: KeySpec, usage: KeyUsage) -> frozenset[str]:
    """The grant operations a key of this spec and usage can be used for (spec §8)."""
    if spec is KeySpec.SYMMETRIC_DEFAULT:
        return _SYMMETRIC_OPS
    return _BY_USAGE.get(usage, _COMMON)


@dataclass(frozen=True, slots=True)
class Constraint:
    """An encryption-context grant constraint: ``kind`` is EQUALS or SUBSET."""

    kind: str
    context: Mapping[str, str]

    def at_least_as_strict_as(self, parent: Constraint | None) -> bool:
        """spec §8: a child grant created through a constrained grant must be equally or
        more strictly constrained. Equals{E} allows exactly E; Subset{S} allows every
        superset of S."""
        if parent is None:
            return True
        if parent.kind == EQUALS:
            return self.kind == EQUALS and dict(self.context) == dict(parent.context)
        # parent Subset{S}: every context the child allows must contain S.
        return all(self.context.get(k) == v for k, v in parent.context.items())


def constraint_of(record: GrantRecord) -> Constraint | None:
    if record.encryption_context_equals is not None:
        return Constraint(EQUALS, record.encryption_context_equals)
    if record.encryption_context_subset is not None:
        return Constraint(SUBSET, record.encryption_context_subset)
    return None


@dataclass(frozen=True, slots=True)
class CreateGrantRequest:
    key_id: str
    operations: tuple[str, ...]
    grantee_principal: str | None
    retiring_principal: str | None = None
    encryption_context_equals: Mapping[str, str] | None = None
    encryption_context_subset: Mapping[str, str] | None = None
    name: str | None = None
    dry_run: bool = False
    # Members Trent refuses (see module docstring): present or not.
    grantee_service_principal: str | None = None
    retiring_service_principal: str | None = None
    source_arn: str | None = None


@dataclass(frozen=True, slots=True)
class CreatedGrant:
    key: Key
    grant_id: str
    grant_token: str


def issuing_account_arn(ctx: RequestContext) -> str:
    return Principal.root_arn(ctx.account_id, ctx.partition)


# --- validation ------------------------------------------------------------------------


def _constraint(request: CreateGrantRequest) -> Constraint | None:
    if request.encryption_context_equals is not None and request.encryption_context_subset is not None:
        # kms:GrantConstraintType is single-valued (spec §7.4): one constraint type per grant. [?]
        raise ValidationError("A grant can have only one encryption context constraint: "
                              "EncryptionContextEquals or EncryptionContextSubset.")
    if request.encryption_context_equals is not None:
        return Constraint(EQUALS, dict(request.encryption_context_equals))
    if request.encryption_context_subset is not None:
        return Constraint(SUBSET, dict(request.encryption_context_subset))
    return None


def _check_constraint(constraint: Constraint, key: Key) -> None:
    """spec §8: ≤ 8 pairs, values ≤ 384 characters, symmetric encryption keys only."""
    if key.key_spec is not KeySpec.SYMMETRIC_DEFAULT:
        # model GrantConstraints: asymmetric and HMAC operations take no encryption context. [?: text]
        raise ValidationError(
            f"Encryption context grant constraints are not supported for KMS key {key.arn} "
            f"with KeySpec {key.key_spec}."
        )
    if len(constraint.context) > MAX_CONSTRAINT_PAIRS:
        raise ValidationError(
            f"{constraint.kind} can include at most {MAX_CONSTRAINT_PAIRS} encryption context pairs."
        )
    for value in constraint.context.values():
        if len(value) > MAX_CONSTRAINT_VALUE_CHARS:
            raise ValidationError(
                f"Encryption context values in grant constraints cannot exceed {MAX_CONSTRAINT_VALUE_CHARS} characters."
            )


def _check_operations(operations: tuple[str, ...], key: Key) -> None:
    if not operations:
        raise ValidationError("Operations must include at least one grant operation.")  # [?: text]
    unsupported = [op for op in operations if op not in GRANT_OPERATIONS or op not in supported_operations(key)]
    if unsupported:
        # model CreateGrantRequest.Operations: "KMS returns a ValidationError exception". [?: text]
        raise ValidationError(
            f"Grant operations {', '.join(unsupported)} are not supported for KMS key {key.arn} "
            f"(KeySpec {key.key_spec}, KeyUsage {key.key_usage})."
        )


def _check_principal(deps: ServiceDeps, ctx: RequestContext, arn: str) -> None:
    """spec §8: any AWS principal ARN — account, user, role, assumed-role — that exists
    (roots of any well-formed account id are accepted, as in key policies, spec §7.2)."""
    if not principal_exists(deps, ctx.partition)(arn):
        # Terraform retries CreateGrant on InvalidArnException for freshly created IAM
        # principals: that is the error for a principal KMS cannot resolve. [?: text]
        raise InvalidArn(f"ARN does not refer to a valid principal: {arn}")


def _dedupe(operations: Sequence[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(operations))


# --- CreateGrant -----------------------------------------------------------------------


def create_grant(deps: ServiceDeps, ctx: RequestContext, request: CreateGrantRequest) -> CreatedGrant:
    if request.grantee_service_principal is not None or request.retiring_service_principal is not None:
        raise UnsupportedOperation("Service principals in grants are not supported by this Trent server.")
    if request.source_arn is not None:
        raise UnsupportedOperation("The SourceArn grant constraint is not supported by this Trent server.")
    if request.grantee_principal is None:
        raise ValidationError("You must specify either GranteePrincipal or GranteeServicePrincipal.")  # [?: text]
    operations = _dedupe(request.operations)
    constraint = _constraint(request)
    if ctx.grant_tokens:
        validate_tokens(deps, ctx)
    key = resolve_key(deps, ctx, request.key_id, "CreateGrant")
    _authorize_create(deps, ctx, key, request, operations, constraint)
    check_state("CreateGrant", key)
    _check_operations(operations, key)
    if constraint is not None:
        _check_constraint(constraint, key)
    _check_principal(deps, ctx, request.grantee_principal)
    if request.retiring_principal is not None:
        _check_principal(deps, ctx, request.retiring_principal)

    # The Name lookup, the count and the insert happen under the key's row lock (issue 20):
    # racing CreateGrant calls with one Name and the same parameters make ONE grant and
    # all answer its GrantId, and the per-key limit holds.
    with locked_key(deps, key) as stored:
        check_state("CreateGrant", effective(deps, stored))
        if request.name is not None:
            for existing in deps.storage.find_grant_by_name(key.region, key.key_id, request.name):
                if _same_parameters(existing, ctx, request, operations, constraint):
                    if request.dry_run:
                        raise DryRunOperation()
                    return CreatedGrant(key, existing.grant_id, issue(deps, existing.grant_id))
        if deps.storage.count_grants(key.region, key.key_id) >= MAX_GRANTS_PER_KEY:
            raise LimitExceeded(
                f"The request would exceed the limit of {MAX_GRANTS_PER_KEY} grants for the key {key.arn}."  # [?: text]
            )
        if request.dry_run:
            raise DryRunOperation()
        record = _new_record(deps, ctx, key, request, operations, constraint)
        deps.storage.create_grant(record)
    return CreatedGrant(key, record.grant_id, issue(deps, record.grant_id))


def _new_record(
    deps: ServiceDeps, ctx: RequestContext, key: Key, request: CreateGrantRequest, operations: tuple[str, ...],
    constraint: Constraint | None,
) -> GrantRecord:
    assert request.grantee_principal is not None  # create_grant refused a request without one
    return GrantRecord(
        grant_id=deps.rng(32).hex(),
        region=key.region,
        key_id=key.key_id,
        key_arn=key.arn,
        key_account_id=key.account_id,
        issuing_account=issuing_account_arn(ctx),
        grantee_principal=request.grantee_principal,
        operations=operations,
        created_at=ctx.now,
        name=request.name,
        retiring_principal=request.retiring_principal,
        encryption_context_equals=constraint.context if constraint is not None and constraint.kind == EQUALS else None,
        encryption_context_subset=constraint.context if constraint is not None and constraint.kind == SUBSET else None,
    )


def _same_parameters(
    existing: GrantRecord,
    ctx: RequestContext,
    request: CreateGrantRequest,
    operations: tuple[str, ...],
    constraint: Constraint | None,
) -> bool:
    mine = constraint_of(existing)
    same_constraint = (mine is None and constraint is None) or (
        mine is not None and constraint is not None and mine.kind == constraint.kind
        and dict(mine.context) == dict(constraint.context)
    )
    return (
        same_constraint
        and existing.grantee_principal == request.grantee_principal
        and existing.retiring_principal == request.retiring_principal
        and frozenset(existing.operations) == frozenset(operations)
        and existing.issuing_account == issuing_account_arn(ctx)
    )


def _authorize_create(
    deps: ServiceDeps,
    ctx: RequestContext,
    key: Key,
    request: CreateGrantRequest,
    operations: tuple[str, ...],
    constraint: Constraint | None,
) -> None:
    """kms:CreateGrant with the grant's facts as condition keys (spec §7.4: kms:GrantOperations,
    kms:GranteePrincipal, kms:RetiringPrincipal, kms:GrantConstraintType, and the constraint's
    context as kms:EncryptionContext:*). When only a grant allows, the child must fit in it."""
    facts: dict[str, Any] = {
        "grant_operations": operations,
        "grantee_principal": request.grantee_principal,
        "retiring_principal": request.retiring_principal,
        "grant_constraint_type": constraint.kind if constraint is not None else None,
        "encryption_context": dict(constraint.context) if constraint is not None else None,
    }
    request_, decision = decide(deps, ctx, "CreateGrant", key, **facts)
    if not isinstance(decision, Allow):
        raise AccessDenied(denial_message(ctx, "CreateGrant", key.arn, request_, decision))
    if decision.reason is not AllowReason.GRANT or request_ is None:
        return
    # Only grants allow: keep those whose operations and constraint cover the child.
    parents = {g.grant_id: g for g in grants_for(deps, ctx, key)}
    fitting: list[Grant] = []
    for grant in parents.values():
        if grant_mismatch(
            grant, key_arn=key.arn, caller_arns=request_.caller_arns, action="CreateGrant",
            encryption_context=request_.encryption_context,
        ) is not None:
            continue
        parent_constraint = _authz_constraint(grant)
        if set(operations) <= grant.operations and (
            constraint.at_least_as_strict_as(parent_constraint) if constraint is not None else parent_constraint is None
        ):
            fitting.append(grant)
    if fitting:
        return
    policy = key_policy(deps, key)
    final = evaluate(request_, policy.document if policy is not None else None,
                     identity_documents(deps, ctx.principal.arn), fitting)
    if isinstance(final, Allow):  # pragma: no cover - fitting is empty, only policies could allow
        return
    raise AccessDenied(denial_message(ctx, "CreateGrant", key.arn, request_, final))


def _authz_constraint(grant: Grant) -> Constraint | None:
    c = grant.constraints
    if c is None:
        return None
    if c.encryption_context_equals is not None:
        return Constraint(EQUALS, c.encryption_context_equals)
    if c.encryption_context_subset is not None:
        return Constraint(SUBSET, c.encryption_context_subset)
    return None


# --- ListGrants / ListRetirableGrants ---------------------------------------------------


def _check_grant_id(grant_id: str) -> None:
    if not GRANT_ID_RE.match(grant_id):
        raise InvalidGrantId("Invalid grant ID")  # [?: text] see module docstring


def list_grants(
    deps: ServiceDeps,
    ctx: RequestContext,
    key_id: str,
    limit: int,
    marker: str | None,
    grant_id: str | None = None,
    grantee_principal: str | None = None,
    grantee_service_principal: str | None = None,
) -> tuple[Key, Page[GrantRecord]]:
    key = authorized_key(deps, ctx, key_id, "ListGrants")
    check_state("ListGrants", key)
    if grantee_service_principal is not None:
        # No grant here has a service principal; the filter matches nothing.
        return key, Page([], None)
    if grant_id is not None:
        _check_grant_id(grant_id)
    try:
        page = deps.storage.list_grants(key.region, key.key_id, limit, marker, grant_id, grantee_principal)
    except BadMarker:
        raise InvalidMarker() from None
    return key, page


def list_retirable_grants(
    deps: ServiceDeps,
    ctx: RequestContext,
    retiring_principal: str | None,
    limit: int,
    marker: str | None,
    retiring_service_principal: str | None = None,
) -> Page[GrantRecord]:
    """IAM-only (spec §7.3): kms:ListRetirableGrants in the caller's account; the grants
    returned may be on keys of any account (spec §8), in the caller's Region."""
    authorize_account(deps, ctx, "ListRetirableGrants")
    if retiring_service_principal is not None:
        if retiring_principal is not None:
            raise ValidationError("You can specify either RetiringPrincipal or RetiringServicePrincipal, but not both.")
        return Page([], None)
    if retiring_principal is None:
        raise ValidationError("You must specify either RetiringPrincipal or RetiringServicePrincipal.")  # [?: text]
    parts = retiring_principal.split(":", 5)
    if len(parts) != 6 or parts[0] != "arn":
        raise InvalidArn(f"ARN does not refer to a valid principal: {retiring_principal}")  # [?: text]
    if parts[4] != ctx.account_id:
        # model ListRetirableGrants: "You must specify a principal in your AWS account". [?: error]
        raise AccessDenied(
            f"User: {ctx.principal.arn} is not authorized to perform: kms:ListRetirableGrants on resource: "
            f"{retiring_principal} because the retiring principal is not in the caller's account"
        )
    try:
        page = deps.storage.list_retirable_grants(retiring_principal, limit, marker)
    except BadMarker:
        raise InvalidMarker() from None
    # Storage lists every Region; AWS answers for the caller's. A page may then hold fewer
    # than Limit items, which the model allows ("might return fewer").
    items = [g for g in page.items if g.region == ctx.region]
    return Page(items, page.next_marker)


# --- RetireGrant / RevokeGrant ------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RetiredGrant:
    key: Key
    grant: GrantRecord


def _grant_on_key(deps: ServiceDeps, key: Key, grant_id: str) -> GrantRecord:
    _check_grant_id(grant_id)
    record = deps.storage.get_grant(grant_id)
    if record is None or record.key_id != key.key_id or record.region != key.region:
        raise NotFound(f"Grant ID {grant_id} not found")  # spec §8 [E: MOTO]
    return record


def may_retire(caller_arns: tuple[str, ...], grant: GrantRecord, partition: str) -> bool:
    """spec §8: the retiring principal; the grantee when the grant includes RetireGrant; the
    account (root) that issued the grant or owns the key. A role session counts as its role."""
    if grant.retiring_principal is not None and grant.retiring_principal in caller_arns:
        return True
    if grant.grantee_principal in caller_arns and "RetireGrant" in grant.operations:
        return True
    roots = {grant.issuing_account, Principal.root_arn(grant.key_account_id, partition)}
    return any(arn in roots for arn in caller_arns)


def retire_grant(
    deps: ServiceDeps,
    ctx: RequestContext,
    grant_token: str | None,
    key_id: str | None,
    grant_id: str | None,
    dry_run: bool = False,
) -> RetiredGrant:
    """By GrantToken, or by KeyId + GrantId (spec §8). Works with a token at once."""
    if grant_token is not None:
        named = grant_id_of(deps, grant_token)  # InvalidGrantTokenException if not ours
        if grant_id is not None and grant_id != named:
            raise ValidationError("The GrantId does not match the grant named by the GrantToken.")  # [?: text]
        record = deps.storage.get_grant(named)
        if record is None:
            raise NotFound(f"Grant ID {named} not found")
        key = deps.storage.get_key(record.region, record.key_id)
        if key is None:  # pragma: no cover - deleting a key deletes its grants
            raise NotFound(f"Grant ID {named} not found")
        if key_id is not None:
            given = resolve_key(deps, ctx, key_id, "RetireGrant")
            if given.key_id != key.key_id:
                raise NotFound(f"Grant ID {named} not found")
    else:
        if key_id is None or grant_id is None:
            raise ValidationError("Either GrantToken, or both KeyId and GrantId, must be specified.")  # [?: text]
        key = resolve_key(deps, ctx, key_id, "RetireGrant")
        record = _grant_on_key(deps, key, grant_id)
    check_state("RetireGrant", key)

    request, decision = decide(deps, ctx, "RetireGrant", key)
    if isinstance(decision, ExplicitDeny):
        raise AccessDenied(denial_message(ctx, "RetireGrant", key.arn, request, decision))
    if not may_retire(_caller_arns(ctx), record, ctx.partition) and not _retire_delegated(ctx, key, decision):
        # Nothing lets this caller retire the grant: the resource-policy wording. [?: text]
        raise AccessDenied(
            denial_message(ctx, "RetireGrant", key.arn, request, ImplicitDeny(ImplicitDenyReason.NO_RESOURCE_POLICY))
        )
    if dry_run:
        raise DryRunOperation()
    _delete_locked(deps, key, record)
    return RetiredGrant(key, record)


def _retire_delegated(ctx: RequestContext, key: Key, decision: object) -> bool:
    """An IAM principal of the key's account whose policies allow kms:RetireGrant on the
    key may retire its grants too: the developer guide's delegation (issue 19). An
    explicit Deny has already been refused above."""
    return isinstance(decision, Allow) and ctx.account_id == key.account_id


def _delete_locked(deps: ServiceDeps, key: Key, record: GrantRecord) -> None:
    """Delete the grant under its key's row lock, if it is still there (issue 20): of two
    racing Retire/Revoke calls for one grant, one deletes it, the other is told NotFound."""
    with locked_key(deps, key):
        if deps.storage.get_grant(record.grant_id) is None:
            raise NotFound(f"Grant ID {record.grant_id} not found")
        deps.storage.delete_grant(record.grant_id)


def _caller_arns(ctx: RequestContext) -> tuple[str, ...]:
    """The caller, and its role for an assumed-role session (as grantees are matched)."""
    role = role_arn_of(ctx.principal.arn)
    return (ctx.principal.arn,) if role is None else (ctx.principal.arn, role)


def revoke_grant(
    deps: ServiceDeps, ctx: RequestContext, key_id: str, grant_id: str, dry_run: bool = False
) -> RetiredGrant:
    """kms:RevokeGrant on the key (spec §8); tokens are not accepted."""
    key = authorized_key(deps, ctx, key_id, "RevokeGrant")
    check_state("RevokeGrant", key)
    record = _grant_on_key(deps, key, grant_id)
    if dry_run:
        raise DryRunOperation()
    _delete_locked(deps, key, record)
    return RetiredGrant(key, record)
