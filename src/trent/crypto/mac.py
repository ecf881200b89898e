"""HMAC (RFC 2104), full-length tags (spec §3.4); verification in constant time."""

from __future__ import annotations

import hmac
from types import MappingProxyType

_DIGESTS = MappingProxyType(
    {"HMAC_SHA_224": "sha224", "HMAC_SHA_256": "sha256", "HMAC_SHA_384": "sha384", "HMAC_SHA_512": "sha512"}
)


def generate(algorithm: str, key: bytes, message: bytes) -> bytes:
    return hmac.digest(key, message, _DIGESTS[algorithm])


def verify(algorithm: str, key: bytes, message: bytes, tag: bytes) -> bool:
    return hmac.compare_digest(hmac.digest(key, message, _DIGESTS[algorithm]), tag)

