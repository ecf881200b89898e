"""The request context policies are evaluated against (spec §7.4).

The service knows *facts* about a request (who calls, which key, its tags and aliases,
the encryption context, the algorithm, the source IP, the time); IAM conditions talk in
*condition keys* (``kms:EncryptionContext:Dept``, ``aws:SourceIp``...). ``RequestFacts``
is the first, ``ConditionContext`` the second, and ``condition_context(facts)`` the one
place that translates. Condition-key names are case-insensitive (spec §7.4), so keys
are stored lower-cased; every value is a tuple of strings (IAM compares strings and
converts for Numeric/Date/Bool/IpAddress operators).

The context is built lazily: the default key policy has no conditions, so the hot path
never pays for building it.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

Values = tuple[str, ...]

# Multi-valued keys (spec §7.4): the request may carry several values, and a condition on
# them needs ForAnyValue:/ForAllValues:. When the request has no value they are *absent*.
MULTI_VALUED_KEYS = frozenset(
    {"kms:encryptioncontextkeys", "kms:grantoperations", "kms:resourcealiases", "aws:tagkeys"}
)


def _bool(value: bool) -> str:
    return "true" if value else "false"


def iso8601(epoch_seconds: float) -> str:
    """aws:CurrentTime format: ISO 8601 UTC with a `Z`, whole seconds."""
    moment = _dt.datetime.fromtimestamp(int(epoch_seconds), tz=_dt.UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def role_arn_of(principal_arn: str) -> str | None:
    """`arn:aws:sts::<acct>:assumed-role/<role>/<session>` -> `arn:aws:iam::<acct>:role/<role>`
    (IAM: a role ARN in a policy matches that role's sessions; aws:PrincipalArn of a session
    is the role ARN)."""
    parts = principal_arn.split(":", 5)
    if len(parts) != 6 or parts[2] != "sts" or not parts[5].startswith("assumed-role/"):
        return None
    pieces = parts[5].split("/")
    if len(pieces) < 3:
        return None
    return f"arn:{parts[1]}:iam::{parts[4]}:role/{pieces[1]}"


def partition_of(arn: str) -> str:
    parts = arn.split(":", 2)
    return parts[1] if len(parts) >= 2 and parts[0] == "arn" else "aws"


@dataclass(frozen=True, slots=True)
class RequestFacts:
    """Plain facts about one request, as the service knows them. Nothing here is secret:
    the encryption context is not secret in KMS (it is logged in CloudTrail)."""

    principal_arn: str
    account_id: str  # the caller's account
    action: str  # without the `kms:` prefix: "Encrypt", "ReEncryptFrom", "CreateKey"...
    key_arn: str | None = None  # None for IAM-only operations (spec §7.3)
    now: float = 0.0  # epoch seconds, from the injected clock
    key_spec: str | None = None
    key_usage: str | None = None
    key_origin: str | None = None
    key_tags: Mapping[str, str] = field(default_factory=dict)
    key_aliases: tuple[str, ...] = ()  # alias *names* currently on the key
    multi_region: bool | None = None
    encryption_context: Mapping[str, str] | None = None
    request_alias: str | None = None  # alias name used in KeyId, if one was
    encryption_algorithm: str | None = None
    signing_algorithm: str | None = None
    mac_algorithm: str | None = None
    key_agreement_algorithm: str | None = None
    message_type: str | None = None
    data_key_pair_spec: str | None = None
    reencrypt_on_same_key: bool | None = None
    via_service: str | None = None  # absent for direct calls (spec §7.4)
    source_ip: str | None = None
    secure_transport: bool | None = None
    grant_operations: tuple[str, ...] | None = None
    grantee_principal: str | None = None
    retiring_principal: str | None = None
    grant_constraint_type: str | None = None
    request_tags: Mapping[str, str] | None = None  # aws:RequestTag/* and aws:TagKeys
    tag_keys: tuple[str, ...] | None = None  # UntagResource's TagKeys (else from request_tags)
    extra: Mapping[str, str | tuple[str, ...]] = field(default_factory=dict)  # other request parameters


_Getter = Callable[[RequestFacts], "Values | None"]


def _one(value: str | None) -> Values | None:
    return None if value is None else (value,)


def _flag(value: bool | None) -> Values | None:
    return None if value is None else (_bool(value),)


def _many(values: tuple[str, ...] | None) -> Values | None:
    # an empty multi-valued key is absent (ForAllValues -> true, ForAnyValue -> false)
    return tuple(values) if values else None


def _tag_keys(f: RequestFacts) -> Values | None:
    return _many(f.tag_keys if f.tag_keys is not None else tuple(f.request_tags or ()))


# Condition key (lower-cased) -> how to read it from the facts. Looked up one key at a
# time, so a request pays only for the keys its policies mention.
_STATIC: dict[str, _Getter] = {
    "aws:principalarn": lambda f: (role_arn_of(f.principal_arn) or f.principal_arn,),
    "aws:principalaccount": lambda f: (f.account_id,),
    "kms:calleraccount": lambda f: (f.account_id,),
    "aws:currenttime": lambda f: (iso8601(f.now),),
    "aws:epochtime": lambda f: (str(int(f.now)),),
    "aws:sourceip": lambda f: _one(f.source_ip),
    "aws:securetransport": lambda f: _flag(f.secure_transport),
    "kms:viaservice": lambda f: _one(f.via_service),  # absent for direct calls (spec §7.4)
    "kms:keyspec": lambda f: _one(f.key_spec),
    "kms:customermasterkeyspec": lambda f: _one(f.key_spec),  # deprecated name of kms:KeySpec
    "kms:keyusage": lambda f: _one(f.key_usage),
    "kms:customermasterkeyusage": lambda f: _one(f.key_usage),
    "kms:keyorigin": lambda f: _one(f.key_origin),
    "kms:multiregion": lambda f: _flag(f.multi_region),
    "kms:resourcealiases": lambda f: _many(f.key_aliases),
    "kms:requestalias": lambda f: _one(f.request_alias),
    "kms:encryptioncontextkeys": lambda f: None if f.encryption_context is None else _many(tuple(f.encryption_context)),
    "kms:encryptionalgorithm": lambda f: _one(f.encryption_algorithm),
    "kms:signingalgorithm": lambda f: _one(f.signing_algorithm),
    "kms:macalgorithm": lambda f: _one(f.mac_algorithm),
    "kms:keyagreementalgorithm": lambda f: _one(f.key_agreement_algorithm),
    "kms:messagetype": lambda f: _one(f.message_type),
    "kms:datakeypairspec": lambda f: _one(f.data_key_pair_spec),
    "kms:reencryptonsamekey": lambda f: _flag(f.reencrypt_on_same_key),
    "kms:grantoperations": lambda f: _many(f.grant_operations),
    "kms:granteeprincipal": lambda f: _one(f.grantee_principal),
    "kms:retiringprincipal": lambda f: _one(f.retiring_principal),
    "kms:grantconstrainttype": lambda f: _one(f.grant_constraint_type),
    "aws:tagkeys": _tag_keys,
}


def _ci_lookup(mapping: Mapping[str, str] | None, lowered: str) -> Values | None:
    """Values whose key equals ``lowered`` case-insensitively (spec §7.4: the key part of
    kms:EncryptionContext:<k> and aws:ResourceTag/<k> is case-insensitive; two keys that
    differ only in case both count)."""
    if not mapping:
        return None
    found = tuple(v for k, v in mapping.items() if k.lower() == lowered)
    return found or None


_PREFIXED: tuple[tuple[str, Callable[[RequestFacts], Mapping[str, str] | None]], ...] = (
    ("kms:encryptioncontext:", lambda f: f.encryption_context),
    ("aws:resourcetag/", lambda f: f.key_tags),
    ("aws:requesttag/", lambda f: f.request_tags),
)


def _lookup(f: RequestFacts, key: str) -> Values | None:
    getter = _STATIC.get(key)
    if getter is not None:
        return getter(f)
    for prefix, source in _PREFIXED:
        if key.startswith(prefix):
            return _ci_lookup(source(f), key[len(prefix) :])
    for name, value in f.extra.items():
        if name.lower() == key:
            return (value,) if isinstance(value, str) else tuple(value)
    return None


def _build(f: RequestFacts) -> dict[str, Values]:
    """Every key the facts define (explain, tests); evaluation uses ``_lookup`` per key."""
    keys = list(_STATIC)
    for prefix, source in _PREFIXED:
        keys.extend(prefix + k.lower() for k in (source(f) or {}))
    keys.extend(k.lower() for k in f.extra)
    out: dict[str, Values] = {}
    for key in keys:
        value = _lookup(f, key)
        if value is not None:
            out[key] = value
    return out


_MISSING = object()


@dataclass(frozen=True, slots=True)
class ConditionContext:
    """Condition key (lower-cased) -> values, read from ``facts`` lazily one key at a time
    (and memoized), with ``overrides`` (already-named keys) taking precedence."""

    facts: RequestFacts | None = None
    overrides: Mapping[str, Values] = field(default_factory=dict)
    _cache: dict[str, Values | None] = field(default_factory=dict, compare=False, repr=False)

    @staticmethod
    def of(values: Mapping[str, str | tuple[str, ...] | list[str]]) -> ConditionContext:
        """A context from explicit condition keys (tests, the explain CLI)."""
        return ConditionContext(
            overrides={k.lower(): ((x,) if isinstance(x, str) else tuple(x)) for k, x in values.items()}
        )

    def values(self) -> dict[str, Values]:
        """All keys with values (for explain/debugging; evaluation uses ``get``)."""
        built = _build(self.facts) if self.facts is not None else {}
        built.update(self.overrides)
        return built

    def get(self, lowered_key: str) -> Values | None:
        """Values of a condition key (name already lower-cased), or None when absent."""
        hit = self.overrides.get(lowered_key)
        if hit is not None:
            return hit
        cached = self._cache.get(lowered_key, _MISSING)
        if cached is not _MISSING:
            return cached  # type: ignore[return-value]
        value = _lookup(self.facts, lowered_key) if self.facts is not None else None
        self._cache[lowered_key] = value
        return value


def condition_context(facts: RequestFacts) -> ConditionContext:
    return ConditionContext(facts=facts)
