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
from collections.abc import Mapping
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


def _build(f: RequestFacts) -> dict[str, Values]:
    v: dict[str, Values] = {}

    def put(name: str, value: str | None) -> None:
        if value is not None:
            v[name.lower()] = (value,)

    def put_many(name: str, values: tuple[str, ...] | None) -> None:
        if values:  # an empty multi-valued key is absent (ForAllValues -> true, ForAnyValue -> false)
            v[name.lower()] = tuple(values)

    role = role_arn_of(f.principal_arn)
    put("aws:PrincipalArn", role or f.principal_arn)
    put("aws:PrincipalAccount", f.account_id)
    put("kms:CallerAccount", f.account_id)
    put("aws:CurrentTime", iso8601(f.now))
    put("aws:EpochTime", str(int(f.now)))
    put("aws:SourceIp", f.source_ip)
    if f.secure_transport is not None:
        put("aws:SecureTransport", _bool(f.secure_transport))
    put("kms:ViaService", f.via_service)
    put("kms:KeySpec", f.key_spec)
    put("kms:CustomerMasterKeySpec", f.key_spec)  # deprecated alias of kms:KeySpec
    put("kms:KeyUsage", f.key_usage)
    put("kms:CustomerMasterKeyUsage", f.key_usage)
    put("kms:KeyOrigin", f.key_origin)
    if f.multi_region is not None:
        put("kms:MultiRegion", _bool(f.multi_region))
    for tag_key, tag_value in f.key_tags.items():
        put(f"aws:ResourceTag/{tag_key}", tag_value)
    put_many("kms:ResourceAliases", f.key_aliases)
    put("kms:RequestAlias", f.request_alias)
    if f.encryption_context is not None:
        for ctx_key, ctx_value in f.encryption_context.items():
            name = f"kms:encryptioncontext:{ctx_key}".lower()
            # two context keys differing only in case share one (case-insensitive) condition key
            v[name] = v.get(name, ()) + (ctx_value,)
        put_many("kms:EncryptionContextKeys", tuple(f.encryption_context))
    put("kms:EncryptionAlgorithm", f.encryption_algorithm)
    put("kms:SigningAlgorithm", f.signing_algorithm)
    put("kms:MacAlgorithm", f.mac_algorithm)
    put("kms:KeyAgreementAlgorithm", f.key_agreement_algorithm)
    put("kms:MessageType", f.message_type)
    put("kms:DataKeyPairSpec", f.data_key_pair_spec)
    if f.reencrypt_on_same_key is not None:
        put("kms:ReEncryptOnSameKey", _bool(f.reencrypt_on_same_key))
    put_many("kms:GrantOperations", f.grant_operations)
    put("kms:GranteePrincipal", f.grantee_principal)
    put("kms:RetiringPrincipal", f.retiring_principal)
    put("kms:GrantConstraintType", f.grant_constraint_type)
    if f.request_tags is not None:
        for tag_key, tag_value in f.request_tags.items():
            put(f"aws:RequestTag/{tag_key}", tag_value)
    put_many("aws:TagKeys", f.tag_keys if f.tag_keys is not None else tuple(f.request_tags or ()))
    for name, value in f.extra.items():
        v[name.lower()] = (value,) if isinstance(value, str) else tuple(value)
    return v


@dataclass(frozen=True, slots=True)
class ConditionContext:
    """Condition key (lower-cased) -> values, built from ``facts`` on first use, with
    ``overrides`` (already-named keys) layered on top."""

    facts: RequestFacts | None = None
    overrides: Mapping[str, Values] = field(default_factory=dict)
    _cache: dict[str, dict[str, Values]] = field(default_factory=dict, compare=False, repr=False)

    @staticmethod
    def of(values: Mapping[str, str | tuple[str, ...] | list[str]]) -> ConditionContext:
        """A context from explicit condition keys (tests, the explain CLI)."""
        return ConditionContext(
            overrides={k.lower(): ((x,) if isinstance(x, str) else tuple(x)) for k, x in values.items()}
        )

    def values(self) -> dict[str, Values]:
        built = self._cache.get("v")
        if built is None:
            built = _build(self.facts) if self.facts is not None else {}
            built.update(self.overrides)
            self._cache["v"] = built
        return built

    def get(self, lowered_key: str) -> Values | None:
        """Values of a condition key (name already lower-cased), or None when absent."""
        return self.values().get(lowered_key)


def condition_context(facts: RequestFacts) -> ConditionContext:
    return ConditionContext(facts=facts)
