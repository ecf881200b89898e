"""AWS KMS keyrings: talk to any AWS-KMS-compatible endpoint (Trent, AWS) through boto3.

EDK layout (client-wire-formats.md §4.1 "How the ESDK talks to KMS")::

    provider ID   = "aws-kms"
    provider info = key ARN (UTF-8) — the ``KeyId`` KMS returned
    ciphertext    = the KMS ``CiphertextBlob``

On encrypt: ``GenerateDataKey(KeyId, NumberOfBytes = key length, EncryptionContext,
GrantTokens)`` when no data key exists yet, else ``Encrypt(KeyId, Plaintext = data key, ...)``.
The response ``KeyId`` must be a well-formed key ARN and the plaintext must have the suite's
key length. On decrypt (strict): only ``aws-kms`` EDKs whose provider info equals the
configured ARN are tried, with ``Decrypt(KeyId = that ARN, ...)``; the response ``KeyId`` must
equal it. A key ID or alias is refused for decryption (aws-encryption-sdk-cli#202).

Failures: on encrypt, any KMS error raises :class:`KeyringError` naming the operation, key and
AWS error code. On decrypt, KMS *refusals* (``ClientError``) only mean "this EDK did not work":
they are logged (code only) and the next EDK is tried; transport failures (endpoint down, no
credentials) raise :class:`KeyringError` because no message content causes them.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from ..errors import ConfigurationError, KeyringError
from ..materials import DecryptionMaterials, EncryptedDataKey, EncryptionMaterials
from .base import add_encrypted_key, with_data_key

log = logging.getLogger(__name__)

PROVIDER_ID = "aws-kms"
# §4.1: arn:<non-empty partition>:kms:<non-empty region>:<non-empty account>:key/<id>
_KEY_ARN = re.compile(r"^arn:(?P<partition>[^:]+):kms:(?P<region>[^:]+):(?P<account>[^:]+):key/(?P<id>.+)$")

KmsClientFactory = Callable[[str | None], Any]


@dataclass(frozen=True, slots=True)
class KeyArn:
    partition: str
    region: str
    account: str
    key_id: str


def parse_key_arn(text: str) -> KeyArn | None:
    m = _KEY_ARN.match(text)
    if m is None:
        return None
    return KeyArn(m["partition"], m["region"], m["account"], m["id"])


def kms_client_factory(
    *,
    endpoint_url: str | None = None,
    region: str | None = None,
    session: Any = None,
    **client_kwargs: Any,
) -> KmsClientFactory:
    """Return ``factory(region) -> kms client`` (one cached client per region)."""
    import boto3  # lazily: boto3 costs ~25 MB of RSS and raw-key users never need it

    sess = session or boto3.session.Session()
    cache: dict[str | None, Any] = {}

    def factory(for_region: str | None = None) -> Any:
        r = for_region or region or sess.region_name
        if r not in cache:
            cache[r] = sess.client("kms", region_name=r, endpoint_url=endpoint_url, **client_kwargs)
        return cache[r]

    return factory


def _code(e: ClientError) -> str:
    return str(e.response.get("Error", {}).get("Code", "Unknown"))


def call_kms(client: Any, op: str, key_id: str | None, grant_tokens: Sequence[str] = (), **kw: Any) -> dict[str, Any]:
    """One KMS call; every failure becomes :class:`KeyringError` naming the operation, the key
    and the AWS error code (never the request's plaintext). Shared with trent.s3ec's keyring."""
    if grant_tokens:
        kw["GrantTokens"] = list(grant_tokens)
    try:
        return dict(getattr(client, op)(**kw))
    except ClientError as e:
        raise KeyringError(f"KMS {op} with key {key_id} failed: {_code(e)}") from None
    except BotoCoreError as e:
        raise KeyringError(f"KMS {op} with key {key_id} failed: {type(e).__name__}") from None


@dataclass(frozen=True, slots=True)
class DiscoveryFilter:
    """Only KMS keys in these accounts of this partition may be used to decrypt."""

    account_ids: frozenset[str]
    partition: str

    def __post_init__(self) -> None:
        if not self.account_ids or not self.partition or any(not a for a in self.account_ids):
            raise ConfigurationError("a discovery filter needs a partition and at least one account")

    def allows(self, arn: KeyArn) -> bool:
        return arn.partition == self.partition and arn.account in self.account_ids


class AwsKmsKeyring:
    """Strict KMS keyring for one KMS key."""

    def __init__(self, key_id: str, client: Any, *, grant_tokens: Sequence[str] = ()) -> None:
        if not key_id:
            raise ConfigurationError("a KMS key identifier is required")
        self.key_id = key_id
        self._client = client
        self.grant_tokens = tuple(grant_tokens)

    def __repr__(self) -> str:
        return f"AwsKmsKeyring(key_id={self.key_id!r})"

    def _call(self, op: str, **kw: Any) -> dict[str, Any]:
        return call_kms(self._client, op, self.key_id, self.grant_tokens, **kw)

    def on_encrypt(self, materials: EncryptionMaterials) -> EncryptionMaterials:
        ctx = dict(materials.encryption_context)
        key_len = materials.suite.key_len
        if materials.plaintext_data_key is None:
            r = self._call("generate_data_key", KeyId=self.key_id, NumberOfBytes=key_len,
                           EncryptionContext=ctx)
            data_key: bytes | None = r.get("Plaintext")
            if data_key is None or len(data_key) != key_len:
                raise KeyringError("KMS GenerateDataKey returned a data key of the wrong length")
        else:
            data_key = None
            r = self._call("encrypt", KeyId=self.key_id, Plaintext=materials.plaintext_data_key,
                           EncryptionContext=ctx)
        arn = str(r.get("KeyId", ""))
        if parse_key_arn(arn) is None:
            raise KeyringError("KMS response KeyId is not a key ARN")
        edk = EncryptedDataKey(PROVIDER_ID, arn.encode("utf-8"), bytes(r["CiphertextBlob"]))
        return add_encrypted_key(materials, edk, data_key)

    def on_decrypt(
        self, materials: DecryptionMaterials, encrypted_data_keys: Sequence[EncryptedDataKey]
    ) -> DecryptionMaterials:
        if materials.plaintext_data_key is not None:
            return materials
        if parse_key_arn(self.key_id) is None:
            raise ConfigurationError("decryption needs the KMS key ARN, not a key ID or alias")
        want = self.key_id.encode("utf-8")
        for edk in encrypted_data_keys:
            if edk.provider_id != PROVIDER_ID or edk.provider_info != want:
                continue
            key = _kms_decrypt(self._client, self.key_id, edk, materials, self.grant_tokens)
            if key is not None:
                return with_data_key(materials, key)
        return materials


class AwsKmsDiscoveryKeyring:
    """Decrypt-only keyring trying every ``aws-kms`` EDK (optionally filtered)."""

    def __init__(
        self,
        client_factory: KmsClientFactory,
        *,
        discovery_filter: DiscoveryFilter | None = None,
        grant_tokens: Sequence[str] = (),
    ) -> None:
        self._factory = client_factory
        self.discovery_filter = discovery_filter
        self.grant_tokens = tuple(grant_tokens)

    def __repr__(self) -> str:
        return f"AwsKmsDiscoveryKeyring(discovery_filter={self.discovery_filter!r})"

    def on_encrypt(self, materials: EncryptionMaterials) -> EncryptionMaterials:
        raise ConfigurationError("a discovery keyring cannot encrypt")

    def on_decrypt(
        self, materials: DecryptionMaterials, encrypted_data_keys: Sequence[EncryptedDataKey]
    ) -> DecryptionMaterials:
        if materials.plaintext_data_key is not None:
            return materials
        for edk in encrypted_data_keys:
            if edk.provider_id != PROVIDER_ID:
                continue
            try:
                arn_text = edk.provider_info.decode("utf-8")
            except UnicodeDecodeError:
                continue
            arn = parse_key_arn(arn_text)
            if arn is None or (self.discovery_filter and not self.discovery_filter.allows(arn)):
                continue
            key = _kms_decrypt(self._factory(arn.region), arn_text, edk, materials, self.grant_tokens)
            if key is not None:
                return with_data_key(materials, key)
        return materials


def _kms_decrypt(
    client: Any, arn: str, edk: EncryptedDataKey, materials: DecryptionMaterials, grants: tuple[str, ...]
) -> bytes | None:
    kw: dict[str, Any] = {"KeyId": arn, "CiphertextBlob": edk.ciphertext,
                          "EncryptionContext": dict(materials.encryption_context)}
    if grants:
        kw["GrantTokens"] = list(grants)
    try:
        r = client.decrypt(**kw)
    except ClientError as e:
        log.debug("KMS Decrypt refused with key %s: %s", arn, _code(e))
        return None
    except BotoCoreError as e:
        raise KeyringError(f"KMS Decrypt with key {arn} failed: {type(e).__name__}") from None
    key = r.get("Plaintext")
    if r.get("KeyId") != arn or key is None or len(key) != materials.suite.key_len:
        log.debug("KMS Decrypt response for key %s failed the KeyId/length checks", arn)
        return None
    return bytes(key)
