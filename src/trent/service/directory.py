"""Who is in the caller's account: IAM users and roles, for choosing key administrators
and users (issue 21's create-key wizard).

Trent has no IAM API, but listing identities is an IAM permission all the same: it is
decided by the one evaluator with the caller's identity policies as ``iam:ListUsers`` /
``iam:ListRoles`` (an account root has every identity permission; spec §7.3's IAM-only
rule), so a principal without them simply types ARNs.
"""

from __future__ import annotations

from collections.abc import Sequence

from trent.authz import AuthzRequest, ExplicitDeny, ImplicitDeny, RequestFacts, access_denied_message, condition_context
from trent.authz import evaluate
from trent.domain.principals import Principal, PrincipalKind
from trent.errors import AccessDenied
from trent.service.authorization import identity_documents
from trent.service.context import RequestContext
from trent.service.deps import ServiceDeps

LIST_USERS = "ListUsers"
LIST_ROLES = "ListRoles"
_KINDS = {LIST_USERS: PrincipalKind.IAM_USER, LIST_ROLES: PrincipalKind.ROLE}


def authorize_iam(deps: ServiceDeps, ctx: RequestContext, action: str) -> None:
    """AccessDenied unless the caller's identity policies allow ``iam:<action>`` on `*`."""
    facts = RequestFacts(
        principal_arn=ctx.principal.arn, account_id=ctx.account_id, action=action, key_arn=None, now=ctx.now,
        source_ip=ctx.source_ip, secure_transport=False,
    )
    request = AuthzRequest(ctx.principal.arn, ctx.account_id, action, None, condition_context(facts), service="iam")
    documents = identity_documents(deps, ctx.principal.arn) if ctx.principal.kind is not PrincipalKind.ROOT else []
    decision = evaluate(request, None, documents)
    if isinstance(decision, (ExplicitDeny, ImplicitDeny)):
        raise AccessDenied(access_denied_message(request, decision))


def list_principals(deps: ServiceDeps, ctx: RequestContext, action: str) -> Sequence[Principal]:
    """``ListUsers`` or ``ListRoles`` of the caller's own account, in name order."""
    kind = _KINDS[action]
    authorize_iam(deps, ctx, action)
    found = [p for p in deps.storage.list_principals(ctx.account_id) if p.kind is kind]
    return sorted(found, key=lambda p: p.name)
