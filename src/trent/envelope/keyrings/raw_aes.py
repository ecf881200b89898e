"""Raw AES keyring: wraps data keys under a local AES-GCM key (ESDK raw AES keyring).

EDK layout (client-wire-formats.md §4.1 header item 5, provider-specific fields)::

    provider ID   = key namespace (UTF-8)
    provider info = key name ‖ uint32 tag length in bits (128) ‖ uint32 IV length (12) ‖ IV
    ciphertext    = AES-GCM(wrapping key, IV, data key, AAD = serialize(context)) ‖ tag

``serialize(context)`` is the count-and-pairs block of context.py (no total-length prefix),
over the *full* encryption context, including ``aws-crypto-public-key``.
"""

from __future__ import annotations

import os
import struct
from collections.abc import Callable, Sequence
from typing import NoReturn

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from .. import context as ctxmod
from ..errors import ConfigurationError
from ..materials import DecryptionMaterials, EncryptedDataKey, EncryptionMaterials
from .base import add_encrypted_key, with_data_key

_TAG_BITS = 128
_IV_LEN = 12


class RawAesKeyring:
    def __init__(
        self,
        key_namespace: str,
        key_name: str,
        wrapping_key: bytes,
        *,
        rng: Callable[[int], bytes] = os.urandom,
    ) -> None:
        if len(wrapping_key) not in (16, 24, 32):
            raise ConfigurationError("AES wrapping key must be 16, 24 or 32 bytes")
        if key_namespace.startswith("aws-kms"):
            raise ConfigurationError("key namespace 'aws-kms' is reserved")
        self.key_namespace = key_namespace
        self.key_name = key_name
        self._name = key_name.encode("utf-8")
        self._aead = AESGCM(bytes(wrapping_key))
        self._rng = rng

    def __repr__(self) -> str:
        return f"RawAesKeyring(key_namespace={self.key_namespace!r}, key_name={self.key_name!r})"

    def __reduce__(self) -> NoReturn:
        raise TypeError("keyrings hold key material and cannot be pickled")

    def on_encrypt(self, materials: EncryptionMaterials) -> EncryptionMaterials:
        new_key = None
        data_key = materials.plaintext_data_key
        if data_key is None:
            data_key = new_key = self._rng(materials.suite.key_len)
        iv = self._rng(_IV_LEN)
        aad = ctxmod.serialize(materials.encryption_context)
        ct = self._aead.encrypt(iv, data_key, aad)
        info = self._name + struct.pack(">II", _TAG_BITS, _IV_LEN) + iv
        return add_encrypted_key(materials, EncryptedDataKey(self.key_namespace, info, ct), new_key)

    def on_decrypt(
        self, materials: DecryptionMaterials, encrypted_data_keys: Sequence[EncryptedDataKey]
    ) -> DecryptionMaterials:
        if materials.plaintext_data_key is not None:
            return materials
        aad = ctxmod.serialize(materials.encryption_context)
        prefix = self._name + struct.pack(">II", _TAG_BITS, _IV_LEN)
        for edk in encrypted_data_keys:
            info = edk.provider_info
            if (
                edk.provider_id != self.key_namespace
                or len(info) != len(prefix) + _IV_LEN
                or not info.startswith(prefix)
            ):
                continue
            try:
                key = self._aead.decrypt(info[len(prefix):], edk.ciphertext, aad)
            except (InvalidTag, ValueError):
                continue
            if len(key) == materials.suite.key_len:
                return with_data_key(materials, key)
        return materials
