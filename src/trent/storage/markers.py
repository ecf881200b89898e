"""Opaque pagination markers (``Page.next_marker``).

A marker is the last sort key of the page it ends, framed so that anything this store
did not issue is rejected with :class:`BadMarker` instead of silently restarting or
skipping a listing (habits §10: versioned, length-implicit, checked)::

    urlsafe_b64encode_nopad( VERSION(1) || KIND(1) || payload || check(4) )

    VERSION  0x01
    KIND     which listing issued it (keys, aliases, ...); a marker from one
             listing is rejected by another
    payload  keys: the row's creation sequence, 8 bytes big-endian;
             aliases: the alias name, UTF-8
    check    first 4 bytes of BLAKE2b(VERSION || KIND || payload), so truncated or
             garbled markers fail; this is an integrity check, not authentication —
             a marker only says where to resume, never what a caller may see.
"""

from __future__ import annotations

import base64
import binascii
import enum
import hashlib

from trent.storage.repositories import BadMarker

VERSION = 0x01
_CHECK_LEN = 4


class MarkerKind(enum.IntEnum):
    KEYS = 1
    ALIASES = 2
    GRANTS = 3
    RETIRABLE_GRANTS = 4


def _check(head_and_payload: bytes) -> bytes:
    return hashlib.blake2b(head_and_payload, digest_size=_CHECK_LEN).digest()


def _encode(kind: MarkerKind, payload: bytes) -> str:
    body = bytes((VERSION, kind)) + payload
    return base64.urlsafe_b64encode(body + _check(body)).rstrip(b"=").decode("ascii")


def _decode(kind: MarkerKind, marker: str) -> bytes:
    try:
        raw = base64.urlsafe_b64decode(marker + "=" * (-len(marker) % 4))
    except (binascii.Error, ValueError) as exc:  # ValueError: non-ASCII input
        raise BadMarker("pagination marker is not one this store issued") from exc
    body, check = raw[:-_CHECK_LEN], raw[-_CHECK_LEN:]
    if len(body) < 2 or body[0] != VERSION or body[1] != kind or _check(body) != check:
        raise BadMarker("pagination marker is not one this store issued")
    return body[2:]


def encode_sequence(kind: MarkerKind, sequence: int) -> str:
    return _encode(kind, sequence.to_bytes(8, "big", signed=False))


def decode_sequence(kind: MarkerKind, marker: str) -> int:
    payload = _decode(kind, marker)
    if len(payload) != 8:
        raise BadMarker("pagination marker is not one this store issued")
    return int.from_bytes(payload, "big", signed=False)


def encode_name(kind: MarkerKind, name: str) -> str:
    return _encode(kind, name.encode("utf-8"))


def decode_name(kind: MarkerKind, marker: str) -> str:
    try:
        return _decode(kind, marker).decode("utf-8")
    except UnicodeDecodeError as exc:
        raise BadMarker("pagination marker is not one this store issued") from exc
