"""Role trust policies: the resource policy of `sts:AssumeRole` (IAM "role trust policy").

A trust policy is written in the same language as a key policy (every statement names a
Principal) with two IAM differences, checked here:

* it has **no** ``Resource``/``NotResource`` element (the role itself is the resource;
  IAM answers MalformedPolicyDocument "Has prohibited field Resource");
* its actions are STS actions only (IAM: "AssumeRole policy may only specify STS
  AssumeRole actions.").

``parse_key_policy``'s machinery is reused: for evaluation each statement is given an
implicit ``"Resource": "*"``, so ``evaluate`` treats the trust policy exactly as it treats
a key policy -- naming a principal allows it directly, naming an account root delegates
to that account's identity policies (IAM's rule for both KMS key policies and trust
policies), cross-account needs both sides.

Size: IAM's quota "Role trust policy length: 2,048 characters" (IAM User Guide, "IAM and
AWS STS quotas"; raisable to 4,096), counted without white space ("IAM does not count
white space when calculating the size of a policy against these limits").
"""

from __future__ import annotations

import functools
import json

from trent.authz.policy_document import (
    IDENTITY_POLICY_MAX_BYTES,
    PolicyDocument,
    PolicyKind,
    PrincipalExists,
    parse_policy,
)
from trent.errors import LimitExceeded, MalformedPolicyDocument

TRUST_POLICY_MAX_CHARS = 2048
TRUST_POLICY_NAME = "trust policy"
STS_ONLY = "AssumeRole policy may only specify STS AssumeRole actions."


def policy_size(text: str) -> int:
    """IAM's size measure: characters, white space not counted."""
    return sum(1 for ch in text if not ch.isspace())


def _with_resources(text: str) -> str:
    try:
        raw = json.loads(text)
    except ValueError:
        raise MalformedPolicyDocument("The policy document is not valid JSON.") from None
    if not isinstance(raw, dict):
        raise MalformedPolicyDocument("The policy document must be a JSON object.")
    statements = raw.get("Statement")
    items = [statements] if isinstance(statements, dict) else statements
    if isinstance(items, list):
        for s in items:
            if isinstance(s, dict):
                for prohibited in ("Resource", "NotResource"):
                    if prohibited in s:
                        raise MalformedPolicyDocument(f"Has prohibited field {prohibited}")
                s["Resource"] = "*"
    return json.dumps(raw)


def _check_actions(policy: PolicyDocument) -> None:
    for statement in policy.statements:
        for action in statement.actions + statement.not_actions:
            if not action.lower().startswith("sts:"):
                raise MalformedPolicyDocument(STS_ONLY)


def parse_trust_policy(
    text: str, *, principal_exists: PrincipalExists = lambda _arn: True, partition: str = "aws"
) -> PolicyDocument:
    """Validate a role trust policy and compile it for ``evaluate`` (as the resource policy)."""
    if policy_size(text) > TRUST_POLICY_MAX_CHARS:
        raise LimitExceeded(f"Cannot exceed quota for ACLSizePerRole: {TRUST_POLICY_MAX_CHARS}")
    # the original text is checked for characters/JSON first (the rewritten one is ASCII)
    parse_policy(text, PolicyKind.KEY, name=TRUST_POLICY_NAME, principal_exists=principal_exists,
                 partition=partition, max_bytes=IDENTITY_POLICY_MAX_BYTES)
    policy = parse_policy(
        _with_resources(text),
        PolicyKind.KEY,
        name=TRUST_POLICY_NAME,
        principal_exists=principal_exists,
        partition=partition,
        max_bytes=IDENTITY_POLICY_MAX_BYTES,
    )
    _check_actions(policy)
    return policy


@functools.lru_cache(maxsize=256)
def compiled_trust_policy(text: str, partition: str = "aws") -> PolicyDocument:
    """For AssumeRole: a stored trust policy (validated when it was saved), compiled once.
    Principals are not re-checked for existence (a deleted user simply matches nobody)."""
    return parse_trust_policy(text, partition=partition)
