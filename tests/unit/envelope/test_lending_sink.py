"""The engine writing straight into the O_DIRECT writer's buffers (_sink.py, fileio.DirectWriter):
exact bytes through reservations mixed with copies, the engine really uses them, and a tag
failure wipes the unverified plaintext it had written into the writer's buffer."""

from __future__ import annotations

import io
import os
import random
import time
from pathlib import Path

import pytest

from trent import envelope as ev
from trent.envelope import fileio
from trent.envelope.fileio import BLOCK, DirectWriter
from trent.envelope.format import frames as fr

MIB = 1 << 20


@pytest.mark.parametrize("direct", [True, False])
def test_reservations_mixed_with_copies_write_exact_bytes(tmp_path: Path, direct: bool) -> None:
    rnd = random.Random(7)
    p = tmp_path / "f"
    fd = os.open(p, os.O_RDWR | os.O_CREAT, 0o600)
    expect = bytearray()
    try:
        w = DirectWriter(fd, buf=MIB, direct=direct)
        for _ in range(60):
            kind = rnd.choice(["reserve", "reserve-unused", "copy"])
            if kind == "copy":
                data = rnd.randbytes(rnd.randrange(0, 3 * BLOCK))
                assert w.write(data) == len(data)
                expect += data
                continue
            size = rnd.randrange(1, w.max_reserve + 1)
            base, at = w.reserve(size)
            view = base[at : at + size]
            assert len(view) == size
            used = rnd.randrange(0, size + 1)
            data = rnd.randbytes(used)
            view[:used] = data
            if kind == "reserve":
                assert w.write(view[:used]) == used
                expect += data
        assert w.finish() == len(expect)
    finally:
        os.close(fd)
    assert p.read_bytes() == bytes(expect)


