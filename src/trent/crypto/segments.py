"""Object content in authenticated segments (issue 17: S3 server-side encryption).

Every stored content blob (a single-part object, or one part of a multipart object)
is::

    header (24 bytes)
      0       version               0x01
      1       segment size, log2    16 (64 KiB) in version 1
      2..3    reserved              zero
      4..7    part number           uint32 big-endian (0: a single-part object)
      8..23   content id            16 random bytes, new for every write (PUT, part, copy)
    segment 0 .. n-1
      AES-256-GCM(plaintext[i*S : (i+1)*S]) || tag (16)
      n = max(1, ceil(length / S))   (an empty object is one empty segment: a tag)

    segment key = HKDF-SHA256(ikm = data key, salt = content id, info = "trent/s3/segments/v1")
    nonce_i     = uint32 0 || uint64 i       (big-endian; unique: one key per content id)
    AAD_i       = header || uint64 i || final flag (1 byte: 1 for i = n-1, else 0)

Why this shape:

* Range GETs decrypt only the segments they overlap: segment i starts at byte
  ``24 + i * (S + 16)``; nothing before it is read.
* The content id (random per write, kept in the object's database row) salts the
  segment key and sits in every AAD, so the data key of a multipart upload or an S3
  Bucket Key-derived key can be shared by many blobs without ever reusing a
  (key, nonce) pair, and a blob moved under another object's row fails its first tag.
* The position (segment index, part number) is in the AAD and the final flag marks the
  last segment: reordering, swapping, dropping or truncating segments (even at a
  segment boundary) fails authentication.
* The reader rebuilds the expected header from the database (content id, part number)
  and uses *that* as AAD; the blob's own header is only checked for its version.

Failures are opaque (habits §5): :class:`SegmentError`, no detail.
"""

from __future__ import annotations

import struct
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from trent.crypto.kdf import hkdf_sha256

VERSION = 1
SEGMENT_LOG2 = 16
SEGMENT_SIZE = 1 << SEGMENT_LOG2
TAG_LEN = 16
HEADER_LEN = 24
CONTENT_ID_LEN = 16
_INFO = b"trent/s3/segments/v1"
_HEADER = struct.Struct(">BBHI16s")
_INDEX = struct.Struct(">Q")
_NONCE = struct.Struct(">IQ")


class SegmentError(Exception):
    """A blob did not authenticate (or is not one of ours). Deliberately no detail."""


def header(part_number: int, content_id: bytes) -> bytes:
    if len(content_id) != CONTENT_ID_LEN or not 0 <= part_number < 1 << 32:
        raise ValueError("content id must be 16 bytes and the part number a uint32")
    return _HEADER.pack(VERSION, SEGMENT_LOG2, 0, part_number, content_id)


