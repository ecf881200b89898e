"""Why is (or isn't) a principal allowed to do something (issue 5, "Explain").

Answers, for a principal, an action, an optional key and a request context, the
decision ``service.authorization`` would take and which statement or grant decided it,
with every other statement and grant and why it did not apply — the same evaluator,
the same inputs, so an explanation never disagrees with the decision a real call gets.

Two doors: ``trent authz explain`` on the database directly (an operator), and the
SigV4-signed admin endpoint ``POST /_trent/authz/explain`` (``who_may_explain``: a
caller may explain principals of its own account only; with a key, it must itself be
allowed kms:GetKeyPolicy on that key — whoever may read the policy may read what it
decides; without a key (IAM-only actions) only the account root or the principal
itself, since the answer reveals identity policies).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from dataclasses import dataclass, field

from trent.authz import Explanation
from trent.domain.keys import Key
from trent.domain.principals import PrincipalKind
from trent.errors import AccessDenied, NotFound, ValidationError
from trent.service import authorization
from trent.service.authorization import request_alias
from trent.service.context import RequestContext
from trent.service.deps import ServiceDeps
from trent.service.resolve import resolve_key

# Actions that are not operation names, and the operation whose KeyId rules they follow.
_ACTION_OPERATION = {"ReEncryptFrom": "ReEncrypt", "ReEncryptTo": "ReEncrypt"}


@dataclass(frozen=True, slots=True)
class ExplainQuery:
    principal_arn: str
    action: str  # "kms:Decrypt" or "Decrypt"
    region: str
    partition: str = "aws"
    key_id: str | None = None  # key id, key ARN, alias name or alias ARN; None: IAM-only action
    encryption_context: Mapping[str, str] | None = None
    grant_tokens: tuple[str, ...] = ()
    source_ip: str | None = None
    # Any other condition keys, as a request would carry them ({"kms:ViaService": "..."}).
    condition_keys: Mapping[str, str | tuple[str, ...]] = field(default_factory=dict)

    @property
    def bare_action(self) -> str:
        action = self.action
        if action.lower().startswith("kms:"):
            action = action[4:]
        return action


def _context(deps: ServiceDeps, query: ExplainQuery, now: float) -> RequestContext:
    principal = deps.storage.get_principal(query.principal_arn)
    if principal is None:
        raise NotFound(f"Principal {query.principal_arn} does not exist")
    if principal.kind is PrincipalKind.ROLE:
        raise ValidationError("A role never calls KMS itself: explain one of its sessions (an assumed-role ARN).")
    return RequestContext(
        principal=principal,
        access_key_id=None,
        region=query.region,
        partition=query.partition,
        request_id="explain",
        now=now,
        source_ip=query.source_ip or "",
        grant_tokens=query.grant_tokens,
    )


def _key(deps: ServiceDeps, ctx: RequestContext, query: ExplainQuery) -> Key | None:
    if query.key_id is None:
        return None
    action = query.bare_action
    return resolve_key(deps, ctx, query.key_id, _ACTION_OPERATION.get(action, action))


def explain(deps: ServiceDeps, query: ExplainQuery, now: float) -> Explanation:
    if not query.bare_action or ":" in query.bare_action:
        raise ValidationError(f"Action {query.action!r} is not a KMS action (kms:<Operation>).")
    ctx = _context(deps, query, now)
    key = _key(deps, ctx, query)
    facts: dict[str, Any] = {"extra": dict(query.condition_keys)}
    if query.encryption_context is not None:
        facts["encryption_context"] = dict(query.encryption_context)
    if query.key_id is not None and (alias := request_alias(query.key_id)) is not None:
        facts["request_alias"] = alias
    return authorization.explain_decision(deps, ctx, query.bare_action, key, **facts)


def who_may_explain(deps: ServiceDeps, caller: RequestContext, query: ExplainQuery) -> None:
    """AccessDenied unless ``caller`` may see this explanation (module doc)."""
    target = deps.storage.get_principal(query.principal_arn)
    if target is None or target.account_id != caller.account_id:
        raise AccessDenied(f"User: {caller.principal.arn} may not explain decisions for {query.principal_arn}")
    if query.key_id is None:
        if caller.principal.kind is not PrincipalKind.ROOT and caller.principal.arn != target.arn:
            raise AccessDenied(
                f"User: {caller.principal.arn} may not explain IAM-only decisions for {query.principal_arn}"
            )
        return
    key = resolve_key(deps, caller, query.key_id, "DescribeKey")
    authorization.authorize(deps, caller, "GetKeyPolicy", key)
