"""GetKeyPolicy, PutKeyPolicy, ListKeyPolicies, and the checks CreateKey's Policy gets
(spec §7.1, §7.2).

A new policy is validated (size, characters, required elements, principals that must
exist) and, unless BypassPolicyLockoutSafetyCheck is set, must still let the *caller*
call PutKeyPolicy afterwards (the lockout safety check), with the request's own
condition context (so "only from this network" policies pass when called from it).
Policies are stored and returned as the exact text given; the default policy is the
byte-exact text of spec §7.1.
"""

from __future__ import annotations

from trent.authz import (
    LOCKOUT_MESSAGE,
    Caller,
    RequestFacts,
    condition_context,
    would_lock_out,
)
from trent.domain.key_states import check_state
from trent.domain.keys import Key
from trent.domain.policies import DEFAULT_POLICY_NAME
from trent.errors import MalformedPolicyDocument, NotFound
from trent.service.authorization import (
    authorized_key,
    identity_documents,
    parse_new_key_policy,
)
from trent.service.context import RequestContext
from trent.service.availability import effective
from trent.service.deps import ServiceDeps
from trent.service.locking import locked_key


def _require_default_name(policy_name: str | None) -> None:
    if policy_name is not None and policy_name != DEFAULT_POLICY_NAME:
        # spec §7.2 / §14: AWS's text is unrecorded; moto's NotFound wording.
        raise NotFound("No such policy exists")


def check_new_policy(
    deps: ServiceDeps, ctx: RequestContext, text: str, key_arn: str, bypass_lockout_check: bool
) -> None:
    """spec §7.2 validation and the lockout safety check, for CreateKey and PutKeyPolicy."""
    document = parse_new_key_policy(deps, text, ctx.partition)
    if bypass_lockout_check:
        return
    facts = RequestFacts(
        principal_arn=ctx.principal.arn,
        account_id=ctx.account_id,
        action="PutKeyPolicy",
        key_arn=key_arn,
        now=ctx.now,
        source_ip=ctx.source_ip or None,
        secure_transport=ctx.secure_transport,
        extra={"kms:BypassPolicyLockoutSafetyCheck": "false"},
    )
    caller = Caller(ctx.principal.arn, ctx.account_id)
    identities = identity_documents(deps, ctx.principal.arn)
    if would_lock_out(document, caller, identities, key_arn, context=condition_context(facts)):
        raise MalformedPolicyDocument(LOCKOUT_MESSAGE)


def get_key_policy(deps: ServiceDeps, ctx: RequestContext, key_id: str, policy_name: str | None) -> tuple[Key, str]:
    key = authorized_key(deps, ctx, key_id, "GetKeyPolicy")
    _require_default_name(policy_name)
    if key.policy is None:
        raise NotFound("No such policy exists")
    return key, key.policy


def put_key_policy(
    deps: ServiceDeps,
    ctx: RequestContext,
    key_id: str,
    policy_name: str | None,
    policy: str,
    bypass_lockout_check: bool,
) -> Key:
    key = authorized_key(
        deps, ctx, key_id, "PutKeyPolicy",
        extra={"kms:BypassPolicyLockoutSafetyCheck": "true" if bypass_lockout_check else "false"},
    )
    _require_default_name(policy_name)
    check_state("PutKeyPolicy", key)
    check_new_policy(deps, ctx, policy, key.arn, bypass_lockout_check)
    # Write over the stored row, as it is now (issue 20: never over a cached copy, which
    # may be older than another node's write), and never over the Unavailable overlay.
    with locked_key(deps, key) as stored:
        check_state("PutKeyPolicy", effective(deps, stored))
        deps.storage.update_key(stored.with_changes(policy=policy))
    return key


def list_key_policies(deps: ServiceDeps, ctx: RequestContext, key_id: str) -> Key:
    """spec §7.2: there is exactly one policy name, `default`."""
    return authorized_key(deps, ctx, key_id, "ListKeyPolicies")
