"""HKDF-SHA256 (RFC 5869) on hashlib's SHA-256, for the per-message keys of the hot path.

Every Encrypt and Decrypt derives a fresh AES key (keystores/software.py), and S3 derives
per-object keys: two HMAC calls per derivation. Under OpenSSL 3 most of an HMAC of a
short message is its setup (provider fetch, context allocation), and inside the loaded
server, its caches cold, an HKDF with ``hmac.digest`` measured 6.0-6.7 µs of CPU. The
HMAC below, two SHA-256 calls over the padded key (RFC 2104 §2, the construction
CPython's own ``hmac`` module falls back to without OpenSSL), measured 4.8-5.2 µs there
(~1.2 µs per HMAC in a loop against 1.4; issue 16 performance, bench/README.md 2026-12-06).

The pads are XORed into the key as one integer, not with a 256-byte translation table
as CPython's ``hmac`` does: the keys here are secret (the PRK, the KMS key material's
derivations), and a table indexed by secret bytes is a cache-timing channel.

Checked against RFC 5869 test case 1 and pyca's HKDF (tests/unit/crypto/test_kdf.py).
"""

from __future__ import annotations

import hashlib

_HASH_LEN = 32
_BLOCK = 64  # SHA-256's block size: RFC 2104's B
_IPAD = int.from_bytes(b"\x36" * _BLOCK, "big")
_OPAD = int.from_bytes(b"\x5c" * _BLOCK, "big")
_sha256 = hashlib.sha256


def hmac_sha256(key: bytes, message: bytes) -> bytes:
    """RFC 2104 HMAC-SHA256: H((K ^ opad) || H((K ^ ipad) || message))."""
    if len(key) > _BLOCK:
        key = _sha256(key).digest()
    k = int.from_bytes(key.ljust(_BLOCK, b"\0"), "big")
    inner = _sha256((k ^ _IPAD).to_bytes(_BLOCK, "big") + message).digest()
    return _sha256((k ^ _OPAD).to_bytes(_BLOCK, "big") + inner).digest()


def hkdf_sha256(ikm: bytes, salt: bytes, info: bytes, length: int = 32) -> bytes:
    if not 0 < length <= 255 * _HASH_LEN:
        raise ValueError("HKDF-SHA256 output length out of range")
    # RFC 5869 §2.2 extract, §2.3 expand
    prk = hmac_sha256(salt or bytes(_HASH_LEN), ikm)
    okm = b""
    block = b""
    counter = 1
    while len(okm) < length:
        block = hmac_sha256(prk, block + info + bytes((counter,)))
        okm += block
        counter += 1
    return okm[:length]
