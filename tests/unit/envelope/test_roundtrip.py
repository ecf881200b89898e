"""Encrypt -> decrypt through every path: one-shot, streams, trickling sources, threads."""

from __future__ import annotations

import io
import os
import random

import pytest

from trent import envelope as ev
from trent.envelope.format.header import MessageHeader

SIZES = [0, 1, 100, 4095, 4096, 4097, 3 * 4096, (1 << 20) + 7]


class Trickle(io.RawIOBase):
    """Returns short reads of random size (like a pipe)."""

    def __init__(self, data: bytes, seed: int = 0) -> None:
        self.data, self.pos, self.rng = data, 0, random.Random(seed)

    def readable(self) -> bool:
        return True

    def readinto(self, view: memoryview) -> int:  # type: ignore[override]
        n = min(len(view), self.rng.randint(1, 9000), len(self.data) - self.pos)
        view[:n] = self.data[self.pos : self.pos + n]
        self.pos += n
        return n


@pytest.mark.parametrize("suite_id", [0x0478, 0x0578])
@pytest.mark.parametrize("size", SIZES)
def test_one_shot(keyring: ev.RawAesKeyring, suite_id: int, size: int) -> None:
    pt = os.urandom(size)
    e = ev.encrypt(pt, keyring=keyring, suite=ev.suite_by_id(suite_id), encryption_context={"a": "b"})
    assert e.header.suite.suite_id == suite_id and e.header.frame_length == 4096
    d = ev.decrypt(e.ciphertext, keyring=keyring)
    assert d.plaintext == pt
    assert d.encryption_context["a"] == "b"
    assert ("aws-crypto-public-key" in d.encryption_context) == (suite_id == 0x0578)


@pytest.mark.parametrize("frame_length", [1, 17, 512, 65536, 3 << 20])
@pytest.mark.parametrize("threads", [1, 2])
def test_streams_with_short_reads(keyring: ev.RawAesKeyring, frame_length: int, threads: int) -> None:
    for size in (0, frame_length - 1, frame_length, 2 * frame_length + 3, 300_000):
        pt = os.urandom(size)
        out = io.BytesIO()
        ev.encrypt_stream(Trickle(pt, size), out, keyring=keyring, frame_length=frame_length,
                          threads=threads)
        back = io.BytesIO()
        r = ev.decrypt_stream(Trickle(out.getvalue(), size + 1), back, keyring=keyring, threads=threads)
        assert back.getvalue() == pt
        assert isinstance(r.header, MessageHeader) and r.bytes_written == size


def test_exact_frame_multiple_ends_with_an_empty_final_frame(keyring: ev.RawAesKeyring) -> None:
    e = ev.encrypt(bytes(8192), keyring=keyring, suite=ev.suite_by_id(0x0478), frame_length=4096)
    # the final frame: marker, seq 3, IV, length 0, tag
    tail = e.ciphertext[-(4 + 4 + 12 + 4 + 16):]
    assert tail[:8] == b"\xff\xff\xff\xff\x00\x00\x00\x03" and tail[20:24] == bytes(4)


def test_message_id_is_a_parameter(keyring: ev.RawAesKeyring) -> None:
    mid = bytes(range(32))
    e = ev.encrypt(b"x", keyring=keyring, message_id=mid)
    assert e.header.message_id == mid and e.ciphertext[3:35] == mid


def test_iter_decrypt_yields_chunks(keyring: ev.RawAesKeyring) -> None:
    pt = os.urandom(3 << 20)
    ct = ev.encrypt(pt, keyring=keyring).ciphertext
    chunks = [bytes(c) for c in ev.iter_decrypt(io.BytesIO(ct), keyring=keyring)]
    assert len(chunks) > 1 and b"".join(chunks) == pt
