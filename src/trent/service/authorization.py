"""Every KMS call is decided here, by the pure evaluator in ``trent.authz`` (spec §7.3).

The service side of authorization: load what the evaluator needs — the key policy (the
key row's text, parsed once per text), the caller's identity policies (a role session
uses its role's), the key's grants and those named by the request's GrantTokens —
build the request facts (spec §7.4), ask ``authz.evaluate``, and turn a denial into
AccessDeniedException with the spec §7.5 text.

Hot path: a decision by the policies depends only on (caller, action, key, policy
texts) and, when they have conditions, on the request inputs those conditions can
read (source IP, the request's own facts such as its encryption context, and the
time, tags or aliases only if a policy names them); it is cached under exactly that,
so repeated calls skip building the facts and evaluating the statements. Grants are consulted
only when the policies do not allow, so a key with grants costs nothing extra for
callers the policies already allow.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from trent.authz import (
    Allow,
    AuthzRequest,
    Decision,
    Explanation,
    ExplicitDeny,
    Grant,
    GrantConstraints,
    PolicyDocument,
    RequestFacts,
    access_denied_message,
    condition_context,
    evaluate,
    explain,
    parse_identity_policy,
    parse_key_policy,
    role_arn_of,
)
from trent.domain.grants import GrantRecord
from trent.domain.ids import alias_arn, parse_key_ref
from trent.domain.keys import Key, KeySpec, KeyUsage, Origin, Tag
from trent.domain.principals import ACCOUNT_ID_RE, PrincipalKind
from trent.errors import AccessDenied, KMSInternal, MalformedPolicyDocument
from trent.service.authz_cache import TIME_CONDITION_KEYS, ParsedPolicy, needed_keys
from trent.service.context import RequestContext
from trent.service.deps import ServiceDeps
from trent.service.grant_tokens import grant_id_of
from trent.service.resolve import resolve_key

_NO_POLICIES: tuple[ParsedPolicy, ...] = ()


# --- what the evaluator is given -------------------------------------------------------


def key_policy(deps: ServiceDeps, key: Key) -> ParsedPolicy | None:
    """The key's policy, parsed (None: the key has none, so only grants can allow)."""
    text = key.policy
    if text is None:
        return None
    try:
        return deps.authz.policy(("key", text), text, lambda: parse_key_policy(text, partition=key.partition))
    except (MalformedPolicyDocument, ValueError):
        # Stored policies were validated on the way in; one that no longer parses must
        # not silently widen (or narrow) access.
        raise KMSInternal(audit_reason=f"stored key policy of {key.arn} does not parse") from None


def identity_policy_holder(principal_arn: str) -> str:
    """Whose identity policies apply: a role session carries its role's (IAM)."""
    return role_arn_of(principal_arn) or principal_arn


def identity_policies(deps: ServiceDeps, principal_arn: str) -> tuple[ParsedPolicy, ...]:
    rows = deps.storage.list_identity_policies(identity_policy_holder(principal_arn))
    if not rows:
        return _NO_POLICIES
    parsed = []
    for row in rows:
        try:
            parsed.append(
                deps.authz.policy(
                    ("identity", row.name, row.document),
                    row.document,
                    lambda row=row: parse_identity_policy(row.document, name=row.name),  # type: ignore[misc]
                )
            )
        except (MalformedPolicyDocument, ValueError):
            raise KMSInternal(audit_reason=f"stored identity policy {row.name} does not parse") from None
    return tuple(parsed)


def to_authz_grant(record: GrantRecord) -> Grant:
    constraints = None
    if record.encryption_context_equals is not None or record.encryption_context_subset is not None:
        constraints = GrantConstraints(record.encryption_context_equals, record.encryption_context_subset)
    return Grant(
        grant_id=record.grant_id,
        key_arn=record.key_arn,
        grantee_principal=record.grantee_principal,
        operations=frozenset(record.operations),
        constraints=constraints,
        retiring_principal=record.retiring_principal,
        name=record.name,
        issuing_account=record.issuing_account,
    )


