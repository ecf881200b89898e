"""Request quotas like AWS KMS's (issue 20): per account and Region, per operation family.

AWS KMS limits the request *rate* of each account in each Region: the cryptographic
operations share a few pooled quotas, every management API has its own (AWS KMS
Developer Guide, "Request quotas"). Over the quota the caller gets ThrottlingException
(HTTP 400, "You have exceeded the rate at which you may call KMS. Reduce the frequency
of your calls."), which the SDKs retry with backoff. :data:`AWS_DEFAULTS` are AWS's
default quotas; an operator may change any of them (``--request-quotas FILE.json``:
``{"symmetric": 20000, "CreateKey": 50}``); ``--dev`` has none unless asked.

Families (what AWS pools):

- ``symmetric``: Encrypt, Decrypt, ReEncrypt, GenerateDataKey(WithoutPlaintext),
  GenerateRandom — AWS: 5,500 to 100,000 per second depending on the Region;
- ``asymmetric``: Sign, Verify, DeriveSharedSecret, GenerateDataKeyPair(WithoutPlaintext),
  GetPublicKey is its own — AWS pools RSA (500/s) and ECC (300/s) separately; Trent
  counts by operation before the key is read, so it pools them (RSA's figure).
  Encrypt/Decrypt with an RSA key count as symmetric here for the same reason;
- ``hmac``: GenerateMac, VerifyMac;
- every other operation: its own quota, by name.

Enforcement is a token bucket per (account, Region, family): capacity = one second of
the quota (at least one request), refilled continuously, so a burst up to the quota passes and a sustained
rate above it is refused. With several processes (workers, nodes) each enforces
``quota / processes`` (:meth:`RequestQuotas.set_share`; the live count comes from the
membership leases, bootstrap.Membership): exact when a load balancer spreads requests
evenly, conservative when it does not. Cost per request: a dict lookup and a few float
operations; the check runs on the event loop thread only (no lock).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from trent.errors import Throttling

SYMMETRIC = "symmetric"
ASYMMETRIC = "asymmetric"
HMAC = "hmac"

FAMILY_OF: Mapping[str, str] = {
    **dict.fromkeys(("Encrypt", "Decrypt", "ReEncrypt", "GenerateDataKey", "GenerateDataKeyWithoutPlaintext",
                     "GenerateRandom"), SYMMETRIC),
    **dict.fromkeys(("Sign", "Verify", "DeriveSharedSecret", "GenerateDataKeyPair",
                     "GenerateDataKeyPairWithoutPlaintext"), ASYMMETRIC),
    **dict.fromkeys(("GenerateMac", "VerifyMac"), HMAC),
}

# AWS KMS's default request quotas (requests per second per account per Region).
AWS_DEFAULTS: Mapping[str, float] = {
    SYMMETRIC: 50_000, ASYMMETRIC: 500, HMAC: 2_000,
    "CancelKeyDeletion": 5, "ConnectCustomKeyStore": 5, "CreateAlias": 5, "CreateCustomKeyStore": 5,
    "CreateGrant": 50, "CreateKey": 5, "DeleteAlias": 5, "DeleteCustomKeyStore": 5, "DeleteImportedKeyMaterial": 5,
    "DescribeCustomKeyStores": 5, "DescribeKey": 2_000, "DisableKey": 5, "DisableKeyRotation": 5,
    "DisconnectCustomKeyStore": 5, "EnableKey": 5, "EnableKeyRotation": 5, "GetKeyLastUsage": 100,
    "GetKeyPolicy": 1_000, "GetKeyRotationStatus": 1_000, "GetParametersForImport": 1, "GetPublicKey": 2_000,
    "ImportKeyMaterial": 5, "ListAliases": 100, "ListGrants": 100, "ListKeyPolicies": 100, "ListKeyRotations": 100,
    "ListKeys": 100, "ListResourceTags": 100, "ListRetirableGrants": 100, "PutKeyPolicy": 5, "ReplicateKey": 5,
    "RetireGrant": 50, "RevokeGrant": 50, "RotateKeyOnDemand": 5, "ScheduleKeyDeletion": 5, "TagResource": 10,
    "UntagResource": 5, "UpdateAlias": 5, "UpdateCustomKeyStore": 5, "UpdateKeyDescription": 5,
    "UpdatePrimaryRegion": 5,
}


def family_of(operation: str) -> str:
    return FAMILY_OF.get(operation, operation)


@dataclass(slots=True)
class _Bucket:
    tokens: float
    stamp: float


class RequestQuotas:
    """Token buckets per (account, Region, family); ``limits`` in requests per second."""

    def __init__(self, limits: Mapping[str, float], share: float = 1.0) -> None:
        unknown = [name for name in limits if name not in AWS_DEFAULTS]
        if unknown:
            raise ValueError(f"unknown request quota(s): {', '.join(sorted(unknown))} "
                             f"(families: symmetric, asymmetric, hmac, or an operation name)")
        if any(rate <= 0 for rate in limits.values()):
            raise ValueError("request quotas are positive rates (requests per second)")
        self._limits = dict(limits)
        self._share = share
        self._buckets: dict[tuple[str, str, str], _Bucket] = {}
        self.rejected = 0  # for /metrics

    @property
    def share(self) -> float:
        return self._share

    def set_share(self, share: float) -> None:
        """This process's part of each quota (1 / live processes)."""
        self._share = min(1.0, max(share, 1e-6))

    def check(self, account_id: str, region: str, operation: str, now: float) -> None:
        """Take one request's token, or raise :class:`Throttling`."""
        family = FAMILY_OF.get(operation, operation)
        limit = self._limits.get(family)
        if limit is None:
            return
        rate = limit * self._share
        capacity = rate if rate > 1.0 else 1.0  # below 1/s: one call per 1/rate seconds
        key = (account_id, region, family)
        bucket = self._buckets.get(key)
        if bucket is None:
            if len(self._buckets) > 100_000:  # bounded: an idle bucket is full anyway
                self._buckets.clear()
            bucket = self._buckets[key] = _Bucket(capacity, now)
        else:
            bucket.tokens = min(capacity, bucket.tokens + (now - bucket.stamp) * rate)
            bucket.stamp = now
        if bucket.tokens < 1.0:
            self.rejected += 1
            raise Throttling()
        bucket.tokens -= 1.0


def load_limits(spec: str | None, dev: bool, read_file=None) -> dict[str, float] | None:
    """``--request-quotas``: ``aws`` (AWS's defaults), ``off``, or a JSON file of overrides
    on top of AWS's defaults. Default: ``aws`` in production, ``off`` in --dev."""
    import json

    choice = spec or ("off" if dev else "aws")
    if choice == "off":
        return None
    if choice == "aws":
        return dict(AWS_DEFAULTS)
    text = read_file(choice) if read_file is not None else open(choice, encoding="utf-8").read()  # noqa: SIM115
    overrides = json.loads(text)
    if not isinstance(overrides, dict) or not all(isinstance(v, (int, float)) for v in overrides.values()):
        raise ValueError(f"{choice}: expected a JSON object of quota name -> requests per second")
    return {**AWS_DEFAULTS, **{k: float(v) for k, v in overrides.items()}}
