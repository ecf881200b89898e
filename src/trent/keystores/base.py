"""Where key material lives: one small Protocol, capabilities as data (habits §8).

The service never touches raw material. It asks a :class:`KeyStore` to create
material for a key, to seal and open data under a material version, and to wrap
material it was given (BYOK import, asymmetric private keys). What a store can do
differs by store, so it says so in :class:`KeyStoreCapabilities` instead of the
service testing types: the software store can hand unwrapped material to the
process (needed for asymmetric keys); a PKCS#11 HSM store cannot, because its keys
are created non-extractable.

The sealed payload format belongs to the store (see ``trent.domain.ciphertext``):
the service only frames it with the blob header and passes the AAD.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from trent.domain.keys import KeyMaterial


class KeyStoreError(Exception):
    """The store itself failed (unreachable HSM, corrupted wrapping, sealed root)."""


class KeyStoreSealed(KeyStoreError):
    """The root of trust is sealed; nothing can be wrapped or unwrapped until unsealed."""


@dataclass(frozen=True, slots=True)
class KeyStoreCapabilities:
    name: str
    # Material can be unwrapped into process memory (software store: yes; HSM: no).
    material_extractable: bool
    # The store accepts raw material from outside (import, asymmetric private keys).
    accepts_external_material: bool
    # Material lives in tamper-resistant hardware.
    hardware_backed: bool


class KeyStore(Protocol):
    capabilities: KeyStoreCapabilities

    def new_symmetric_material(self, key_id: str) -> tuple[str, bytes]:
        """Create AES-256 material for ``key_id``; return (material_id, wrapped)."""
        ...

    def wrap_material(self, key_id: str, raw: bytes) -> tuple[str, bytes]:
        """Take raw material (import, private keys); return (material_id, wrapped)."""
        ...

    def unwrap_material(self, material: KeyMaterial) -> bytes:
        """Raw material, for stores whose capabilities say ``material_extractable``."""
        ...

    def seal(self, material: KeyMaterial, plaintext: bytes, aad: bytes) -> bytes:
        """Encrypt under ``material``; returns the store's sealed payload."""
        ...

    def open(self, material: KeyMaterial, payload: bytes | memoryview, aad: bytes) -> bytes:
        """Inverse of :meth:`seal`. Any failure raises InvalidCiphertext (opaque)."""
        ...

    def random_bytes(self, n: int) -> bytes: ...
