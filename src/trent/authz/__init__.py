"""Authorization: pure policy evaluation, no I/O (spec §7, §8).

The service loads the key policy, the caller's identity policies and the key's active
grants, builds ``RequestFacts``, and asks ``evaluate``; the decision is a value it turns
into AccessDenied with ``access_denied_message``. ``explain`` answers why.
"""

from trent.authz.conditions import (
    ConditionClause,
    Operator,
    SetQualifier,
    parse_condition_block,
    parse_operator,
)
from trent.authz.context import (
    ConditionContext,
    RequestFacts,
    condition_context,
    role_arn_of,
)
from trent.authz.evaluate import (
    IAM_ONLY_ACTIONS,
    Allow,
    AllowReason,
    AuthzRequest,
    Decision,
    ExplicitDeny,
    GrantRef,
    ImplicitDeny,
    ImplicitDenyReason,
    access_denied_message,
    evaluate,
)
from trent.authz.explain import (
    ConditionFailure,
    Explanation,
    GrantExplanation,
    Mismatch,
    Outcome,
    StatementExplanation,
    decision_to_json,
    explain,
)
from trent.authz.grants import Grant, GrantConstraints, GrantMismatch
from trent.authz.lockout import LOCKOUT_MESSAGE, Caller, would_lock_out
from trent.authz.policy_document import (
    INVALID_PRINCIPALS,
    KEY_POLICY_MAX_BYTES,
    Effect,
    PolicyDocument,
    PolicyKind,
    PrincipalSet,
    Statement,
    StatementRef,
    parse_identity_policy,
    parse_key_policy,
    parse_policy,
)

__all__ = [
    "IAM_ONLY_ACTIONS",
    "INVALID_PRINCIPALS",
    "KEY_POLICY_MAX_BYTES",
    "LOCKOUT_MESSAGE",
    "Allow",
    "AllowReason",
    "AuthzRequest",
    "Caller",
    "ConditionClause",
    "ConditionContext",
    "ConditionFailure",
    "Decision",
    "Effect",
    "Explanation",
    "ExplicitDeny",
    "Grant",
    "GrantConstraints",
    "GrantExplanation",
    "GrantMismatch",
    "GrantRef",
    "ImplicitDeny",
    "ImplicitDenyReason",
    "Mismatch",
    "Operator",
    "Outcome",
    "PolicyDocument",
    "PolicyKind",
    "PrincipalSet",
    "RequestFacts",
    "SetQualifier",
    "Statement",
    "StatementExplanation",
    "StatementRef",
    "access_denied_message",
    "condition_context",
    "decision_to_json",
    "evaluate",
    "explain",
    "parse_condition_block",
    "parse_identity_policy",
    "parse_key_policy",
    "parse_operator",
    "parse_policy",
    "role_arn_of",
    "would_lock_out",
]
