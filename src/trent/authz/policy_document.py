"""Key policies and identity policies: parse, validate, compile (spec §7.2).

``parse_key_policy`` / ``parse_identity_policy`` take the JSON text and return a frozen
``PolicyDocument`` whose statements carry ready-to-run matchers (wildcards compiled,
account ids turned into root ARNs, conditions parsed), so evaluation does no parsing.
Nothing here does I/O: whether a principal exists is asked of the ``principal_exists``
callable the service passes in.
"""

from __future__ import annotations

import enum
import json
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from trent.authz.conditions import (
    ConditionClause,
    ConditionError,
    parse_condition_block,
)
from trent.authz.wildcards import Matcher, compile_patterns
from trent.errors import LimitExceeded, MalformedPolicyDocument

# spec §7.2 / §14.11: the documented 32 KB key-policy quota (LimitExceededException).
KEY_POLICY_MAX_BYTES = 32_768
# The model's upper bound for policy text; identity policies are only held to this.
IDENTITY_POLICY_MAX_BYTES = 131_072
# spec §7.2: the model pattern [\u0009\u000A\u000D\u0020-\u00FF]+
_ALLOWED_CHARS_RE = re.compile(r"^[\u0009\u000A\u000D\u0020-\u00FF]+$")
_ACCOUNT_ID_RE = re.compile(r"^[0-9]{12}$")
_ACTION_RE = re.compile(r"^(\*|[A-Za-z0-9-]+:[A-Za-z0-9*?]+)$")
VERSIONS = frozenset({"2012-10-17", "2008-10-17"})

INVALID_PRINCIPALS = "Policy contains a statement with one or more invalid principals."

_STATEMENT_KEYS = frozenset(
    {"Sid", "Effect", "Principal", "NotPrincipal", "Action", "NotAction", "Resource", "NotResource", "Condition"}
)
_DOCUMENT_KEYS = frozenset({"Version", "Id", "Statement"})

PrincipalExists = Callable[[str], bool]


class PolicyKind(enum.StrEnum):
    """Which side of spec §7.3 a policy is on; the value is the AccessDenied wording (§7.5)."""

    KEY = "resource-based"
    IDENTITY = "identity-based"


class Effect(enum.StrEnum):
    ALLOW = "Allow"
    DENY = "Deny"


@dataclass(frozen=True, slots=True)
class PrincipalSet:
    """A Principal/NotPrincipal element. ``everyone`` is `"*"` or `{"AWS": "*"}`; account ids
    are stored as their root ARNs (``arn:aws:iam::<acct>:root``)."""

    everyone: bool = False
    aws: frozenset[str] = frozenset()
    service: frozenset[str] = frozenset()
    federated: frozenset[str] = frozenset()

    def names(self, caller_arns: Iterable[str]) -> bool:
        """True when the element names one of the caller's ARNs (or everyone)."""
        return self.everyone or any(a in self.aws for a in caller_arns)


@dataclass(frozen=True, slots=True)
class StatementRef:
    """Which statement of which policy (what decisions and explanations point at)."""

    policy_kind: PolicyKind
    policy_name: str
    index: int
    sid: str | None
    effect: Effect

    def to_json(self) -> dict[str, object]:
        return {
            "policy": self.policy_kind.value,
            "policy_name": self.policy_name,
            "statement_index": self.index,
            "sid": self.sid,
            "effect": self.effect.value,
        }


@dataclass(frozen=True, slots=True)
class Statement:
    ref: StatementRef  # built once at parse time: decisions point at it without allocating
    index: int
    sid: str | None
    effect: Effect
    principal: PrincipalSet | None  # None in identity policies
    not_principal: PrincipalSet | None
    actions: tuple[str, ...]
    not_actions: tuple[str, ...]
    resources: tuple[str, ...]
    not_resources: tuple[str, ...]
    conditions: tuple[ConditionClause, ...]
    inert: bool  # spec §7.2: a statement without Action or Resource is accepted but never applies
    _action_match: Matcher = field(repr=False, compare=False)
    _resource_match: Matcher = field(repr=False, compare=False)

    def matches_action(self, action: str) -> bool:
        """``action`` is the full `kms:Encrypt` form; IAM action names are case-insensitive."""
        if self.inert:
            return False
        hit = self._action_match(action)
        return hit if self.actions else not hit

    def matches_resource(self, resource: str) -> bool:
        if self.inert:
            return False
        hit = self._resource_match(resource)
        return hit if self.resources else not hit


