"""HKDF-SHA256 (RFC 5869) on hashlib's C SHA-256, for the Encrypt hot path.

Used to derive a fresh AES key per message. For a 32-byte output HKDF is exactly two
HMAC-SHA256 calls. Under OpenSSL 3 ``hmac.digest`` spends most of its ~1.3 µs setting up
an HMAC context; the same HMAC written out from its definition (RFC 2104 §2: two SHA-256
calls over the key XOR the pads) costs about half, so the derivation drops from ~3 µs
to ~1.5 µs per message. Checked against RFC 5869 test case 1, against pyca's HKDF and
against ``hmac.digest`` (keys longer than a block included) in the unit tests.
"""

from __future__ import annotations

import hashlib

_HASH_LEN = 32
_BLOCK = 64  # SHA-256 block size (RFC 2104 "B")
_IPAD = bytes(x ^ 0x36 for x in range(256))
_OPAD = bytes(x ^ 0x5C for x in range(256))
_ZERO_SALT = bytes(_HASH_LEN)


def hmac_sha256(key: bytes, message: bytes) -> bytes:
    """RFC 2104 HMAC-SHA256: H((K ^ opad) || H((K ^ ipad) || message)), K padded to a block."""
    sha256 = hashlib.sha256
    if len(key) > _BLOCK:
        key = sha256(key).digest()  # RFC 2104 §2: longer keys are hashed first
    block = key.ljust(_BLOCK, b"\0")
    return sha256(block.translate(_OPAD) + sha256(block.translate(_IPAD) + message).digest()).digest()


def hkdf_sha256(ikm: bytes, salt: bytes, info: bytes, length: int = 32) -> bytes:
    if not 0 < length <= 255 * _HASH_LEN:
        raise ValueError("HKDF-SHA256 output length out of range")
    # RFC 5869 §2.2 extract (an absent salt is HashLen zero bytes), §2.3 expand
    prk = hmac_sha256(salt or _ZERO_SALT, ikm)
    if length == _HASH_LEN:  # the hot path: T(1) only
        return hmac_sha256(prk, info + b"\x01")
    okm = b""
    block = b""
    counter = 1
    while len(okm) < length:
        block = hmac_sha256(prk, block + info + bytes((counter,)))
        okm += block
        counter += 1
    return okm[:length]
