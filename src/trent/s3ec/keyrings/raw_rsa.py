"""Raw RSA keyring, ``RSA-OAEP-SHA1`` (client-wire-formats.md §4.2; Java's RsaKeyring).

Wrapped key = RSA-OAEP(SHA-1, MGF1-SHA-1) of the *pseudo data key*::

    len(data key) (1 byte) ‖ data key ‖ UTF-8 cek-alg value of the suite

so the wrapped key names the content suite it was made for. Legacy
``RSA/ECB/OAEPWithSHA-256AndMGF1Padding`` (Java's name: OAEP SHA-256, MGF1 SHA-1, the bare
data key) is decrypt-only behind the legacy flag. With only a public key the keyring encrypts.
"""

from __future__ import annotations

import hmac
import os
from collections.abc import Callable, Mapping

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from ..errors import ConfigurationError, DecryptionFailed
from ..metadata import ContentMetadata, WrapAlg
from ..suites import DATA_KEY_LEN, ContentSuite
from .base import DataKey, require_legacy
from .raw import RawKeyring

_OAEP_SHA1 = padding.OAEP(mgf=padding.MGF1(hashes.SHA1()), algorithm=hashes.SHA1(), label=None)
_OAEP_SHA256_MGF1_SHA1 = padding.OAEP(mgf=padding.MGF1(hashes.SHA1()), algorithm=hashes.SHA256(), label=None)


class RawRsaKeyring(RawKeyring):
    def __init__(self, *, public_key: rsa.RSAPublicKey | None = None, private_key: rsa.RSAPrivateKey | None = None,
                 material_description: Mapping[str, str] | None = None,
                 rng: Callable[[int], bytes] = os.urandom) -> None:
        if public_key is None and private_key is None:
            raise ConfigurationError("an RSA keyring needs a public or a private key")
        super().__init__(material_description, rng)
        self._public = public_key or (private_key.public_key() if private_key else None)
        self._private = private_key

    def generate(self, suite: ContentSuite, encryption_context: Mapping[str, str]) -> DataKey:
        self.refuse_context(encryption_context)
        assert self._public is not None
        data_key = self._rng(DATA_KEY_LEN)
        pseudo = bytes((DATA_KEY_LEN,)) + data_key + suite.cek_alg.encode()
        return DataKey(data_key, WrapAlg.RSA_OAEP_SHA1, self._public.encrypt(pseudo, _OAEP_SHA1),
                       self.material_description)

    def decrypt(self, metadata: ContentMetadata, encryption_context: Mapping[str, str], *,
                legacy: bool = False) -> bytes:
        self.refuse_context(encryption_context)
        if self._private is None:
            raise ConfigurationError("this RSA keyring has no private key")
        if metadata.wrap_alg not in (WrapAlg.RSA_OAEP_SHA1, WrapAlg.RSA_OAEP_SHA256):
            raise ConfigurationError(f"the object's data key is wrapped with {metadata.wrap_alg}, "
                                     "not by an RSA key")
        require_legacy(metadata.wrap_alg, legacy)
        try:
            if metadata.wrap_alg is WrapAlg.RSA_OAEP_SHA256:
                key = self._private.decrypt(metadata.encrypted_data_key, _OAEP_SHA256_MGF1_SHA1)
            else:
                pseudo = self._private.decrypt(metadata.encrypted_data_key, _OAEP_SHA1)
                n = pseudo[0]
                key, alg = pseudo[1:1 + n], pseudo[1 + n:]
                if not hmac.compare_digest(alg, metadata.suite.cek_alg.encode()):
                    raise ValueError
        except (ValueError, IndexError):
            raise DecryptionFailed() from None
        if len(key) != DATA_KEY_LEN:
            raise DecryptionFailed()
        return key
