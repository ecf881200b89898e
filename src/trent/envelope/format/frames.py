"""Framed body layout and per-frame AAD (client-wire-formats.md §4.1 "Body (framed)").

Regular frame (exactly ``frame_length`` bytes of content)::

    uint32 seq ‖ IV (12) ‖ ciphertext (frame_length) ‖ tag (16)

Final frame (exactly one, 0..frame_length bytes of content)::

    0xFFFFFFFF ‖ uint32 seq ‖ IV (12) ‖ uint32 content_length ‖ ciphertext ‖ tag (16)

IV = ``seq`` big-endian in the last 4 bytes, zero-padded to 12. Sequence numbers start at 1.

Frame AAD::

    message ID ‖ "AWSKMSEncryptionClient Frame" | "... Final Frame" | "... Single Block"
    ‖ uint32 seq ‖ uint64 plaintext length of this frame

Non-framed body (content type 0x01; written by the SDK in v1 and v2 messages when asked for frame
length 0, never by Trent): IV (12) ‖ uint64 ciphertext length ‖ ciphertext ‖ tag (16), seq = 1.

Footer (signed suites): uint16 signature length ‖ DER ECDSA signature.
"""

from __future__ import annotations

import struct

FRAME_STR = b"AWSKMSEncryptionClient Frame"
FINAL_FRAME_STR = b"AWSKMSEncryptionClient Final Frame"
SINGLE_BLOCK_STR = b"AWSKMSEncryptionClient Single Block"
FINAL_MARKER = 0xFFFFFFFF
MAX_SEQ = 0xFFFFFFFF  # §4.1 "Limits": at most 2^32 - 1 frames
IV_LEN = 12
TAG_LEN = 16
#: bytes a regular frame adds to its content: seq + IV + tag
REGULAR_OVERHEAD = 4 + IV_LEN + TAG_LEN
#: bytes a final frame adds: marker + seq + IV + length + tag
FINAL_OVERHEAD = 4 + 4 + IV_LEN + 4 + TAG_LEN
MAX_FRAME_LENGTH = 2**31 - 1
MAX_NON_FRAMED = 2**36 - 32

U16 = struct.Struct(">H")
U32 = struct.Struct(">I")
U64 = struct.Struct(">Q")
#: seq field and IV of a regular frame in one pack: seq ‖ 8 zero bytes ‖ seq
SEQ_AND_IV = struct.Struct(">I8xI")
#: final frame prefix: marker ‖ seq ‖ 8 zero bytes ‖ seq ‖ content length
FINAL_PREFIX = struct.Struct(">II8xII")
#: the variable tail of the frame AAD
AAD_TAIL = struct.Struct(">IQ")


def iv_for(seq: int) -> bytes:
    return bytes(8) + U32.pack(seq)


def frame_aad(message_id: bytes, kind: bytes, seq: int, length: int) -> bytes:
    return message_id + kind + AAD_TAIL.pack(seq, length)


def serialize_footer(signature: bytes) -> bytes:
    return U16.pack(len(signature)) + signature