def grants_for(deps: ServiceDeps, ctx: RequestContext, key: Key) -> list[Grant]:
    """The key's grants, plus any named by the request's GrantTokens (spec §8: a token makes
    its grant effective at once; ours are consistent anyway, the token is still honoured)."""
    records: dict[str, GrantRecord] = {g.grant_id: g for g in deps.storage.grants_for_key(key.region, key.key_id)}
    for token in ctx.grant_tokens:
        grant_id = grant_id_of(deps, token)
        if grant_id not in records:
            record = deps.storage.get_grant(grant_id)
            if record is not None and record.key_id == key.key_id and record.region == key.region:
                records[grant_id] = record
    return [to_authz_grant(r) for r in records.values()]


def validate_tokens(deps: ServiceDeps, ctx: RequestContext) -> None:
    for token in ctx.grant_tokens:
        grant_id_of(deps, token)  # InvalidGrantTokenException for one that is not ours


# --- facts -------------------------------------------------------------------------


def _facts(
    deps: ServiceDeps,
    ctx: RequestContext,
    action: str,
    resource_arn: str | None,
    key: Key | None,
    needed: frozenset[str],
    extra: dict[str, Any],
) -> RequestFacts:
    key_facts: dict[str, Any] = {}
    if key is not None:
        key_facts = {
            "key_spec": str(key.key_spec),
            "key_usage": str(key.key_usage),
            "key_origin": str(key.origin),
            "multi_region": key.multi_region,
        }
        # Tags and aliases cost a lookup: only when a policy asks about them (spec §7.4).
        if any(k.startswith("aws:resourcetag/") for k in needed):
            key_facts["key_tags"] = {t.key: t.value for t in deps.storage.get_tags(key.region, key.key_id)}
        if "kms:resourcealiases" in needed:
            page = deps.storage.list_aliases(key.account_id, key.region, key.key_id, 50, None)
            key_facts["key_aliases"] = tuple(a.name for a in page.items)
    return RequestFacts(
        principal_arn=ctx.principal.arn,
        account_id=ctx.account_id,
        action=action,
        key_arn=resource_arn,
        now=ctx.now,
        source_ip=ctx.source_ip or None,
        via_service=ctx.via_service,
        secure_transport=ctx.secure_transport,  # issue 20: TLS here, or at a trusted proxy
        **key_facts,
        **extra,
    )


# --- deciding ----------------------------------------------------------------------

def _hashable(value: Any) -> Any:
    if isinstance(value, Mapping):
        return tuple(sorted(value.items()))
    if isinstance(value, (list, set, frozenset)):
        return tuple(sorted(value))
    return value


def _request_inputs(
    deps: ServiceDeps, ctx: RequestContext, key: Key | None, needed: frozenset[str], facts: dict[str, Any]
) -> tuple[Any, ...]:
    """Everything of this request that a condition key the policies mention can be read
    from (``_facts``), as a hashable tuple: the caller's source IP, the request's own facts,
    and — only when a policy asks — the time, the key's tags and aliases. Caller, action,
    key ARN and policies are in the base key; a key's spec, usage and origin never change.
    Cheaper than building the facts and reading each condition key (~2 us vs ~17 us)."""
    inputs: list[Any] = [
        ctx.source_ip, ctx.via_service, ctx.secure_transport, tuple((name, _hashable(v)) for name, v in facts.items())
    ]
    if any(k in TIME_CONDITION_KEYS for k in needed):
        inputs.append(int(ctx.now))
    if key is not None and any(k.startswith("aws:resourcetag/") for k in needed):
        inputs.append(tuple(deps.storage.get_tags(key.region, key.key_id)))
    if key is not None and "kms:resourcealiases" in needed:
        inputs.append(tuple(a.name for a in deps.storage.list_aliases(key.account_id, key.region, key.key_id, 50, None).items))
    return tuple(inputs)


def _policies(
    deps: ServiceDeps, ctx: RequestContext, key: Key | None
) -> tuple[ParsedPolicy | None, tuple[ParsedPolicy, ...], frozenset[str]]:
    """The key policy, the caller's identity policies (none for an account root, which has
    every identity permission), and the condition keys they mention."""
    policy = key_policy(deps, key) if key is not None else None
    identities = (
        identity_policies(deps, ctx.principal.arn) if ctx.principal.kind is not PrincipalKind.ROOT else _NO_POLICIES
    )
    return policy, identities, needed_keys(policy, identities)


