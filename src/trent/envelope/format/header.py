"""Message header: serialize (v2) and parse (v1, v2). client-wire-formats.md §4.1.

Header body, version 2 (all integers big-endian)::

    0x02                      version
    uint16                    algorithm suite ID
    32 bytes                  message ID
    uint16 n ‖ n bytes        AAD = serialized encryption context (see context.py)
    uint16 count (> 0)        encrypted data keys, then per EDK:
        uint16 ‖ provider ID (UTF-8) ‖ uint16 ‖ provider info ‖ uint16 ‖ EDK ciphertext
    0x02                      content type (framed)
    uint32                    frame length
    32 bytes                  algorithm suite data (commit key)

Header body, version 1::

    0x01 ‖ 0x80 (type) ‖ uint16 suite ‖ 16-byte message ID ‖ AAD ‖ EDKs ‖
    content type (0x01 non-framed | 0x02 framed) ‖ 4 reserved zero bytes ‖
    uint8 IV length (12) ‖ uint32 frame length

Header authentication follows the body: v2 = 16-byte tag; v1 = 12-byte IV (zeros) ‖ tag.
The tag is AES-GCM(DEK, IV = 12 zero bytes, plaintext = empty,
AAD = header body ‖ serialize(required-only context)) — see :func:`auth_tag`.
"""

from __future__ import annotations

import struct
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from .. import context as ctxmod
from ..errors import ConfigurationError, DecryptionFailed
from ..materials import EncryptedDataKey
from ..suites import SUITES, AlgorithmSuite

FRAMED = 0x02
NON_FRAMED = 0x01
IV_LEN = 12
TAG_LEN = 16
ZERO_IV = bytes(IV_LEN)
_U16 = struct.Struct(">H")
_U32 = struct.Struct(">I")


class Reader(Protocol):
    def read_exact(self, n: int) -> bytes: ...


@dataclass(frozen=True, slots=True)
class MessageHeader:
    version: int
    suite: AlgorithmSuite
    message_id: bytes
    stored_context: Mapping[str, str]  # the context as written in the header
    encrypted_data_keys: tuple[EncryptedDataKey, ...]
    content_type: int
    frame_length: int
    suite_data: bytes = b""  # v2: the commit key


def _blob(b: bytes) -> bytes:
    if len(b) > 0xFFFF:
        raise ConfigurationError("header field longer than 65535 bytes")
    return _U16.pack(len(b)) + b


def serialize_body(h: MessageHeader) -> bytes:
    """Serialize a version-2 header body (the only version this library writes)."""
    if h.version != 2 or h.content_type != FRAMED:
        raise ConfigurationError("only framed version-2 messages are written")
    if not h.encrypted_data_keys:
        raise ConfigurationError("a message needs at least one encrypted data key")
    parts = [
        b"\x02",
        h.suite.id_bytes,
        h.message_id,
        ctxmod.serialize_header_field(h.stored_context),
        _U16.pack(len(h.encrypted_data_keys)),
    ]
    for edk in h.encrypted_data_keys:
        parts += [_blob(edk.provider_id.encode("utf-8")), _blob(edk.provider_info), _blob(edk.ciphertext)]
    parts += [bytes((FRAMED,)), _U32.pack(h.frame_length), h.suite_data]
    return b"".join(parts)


def auth_aad(body: bytes, required_context: Mapping[str, str]) -> bytes:
    return body + ctxmod.serialize(required_context)


def auth_tag(dek: bytes, body: bytes, required_context: Mapping[str, str]) -> bytes:
    """The header-authentication tag (16 bytes)."""
    return AESGCM(dek).encrypt(ZERO_IV, b"", auth_aad(body, required_context))


def serialize_auth(version: int, tag: bytes) -> bytes:
    return tag if version == 2 else ZERO_IV + tag


def verify_auth(dek: bytes, body: bytes, required_context: Mapping[str, str], iv: bytes, tag: bytes) -> None:
    try:
        AESGCM(dek).decrypt(iv, tag, auth_aad(body, required_context))
    except (InvalidTag, ValueError):
        raise DecryptionFailed() from None


class _Collect:
    """Reads through a Reader while keeping the bytes (the header body is AAD)."""

    def __init__(self, r: Reader) -> None:
        self.r = r
        self.parts: list[bytes] = []

    def take(self, n: int) -> bytes:
        b = self.r.read_exact(n)
        self.parts.append(b)
        return b

    def u8(self) -> int:
        return self.take(1)[0]

    def u16(self) -> int:
        return int(_U16.unpack(self.take(2))[0])

    def u32(self) -> int:
        return int(_U32.unpack(self.take(4))[0])

    def blob(self) -> bytes:
        return self.take(self.u16())


def parse(r: Reader, max_encrypted_data_keys: int | None = None) -> tuple[MessageHeader, bytes]:
    """Parse a header body; returns it and its raw bytes. Every defect -> DecryptionFailed."""
    c = _Collect(r)
    try:
        version = c.u8()
        if version == 1 and c.u8() != 0x80:
            raise ValueError
        if version not in (1, 2):
            raise ValueError
        suite = SUITES.get(c.u16())
        if suite is None or suite.message_format != version:
            raise ValueError
        message_id = c.take(suite.message_id_len)
        aad = c.blob()
        stored = ctxmod.deserialize(aad)
        count = c.u16()
        if count == 0 or (max_encrypted_data_keys is not None and count > max_encrypted_data_keys):
            raise ValueError
        edks = []
        for _ in range(count):
            pid = c.blob().decode("utf-8")
            edks.append(EncryptedDataKey(pid, c.blob(), c.blob()))
        content_type = c.u8()
        if version == 1:
            if c.take(4) != bytes(4) or c.u8() != IV_LEN:
                raise ValueError
            frame_length = c.u32()
            if content_type not in (FRAMED, NON_FRAMED):
                raise ValueError
            suite_data = b""
        else:
            frame_length = c.u32()
            suite_data = c.take(suite.suite_data_len)
            # v2 messages may be non-framed too: the SDK writes them with frame_length=0 and
            # reads them (issue 15); the body is laid out as in v1 (frames.py docstring)
            if content_type not in (FRAMED, NON_FRAMED):
                raise ValueError
        if (content_type == FRAMED) != (frame_length > 0):
            raise ValueError
    except (ValueError, UnicodeDecodeError, struct.error):
        raise DecryptionFailed() from None
    header = MessageHeader(version, suite, message_id, ctxmod.frozen(stored),
                           tuple(edks), content_type, frame_length, suite_data)
    return header, b"".join(c.parts)


def parse_auth(r: Reader, version: int) -> tuple[bytes, bytes, bytes]:
    """Returns (iv, tag, raw bytes) of the header-authentication field."""
    if version == 2:
        tag = r.read_exact(TAG_LEN)
        return ZERO_IV, tag, tag
    raw = r.read_exact(IV_LEN + TAG_LEN)
    return raw[:IV_LEN], raw[IV_LEN:], raw
