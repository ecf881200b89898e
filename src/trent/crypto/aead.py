"""AES-256-GCM sealing, the one symmetric primitive of the server (pyca `cryptography`).

Failures are opaque: :func:`open_` raises :class:`AeadError` with no detail, whatever
went wrong (tag, length, nonce).
"""

from __future__ import annotations

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

NONCE_LEN = 12
TAG_LEN = 16
KEY_LEN = 32


class AeadError(Exception):
    """Authentication failed. Deliberately carries no reason."""


def seal(key: bytes, nonce: bytes, plaintext: bytes, aad: bytes) -> bytes:
    """Return ciphertext || tag."""
    return AESGCM(key).encrypt(nonce, plaintext, aad)


def open_(key: bytes, nonce: bytes, ciphertext_and_tag: bytes, aad: bytes) -> bytes:
    try:
        return AESGCM(key).decrypt(nonce, ciphertext_and_tag, aad)
    except (InvalidTag, ValueError, TypeError, OverflowError):
        raise AeadError() from None
