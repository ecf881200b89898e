"""Raw AES keyring, ``AES/GCM`` (client-wire-formats.md §4.2; Java's AesKeyring).

Wrapped key = IV (12, random) ‖ AES-GCM(wrapping key, IV, data key, AAD = UTF-8 of the
suite's cek-alg value: ``AES/GCM/NoPadding`` for v2 content, ``115`` for v3) ‖ tag (16).
The AAD binds the wrapped key to the content suite. The material description (a label such
as ``{"purpose": "backups"}``) is stored as ``x-amz-matdesc`` / ``x-amz-m``.
Legacy ``AESWrap`` (RFC 3394 key wrap, no AAD) is decrypt-only, behind the legacy flag.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.keywrap import InvalidUnwrap, aes_key_unwrap

from ..errors import ConfigurationError, DecryptionFailed
from ..metadata import ContentMetadata, WrapAlg
from ..suites import DATA_KEY_LEN, ContentSuite
from .base import DataKey, require_legacy
from .raw import RawKeyring

_IV = 12


class RawAesKeyring(RawKeyring):
    def __init__(self, wrapping_key: bytes, *, material_description: Mapping[str, str] | None = None,
                 rng: Callable[[int], bytes] = os.urandom) -> None:
        if len(wrapping_key) not in (16, 24, 32):
            raise ConfigurationError("an AES wrapping key is 16, 24 or 32 bytes")
        super().__init__(material_description, rng)
        self._key = bytes(wrapping_key)
        self._aead = AESGCM(self._key)

    def generate(self, suite: ContentSuite, encryption_context: Mapping[str, str]) -> DataKey:
        self.refuse_context(encryption_context)
        data_key, iv = self._rng(DATA_KEY_LEN), self._rng(_IV)
        wrapped = iv + self._aead.encrypt(iv, data_key, suite.cek_alg.encode())
        return DataKey(data_key, WrapAlg.AES_GCM, wrapped, self.material_description)

    def decrypt(self, metadata: ContentMetadata, encryption_context: Mapping[str, str], *,
                legacy: bool = False) -> bytes:
        self.refuse_context(encryption_context)
        edk = metadata.encrypted_data_key
        try:
            if metadata.wrap_alg is WrapAlg.AES_GCM:
                key = self._aead.decrypt(edk[:_IV], edk[_IV:], metadata.suite.cek_alg.encode())
            elif metadata.wrap_alg is WrapAlg.AES_WRAP:
                require_legacy(metadata.wrap_alg, legacy)
                key = aes_key_unwrap(self._key, edk)
            else:
                raise ConfigurationError(f"the object's data key is wrapped with {metadata.wrap_alg}, "
                                         "not by a raw AES key")
        except (InvalidTag, InvalidUnwrap, ValueError) as e:
            if isinstance(e, ConfigurationError):
                raise
            raise DecryptionFailed() from None
        if len(key) != DATA_KEY_LEN:
            raise DecryptionFailed()
        return key