def decide(
    deps: ServiceDeps, ctx: RequestContext, action: str, key: Key | None, resource_arn: str | None = None, **facts: Any
) -> tuple[AuthzRequest | None, Decision]:
    """The decision for ``action`` by the caller on ``key`` (or, IAM-only, on
    ``resource_arn``: None = `*`, or an alias ARN). ``facts`` are RequestFacts fields
    (encryption_context=..., signing_algorithm=...). The request comes back None when
    the decision was served from the cache (``denial_message`` words it then)."""
    if key is not None:
        resource_arn = key.arn
    principal_arn = ctx.principal.arn
    policy, identities, needed = _policies(deps, ctx, key)
    texts = tuple(p.text for p in identities)
    base_key = (principal_arn, ctx.account_id, action, resource_arn, policy.text if policy else None, texts)
    cache_key = base_key if not needed else (*base_key, *_request_inputs(deps, ctx, key, needed, facts))
    cached = deps.authz.decision(cache_key)
    if cached is not None:
        return None, cached
    request_facts = _facts(deps, ctx, action, resource_arn, key, needed, facts)
    context = condition_context(request_facts)
    request = AuthzRequest(
        principal_arn, ctx.account_id, action, resource_arn, context, request_facts.encryption_context
    )
    documents = [p.document for p in identities]
    key_document = policy.document if policy is not None else None
    decision = evaluate(request, key_document, documents, ())
    if isinstance(decision, (Allow, ExplicitDeny)):
        deps.authz.remember_decision(cache_key, decision)
        return request, decision
    if key is not None and not request.identity_only:
        grants = grants_for(deps, ctx, key)
        if grants:
            decision = evaluate(request, key_document, documents, grants)
    return request, decision


def denial_message(
    ctx: RequestContext, action: str, resource_arn: str | None, request: AuthzRequest | None, decision: Decision
) -> str:
    if request is None:
        facts = RequestFacts(ctx.principal.arn, ctx.account_id, action, resource_arn)
        request = AuthzRequest(ctx.principal.arn, ctx.account_id, action, resource_arn, condition_context(facts))
    return access_denied_message(request, decision)


def authorize(deps: ServiceDeps, ctx: RequestContext, action: str, key: Key, **facts: Any) -> None:
    """AccessDeniedException (spec §7.5) unless the caller may ``action`` on ``key``."""
    if ctx.grant_tokens:
        validate_tokens(deps, ctx)
    request, decision = decide(deps, ctx, action, key, **facts)
    if not isinstance(decision, Allow):
        raise AccessDenied(denial_message(ctx, action, key.arn, request, decision))


def allowed(deps: ServiceDeps, ctx: RequestContext, action: str, key: Key, **facts: Any) -> bool:
    """``authorize`` as a yes/no (for callers that word their own denial, spec §6.3)."""
    if ctx.grant_tokens:
        validate_tokens(deps, ctx)
    return isinstance(decide(deps, ctx, action, key, **facts)[1], Allow)


def authorize_account(
    deps: ServiceDeps, ctx: RequestContext, action: str, resource_arn: str | None = None, **facts: Any
) -> None:
    """IAM-only operations (spec §7.3: CreateKey, ListKeys, ListAliases, GenerateRandom, custom
    key stores, ListRetirableGrants) and the alias half of the alias operations."""
    request, decision = decide(deps, ctx, action, None, resource_arn, **facts)
    if not isinstance(decision, Allow):
        raise AccessDenied(denial_message(ctx, action, resource_arn, request, decision))


def authorize_iam(
    deps: ServiceDeps, ctx: RequestContext, service: str, action: str, resource_arn: str | None = None
) -> None:
    """Another service's action (issue 16: ``cloudtrail:LookupEvents``, ``s3:GetObject`` on
    the trail bucket) decided by the one engine on the caller's identity policies alone
    (those services have no resource policy here): AccessDeniedException unless allowed."""
    _, identities, needed = _policies(deps, ctx, None)
    texts = tuple(p.text for p in identities)
    cache_key = (service, ctx.principal.arn, ctx.account_id, action, resource_arn, texts)
    cached = None if needed else deps.authz.decision(cache_key)
    if isinstance(cached, Allow):
        return
    facts = _facts(deps, ctx, action, resource_arn, None, needed, {})
    request = AuthzRequest(ctx.principal.arn, ctx.account_id, action, resource_arn, condition_context(facts),
                           service=service, iam_only=True)
    decision = cached or evaluate(request, None, [p.document for p in identities], ())
    if not needed and isinstance(decision, (Allow, ExplicitDeny)):
        deps.authz.remember_decision(cache_key, decision)
    if not isinstance(decision, Allow):
        raise AccessDenied(access_denied_message(request, decision))


