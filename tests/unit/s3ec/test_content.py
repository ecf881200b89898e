"""Content ciphers: ranged reads with AES-CTR equal the GCM plaintext at every offset; a file
part read many times (botocore's hash pass, send pass, retries) is the same ciphertext each
time and the object's ciphertext is one GCM stream with its tag at the end."""

from __future__ import annotations

import io
import os
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from trent.s3ec.content import ContentKey, CtrDecryptor, GcmEncryptor
from trent.s3ec.errors import ConfigurationError
from trent.s3ec.file_parts import EncryptingPart, ObjectEncryption
from trent.s3ec.suites import GCM, KC_GCM

KEY = os.urandom(32)


def gcm_body(ck: ContentKey, pt: bytes) -> bytes:
    return AESGCM(ck.key).encrypt(ck.iv, pt, ck.aad or None)


@pytest.mark.parametrize("ck", [ContentKey(GCM, KEY, os.urandom(12), b""), ContentKey(KC_GCM, KEY, b"\x01" * 12, b"\x00\x73")],
                         ids=["v2", "v3"])
def test_ctr_at_any_block_is_the_gcm_keystream(ck: ContentKey) -> None:
    pt = os.urandom(1000)
    body = gcm_body(ck, pt)
    for first in (0, 1, 15, 16, 17, 500, 999):
        start = first - first % 16
        got = CtrDecryptor(ck, start // 16).update(body[start:len(pt)])[first - start:]
        assert got == pt[first:], first


def test_streaming_gcm_in_place_equals_one_shot() -> None:
    ck = ContentKey(KC_GCM, KEY, b"\x01" * 12, b"\x00\x73")
    pt = os.urandom(100_003)
    buf = bytearray(pt)
    enc = GcmEncryptor(ck)
    view = memoryview(buf)
    for i in range(0, len(buf), 4097):  # chunks that are not block multiples
        enc.update_into(view[i:i + 4097], view[i:i + 4097])
    assert bytes(buf) + enc.finalize() == gcm_body(ck, pt)


def _parts(path: Path, size: int, part: int, offset: int = 0) -> tuple[ObjectEncryption, list[EncryptingPart], int]:
    fd = os.open(path, os.O_RDONLY)
    ck = ContentKey(GCM, KEY, b"\x07" * 12, b"")
    enc = ObjectEncryption(ck, size)
    return enc, [EncryptingPart(fd, enc, s, min(part, size - s), file_offset=offset) for s in range(0, size, part)] or [EncryptingPart(fd, enc, 0, 0, file_offset=offset)], fd


@pytest.mark.parametrize("size", [0, 1, 16, 1000, 4096, 4097, 10_000])
def test_file_parts_reread_identically(tmp_path: Path, size: int) -> None:
    pt = os.urandom(size)
    path = tmp_path / "f"
    path.write_bytes(b"HEADER" + pt)
    enc, parts, fd = _parts(path, size, 4096, offset=6)
    try:
        out = b""
        for p in parts:
            first = b"".join(iter(lambda p=p: bytes(p.read(1000)), b""))  # the hash pass, short reads
            p.seek(0)
            second = p.read()  # the send pass: AES-CTR, not the GCM state
            p.seek(3)
            third = p.read(50)  # a retry from an odd place
            assert first == second and third == first[3:53] and len(p) == len(first)
            out += second
        assert out == gcm_body(ContentKey(GCM, KEY, b"\x07" * 12, b""), pt)
    finally:
        os.close(fd)


def test_parts_out_of_order_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "f"
    path.write_bytes(os.urandom(10_000))
    _, parts, fd = _parts(path, 10_000, 4096)
    try:
        with pytest.raises(ConfigurationError):
            parts[1].read()
    finally:
        os.close(fd)


def test_part_body_is_a_seekable_stream_botocore_can_size(tmp_path: Path) -> None:
    path = tmp_path / "f"
    path.write_bytes(b"x" * 100)
    _, [part], fd = _parts(path, 100, 4096)
    try:
        assert part.seek(0, io.SEEK_END) == 116 and part.tell() == 116 and part.read() == b""
    finally:
        os.close(fd)
