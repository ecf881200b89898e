"""The segmented object-content format (crypto/segments.py docstring).

The oracle is an independent reader written here from the docstring alone with pyca's
own HKDF and AESGCM (not Trent's kdf), run at sizes that cross every boundary the code
has: empty, one byte, a segment minus/plus one, whole segments, and ranges that start
and end on and around segment edges. A pinned vector fixes the bytes.
"""

from __future__ import annotations

import hashlib
import random
import struct
from collections.abc import Iterator

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from trent.crypto import segments as seg

S = seg.SEGMENT_SIZE
KEY = bytes(range(32))
CID = bytes(range(100, 116))
SIZES = [0, 1, S - 1, S, S + 1, 2 * S, 3 * S - 7, 5 * S + 3]


def oracle_decrypt(blob: bytes, key: bytes, part: int, cid: bytes, length: int) -> bytes:
    head = struct.pack(">BBHI16s", 1, 16, 0, part, cid)
    assert blob[:24] == head
    aes = AESGCM(HKDF(hashes.SHA256(), 32, cid, b"trent/s3/segments/v1").derive(key))
    n = max(1, -(-length // S))
    out = b""
    pos = 24
    for i in range(n):
        size = min(S, length - i * S) + 16
        aad = head + struct.pack(">Q", i) + (b"\x01" if i == n - 1 else b"\x00")
        out += aes.decrypt(struct.pack(">IQ", 0, i), blob[pos : pos + size], aad)
        pos += size
    assert pos == len(blob)
    return out


def encrypt(data: bytes, part: int = 0, cid: bytes = CID, pieces: int = 3) -> bytes:
    step = max(1, len(data) // pieces)
    chunks = [data[i : i + step] for i in range(0, len(data), step)]
    return b"".join(seg.encrypt_stream(KEY, part, cid, chunks))


def decrypt(blob: bytes, length: int, start: int, end: int, part: int = 0, cid: bytes = CID, feed: int = 5000) -> bytes:
    plan = seg.plan_range(length, start, end)
    region = blob[plan.blob_start : plan.blob_end]
    pieces = [region[i : i + feed] for i in range(0, len(region), feed)] or [b""]
    return b"".join(seg.decrypt_range(KEY, part, cid, length, plan, pieces))


@pytest.mark.parametrize("size", SIZES)
def test_oracle_reads_what_we_write(size: int) -> None:
    data = random.Random(size).randbytes(size)
    blob = encrypt(data, part=7)
    assert len(blob) == seg.stored_length(size)
    assert oracle_decrypt(blob, KEY, 7, CID, size) == data
    assert decrypt(blob, size, 0, size - 1, part=7) == data


@pytest.mark.parametrize("size", [S - 1, S, S + 1, 3 * S - 7])
def test_pieces_of_any_size_give_the_same_blob(size: int) -> None:
    data = random.Random(1).randbytes(size)
    one = b"".join(seg.encrypt_stream(KEY, 0, CID, [data]))
    bytewise = b"".join(seg.encrypt_stream(KEY, 0, CID, [data[i : i + 997] for i in range(0, size, 997)]))
    assert one == bytewise == encrypt(data)


def test_ranges_across_segment_edges() -> None:
    size = 3 * S - 7
    data = random.Random(2).randbytes(size)
    blob = encrypt(data)
    edges = [0, 1, S - 2, S - 1, S, S + 1, 2 * S - 1, 2 * S, size - 2, size - 1]
    for start in edges:
        for end in edges:
            if start <= end:
                assert decrypt(blob, size, start, end, feed=S + 5) == data[start : end + 1], (start, end)


@pytest.mark.parametrize("feed", [1, 4093, S + 15, S + 16, S + 17, 2 * (S + 16) - 3, 1 << 20])
def test_the_blob_may_come_in_pieces_of_any_size(feed: int) -> None:
    """A piece may end anywhere in a segment (the held-back part is completed from the next
    piece's head) or hold many; bytes past the range's last segment fail however they come."""
    size = 5 * S + 3
    data = random.Random(3).randbytes(size)
    blob = encrypt(data)
    for start, end in [(0, size - 1), (1, size - 2), (S - 1, 3 * S), (2 * S, 2 * S), (size - 1, size - 1)]:
        assert decrypt(blob, size, start, end, feed=feed) == data[start : end + 1], (start, end)
    for plan, extra in [(seg.plan_range(size, 0, size - 1), 1), (seg.plan_range(size, 0, 2 * S - 1), S + 16)]:
        region = blob[plan.blob_start : plan.blob_end] + bytes(extra)  # a byte, a segment too many
        with pytest.raises(seg.SegmentError):
            b"".join(seg.decrypt_range(KEY, 0, CID, size, plan, [region[i : i + feed] for i in range(0, len(region), feed)]))


def test_pieces_may_be_views_of_one_reused_buffer() -> None:
    """ObjectStore.get may hand on views of one buffer that the next piece overwrites:
    nothing decrypt_range yields or holds back may point into a piece."""
    size = 5 * S + 3
    data = random.Random(4).randbytes(size)
    blob = encrypt(data)
    for feed in (S + 17, 3 * S, 1 << 20):
        plan = seg.plan_range(size, 0, size - 1)
        region = blob[plan.blob_start : plan.blob_end]
        buffer = bytearray(feed)

        def reused(region: bytes = region, buffer: bytearray = buffer, feed: int = feed) -> Iterator[memoryview]:
            for at in range(0, len(region), feed):
                chunk = region[at : at + feed]
                buffer[: len(chunk)] = chunk
                yield memoryview(buffer)[: len(chunk)]
                buffer[:] = bytes(len(buffer))  # the next read overwrites it

        out = list(seg.decrypt_range(KEY, 0, CID, size, plan, reused()))  # kept, not copied
        assert b"".join(out) == data, feed


def test_range_reads_only_the_segments_it_needs() -> None:
    plan = seg.plan_range(10 * S, 3 * S + 5, 4 * S + 1)
    assert (plan.first_segment, plan.last_segment) == (3, 4)
    assert plan.blob_start == 24 + 3 * (S + 16) and plan.blob_end == 24 + 5 * (S + 16)


def _segments(blob: bytes) -> list[bytes]:
    body = blob[24:]
    return [body[i : i + S + 16] for i in range(0, len(body), S + 16)]


@pytest.mark.parametrize(
    "tamper",
    ["flip", "swap", "drop-last", "truncate-at-boundary", "truncate-mid", "other-object", "other-part", "append"],
)
def test_tampering_is_detected(tamper: str) -> None:
    size = 3 * S
    data = random.Random(3).randbytes(size)
    blob = encrypt(data, part=2)
    part, cid, length = 2, CID, size
    parts = _segments(blob)
    if tamper == "flip":
        blob = blob[:100] + bytes([blob[100] ^ 1]) + blob[101:]
    elif tamper == "swap":
        blob = blob[:24] + parts[1] + parts[0] + parts[2]
    elif tamper == "drop-last":
        blob, length = blob[:24] + parts[0] + parts[1], 2 * S  # the database says 2 S: still no final flag
    elif tamper == "truncate-at-boundary":
        blob = blob[:24] + parts[0] + parts[1]
    elif tamper == "truncate-mid":
        blob = blob[:-5]
    elif tamper == "other-object":
        cid = bytes(16)  # this blob under another object's row
    elif tamper == "other-part":
        part = 3
    elif tamper == "append":
        blob = blob + b"\0" * 16
    with pytest.raises(seg.SegmentError):
        plan = seg.plan_range(length, 0, length - 1)
        b"".join(seg.decrypt_range(KEY, part, cid, length, plan, [blob[plan.blob_start :]]))


def test_wrong_key_fails_without_releasing_plaintext() -> None:
    blob = encrypt(b"secret" * 50_000)
    plan = seg.plan_range(300_000, 0, 299_999)
    out = seg.decrypt_range(bytes(32), 0, CID, 300_000, plan, [blob[plan.blob_start :]])
    with pytest.raises(seg.SegmentError):
        next(out)


def test_pinned_vector() -> None:
    """Bytes fixed once; a change here is a format change and needs a new version byte."""
    blob = encrypt(b"The quick brown fox jumps over the lazy dog" * 2000, part=1)
    assert blob[:24].hex() == "01100000" + "00000001" + CID.hex()
    assert hashlib.sha256(blob).hexdigest() == PINNED


PINNED = "3fabfc8fe4d1b6277bd5ac50973e3d74590b5e569ef4bea40b3634143a59c868"


def test_header_check() -> None:
    seg.check_header(seg.header(0, CID))
    with pytest.raises(seg.SegmentError):
        seg.check_header(b"\x02" + seg.header(0, CID)[1:])
