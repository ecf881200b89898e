"""HKDF-SHA256 (RFC 5869) for one output block, on the stdlib's C HMAC.

Used on the Encrypt hot path to derive a fresh AES key per message; for a single
32-byte block, HKDF is exactly two HMAC calls, which ``hmac.digest`` does in about a
microsecond (pyca's HKDF object costs several). Checked against RFC 5869 test
case 1 in the unit tests.
"""

from __future__ import annotations

import hashlib
import hmac

_HASH_LEN = 32


def hkdf_sha256(ikm: bytes, salt: bytes, info: bytes, length: int = 32) -> bytes:
    if not 0 < length <= 255 * _HASH_LEN:
        raise ValueError("HKDF-SHA256 output length out of range")
    # RFC 5869 §2.2 extract, §2.3 expand
    prk = hmac.digest(salt or bytes(_HASH_LEN), ikm, hashlib.sha256)
    okm = b""
    block = b""
    counter = 1
    while len(okm) < length:
        block = hmac.digest(prk, block + info + bytes((counter,)), hashlib.sha256)
        okm += block
        counter += 1
    return okm[:length]
