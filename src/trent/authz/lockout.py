"""The policy lockout safety check (spec §7.2).

Unless BypassPolicyLockoutSafetyCheck is set, CreateKey / PutKeyPolicy / ReplicateKey
refuse a policy that would not let the *calling* principal call PutKeyPolicy afterwards,
either directly or through the account-root delegation plus the caller's own IAM allow.
Grants never allow PutKeyPolicy, so they are not consulted.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from trent.authz.context import ConditionContext, RequestFacts, condition_context
from trent.authz.evaluate import Allow, AuthzRequest, evaluate
from trent.authz.policy_document import PolicyDocument

LOCKOUT_MESSAGE = "The new key policy will not allow you to update the key policy in the future."


@dataclass(frozen=True, slots=True)
class Caller:
    principal_arn: str
    account_id: str


def would_lock_out(
    new_policy: PolicyDocument,
    caller: Caller,
    identity_policies: Sequence[PolicyDocument],
    key_arn: str,
    *,
    context: ConditionContext | None = None,
) -> bool:
    """True when ``new_policy`` would not allow ``caller`` kms:PutKeyPolicy on ``key_arn``.
    ``context`` is the current request's condition context (so a policy that allows
    PutKeyPolicy only from the caller's network passes when called from it)."""
    if context is None:
        context = condition_context(RequestFacts(caller.principal_arn, caller.account_id, "PutKeyPolicy", key_arn))
    request = AuthzRequest(caller.principal_arn, caller.account_id, "PutKeyPolicy", key_arn, context)
    return not isinstance(evaluate(request, new_policy, identity_policies, ()), Allow)
