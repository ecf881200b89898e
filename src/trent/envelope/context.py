"""Encryption-context serialization (client-wire-formats.md §4.1 header item 4).

Layout of :func:`serialize` (the "key value pairs" block; empty context -> ``b""``)::

    uint16 pair_count
    repeat pair_count, sorted ascending by the UTF-8 bytes of the key:
        uint16 key_len   ‖ key (UTF-8)
        uint16 value_len ‖ value (UTF-8)

The header's AAD field is ``uint16 len(block) ‖ block`` (:func:`serialize_header_field`).
Length prefixes make the encoding injective (habit 10): ``{"ab": "c"} != {"a": "bc"}``.
"""

from __future__ import annotations

import struct
from collections.abc import Mapping

from .errors import ConfigurationError, DecryptionFailed

#: Reserved prefix of keys the library adds itself (§4.1 "Footer": the public key entry).
RESERVED_PREFIX = "aws-crypto-"
PUBLIC_KEY_KEY = "aws-crypto-public-key"
_MAX = 0xFFFF

Context = Mapping[str, str]


def _encode_pairs(ctx: Context) -> list[tuple[bytes, bytes]]:
    pairs: list[tuple[bytes, bytes]] = []
    for k, v in ctx.items():
        if not isinstance(k, str) or not isinstance(v, str):
            raise ConfigurationError("encryption context keys and values must be strings")
        try:
            kb, vb = k.encode("utf-8"), v.encode("utf-8")
        except UnicodeEncodeError:
            raise ConfigurationError("encryption context must be valid UTF-8") from None
        if len(kb) > _MAX or len(vb) > _MAX:
            raise ConfigurationError("encryption context entry too long")
        pairs.append((kb, vb))
    pairs.sort(key=lambda p: p[0])
    return pairs


def serialize(ctx: Context) -> bytes:
    """Count + sorted pairs; ``b""`` for the empty context."""
    if not ctx:
        return b""
    if len(ctx) > _MAX:
        raise ConfigurationError("too many encryption context entries")
    out = bytearray(struct.pack(">H", len(ctx)))
    for kb, vb in _encode_pairs(ctx):
        out += struct.pack(">H", len(kb)) + kb + struct.pack(">H", len(vb)) + vb
    if len(out) > _MAX:
        raise ConfigurationError("serialized encryption context exceeds 65535 bytes")
    return bytes(out)


def serialize_header_field(ctx: Context) -> bytes:
    """``uint16 total length ‖ serialize(ctx)`` — the header AAD field."""
    block = serialize(ctx)
    return struct.pack(">H", len(block)) + block


def deserialize(block: bytes) -> dict[str, str]:
    """Inverse of :func:`serialize`. Strict: no trailing bytes, no duplicate keys.

    Any defect raises :class:`DecryptionFailed` (the block comes from an untrusted message).
    """
    if not block:
        return {}
    try:
        (count,) = struct.unpack_from(">H", block, 0)
        pos = 2
        out: dict[str, str] = {}
        for _ in range(count):
            (kl,) = struct.unpack_from(">H", block, pos)
            k = block[pos + 2 : pos + 2 + kl]
            pos += 2 + kl
            (vl,) = struct.unpack_from(">H", block, pos)
            v = block[pos + 2 : pos + 2 + vl]
            pos += 2 + vl
            if len(k) != kl or len(v) != vl:
                raise ValueError
            key = k.decode("utf-8")
            if key in out:
                raise ValueError
            out[key] = v.decode("utf-8")
        if pos != len(block) or count == 0:
            raise ValueError
        return out
    except (struct.error, ValueError, UnicodeDecodeError):
        raise DecryptionFailed() from None


def check_caller_context(ctx: Context) -> dict[str, str]:
    """Copy a caller's context, refusing the reserved ``aws-crypto-`` prefix."""
    out = dict(ctx)
    _encode_pairs(out)
    for k in out:
        if k.startswith(RESERVED_PREFIX):
            raise ConfigurationError(f"encryption context keys may not start with {RESERVED_PREFIX!r}")
    return out


def frozen(ctx: Mapping[str, str]) -> Mapping[str, str]:
    """A read-only copy (materials and headers are immutable)."""
    from types import MappingProxyType

    return MappingProxyType(dict(ctx))
