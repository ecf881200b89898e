"""The HSM-held root of trust (issue 7): a non-extractable AES-256 key inside a PKCS#11 token.

Everything the root wraps (software key material, secret access keys, custom key store
PINs) is encrypted *by the HSM* with CKM_AES_GCM under the key labelled
``trent-root`` (created on first start: CKA_SENSITIVE, not CKA_EXTRACTABLE); the root
key itself never exists in process memory. Wrapped layout::

    version 0x02 | IV 12 | AES-GCM ciphertext | tag 16     (the caller's AAD names the row)

Version 0x02 tells these blobs from the in-memory root's 0x01 (``root_key.py``), which
is how ``trent admin rewrap-root`` recognises rows already moved.
"""

from __future__ import annotations

from trent.errors import InvalidCiphertext
from trent.keystores.base import KeyStoreError
from trent.keystores.pkcs11 import Pkcs11KeyStore, TokenConfig

ROOT_LABEL = "trent-root"
VERSION = 0x02


class HsmRootKey:
    def __init__(self, config: TokenConfig, pin: str, label: str = ROOT_LABEL) -> None:
        self._store = Pkcs11KeyStore(config, pin, "root")
        self._object_id = self._store.ensure_key(label)

    def __repr__(self) -> str:
        return "HsmRootKey(<in the HSM>)"

    def __reduce__(self):
        raise TypeError("root keys cannot be pickled")

    def wrap(self, plaintext: bytes, aad: bytes) -> bytes:
        return bytes((VERSION,)) + self._store.encrypt_with(self._object_id, plaintext, aad)

    def unwrap(self, blob: bytes, aad: bytes) -> bytes:
        if len(blob) < 1 or blob[0] != VERSION:
            raise KeyStoreError("wrapped blob is not from the HSM root")
        try:
            return self._store.decrypt_with(self._object_id, bytes(blob[1:]), aad)
        except InvalidCiphertext:
            raise KeyStoreError("wrapped blob does not open under the HSM root key") from None

    @property
    def token(self) -> Pkcs11KeyStore:
        """The logged-in token, for keys that live beside the root (audit digest signing)."""
        return self._store

    def close(self) -> None:
        self._store.close()


def read_pin(pin_file: str | None, pin_env: str | None) -> str:
    """The token PIN from a file (first line) or an environment variable's value."""
    if pin_file:
        with open(pin_file) as f:
            return f.readline().strip()
    if pin_env:
        return pin_env
    raise KeyStoreError("the HSM root needs a PIN: --hsm-root-pin-file or TRENT_HSM_ROOT_PIN")