@dataclass(frozen=True, slots=True)
class PolicyDocument:
    kind: PolicyKind
    name: str  # "default" for key policies; the policy name/ARN for identity policies
    version: str
    id: str | None
    statements: tuple[Statement, ...]
    # action (lower-cased) -> statements whose Action/NotAction covers it; filled lazily,
    # so a hot-path evaluation scans only the statements that can apply.
    _by_action: dict[str, tuple[Statement, ...]] = field(default_factory=dict, repr=False, compare=False)

    def for_action(self, action: str) -> tuple[Statement, ...]:
        key = action.lower()
        hit = self._by_action.get(key)
        if hit is None:
            hit = tuple(s for s in self.statements if s.matches_action(action))
            if len(self._by_action) < 1024:
                self._by_action[key] = hit
        return hit


def _malformed(message: str) -> MalformedPolicyDocument:
    return MalformedPolicyDocument(message)


def _string_list(raw: object, element: str) -> tuple[str, ...]:
    items = raw if isinstance(raw, list) else [raw]
    if not items or not all(isinstance(x, str) and x for x in items):
        raise _malformed(f"{element} must be a non-empty string or a list of non-empty strings.")
    return tuple(items)


def _principal_set(raw: object, principal_exists: PrincipalExists, partition: str) -> PrincipalSet:
    # spec §7.2: every principal must be valid; `*` and service principals are allowed.
    if raw == "*":
        return PrincipalSet(everyone=True)
    if not isinstance(raw, dict) or not raw:
        raise _malformed(INVALID_PRINCIPALS)
    everyone = False
    aws: set[str] = set()
    service: set[str] = set()
    federated: set[str] = set()
    for kind, value in raw.items():
        items = value if isinstance(value, list) else [value]
        if not items or not all(isinstance(x, str) and x for x in items):
            raise _malformed(INVALID_PRINCIPALS)
        for item in items:
            if kind == "AWS":
                if item == "*":
                    everyone = True
                    continue
                arn = f"arn:{partition}:iam::{item}:root" if _ACCOUNT_ID_RE.match(item) else item
                if not arn.startswith("arn:") or "*" in arn or not principal_exists(arn):
                    raise _malformed(INVALID_PRINCIPALS)
                aws.add(arn)
            elif kind == "Service":
                if "*" in item or " " in item:
                    raise _malformed(INVALID_PRINCIPALS)
                service.add(item)
            elif kind == "Federated":
                federated.add(item)
            else:
                raise _malformed(INVALID_PRINCIPALS)
    return PrincipalSet(everyone, frozenset(aws), frozenset(service), frozenset(federated))


