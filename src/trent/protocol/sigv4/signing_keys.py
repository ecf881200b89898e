"""Signing keys: their derivation, the signature they make, and their cache (spec §1.6 step 6).

A derived key changes only daily per scope, so :class:`SigningKeyCache` keeps it with
its HMAC pads pre-absorbed (:class:`_PreparedKey`) and never keys on the secret itself.
"""

from __future__ import annotations

import hashlib
import hmac

from trent.protocol.sigv4.constants import ENCODE_ERRORS, TERMINATOR


def signing_key(secret: str, date: str, region: str, service: str) -> bytes:
    """Spec §1.6 step 6: HMAC chain ``"AWS4"+secret`` -> date -> region -> service -> aws4_request."""
    k = hmac.digest(("AWS4" + secret).encode("utf-8", ENCODE_ERRORS), date.encode("utf-8", ENCODE_ERRORS), "sha256")
    k = hmac.digest(k, region.encode("utf-8", ENCODE_ERRORS), "sha256")
    k = hmac.digest(k, service.encode("utf-8", ENCODE_ERRORS), "sha256")
    return hmac.digest(k, TERMINATOR.encode("ascii"), "sha256")


def signature(key: bytes, string_to_sign: str) -> str:
    """Spec §1.6 step 6: lowercase hex HMAC-SHA256 of the string to sign."""
    return hmac.digest(key, string_to_sign.encode("utf-8", ENCODE_ERRORS), "sha256").hex()


class _PreparedKey:
    """A signing key with its HMAC inner/outer pads already absorbed (RFC 2104 §2).

    Copying two prepared SHA-256 states is ~2x faster than ``hmac.digest`` under
    OpenSSL 3, whose per-call HMAC setup dominates for short messages.
    """

    __slots__ = ("_inner", "_outer")

    def __init__(self, key: bytes) -> None:
        block = key.ljust(64, b"\0")  # SHA-256 block size; a derived key is 32 bytes
        self._inner = hashlib.sha256(block.translate(_IPAD))
        self._outer = hashlib.sha256(block.translate(_OPAD))

    def hexdigest(self, message: bytes) -> str:
        inner = self._inner.copy()
        inner.update(message)
        outer = self._outer.copy()
        outer.update(inner.digest())
        return outer.hexdigest()


_IPAD = bytes(x ^ 0x36 for x in range(256))
_OPAD = bytes(x ^ 0x5C for x in range(256))


class SigningKeyCache:
    """Bounded cache of derived signing keys (they change only daily per scope).

    The cache key is ``(access key id, hash(secret), date, region, service)``. ``hash()``
    of a str is SipHash under a per-process random key (unless PYTHONHASHSEED pins it),
    so the secret itself is never a dict key and nothing offline-checkable is stored;
    a rotated secret gets a new entry. Oldest entries are evicted first.
    """

    __slots__ = ("_entries", "_max")

    def __init__(self, max_entries: int = 1024) -> None:
        self._entries: dict[tuple[str, int, str, str, str], _PreparedKey] = {}
        self._max = max_entries

    def prepared(
        self, access_key_id: str, secret: str, date: str, region: str, service: str
    ) -> _PreparedKey:
        cache_key = (access_key_id, hash(secret), date, region, service)
        prepared = self._entries.get(cache_key)
        if prepared is None:
            prepared = _PreparedKey(signing_key(secret, date, region, service))
            if len(self._entries) >= self._max:
                try:
                    del self._entries[next(iter(self._entries))]
                except (StopIteration, KeyError, RuntimeError):
                    self._entries.clear()
            self._entries[cache_key] = prepared
        return prepared

    def __len__(self) -> int:
        return len(self._entries)
