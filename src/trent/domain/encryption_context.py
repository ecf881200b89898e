"""Canonical, length-prefixed encoding of an encryption context (spec §6.2, habits §10).

The context is bound into every symmetric ciphertext as AES-GCM additional data, so
its encoding must be injective: two different maps never encode alike. Layout::

    u16 pair_count
    repeated pair_count times, sorted by the UTF-8 bytes of the key:
        u16 len(key_utf8)   key_utf8
        u16 len(value_utf8) value_utf8

(all integers big-endian). ``{}`` and "no context" both encode to ``00 00`` (AWS
treats them as equal, spec §6.2). Lengths make ``{"ab": "c"}`` differ from
``{"a": "bc"}``; sorting makes the member order of the JSON irrelevant.
"""

from __future__ import annotations

import struct
from collections.abc import Mapping

_U16 = struct.Struct(">H")
EMPTY = b"\x00\x00"
MAX_FIELD = 0xFFFF


class ContextTooLarge(ValueError):
    """A key or value (or the pair count) does not fit its 16-bit length field."""


def encode(context: Mapping[str, str] | None) -> bytes:
    if not context:
        return EMPTY
    pairs = sorted((k.encode("utf-8", "surrogatepass"), v.encode("utf-8", "surrogatepass")) for k, v in context.items())
    if len(pairs) > MAX_FIELD:
        raise ContextTooLarge("too many pairs")
    parts = [_U16.pack(len(pairs))]
    for key, value in pairs:
        if len(key) > MAX_FIELD or len(value) > MAX_FIELD:
            raise ContextTooLarge("field too long")
        parts += (_U16.pack(len(key)), key, _U16.pack(len(value)), value)
    return b"".join(parts)


def decode(data: bytes) -> dict[str, str]:
    """Inverse of :func:`encode`; ValueError on anything that :func:`encode` can't produce."""
    try:
        return _decode(data)
    except struct.error:
        raise ValueError("truncated") from None


def _decode(data: bytes) -> dict[str, str]:
    (count,) = _U16.unpack_from(data, 0)
    pos = 2
    out: dict[str, str] = {}
    previous: bytes | None = None
    for _ in range(count):
        fields = []
        for _ in range(2):
            (n,) = _U16.unpack_from(data, pos)
            pos += 2
            if pos + n > len(data):
                raise ValueError("truncated")
            fields.append(bytes(data[pos : pos + n]))
            pos += n
        key, value = fields
        if previous is not None and key <= previous:
            raise ValueError("pairs not in canonical order")
        previous = key
        out[key.decode("utf-8", "surrogatepass")] = value.decode("utf-8", "surrogatepass")
    if pos != len(data):
        raise ValueError("trailing bytes")
    return out
