"""An in-memory key store: the fake for unit tests (habits §9).

It keeps raw material in a dict and seals with plain AES-GCM under it; ``wrapped``
is just a random handle. Nothing here is persistent or meant for production.

Sealed payload: ``nonce 12 | AES-256-GCM ciphertext | tag 16``.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable

from trent.crypto import aead
from trent.domain.keys import KeyMaterial
from trent.errors import InvalidCiphertext
from trent.keystores.base import KeyStoreCapabilities, KeyStoreError

_HANDLE = b"MEM\x01"


class MemoryKeyStore:
    capabilities = KeyStoreCapabilities(
        name="memory", material_extractable=True, accepts_external_material=True, hardware_backed=False
    )

    def __init__(self, rng: Callable[[int], bytes] = os.urandom) -> None:
        self._rng = rng
        self._material: dict[bytes, bytes] = {}

    def __repr__(self) -> str:
        return f"MemoryKeyStore({len(self._material)} materials)"

    def __reduce__(self):
        raise TypeError("key stores cannot be pickled")

    def new_symmetric_material(self, key_id: str) -> tuple[str, bytes]:
        return self.wrap_material(key_id, self._rng(aead.KEY_LEN))

    def wrap_material(self, key_id: str, raw: bytes) -> tuple[str, bytes]:
        handle = _HANDLE + self._rng(16)
        self._material[handle] = bytes(raw)
        return hashlib.sha256(key_id.encode() + handle).hexdigest(), handle

    def unwrap_material(self, material: KeyMaterial) -> bytes:
        raw = self._material.get(bytes(material.wrapped))
        if raw is None:
            raise KeyStoreError("no such material in this memory store")
        return raw

    def seal(self, material: KeyMaterial, plaintext: bytes, aad: bytes) -> bytes:
        nonce = self._rng(aead.NONCE_LEN)
        return nonce + aead.seal(self.unwrap_material(material), nonce, plaintext, aad)

    def open(self, material: KeyMaterial, payload: bytes | memoryview, aad: bytes) -> bytes:
        if len(payload) < aead.NONCE_LEN + aead.TAG_LEN:
            raise InvalidCiphertext(audit_reason="payload too short")
        raw = self.unwrap_material(material)
        payload = bytes(payload)
        try:
            return aead.open_(raw, payload[: aead.NONCE_LEN], payload[aead.NONCE_LEN :], aad)
        except aead.AeadError:
            raise InvalidCiphertext(audit_reason="tag check failed") from None

    def random_bytes(self, n: int) -> bytes:
        return self._rng(n)