@pytest.mark.parametrize("direct", [True, False])
def test_a_view_of_the_buffer_elsewhere_than_the_reservation_is_copied(tmp_path: Path, direct: bool) -> None:
    """Only the reservation itself is taken as filled in place: another view of the same
    buffer is data like any other and lands at the current position."""
    p = tmp_path / "f"
    fd = os.open(p, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        w = DirectWriter(fd, buf=MIB, direct=direct)
        assert w.write(b"head") == 4
        base, at = w.reserve(4 * BLOCK)
        base[at : at + 2 * BLOCK] = bytes(2 * BLOCK)
        base[at + BLOCK : at + 2 * BLOCK] = b"x" * BLOCK
        assert w.write(base[at + BLOCK : at + 2 * BLOCK]) == BLOCK
        base, at = w.reserve(BLOCK)
        base[at : at + 3] = b"end"
        assert w.write(base[at : at + 3].toreadonly()) == 3  # the reservation, read-only
        w.finish()
    finally:
        os.close(fd)
    assert p.read_bytes() == b"head" + b"x" * BLOCK + b"end"


def test_oversized_reservation_is_refused(tmp_path: Path) -> None:
    fd = os.open(tmp_path / "f", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        w = DirectWriter(fd, buf=MIB)
        with pytest.raises(ValueError):
            w.reserve(w.max_reserve + 1)
        w.abort()
    finally:
        os.close(fd)


@pytest.mark.parametrize("suite_id", [0x0578, 0x0478])
def test_file_path_encrypts_and_decrypts_into_the_writers_buffers(
    keyring: ev.RawAesKeyring, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, suite_id: int
) -> None:
    copied: list[int] = []
    real_write = DirectWriter.write

    def write(self: DirectWriter, data: object) -> int:
        lent = self.reserved
        n = real_write(self, data)
        if not lent:
            copied.append(n)
        return n

    monkeypatch.setattr(DirectWriter, "write", write)
    pt = os.urandom(3 * MIB + 12_345)
    (tmp_path / "p").write_bytes(pt)
    ev.encrypt_file(tmp_path / "p", tmp_path / "c", keyring=keyring, suite=ev.suite_by_id(suite_id))
    # only the header and the footer went through the copying write
    assert sum(copied) < 4096
    copied.clear()
    ev.decrypt_file(tmp_path / "c", tmp_path / "o", keyring=keyring)
    assert sum(copied) <= 4096 + 12_345  # the final frame (checked with the footer) is copied
    assert (tmp_path / "o").read_bytes() == pt


def test_tag_failure_wipes_the_reserved_plaintext(keyring: ev.RawAesKeyring, tmp_path: Path) -> None:
    F = 4096
    k = (1 << 20) // F  # frames per engine chunk
    pt = os.urandom(3 * k * F)
    ct = bytearray(ev.encrypt(pt, keyring=keyring, frame_length=F, suite=ev.suite_by_id(0x0478)).ciphertext)
    header_len = len(ct) - (3 * k) * (F + fr.REGULAR_OVERHEAD) - fr.FINAL_OVERHEAD
    bad = k + 5  # a frame in the second chunk; frames k..k+4 decrypt into the writer first
    ct[header_len + bad * (F + fr.REGULAR_OVERHEAD) + 100] ^= 1
    fd = os.open(tmp_path / "o", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        w = DirectWriter(fd)
        with pytest.raises(ev.DecryptionFailed):
            ev.decrypt_stream(io.BytesIO(bytes(ct)), w, keyring=keyring)
        staged = bytes(w.cur)  # before abort, which zeroes it anyway
        w.abort()
    finally:
        os.close(fd)
    assert pt[: F] in staged or pt[k * F - F : k * F] in staged  # verified chunk 1 is staged
    for i in range(k, bad):
        assert pt[i * F : (i + 1) * F] not in staged
    assert (tmp_path / "o").stat().st_size == 0


def test_threaded_hashing_keeps_its_own_buffers(keyring: ev.RawAesKeyring, tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    reserved: list[int] = []
    real = DirectWriter.reserve
    monkeypatch.setattr(DirectWriter, "reserve", lambda self, n: reserved.append(n) or real(self, n))
    pt = os.urandom(2 * MIB + 1)
    (tmp_path / "p").write_bytes(pt)
    ev.encrypt_file(tmp_path / "p", tmp_path / "c", keyring=keyring, threads=2)
    ev.decrypt_file(tmp_path / "c", tmp_path / "o", keyring=keyring, threads=2)
    assert reserved == []
    assert (tmp_path / "o").read_bytes() == pt
    assert fileio.WBUF >= 2 * MIB


# ------------------------------------------------------------------------- reader side


@pytest.mark.parametrize("start", [0, 4096 + 3])
def test_borrow_mixed_with_readinto_returns_the_file(tmp_path: Path, start: int) -> None:
    rnd = random.Random(3)
    data = os.urandom((5 * MIB) + 77)
    p = tmp_path / "f"
    p.write_bytes(data)
    fd = os.open(p, os.O_RDONLY)
    got = bytearray()
    borrowed = straddled = 0
    try:
        os.lseek(fd, start, os.SEEK_SET)
        with fileio.DirectReader(fd, buf=MIB) as r:
            buf = memoryview(bytearray(MIB))
            while True:
                n = rnd.randrange(1, MIB)
                if rnd.random() < 0.7:
                    lent = r.borrow(n)
                    if lent is not None:
                        base, at = lent
                        got += base[at : at + n]
                        borrowed += 1
                        continue
                    straddled += 1
                k = r.readinto(buf[:n])
                if k == 0:
                    break
                got += buf[:k]
            assert r.borrow(1) is None
    finally:
        os.close(fd)
    assert bytes(got) == data[start:]
    assert borrowed and straddled


@pytest.fixture()
def lent(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The sizes of the DirectReader.borrow calls that lent (returned a region) during the test."""
    sizes: list[int] = []
    real = fileio.DirectReader.borrow

    def borrow(self: fileio.DirectReader, n: int) -> tuple[memoryview, int] | None:
        v = real(self, n)
        if v is not None:
            sizes.append(n)
        return v

    monkeypatch.setattr(fileio.DirectReader, "borrow", borrow)
    return sizes


def test_encrypt_file_encrypts_from_the_readers_buffers(keyring: ev.RawAesKeyring, tmp_path: Path,
                                                        lent: list[int]) -> None:
    pt = os.urandom(5 * MIB + 999)
    (tmp_path / "p").write_bytes(pt)
    ev.encrypt_file(tmp_path / "p", tmp_path / "c", keyring=keyring)
    assert sum(lent) == 5 * MIB  # every whole chunk; the tail was copied
    ev.decrypt_file(tmp_path / "c", tmp_path / "o", keyring=keyring)
    assert (tmp_path / "o").read_bytes() == pt


@pytest.mark.parametrize("cached", [True, False])
@pytest.mark.parametrize(("head", "unit"), [(0, 300_001), (5_000, 300_001), (4096 + 3, MIB - BLOCK), (77, 64)])
def test_stride_lends_every_whole_unit(tmp_path: Path, cached: bool, head: int, unit: int) -> None:
    """After stride(unit), every borrow(unit) succeeds until less than a unit is left, from
    any position (the decrypt engine strides after the header), cached or read with O_DIRECT."""
    data = os.urandom(4 * MIB + 12_345)
    p = tmp_path / "f"
    p.write_bytes(data)
    fd = os.open(p, os.O_RDONLY)
    try:
        if not cached:
            os.fsync(fd)
            os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
        got = bytearray()
        with fileio.DirectReader(fd, buf=MIB) as r:
            first = memoryview(bytearray(head))
            while len(got) < head:  # what the header window read
                got += first[: r.readinto(first[: head - len(got)])]
            assert r.stride(unit)
            lent, rest = _borrow_all(r, unit)
            assert lent == (len(data) - head) // unit
    finally:
        os.close(fd)
    assert bytes(got + rest) == data


def _borrow_all(r: fileio.DirectReader, unit: int) -> tuple[int, bytes]:
    """Borrow ``unit``s until the reader declines, then read the rest: (units lent, bytes)."""
    got = bytearray()
    lent = 0
    while (piece := r.borrow(unit)) is not None:
        base, at = piece
        got += base[at : at + unit]
        lent += 1
    rest = memoryview(bytearray(unit))
    while n := r.readinto(rest):
        got += rest[:n]
    return lent, bytes(got)


def test_stride_before_anything_was_read_starts_at_the_beginning(tmp_path: Path) -> None:
    """stride() right after opening, once the thread has already read ahead: the data read
    ahead but not yet consumed is read again, from the consumer's position (not the thread's)."""
    data = os.urandom(4 * MIB)
    p = tmp_path / "f"
    p.write_bytes(data)
    fd = os.open(p, os.O_RDONLY)
    try:
        with fileio.DirectReader(fd, buf=MIB) as r:
            deadline = time.monotonic() + 10
            while r.ready.qsize() < fileio.DEPTH and time.monotonic() < deadline:
                time.sleep(0.001)  # let the thread read ahead (and move its own position)
            assert r.stride(300_001)
            lent, got = _borrow_all(r, 300_001)
    finally:
        os.close(fd)
    assert lent == len(data) // 300_001
    assert got == data


def test_stride_refuses_units_that_do_not_fit(tmp_path: Path) -> None:
    p = tmp_path / "f"
    p.write_bytes(os.urandom(3 * MIB))
    fd = os.open(p, os.O_RDONLY)
    try:
        with fileio.DirectReader(fd, buf=MIB) as r:
            assert not r.stride(MIB - BLOCK + 1)
            assert not r.stride(0)
            assert r.readinto(memoryview(bytearray(10))) == 10  # unchanged
    finally:
        os.close(fd)


@pytest.mark.parametrize("frame", [4096, 65536, 1000])
def test_decrypt_file_decrypts_from_the_readers_buffers(keyring: ev.RawAesKeyring, tmp_path: Path,
                                                        lent: list[int], frame: int) -> None:
    pt = os.urandom(9 * MIB + 999)
    (tmp_path / "p").write_bytes(pt)
    with (tmp_path / "c").open("wb") as c:
        ev.encrypt_stream(io.BytesIO(pt), c, keyring=keyring, frame_length=frame)  # no DirectReader
    ev.decrypt_file(tmp_path / "c", tmp_path / "o", keyring=keyring)
    assert (tmp_path / "o").read_bytes() == pt
    # all but the first chunk (after the header) and the last (with the final frame)
    assert sum(lent) >= len(pt) - 2 * MIB - 2 * frame


# ------------------------------------------------------------------------- sequence words


def test_seq_words_match_struct_across_chunks() -> None:
    import struct

    from trent.envelope._seqwords import SeqWords

    k = 37
    w = SeqWords(k)
    for seq in [1, 1 + k, 1 + 2 * k, 1000, 1000 + k, 2**32 - 1 - k, 2**24 - 5, 2**24 - 5 + k]:
        assert w.at(seq).tobytes() == struct.pack(f">{k}I", *range(seq, seq + k)), seq


# ------------------------------------------------------------------------- frame views


def test_frame_views_are_made_once_per_region_and_follow_the_buffer() -> None:
    from trent.envelope import _frameviews

    slices = [slice(i * 10 + 2, (i + 1) * 10) for i in range(5)]
    fv = _frameviews.FrameViews(slices)
    a, b = memoryview(bytearray(range(200))), memoryview(bytearray(200))
    first = fv.at(a, 7)
    assert [v.tobytes() for v in first] == [a[7 + s.start : 7 + s.stop].tobytes() for s in slices]
    assert fv.at(a, 7) is first  # cached: no new views
    assert fv.at(a, 8) is not first and fv.at(a, 8)[0].tobytes() == a[10:18].tobytes()
    other = fv.at(b, 7)  # same offset, another buffer: its own views
    other[0][:] = b"x" * 8
    assert b[9:17].tobytes() == b"x" * 8 and a[9:17].tobytes() != b"x" * 8
    for off in range(_frameviews.MAX_REGIONS + 5):  # bounded: starts over when full
        fv.at(a, off)
    assert len(fv.cache) <= _frameviews.MAX_REGIONS