def segment_count(length: int) -> int:
    return max(1, -(-length // SEGMENT_SIZE))


def stored_length(length: int) -> int:
    """Bytes the blob of a ``length``-byte plaintext occupies."""
    return HEADER_LEN + length + segment_count(length) * TAG_LEN


def _aead(data_key: bytes, content_id: bytes) -> AESGCM:
    return AESGCM(hkdf_sha256(data_key, content_id, _INFO))


def _aad(head: bytes, index: int, final: bool) -> bytes:
    return head + _INDEX.pack(index) + (b"\x01" if final else b"\x00")


@dataclass(slots=True)
class SegmentEncryptor:
    """Push plaintext in any pieces; get blob bytes out. One segment's worth is held back
    until more data (or :meth:`finish`) says whether it is the last. Large pieces are
    encrypted straight from the caller's buffer into one output buffer per call
    (``encrypt_into``), without staging copies."""

    data_key: bytes = field(repr=False)
    part_number: int
    content_id: bytes
    _aes: AESGCM = field(init=False, repr=False)
    _head: bytes = field(init=False, repr=False)
    _buffer: bytearray = field(init=False, repr=False, default_factory=bytearray)
    _index: int = field(init=False, default=0)
    _started: bool = field(init=False, default=False)
    length: int = field(init=False, default=0)

    def __post_init__(self) -> None:
        self._head = header(self.part_number, self.content_id)
        self._aes = _aead(self.data_key, self.content_id)

    def __reduce__(self):  # habits §7: holds a key
        raise TypeError("segment encryptors cannot be pickled")

    def _seal_into(self, segments_in: list[memoryview], final_last: bool) -> bytearray:
        """Seal whole segments into one output buffer."""
        step = SEGMENT_SIZE + TAG_LEN
        out = bytearray(sum(len(x) for x in segments_in) + TAG_LEN * len(segments_in))
        view = memoryview(out)
        enc = self._aes.encrypt_into
        pos = 0
        last = len(segments_in) - 1
        for n, seg in enumerate(segments_in):
            i = self._index
            size = len(seg) + TAG_LEN
            enc(_NONCE.pack(0, i), seg, _aad(self._head, i, final_last and n == last), view[pos : pos + size])
            self._index = i + 1
            pos += size
        assert pos == len(out) and step
        return out

    def update(self, data: bytes | bytearray | memoryview) -> list[bytes | bytearray]:
        out: list[bytes | bytearray] = []
        if not self._started:
            self._started = True
            out.append(self._head)
        n = len(data)
        self.length += n
        buf = self._buffer
        if len(buf) + n <= SEGMENT_SIZE:
            buf += data
            return out
        src = memoryview(data)
        pending: list[memoryview] = []
        pos = 0
        if buf:  # complete the held-back segment first
            take = SEGMENT_SIZE - len(buf)
            buf += src[:take]
            pos = take
            pending.append(memoryview(bytes(buf)))
            buf.clear()
        # keep 1..S bytes back: the last segment is only known at finish()
        while n - pos > SEGMENT_SIZE:
            pending.append(src[pos : pos + SEGMENT_SIZE])
            pos += SEGMENT_SIZE
        if pending:
            out.append(self._seal_into(pending, final_last=False))
        buf += src[pos:]
        return out

    def finish(self) -> list[bytes | bytearray]:
        out: list[bytes | bytearray] = [] if self._started else [self._head]
        self._started = True
        out.append(self._seal_into([memoryview(bytes(self._buffer))], final_last=True))
        self._buffer = bytearray()
        return out


def encrypt_stream(
    data_key: bytes, part_number: int, content_id: bytes, plaintext: Iterable[bytes | memoryview]
) -> Iterator[bytes | bytearray]:
    """The whole blob for ``plaintext`` pieces, lazily."""
    enc = SegmentEncryptor(data_key, part_number, content_id)
    for piece in plaintext:
        yield from enc.update(piece)
    yield from enc.finish()


@dataclass(frozen=True, slots=True)
class ReadPlan:
    """Which blob bytes a plaintext range needs, and how to trim the decrypted result."""

    first_segment: int
    last_segment: int
    blob_start: int  # inclusive
    blob_end: int  # exclusive
    skip: int  # plaintext bytes to drop from the first segment
    length: int  # plaintext bytes to return


def plan_range(plaintext_length: int, start: int, end_inclusive: int) -> ReadPlan:
    """``start..end_inclusive`` must lie within the plaintext (the caller checked the
    Range); for an empty object ask for ``0..-1``."""
    if plaintext_length == 0:
        return ReadPlan(0, 0, HEADER_LEN, HEADER_LEN + TAG_LEN, 0, 0)
    if not 0 <= start <= end_inclusive < plaintext_length:
        raise ValueError("range outside the plaintext")
    first = start // SEGMENT_SIZE
    last = end_inclusive // SEGMENT_SIZE
    step = SEGMENT_SIZE + TAG_LEN
    blob_end = min(HEADER_LEN + (last + 1) * step, stored_length(plaintext_length))
    return ReadPlan(first, last, HEADER_LEN + first * step, blob_end, start - first * SEGMENT_SIZE,
                    end_inclusive - start + 1)


def decrypt_range(
    data_key: bytes,
    part_number: int,
    content_id: bytes,
    plaintext_length: int,
    plan: ReadPlan,
    blob_pieces: Iterable[bytes | memoryview],
) -> Iterator[bytes | memoryview]:
    """Plaintext of ``plan`` from the blob bytes ``plan.blob_start..blob_end`` (in any
    pieces). Nothing is yielded from a segment before its tag has checked; a short or
    long blob, or any change, raises :class:`SegmentError`. Whole segments of each piece
    are opened with one ``decrypt_into`` each into one buffer (wiped if a tag fails). A
    piece is done with (what a segment still needs copied) before the next is asked for:
    the pieces may be views of one buffer (``ObjectStore.get``)."""
    head = header(part_number, content_id)
    dec = _aead(data_key, content_id).decrypt_into
    last_index = segment_count(plaintext_length) - 1
    step = SEGMENT_SIZE + TAG_LEN
    index = plan.first_segment
    skip, remaining = plan.skip, plan.length
    carry = b""

    def open_all(sealed: memoryview, count: int, sizes_last: int | None) -> memoryview:
        """Open ``count`` consecutive segments of ``sealed``; the last may be short."""
        nonlocal index
        total = count * SEGMENT_SIZE if sizes_last is None else (count - 1) * SEGMENT_SIZE + sizes_last
        out = bytearray(total)
        view = memoryview(out)
        pos = opos = 0
        try:
            for n in range(count):
                size = step if (sizes_last is None or n < count - 1) else sizes_last + TAG_LEN
                i = index
                dec(_NONCE.pack(0, i), sealed[pos : pos + size], _aad(head, i, i == last_index),
                    view[opos : opos + size - TAG_LEN])
                index = i + 1
                pos += size
                opos += size - TAG_LEN
        except (InvalidTag, ValueError):
            view[:] = bytes(len(view))  # decrypt_into wrote unverified plaintext: wipe
            raise SegmentError() from None
        return view

    def emit(plain: memoryview) -> memoryview:
        nonlocal skip, remaining
        piece = plain[skip : skip + remaining]
        skip = 0
        remaining -= len(piece)
        return piece

    for piece in blob_pieces:
        data = memoryview(piece)
        if carry:
            # Complete the segment held back from the last piece with this one's head: a
            # copy of one segment, not of the piece (pieces rarely end on a segment: 1 MiB
            # holds 15 and most of a 16th).
            need = step - len(carry)
            if len(data) < need:
                carry += bytes(data)
                continue
            if index > plan.last_segment:
                raise SegmentError()
            out = emit(open_all(memoryview(carry + bytes(data[:need])), 1, None))
            carry = b""
            if len(out):
                yield out
            del out
            data = data[need:]
        whole = min(len(data) // step, plan.last_segment - index + 1)
        if whole > 0:
            out = emit(open_all(data, whole, None))
            if len(out):
                yield out
            # freed before the next piece is read and opened (a suspended generator keeps
            # its locals: each GET held two MiB of plaintext, not one)
            del out
        carry = bytes(data[whole * step :])
        if len(carry) > step:
            raise SegmentError()
    if index <= plan.last_segment:
        short = len(carry) - TAG_LEN
        if index != plan.last_segment or index != last_index or not 0 <= short < SEGMENT_SIZE:
            raise SegmentError()
        out = emit(open_all(memoryview(carry), 1, short))
        carry = b""
        if len(out):
            yield out
    if carry or remaining:
        raise SegmentError()


def check_header(blob_head: bytes) -> None:
    """The blob's own header names a format this code reads."""
    if len(blob_head) != HEADER_LEN or blob_head[0] != VERSION or blob_head[1] != SEGMENT_LOG2:
        raise SegmentError()
