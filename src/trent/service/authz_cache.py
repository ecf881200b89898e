"""Parsed policies and condition-free decisions, kept per process (architecture "hot path").

Policies are stored as JSON text; parsing one costs far more than evaluating it, so a
parsed ``PolicyDocument`` is cached by its exact text (a changed policy is a new text,
so there is nothing to invalidate). Decisions are cached under everything they can
depend on: caller, action, resource, the policy *texts*, and (for policies with
conditions) the request inputs those conditions can read — so a PutKeyPolicy or a changed identity policy
simply misses. Only decisions the policies made (an Allow or an explicit Deny) are
cached: grants, which change without any policy text changing, are consulted only
after that, so they never enter a cached decision.

Every table is bounded; when one is full it is emptied (O(1) amortized, like the
storage cache).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from typing import TypeVar

from trent.authz import Decision, PolicyDocument

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")

_MAX_ENTRIES = 10_000


def condition_keys(document: PolicyDocument) -> frozenset[str]:
    """Every condition key (lower-cased) the document's statements test."""
    return frozenset(c.lowered_key for s in document.statements for c in s.conditions)


# aws:CurrentTime and aws:EpochTime: a decision that reads them is cached per whole second.
TIME_CONDITION_KEYS = ("aws:currenttime", "aws:epochtime")


def needed_keys(policy: ParsedPolicy | None, identities: tuple[ParsedPolicy, ...]) -> frozenset[str]:
    """The condition keys a resource policy and identity policies test together: empty,
    their decisions never depend on the request's inputs."""
    return frozenset().union(*(p.condition_keys for p in ((policy,) if policy else ()) + identities))


@dataclass(frozen=True, slots=True)
class ParsedPolicy:
    text: str  # as stored; the identity of the policy in cached decisions
    document: PolicyDocument
    condition_keys: frozenset[str]  # empty: its verdicts never depend on the request


@dataclass(slots=True)
class AuthzCache:
    _policies: dict[Hashable, ParsedPolicy] = field(default_factory=dict)
    _decisions: dict[Hashable, Decision] = field(default_factory=dict)
    _token_grants: dict[str, str] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def policy(self, cache_key: Hashable, text: str, parse: Callable[[], PolicyDocument]) -> ParsedPolicy:
        hit = self._policies.get(cache_key)
        if hit is None:
            document = parse()
            hit = ParsedPolicy(text, document, condition_keys(document))
            self._put(self._policies, cache_key, hit)
        return hit

    def decision(self, cache_key: Hashable) -> Decision | None:
        return self._decisions.get(cache_key)

    def remember_decision(self, cache_key: Hashable, decision: Decision) -> None:
        self._put(self._decisions, cache_key, decision)

    def grant_id_for_token(self, token: str) -> str | None:
        return self._token_grants.get(token)

    def remember_token(self, token: str, grant_id: str) -> None:
        self._put(self._token_grants, token, grant_id)

    def clear(self) -> None:
        with self._lock:
            self._policies.clear()
            self._decisions.clear()
            self._token_grants.clear()

    def _put(self, table: dict[K, V], cache_key: K, value: V) -> None:
        with self._lock:
            if len(table) >= _MAX_ENTRIES:
                table.clear()
            table[cache_key] = value
