"""Grants on the wire (issue 5, spec §8): CreateGrant, ListGrants, ListRetirableGrants,
RetireGrant, RevokeGrant. Merged into ``OPERATIONS`` by :func:`register`.

Grant tokens never reach the audit log: CreateGrant's response elements carry the grant
id only (CloudTrail does the same, spec §8 "never by ListGrants or CloudTrail"), and the
request's GrantToken/GrantTokens are redacted by ``validation.audit_safe_params``.
"""

from __future__ import annotations

from typing import Any

from trent.domain.grants import GrantRecord
from trent.protocol.operations import Operation, Outcome, Request, _paged
from trent.service import grants
from trent.service.context import RequestContext
from trent.service.deps import ServiceDeps

DEFAULT_LIMIT = 50  # model ListGrants/ListRetirableGrants Limit: "defaults to 50"


def grant_entry(record: GrantRecord) -> dict[str, Any]:
    """GrantListEntry (spec §8): Name, RetiringPrincipal, Constraints only when set."""
    entry: dict[str, Any] = {"KeyId": record.key_arn, "GrantId": record.grant_id}
    if record.name is not None:
        entry["Name"] = record.name
    entry["CreationDate"] = record.created_at
    entry["GranteePrincipal"] = record.grantee_principal
    if record.retiring_principal is not None:
        entry["RetiringPrincipal"] = record.retiring_principal
    entry["IssuingAccount"] = record.issuing_account
    entry["Operations"] = list(record.operations)
    if record.encryption_context_equals is not None:
        entry["Constraints"] = {"EncryptionContextEquals": dict(record.encryption_context_equals)}
    elif record.encryption_context_subset is not None:
        entry["Constraints"] = {"EncryptionContextSubset": dict(record.encryption_context_subset)}
    return entry


def _create_grant(deps: ServiceDeps, ctx: RequestContext, r: Request) -> Outcome:
    constraints = r.get("Constraints") or {}
    created = grants.create_grant(
        deps,
        ctx,
        grants.CreateGrantRequest(
            key_id=r["KeyId"],
            operations=tuple(r["Operations"]),
            grantee_principal=r.get("GranteePrincipal"),
            retiring_principal=r.get("RetiringPrincipal"),
            encryption_context_equals=constraints.get("EncryptionContextEquals"),
            encryption_context_subset=constraints.get("EncryptionContextSubset"),
            name=r.get("Name"),
            dry_run=bool(r.get("DryRun", False)),
            grantee_service_principal=r.get("GranteeServicePrincipal"),
            retiring_service_principal=r.get("RetiringServicePrincipal"),
            source_arn=constraints.get("SourceArn"),
        ),
    )
    body = {"GrantToken": created.grant_token, "GrantId": created.grant_id}
    # The token is never echoed to the audit log (spec §8).
    return Outcome(body, (created.key,), {"grantId": created.grant_id})


def _list_grants(deps: ServiceDeps, ctx: RequestContext, r: Request) -> Outcome:
    key, page = grants.list_grants(
        deps,
        ctx,
        r["KeyId"],
        r.get("Limit", DEFAULT_LIMIT),
        r.get("Marker"),
        grant_id=r.get("GrantId"),
        grantee_principal=r.get("GranteePrincipal"),
        grantee_service_principal=r.get("GranteeServicePrincipal"),
    )
    return Outcome(_paged({"Grants": [grant_entry(g) for g in page.items]}, page.next_marker), (key,))


def _list_retirable_grants(deps: ServiceDeps, ctx: RequestContext, r: Request) -> Outcome:
    page = grants.list_retirable_grants(
        deps,
        ctx,
        r.get("RetiringPrincipal"),
        r.get("Limit", DEFAULT_LIMIT),
        r.get("Marker"),
        retiring_service_principal=r.get("RetiringServicePrincipal"),
    )
    return Outcome(_paged({"Grants": [grant_entry(g) for g in page.items]}, page.next_marker))


def _retire_grant(deps: ServiceDeps, ctx: RequestContext, r: Request) -> Outcome:
    retired = grants.retire_grant(
        deps, ctx, r.get("GrantToken"), r.get("KeyId"), r.get("GrantId"), bool(r.get("DryRun", False))
    )
    return Outcome({}, (retired.key,))


def _revoke_grant(deps: ServiceDeps, ctx: RequestContext, r: Request) -> Outcome:
    revoked = grants.revoke_grant(deps, ctx, r["KeyId"], r["GrantId"], bool(r.get("DryRun", False)))
    return Outcome({}, (revoked.key,))


GRANT_OPERATIONS = (
    Operation("CreateGrant", _create_grant),
    Operation("ListGrants", _list_grants),
    Operation("ListRetirableGrants", _list_retirable_grants),
    Operation("RetireGrant", _retire_grant),
    Operation("RevokeGrant", _revoke_grant),
)


def register(operations: dict[str, Operation]) -> None:
    operations.update({op.name: op for op in GRANT_OPERATIONS})