def _statement(
    index: int, raw: object, kind: PolicyKind, name: str, principal_exists: PrincipalExists, partition: str
) -> Statement:
    if not isinstance(raw, dict):
        raise _malformed("Each policy statement must be an object.")
    unknown = set(raw) - _STATEMENT_KEYS
    if unknown:
        raise _malformed(f"Policy statement contains an unknown element: {min(unknown)}.")
    sid = raw.get("Sid")
    if sid is not None and not isinstance(sid, str):
        raise _malformed("Sid must be a string.")
    effect_raw = raw.get("Effect")
    if effect_raw not in ("Allow", "Deny"):
        raise _malformed("Each policy statement must have an Effect of Allow or Deny.")
    for a, b in (("Principal", "NotPrincipal"), ("Action", "NotAction"), ("Resource", "NotResource")):
        if a in raw and b in raw:
            raise _malformed(f"A policy statement cannot have both {a} and {b}.")

    principal = not_principal = None
    if kind is PolicyKind.KEY:
        if "Principal" in raw:
            principal = _principal_set(raw["Principal"], principal_exists, partition)
        elif "NotPrincipal" in raw:
            not_principal = _principal_set(raw["NotPrincipal"], principal_exists, partition)
        else:
            # spec §7.2: each key-policy statement needs a Principal [?: exact message]
            raise _malformed("Policy contains a statement with no principal.")
    elif "Principal" in raw or "NotPrincipal" in raw:
        raise _malformed("Identity-based policies cannot specify a principal.")

    actions = _string_list(raw["Action"], "Action") if "Action" in raw else ()
    not_actions = _string_list(raw["NotAction"], "NotAction") if "NotAction" in raw else ()
    for action in actions + not_actions:
        if not _ACTION_RE.match(action):
            raise _malformed(f"Policy contains an invalid action: {action}")
    resources = _string_list(raw["Resource"], "Resource") if "Resource" in raw else ()
    not_resources = _string_list(raw["NotResource"], "NotResource") if "NotResource" in raw else ()
    try:
        conditions = parse_condition_block(raw["Condition"]) if "Condition" in raw else ()
    except ConditionError as exc:
        raise _malformed(f"Policy contains an invalid condition: {exc}") from None
    inert = not (actions or not_actions) or not (resources or not_resources)
    effect = Effect(effect_raw)
    return Statement(
        ref=StatementRef(kind, name, index, sid, effect),
        index=index,
        sid=sid,
        effect=effect,
        principal=principal,
        not_principal=not_principal,
        actions=actions,
        not_actions=not_actions,
        resources=resources,
        not_resources=not_resources,
        conditions=conditions,
        inert=inert,
        # action names are case-insensitive in IAM; resource ARNs are case-sensitive
        _action_match=compile_patterns(actions or not_actions, ignore_case=True),
        _resource_match=compile_patterns(resources or not_resources),
    )


def parse_policy(
    text: str,
    kind: PolicyKind,
    *,
    name: str = "default",
    principal_exists: PrincipalExists = lambda _arn: True,
    partition: str = "aws",
    max_bytes: int | None = None,
) -> PolicyDocument:
    limit = max_bytes if max_bytes is not None else (
        KEY_POLICY_MAX_BYTES if kind is PolicyKind.KEY else IDENTITY_POLICY_MAX_BYTES
    )
    if len(text.encode("utf-8")) > limit:
        # spec §7.2: over the quota is LimitExceededException, not a malformed document [D]
        raise LimitExceeded(f"Policy document exceeds the maximum size of {limit} bytes.")
    if not text or not _ALLOWED_CHARS_RE.match(text):
        raise _malformed("Policy contains characters that are not allowed.")
    try:
        raw = json.loads(text)
    except ValueError:
        raise _malformed("The policy document is not valid JSON.") from None  # [?: spec §14.18]
    if not isinstance(raw, dict):
        raise _malformed("The policy document must be a JSON object.")
    unknown = set(raw) - _DOCUMENT_KEYS
    if unknown:
        raise _malformed(f"Policy document contains an unknown element: {min(unknown)}.")
    version = raw.get("Version")
    if version not in VERSIONS:
        raise _malformed("Policy document must have Version 2012-10-17.")
    doc_id = raw.get("Id")
    if doc_id is not None and not isinstance(doc_id, str):
        raise _malformed("Id must be a string.")
    statements_raw = raw.get("Statement")
    if isinstance(statements_raw, dict):
        statements_raw = [statements_raw]
    if not isinstance(statements_raw, list) or not statements_raw:
        raise _malformed("Policy document must have at least one Statement.")
    statements = tuple(
        _statement(i, s, kind, name, principal_exists, partition) for i, s in enumerate(statements_raw)
    )
    return PolicyDocument(kind, name, version, doc_id, statements)


def parse_key_policy(
    text: str, *, principal_exists: PrincipalExists = lambda _arn: True, partition: str = "aws"
) -> PolicyDocument:
    """A key policy (PolicyName is always "default", spec §7.2)."""
    return parse_policy(text, PolicyKind.KEY, principal_exists=principal_exists, partition=partition)


def parse_identity_policy(text: str, *, name: str, partition: str = "aws") -> PolicyDocument:
    """An IAM identity policy attached to a user or role."""
    return parse_policy(text, PolicyKind.IDENTITY, name=name, partition=partition)
