"""The software key store: material wrapped under the root key, sealed in-process.

Material at rest: ``RootKey.wrap(material, aad="trent/material/v1" | key id | material id)``.

Sealed payload (what follows the blob header, see ``trent.domain.ciphertext``)::

    salt 16 | nonce 12 | AES-256-GCM ciphertext | tag 16

Messages are encrypted under derived keys, ``HKDF-SHA256(material, salt,
"trent/kms/v1/data-key")``, never under the material itself. A random 96-bit GCM nonce
under one key is safe for about 2^32 messages (NIST SP 800-38D §8.3); a busy KMS key
passes that in days. So each derived key seals at most :data:`MESSAGES_PER_DATA_KEY`
(2^16) messages, each with its own random nonce (nonce collision probability under one
derived key < 2^-64; the nonces are random, not counted, so a forked worker that
inherits a derived key stays within that bound), then a new random salt derives the
next one. Sharing a salt between messages reveals only that they were sealed under the
same key material, which the blob header says anyway.

Reusing a derived key (issue 16 performance) saves an HKDF (~5 µs of CPU in the loaded
server) and AES's key schedule on every Encrypt; the bytes are the same format as
before, and opening does not care how often a salt was used. Decrypt keeps recently
derived keys too, keyed by (key id, material id, salt).
"""

from __future__ import annotations

import hashlib
import hmac
import itertools
import os
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from trent.crypto import aead
from trent.crypto.kdf import hkdf_sha256
from trent.domain.keys import KeyMaterial
from trent.domain.randomness import pooled_random
from trent.errors import InvalidCiphertext
from trent.keystores.base import KeyStoreCapabilities
from trent.keystores.root_key import RootKey

SALT_LEN = 16
_DATA_KEY_INFO = b"trent/kms/v1/data-key"
_MATERIAL_AAD = b"trent/material/v1\x00"
_MATERIAL_ID_LABEL = b"trent/material-id/v1\x00"
_CACHE_LIMIT = 10_000
MESSAGES_PER_DATA_KEY = 1 << 16
_OPENING_LIMIT = 4096


@dataclass(frozen=True, slots=True)
class _SealingKey:
    """The derived key a material's messages are sealed under now, and its salt."""

    salt: bytes
    key: aead.AeadKey
    uses: Iterator[int]  # itertools.count(1): next() is atomic under the GIL


def material_id_for(key_id: str, raw: bytes) -> str:
    """64 hex, derived from key id + material (spec §2.1: same material, same key -> same id).

    A keyed hash with the material as key: it reveals nothing about 256-bit material.
    """
    return hmac.digest(raw, _MATERIAL_ID_LABEL + key_id.encode(), hashlib.sha256).hex()


def _material_aad(key_id: str, material_id: str) -> bytes:
    return _MATERIAL_AAD + key_id.encode() + b"\x00" + material_id.encode()


material_aad = _material_aad  # public: `trent admin rewrap-root` re-wraps these rows


def _drop_key(cache: dict[Any, Any], key_id: str) -> None:
    """Remove a cache's entries of one key (keys are tuples that start with the key id)."""
    for k in [k for k in cache if k[0] == key_id]:
        del cache[k]