def authorize_create_key(deps: ServiceDeps, ctx: RequestContext, spec: KeySpec, usage: KeyUsage, origin: Origin,
                         is_multi_region: bool, tags: Sequence[Tag], bypass_policy_lockout_safety_check: bool) -> None:
    """CreateKey is IAM-only (spec §7.3), with the requested attributes as kms:KeySpec,
    kms:KeyUsage, kms:KeyOrigin... (spec §7.4); Tags also need kms:TagResource. ReplicateKey
    asks the same in the replica's Region (spec §12)."""
    facts: dict[str, Any] = {
        "key_spec": str(spec),
        "key_usage": str(usage),
        "key_origin": str(origin),
        "multi_region": is_multi_region,
        "request_tags": {t.key: t.value for t in tags} if tags else None,
        "extra": {
            "kms:BypassPolicyLockoutSafetyCheck": "true" if bypass_policy_lockout_safety_check else "false"
        },
    }
    authorize_account(deps, ctx, "CreateKey", **facts)
    if tags:
        authorize_account(deps, ctx, "TagResource", **facts)


def authorize_alias(deps: ServiceDeps, ctx: RequestContext, action: str, alias_name: str) -> None:
    """spec §7.3: CreateAlias/UpdateAlias/DeleteAlias need permission on the alias itself
    (IAM, resource = the alias ARN) as well as on the key."""
    arn = alias_arn(ctx.partition, ctx.region, ctx.account_id, alias_name)
    authorize_account(deps, ctx, action, arn)


def request_alias(raw_key_id: str) -> str | None:
    """kms:RequestAlias: the alias name the request used as KeyId, if it used one."""
    ref = parse_key_ref(raw_key_id)
    return ref.alias_name if ref.is_alias else None


def authorized_key(
    deps: ServiceDeps, ctx: RequestContext, raw_key_id: str, operation: str, action: str | None = None, **facts: Any
) -> Key:
    """Resolve ``raw_key_id`` for ``operation`` and authorize ``action`` (default: the
    operation's own name) on it — AWS's order: NotFound before AccessDenied before state."""
    key = resolve_key(deps, ctx, raw_key_id, operation)
    alias = request_alias(raw_key_id)
    if alias is not None:
        facts.setdefault("request_alias", alias)
    authorize(deps, ctx, action or operation, key, **facts)
    return key


def explain_decision(
    deps: ServiceDeps, ctx: RequestContext, action: str, key: Key | None, resource_arn: str | None = None, **facts: Any
) -> Explanation:
    """Why ``decide`` decides as it does: every statement and grant, and how it fared."""
    if key is not None:
        resource_arn = key.arn
    policy, identities, needed = _policies(deps, ctx, key)
    request = AuthzRequest.from_facts(_facts(deps, ctx, action, resource_arn, key, needed, facts))
    grants: Sequence[Grant] = grants_for(deps, ctx, key) if key is not None else ()
    return explain(
        request, policy.document if policy is not None else None, [p.document for p in identities], grants
    )


# --- key-policy validation (spec §7.2) -----------------------------------------------


def principal_exists(deps: ServiceDeps, partition: str) -> Callable[[str], bool]:
    """spec §7.2: principals in a key policy must exist. An account principal is valid for
    any well-formed account id (AWS accepts other accounts' roots); users and roles must
    exist here; a role session is valid when its role exists."""

    def exists(arn: str) -> bool:
        parts = arn.split(":", 5)
        if len(parts) != 6 or parts[0] != "arn" or parts[1] != partition or not ACCOUNT_ID_RE.match(parts[4]):
            return False
        service, resource = parts[2], parts[5]
        if service == "iam" and resource == "root":
            return True
        if service == "iam" and resource.startswith(("user/", "role/")):
            return deps.storage.get_principal(arn) is not None
        role = role_arn_of(arn)
        return role is not None and deps.storage.get_principal(role) is not None

    return exists


def parse_new_key_policy(deps: ServiceDeps, text: str, partition: str) -> PolicyDocument:
    return parse_key_policy(text, principal_exists=principal_exists(deps, partition), partition=partition)


def identity_documents(deps: ServiceDeps, principal_arn: str) -> list[PolicyDocument]:
    return [p.document for p in identity_policies(deps, principal_arn)]
