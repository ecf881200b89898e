"""Grants as data, and when one allows a request (spec §8).

A grant only ever allows (never denies). It applies when it is on the requested key,
names the caller as grantee, lists the operation, and its constraint (if any) holds on
the request's encryption context. Which grants are active (created, not retired or
revoked; or presented by token) is the service's business: it passes those in.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field

# spec §8: constraints are ignored for these operations
_CONSTRAINT_EXEMPT = frozenset({"DescribeKey", "RetireGrant"})


class GrantMismatch(enum.StrEnum):
    KEY = "the grant is for another key"
    GRANTEE = "the caller is not the grantee principal"
    OPERATION = "the operation is not in the grant's operations"
    CONSTRAINT = "the request's encryption context does not satisfy the grant's constraint"


@dataclass(frozen=True, slots=True)
class GrantConstraints:
    encryption_context_equals: Mapping[str, str] | None = None
    encryption_context_subset: Mapping[str, str] | None = None

    def satisfied_by(self, context: Mapping[str, str] | None) -> bool:
        """Model GrantConstraints: "in a grant constraint, the key in each key-value pair is
        not case sensitive, but the value is case sensitive" (the request's own context is
        still matched exactly at decryption)."""
        actual = {k.lower(): v for k, v in (context or {}).items()}
        if self.encryption_context_equals is not None:
            wanted = {k.lower(): v for k, v in self.encryption_context_equals.items()}
            if actual != wanted or len(wanted) != len(context or {}):
                return False
        if self.encryption_context_subset is not None:
            for k, v in self.encryption_context_subset.items():
                if actual.get(k.lower()) != v:
                    return False
        return True


@dataclass(frozen=True, slots=True)
class Grant:
    grant_id: str
    key_arn: str
    grantee_principal: str
    operations: frozenset[str]  # grant operation names, e.g. {"Decrypt", "ReEncryptFrom"}
    constraints: GrantConstraints | None = None
    retiring_principal: str | None = None
    name: str | None = None
    issuing_account: str | None = None
    extra: Mapping[str, str] = field(default_factory=dict)


def grant_mismatch(
    grant: Grant,
    *,
    key_arn: str | None,
    caller_arns: tuple[str, ...],
    action: str,
    encryption_context: Mapping[str, str] | None,
) -> GrantMismatch | None:
    """None when ``grant`` allows ``action`` for the caller; otherwise the first reason it does not."""
    if key_arn is None or grant.key_arn != key_arn:
        return GrantMismatch.KEY
    if grant.grantee_principal not in caller_arns:
        return GrantMismatch.GRANTEE
    if action not in grant.operations:
        return GrantMismatch.OPERATION
    if (
        grant.constraints is not None
        and action not in _CONSTRAINT_EXEMPT
        and not grant.constraints.satisfied_by(encryption_context)
    ):
        return GrantMismatch.CONSTRAINT
    return None
