"""Raw RSA keyring: wraps data keys with RSA (ESDK raw RSA keyring).

EDK layout::

    provider ID   = key namespace
    provider info = key name (UTF-8)
    ciphertext    = RSA-encrypt(public key, data key) with the configured padding

Paddings as in the SDK: PKCS#1 v1.5 (legacy) and OAEP with MGF1 over SHA-1/256/384/512.
A keyring with only a public key can encrypt but never decrypts.
"""

from __future__ import annotations

import enum
import os
from collections.abc import Callable, Sequence
from typing import NoReturn

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from ..errors import ConfigurationError
from ..materials import DecryptionMaterials, EncryptedDataKey, EncryptionMaterials
from .base import add_encrypted_key, with_data_key


class RsaPadding(enum.StrEnum):
    PKCS1 = "PKCS1"
    OAEP_SHA1_MGF1 = "OAEP_SHA1_MGF1"
    OAEP_SHA256_MGF1 = "OAEP_SHA256_MGF1"
    OAEP_SHA384_MGF1 = "OAEP_SHA384_MGF1"
    OAEP_SHA512_MGF1 = "OAEP_SHA512_MGF1"


_HASH: dict[RsaPadding, type[hashes.HashAlgorithm]] = {
    RsaPadding.OAEP_SHA1_MGF1: hashes.SHA1,
    RsaPadding.OAEP_SHA256_MGF1: hashes.SHA256,
    RsaPadding.OAEP_SHA384_MGF1: hashes.SHA384,
    RsaPadding.OAEP_SHA512_MGF1: hashes.SHA512,
}


def _padding(p: RsaPadding) -> padding.AsymmetricPadding:
    if p is RsaPadding.PKCS1:
        return padding.PKCS1v15()
    h = _HASH[p]
    return padding.OAEP(mgf=padding.MGF1(algorithm=h()), algorithm=h(), label=None)


class RawRsaKeyring:
    def __init__(
        self,
        key_namespace: str,
        key_name: str,
        *,
        padding_scheme: RsaPadding = RsaPadding.OAEP_SHA256_MGF1,
        public_key: rsa.RSAPublicKey | None = None,
        private_key: rsa.RSAPrivateKey | None = None,
        rng: Callable[[int], bytes] = os.urandom,
    ) -> None:
        if public_key is None and private_key is None:
            raise ConfigurationError("an RSA keyring needs a public or a private key")
        if key_namespace.startswith("aws-kms"):
            raise ConfigurationError("key namespace 'aws-kms' is reserved")
        self.key_namespace = key_namespace
        self.key_name = key_name
        self.padding_scheme = RsaPadding(padding_scheme)
        self._public = public_key or (private_key.public_key() if private_key else None)
        self._private = private_key
        self._rng = rng

    def __repr__(self) -> str:
        return (f"RawRsaKeyring(key_namespace={self.key_namespace!r}, key_name={self.key_name!r}, "
                f"padding_scheme={self.padding_scheme})")

    def __reduce__(self) -> NoReturn:
        raise TypeError("keyrings hold key material and cannot be pickled")

    def on_encrypt(self, materials: EncryptionMaterials) -> EncryptionMaterials:
        if self._public is None:
            raise ConfigurationError("this RSA keyring has no public key")
        new_key = None
        data_key = materials.plaintext_data_key
        if data_key is None:
            data_key = new_key = self._rng(materials.suite.key_len)
        ct = self._public.encrypt(data_key, _padding(self.padding_scheme))
        edk = EncryptedDataKey(self.key_namespace, self.key_name.encode("utf-8"), ct)
        return add_encrypted_key(materials, edk, new_key)

    def on_decrypt(
        self, materials: DecryptionMaterials, encrypted_data_keys: Sequence[EncryptedDataKey]
    ) -> DecryptionMaterials:
        if materials.plaintext_data_key is not None or self._private is None:
            return materials
        name = self.key_name.encode("utf-8")
        for edk in encrypted_data_keys:
            if edk.provider_id != self.key_namespace or edk.provider_info != name:
                continue
            try:
                key = self._private.decrypt(edk.ciphertext, _padding(self.padding_scheme))
            except ValueError:
                continue
            if len(key) == materials.suite.key_len:
                return with_data_key(materials, key)
        return materials
