""""Why was I (not) allowed?" -- the evaluator's decision plus, for every statement and
grant, whether it applied and, if not, the first reason it did not (issue 5, Explain).

``explain`` reuses ``evaluate`` for the decision, so the explanation can never disagree
with what the service enforces; the per-statement walk is done only here (not on the hot
path). Everything is JSON-serializable through ``Explanation.to_json()``.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass

from trent.authz.evaluate import (
    Allow,
    AuthzRequest,
    Decision,
    ExplicitDeny,
    GrantRef,
    ImplicitDeny,
    access_denied_message,
    allow_names_caller,
    deny_names_caller,
    evaluate,
    ref,
)
from trent.authz.grants import Grant, grant_mismatch
from trent.authz.policy_document import (
    Effect,
    PolicyDocument,
    PolicyKind,
    Statement,
    StatementRef,
)


class Outcome(enum.StrEnum):
    DECIDED = "decided"  # this statement/grant made the decision
    APPLIES = "applies"  # matched, but something else decided
    NOT_APPLICABLE = "not-applicable"


class Mismatch(enum.StrEnum):
    INERT = "inert"  # no Action or no Resource (spec §7.2)
    NOT_CONSULTED = "not-consulted"  # key policy for an IAM-only operation
    PRINCIPAL = "principal"
    ACTION = "action"
    RESOURCE = "resource"
    CONDITION = "condition"
    GRANT_KEY = "key"
    GRANT_GRANTEE = "grantee"
    GRANT_OPERATION = "operation"
    GRANT_CONSTRAINT = "constraint"


@dataclass(frozen=True, slots=True)
class ConditionFailure:
    operator: str
    key: str
    expected: tuple[str, ...]
    actual: tuple[str, ...] | None  # None: the key is absent from the request

    def to_json(self) -> dict[str, object]:
        return {
            "operator": self.operator,
            "key": self.key,
            "expected": list(self.expected),
            "actual": None if self.actual is None else list(self.actual),
        }


@dataclass(frozen=True, slots=True)
class StatementExplanation:
    statement: StatementRef
    outcome: Outcome
    mismatch: Mismatch | None = None
    detail: str | None = None
    condition: ConditionFailure | None = None

    def to_json(self) -> dict[str, object]:
        out: dict[str, object] = {**self.statement.to_json(), "outcome": self.outcome.value}
        if self.mismatch is not None:
            out["mismatch"] = self.mismatch.value
        if self.detail is not None:
            out["detail"] = self.detail
        if self.condition is not None:
            out["condition"] = self.condition.to_json()
        return out


@dataclass(frozen=True, slots=True)
class GrantExplanation:
    grant: GrantRef
    outcome: Outcome
    mismatch: Mismatch | None = None
    detail: str | None = None

    def to_json(self) -> dict[str, object]:
        out: dict[str, object] = {**self.grant.to_json(), "outcome": self.outcome.value}
        if self.mismatch is not None:
            out["mismatch"] = self.mismatch.value
        if self.detail is not None:
            out["detail"] = self.detail
        return out


@dataclass(frozen=True, slots=True)
class Explanation:
    request: AuthzRequest
    decision: Decision
    message: str | None  # the AccessDenied text for a denial
    statements: tuple[StatementExplanation, ...]
    grants: tuple[GrantExplanation, ...]

    @property
    def allowed(self) -> bool:
        return isinstance(self.decision, Allow)

    def to_json(self) -> dict[str, object]:
        return {
            "request": {
                "principal": self.request.principal_arn,
                "account": self.request.account_id,
                "action": self.request.full_action,
                "resource": self.request.resource,
            },
            "decision": decision_to_json(self.decision),
            "message": self.message,
            "statements": [s.to_json() for s in self.statements],
            "grants": [g.to_json() for g in self.grants],
        }


def decision_to_json(decision: Decision) -> dict[str, object]:
    if isinstance(decision, Allow):
        return {
            "effect": "Allow",
            "reason": decision.reason.value,
            "by": None if decision.by is None else decision.by.to_json(),
            "identity_statement": None
            if decision.identity_statement is None
            else decision.identity_statement.to_json(),
        }
    if isinstance(decision, ExplicitDeny):
        return {"effect": "ExplicitDeny", "policy": decision.policy_kind.value, "by": decision.statement.to_json()}
    return {"effect": "ImplicitDeny", "reason": decision.reason.value}


def _deciders(decision: Decision) -> set[StatementRef | GrantRef]:
    if isinstance(decision, Allow):
        return {r for r in (decision.by, decision.identity_statement) if r is not None}
    if isinstance(decision, ExplicitDeny):
        return {decision.statement}
    return set()


def _explain_statement(
    policy: PolicyDocument, s: Statement, request: AuthzRequest, deciders: set[StatementRef | GrantRef]
) -> StatementExplanation:
    r = ref(policy, s)
    if s.inert:
        return StatementExplanation(r, Outcome.NOT_APPLICABLE, Mismatch.INERT, "the statement has no Action or no Resource")
    is_key = policy.kind is PolicyKind.KEY
    if is_key and request.identity_only:
        return StatementExplanation(
            r, Outcome.NOT_APPLICABLE, Mismatch.NOT_CONSULTED, "IAM-only operation or alias ARN: key policies are not consulted"
        )
    note = None
    if is_key:
        root = request.root_arn
        if s.effect is Effect.DENY:
            named = deny_names_caller(s, request.caller_arns, root)
        else:
            how = allow_names_caller(s, request.caller_arns, root)
            named = how is not None
            if how == "account":
                note = "names the caller's account principal: allows only with an identity-policy allow"
        if not named:
            return StatementExplanation(
                r, Outcome.NOT_APPLICABLE, Mismatch.PRINCIPAL, f"the principal does not match {request.principal_arn}"
            )
    if not s.matches_action(request.full_action):
        listed = s.actions or s.not_actions
        element = "Action" if s.actions else "NotAction"
        return StatementExplanation(
            r, Outcome.NOT_APPLICABLE, Mismatch.ACTION, f"{request.full_action} not covered by {element} {list(listed)}"
        )
    if not s.matches_resource(request.resource):
        listed = s.resources or s.not_resources
        element = "Resource" if s.resources else "NotResource"
        return StatementExplanation(
            r, Outcome.NOT_APPLICABLE, Mismatch.RESOURCE, f"{request.resource} not covered by {element} {list(listed)}"
        )
    for clause in s.conditions:
        if not clause.holds(request.context):
            failure = ConditionFailure(clause.operator.name, clause.key, clause.values, clause.actual(request.context))
            return StatementExplanation(
                r, Outcome.NOT_APPLICABLE, Mismatch.CONDITION, f"condition {clause.operator.name} on {clause.key} is false", failure
            )
    return StatementExplanation(r, Outcome.DECIDED if r in deciders else Outcome.APPLIES, None, note)


_GRANT_MISMATCH = {
    "KEY": Mismatch.GRANT_KEY,
    "GRANTEE": Mismatch.GRANT_GRANTEE,
    "OPERATION": Mismatch.GRANT_OPERATION,
    "CONSTRAINT": Mismatch.GRANT_CONSTRAINT,
}


def explain(
    request: AuthzRequest,
    key_policy: PolicyDocument | None,
    identity_policies: Sequence[PolicyDocument] = (),
    grants: Sequence[Grant] = (),
) -> Explanation:
    decision = evaluate(request, key_policy, identity_policies, grants)
    deciders = _deciders(decision)
    statements: list[StatementExplanation] = []
    for policy in ([key_policy] if key_policy is not None else []) + list(identity_policies):
        statements.extend(_explain_statement(policy, s, request, deciders) for s in policy.statements)
    grant_rows: list[GrantExplanation] = []
    for grant in grants:
        gref = GrantRef(grant.grant_id, grant.name)
        if request.identity_only:
            grant_rows.append(
                GrantExplanation(
                    gref, Outcome.NOT_APPLICABLE, Mismatch.NOT_CONSULTED, "grants never allow IAM-only operations or alias ARNs"
                )
            )
            continue
        miss = grant_mismatch(
            grant,
            key_arn=request.key_arn,
            caller_arns=request.caller_arns,
            action=request.action,
            encryption_context=request.encryption_context,
        )
        if miss is None:
            grant_rows.append(GrantExplanation(gref, Outcome.DECIDED if gref in deciders else Outcome.APPLIES))
        else:
            grant_rows.append(GrantExplanation(gref, Outcome.NOT_APPLICABLE, _GRANT_MISMATCH[miss.name], miss.value))
    message = None if isinstance(decision, Allow) else access_denied_message(request, decision)
    assert isinstance(decision, (Allow, ExplicitDeny, ImplicitDeny))
    return Explanation(request, decision, message, tuple(statements), tuple(grant_rows))
