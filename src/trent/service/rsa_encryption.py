"""RSAES-OAEP Encrypt/Decrypt for RSA ENCRYPT_DECRYPT keys (spec §3.2, §6.1).

Called from :mod:`trent.service.encryption` once it has resolved the key and checked
state, usage and algorithm. The ciphertext is the raw OAEP output (no Trent header):
it is what AWS returns, and what a client makes offline with GetPublicKey's key, so
Decrypt needs KeyId and EncryptionAlgorithm to know the key. Encryption context has
no place in OAEP and is refused (spec §6.2: symmetric operations only; AWS's exact
text is unrecorded, spec §14 item 18).
"""

from __future__ import annotations

from collections.abc import Mapping

from trent.crypto import rsa_oaep
from trent.domain.key_specs import KEY_SPECS
from trent.domain.keys import Key
from trent.errors import DryRunOperation, InvalidCiphertext, ValidationError
from trent.service import key_material
from trent.service.deps import ServiceDeps


def _refuse_context(context: Mapping[str, str] | None) -> None:
    if context:
        raise ValidationError("EncryptionContext is not supported for asymmetric KMS keys.")


def encrypt(
    deps: ServiceDeps, key: Key, plaintext: bytes, context: Mapping[str, str] | None, algorithm: str,
    dry_run: bool = False,
) -> bytes:
    _refuse_context(context)
    size = KEY_SPECS[key.key_spec].size_bytes
    assert size is not None
    limit = rsa_oaep.max_plaintext(size, algorithm)
    if len(plaintext) > limit:
        raise ValidationError(
            f"Algorithm {algorithm} and key spec {key.key_spec} cannot encrypt data larger than {limit} bytes."
        )
    if dry_run:
        raise DryRunOperation()
    return rsa_oaep.encrypt(key_material.loaded(deps, key), algorithm, plaintext)


def decrypt(
    deps: ServiceDeps, key: Key, blob: bytes, context: Mapping[str, str] | None, algorithm: str,
    dry_run: bool = False,
) -> bytes:
    _refuse_context(context)
    if dry_run:
        raise DryRunOperation()
    try:
        return rsa_oaep.decrypt(key_material.loaded(deps, key), algorithm, blob)
    except rsa_oaep.OaepError:
        raise InvalidCiphertext(audit_reason="OAEP decryption failed") from None