class SoftwareKeyStore:
    capabilities = KeyStoreCapabilities(
        name="software", material_extractable=True, accepts_external_material=True, hardware_backed=False
    )

    def __init__(
        self, root: RootKey, rng: Callable[[int], bytes] = os.urandom, public_rng: Callable[[int], bytes] | None = None
    ) -> None:
        self._root = root
        # Salts and nonces are public (they travel in the ciphertext): by default they come
        # from the per-thread pool of OS randomness (one getrandom(2) per ~146 Encrypts, ~1.5 µs
        # saved per call, issue 16); key material always comes from ``rng`` itself. An
        # injected ``rng`` (tests) serves both unless ``public_rng`` is given.
        self._public_rng = public_rng or (pooled_random if rng is os.urandom else rng)
        self._rng = rng
        # Unwrapped material by (key id, material id): one root unwrap per version,
        # not one per request. Bounded; cleared wholesale when full.
        self._plain: dict[tuple[str, str], bytes] = {}
        # By (key id, material id): the derived key sealing now (module doc); and derived
        # keys recently used to open, by (key id, material id, salt). Bounded like _plain.
        self._sealing: dict[tuple[str, str], _SealingKey] = {}
        self._opening: dict[tuple[str, str, bytes], aead.AeadKey] = {}
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return "SoftwareKeyStore()"

    def __reduce__(self):
        raise TypeError("key stores cannot be pickled")

    # --- material -------------------------------------------------------------

    def new_symmetric_material(self, key_id: str) -> tuple[str, bytes]:
        return self.wrap_material(key_id, self._rng(aead.KEY_LEN))

    def wrap_material(self, key_id: str, raw: bytes) -> tuple[str, bytes]:
        material_id = material_id_for(key_id, raw)
        return material_id, self._root.wrap(raw, _material_aad(key_id, material_id))

    def unwrap_material(self, material: KeyMaterial) -> bytes:
        cache_key = (material.key_id, material.material_id)
        raw = self._plain.get(cache_key)
        if raw is None:
            raw = self._root.unwrap(material.wrapped, _material_aad(material.key_id, material.material_id))
            with self._lock:
                if len(self._plain) >= _CACHE_LIMIT:
                    self._plain.clear()
                self._plain[cache_key] = raw
        return raw

    def forget(self, key_id: str) -> None:
        """Drop cached material of a deleted key."""
        with self._lock:
            for cache in (self._plain, self._sealing, self._opening):
                _drop_key(cache, key_id)

    def forget_all(self) -> None:
        """Drop every cached material and derived key (the root was sealed)."""
        with self._lock:
            self._plain.clear()
            self._sealing.clear()
            self._opening.clear()

    # --- data -------------------------------------------------------------------

    def seal(self, material: KeyMaterial, plaintext: bytes, aad: bytes) -> bytes:
        sealing = self._sealing.get((material.key_id, material.material_id))
        if sealing is None or next(sealing.uses) >= MESSAGES_PER_DATA_KEY:
            sealing = self._next_sealing_key(material)
        nonce = self._public_rng(aead.NONCE_LEN)
        return sealing.salt + nonce + sealing.key.seal(nonce, plaintext, aad)

    def _next_sealing_key(self, material: KeyMaterial) -> _SealingKey:
        """A fresh salt and its derived key, counted as used once (by the caller's message)."""
        salt = self._public_rng(SALT_LEN)
        sealing = _SealingKey(salt, self._derived_key(material, salt), itertools.count(1))
        with self._lock:
            if len(self._sealing) >= _CACHE_LIMIT:
                self._sealing.clear()
            self._sealing[(material.key_id, material.material_id)] = sealing
        return sealing

    def _derived_key(self, material: KeyMaterial, salt: bytes) -> aead.AeadKey:
        return aead.AeadKey(hkdf_sha256(self.unwrap_material(material), salt, _DATA_KEY_INFO))

    def open(self, material: KeyMaterial, payload: bytes | memoryview, aad: bytes) -> bytes:
        if len(payload) < SALT_LEN + aead.NONCE_LEN + aead.TAG_LEN:
            raise InvalidCiphertext(audit_reason="payload too short")
        payload = bytes(payload)
        salt = payload[:SALT_LEN]
        cache_key = (material.key_id, material.material_id, salt)
        key = self._opening.get(cache_key)
        if key is None:
            key = self._derived_key(material, salt)
            with self._lock:
                if len(self._opening) >= _OPENING_LIMIT:
                    self._opening.clear()
                self._opening[cache_key] = key
        nonce = payload[SALT_LEN : SALT_LEN + aead.NONCE_LEN]
        try:
            return key.open(nonce, payload[SALT_LEN + aead.NONCE_LEN :], aad)
        except aead.AeadError:
            raise InvalidCiphertext(audit_reason="tag check failed") from None

    def random_bytes(self, n: int) -> bytes:
        return self._rng(n)
