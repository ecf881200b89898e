"""KMS keyring, ``kms+context`` (client-wire-formats.md §4.2).

Encrypt: context = caller's context + ``aws:x-amz-cek-alg`` = the suite's cek-alg value
(``AES/GCM/NoPadding`` for v2, ``115`` for v3), then ``GenerateDataKey(KeyId, KeySpec =
AES_256, EncryptionContext)``; the context is stored as the description (``x-amz-matdesc`` /
``x-amz-t``).

Decrypt: the stored context minus the reserved keys must equal the caller's (else
:class:`ContextMismatch`); its ``aws:x-amz-cek-alg`` must name the object's suite (KMS
authenticates the context, so this binds the wrapped key to the content format: a v3 object
relabelled as v2 fails here); then ``Decrypt(KeyId, CiphertextBlob, EncryptionContext =
stored)``. ``key_id=None`` makes a decrypt-only keyring that lets the ciphertext name its key.
Legacy ``kms`` (v1): context = the stored ``{"kms_cmk_id": ...}``; a caller context is refused.
KMS errors are :class:`KeyringError` naming the code (e.g. IncorrectKeyException).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from ...envelope.keyrings.kms import call_kms
from ..errors import ConfigurationError, ContextMismatch, DecryptionFailed, KeyringError
from ..metadata import ContentMetadata, WrapAlg
from ..suites import DATA_KEY_LEN, ContentSuite
from .base import RESERVED_CEK_ALG, RESERVED_KMS_CMK_ID, DataKey, check_caller_context, require_legacy


class KmsKeyring:
    def __init__(self, key_id: str | None, client: Any, *, grant_tokens: Sequence[str] = ()) -> None:
        self.key_id = key_id or None
        self._client = client
        self.grant_tokens = tuple(grant_tokens)

    def __repr__(self) -> str:
        return f"KmsKeyring(key_id={self.key_id!r})"

    def generate(self, suite: ContentSuite, encryption_context: Mapping[str, str]) -> DataKey:
        if self.key_id is None:
            raise ConfigurationError("encryption needs a KMS key id (--kms-key-id)")
        ctx = {**check_caller_context(encryption_context), RESERVED_CEK_ALG: suite.cek_alg}
        r = call_kms(self._client, "generate_data_key", self.key_id, self.grant_tokens,
                     KeyId=self.key_id, KeySpec="AES_256", EncryptionContext=ctx)
        key = r.get("Plaintext")
        if not isinstance(key, bytes) or len(key) != DATA_KEY_LEN:
            raise KeyringError("KMS GenerateDataKey returned a data key of the wrong length")
        return DataKey(key, WrapAlg.KMS_CONTEXT, bytes(r["CiphertextBlob"]), ctx)

    def decrypt(self, metadata: ContentMetadata, encryption_context: Mapping[str, str], *,
                legacy: bool = False) -> bytes:
        wanted = check_caller_context(encryption_context)
        stored = dict(metadata.description)
        if metadata.wrap_alg is WrapAlg.KMS_CONTEXT:
            given = {k: v for k, v in stored.items() if k not in (RESERVED_CEK_ALG, RESERVED_KMS_CMK_ID)}
            if given != dict(wanted):
                raise ContextMismatch("the encryption context given does not match the object's")
            if stored.get(RESERVED_CEK_ALG) != metadata.suite.cek_alg:
                raise DecryptionFailed()
        elif metadata.wrap_alg is WrapAlg.KMS:
            require_legacy(metadata.wrap_alg, legacy)
            if wanted:
                raise ContextMismatch("legacy kms-wrapped objects carry no encryption context; give none")
        else:
            raise ConfigurationError(f"the object's data key is wrapped with {metadata.wrap_alg}, "
                                     "not by KMS: use the matching raw keyring")
        kw: dict[str, Any] = {"CiphertextBlob": metadata.encrypted_data_key, "EncryptionContext": stored}
        if self.key_id is not None:
            kw["KeyId"] = self.key_id
        r = call_kms(self._client, "decrypt", self.key_id, self.grant_tokens, **kw)
        key = r.get("Plaintext")
        if not isinstance(key, bytes) or len(key) != DATA_KEY_LEN:
            raise DecryptionFailed()
        return key
