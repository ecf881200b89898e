"""The file -> file path (files.py + fileio.py): same bytes as the streaming path, tamper still
rejected, nothing left behind on failure, O_DIRECT fallbacks, bounded RSS."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from trent import envelope as ev
from trent.envelope import fileio
from trent.envelope.fileio import BLOCK, DirectReader, DirectWriter

MID = bytes(range(32))
# sizes around frame, block and staging-buffer (2 MiB) boundaries
SIZES = [0, 1, 4095, 4096, 4097, (2 << 20) - 37, (2 << 20) + 4096 * 3 + 11]


def _drop_cache(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
    finally:
        os.close(fd)


@pytest.mark.parametrize("size", SIZES)
def test_encrypt_file_is_byte_identical_to_the_streaming_path(keyring: ev.RawAesKeyring, tmp_path: Path,
                                                             size: int) -> None:
    pt = os.urandom(size)
    src, dst = tmp_path / "p", tmp_path / "c"
    src.write_bytes(pt)

    def rng(n: int) -> bytes:  # a deterministic keyring, so both paths write the same message
        return bytes(n)

    det = ev.RawAesKeyring("trent-test", "aes-key-1", bytes(range(32)), rng=rng)  # type: ignore[arg-type]
    kw = dict(keyring=det, suite=ev.suite_by_id(0x0478), frame_length=4096, message_id=MID,
              encryption_context={"a": "b"})
    r = ev.encrypt_file(src, dst, **kw)
    expected = ev.encrypt(pt, **kw).ciphertext  # type: ignore[arg-type]
    assert dst.read_bytes() == expected and r.bytes_written == len(expected)
    _drop_cache(dst)  # the decrypting read then takes the O_DIRECT branch
    out = tmp_path / "o"
    d = ev.decrypt_file(dst, out, keyring=keyring)
    assert out.read_bytes() == pt and d.bytes_written == size and d.encryption_context["a"] == "b"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["c", "o", "p"]


@pytest.mark.parametrize("suite_id", [0x0578, 0x0478])
@pytest.mark.parametrize("frame", [4096, 65536, 1000])
def test_file_and_stream_paths_interoperate(keyring: ev.RawAesKeyring, tmp_path: Path, suite_id: int,
                                            frame: int) -> None:
    pt = os.urandom((3 << 20) + 12345)
    src = tmp_path / "p"
    src.write_bytes(pt)
    ev.encrypt_file(src, tmp_path / "c", keyring=keyring, suite=ev.suite_by_id(suite_id), frame_length=frame,
                    threads=2)
    assert ev.decrypt((tmp_path / "c").read_bytes(), keyring=keyring).plaintext == pt
    (tmp_path / "c2").write_bytes(ev.encrypt(pt, keyring=keyring, suite=ev.suite_by_id(suite_id),
                                             frame_length=frame).ciphertext)
    ev.decrypt_file(tmp_path / "c2", tmp_path / "o", keyring=keyring)
    assert (tmp_path / "o").read_bytes() == pt


def _tampered(ct: bytes, where: str) -> bytes:
    b = bytearray(ct)
    if where == "truncated":
        return bytes(b[:-200])
    i = {"middle frame": len(b) // 2, "final frame": len(b) - 150, "signature": len(b) - 5}[where]
    b[i] ^= 0x01
    return bytes(b)


@pytest.mark.parametrize("where", ["middle frame", "final frame", "signature", "truncated"])
def test_tamper_is_rejected_and_nothing_is_left_behind(keyring: ev.RawAesKeyring, tmp_path: Path,
                                                       where: str) -> None:
    pt = os.urandom((5 << 20) + 777)
    ct = ev.encrypt(pt, keyring=keyring, suite=ev.suite_by_id(0x0578)).ciphertext
    bad = tmp_path / "bad"
    bad.write_bytes(_tampered(ct, where))
    with pytest.raises(ev.DecryptionFailed):
        ev.decrypt_file(bad, tmp_path / "out", keyring=keyring)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad"]


def test_existing_target_is_kept_unless_overwrite(keyring: ev.RawAesKeyring, tmp_path: Path) -> None:
    (tmp_path / "p").write_bytes(b"x" * 10)
    (tmp_path / "c").write_bytes(b"old")
    with pytest.raises(FileExistsError):
        ev.encrypt_file(tmp_path / "p", tmp_path / "c", keyring=keyring)
    assert (tmp_path / "c").read_bytes() == b"old"
    ev.encrypt_file(tmp_path / "p", tmp_path / "c", keyring=keyring, overwrite=True)
    assert ev.decrypt((tmp_path / "c").read_bytes(), keyring=keyring).plaintext == b"x" * 10


def test_failed_decrypt_does_not_touch_an_existing_target(keyring: ev.RawAesKeyring, tmp_path: Path) -> None:
    ct = ev.encrypt(b"y" * 50_000, keyring=keyring).ciphertext
    (tmp_path / "bad").write_bytes(_tampered(ct, "middle frame"))
    (tmp_path / "out").write_bytes(b"keep")
    with pytest.raises(ev.DecryptionFailed):
        ev.decrypt_file(tmp_path / "bad", tmp_path / "out", keyring=keyring, overwrite=True)
    assert (tmp_path / "out").read_bytes() == b"keep"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad", "out"]


# ------------------------------------------------------------------------- fileio directly


@pytest.mark.parametrize("direct", [True, False])
@pytest.mark.parametrize("start", [0, 1, BLOCK, BLOCK + 7])
def test_reader_returns_the_file_from_its_position(tmp_path: Path, direct: bool, start: int) -> None:
    data = os.urandom((5 << 20) + 333)
    p = tmp_path / "f"
    p.write_bytes(data)
    _drop_cache(p)
    fd = os.open(p, os.O_RDONLY)
    try:
        os.lseek(fd, start, os.SEEK_SET)
        got = bytearray()
        with DirectReader(fd, buf=1 << 20, direct=direct) as r:
            buf = memoryview(bytearray(300_001))
            while n := r.readinto(buf):
                got += buf[:n]
            assert r.readinto(buf) == 0
    finally:
        os.close(fd)
    assert bytes(got) == data[start:]


def test_reader_can_be_closed_early(tmp_path: Path) -> None:
    p = tmp_path / "f"
    p.write_bytes(os.urandom(8 << 20))
    fd = os.open(p, os.O_RDONLY)
    try:
        r = DirectReader(fd, buf=1 << 20)
        assert r.readinto(memoryview(bytearray(10))) == 10
        r.close()
        assert not r.thread.is_alive()
    finally:
        os.close(fd)


def test_reader_refuses_non_regular_files() -> None:
    rfd, wfd = os.pipe()
    try:
        with pytest.raises(ValueError):
            DirectReader(rfd)
    finally:
        os.close(rfd)
        os.close(wfd)


@pytest.mark.parametrize("direct", [True, False])
def test_writer_writes_exact_bytes(tmp_path: Path, direct: bool) -> None:
    parts = [os.urandom(n) for n in (1, 4095, 70_000, 1 << 20, 3, (1 << 20) + 5, 0, 12_345)]
    p = tmp_path / "f"
    fd = os.open(p, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        w = DirectWriter(fd, buf=1 << 20, direct=direct)
        for part in parts:
            assert w.write(memoryview(part)) == len(part)
        assert w.finish() == sum(map(len, parts))
    finally:
        os.close(fd)
    assert p.read_bytes() == b"".join(parts)


def test_writer_abort_leaves_an_empty_file_and_zeroed_buffers(tmp_path: Path) -> None:
    p = tmp_path / "f"
    fd = os.open(p, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        w = DirectWriter(fd, buf=1 << 20)
        w.write(os.urandom((3 << 20) - 5))  # every buffer used; two written behind, one staged
        w.abort()
    finally:
        os.close(fd)
    assert p.stat().st_size == 0
    assert all(not any(b) for b in w.bufs)  # the written-behind buffers still held output


def _vma_flags(address: int) -> set[str]:
    """The VmFlags of this process's mapping that contains ``address`` (/proc/self/smaps)."""
    inside = False
    with open("/proc/self/smaps") as f:
        for line in f:
            head = line.split(None, 1)[0]
            if "-" in head and not head.endswith(":"):
                lo, hi = (int(x, 16) for x in head.split("-"))
                inside = lo <= address < hi
            elif inside and line.startswith("VmFlags:"):
                return set(line.split()[1:])
    raise AssertionError("no mapping contains the address")


@pytest.mark.skipif(not Path("/sys/kernel/mm/transparent_hugepage").is_dir(), reason="no THP (not Linux)")
def test_buffers_are_carved_from_a_huge_page_aligned_private_arena() -> None:
    arena, bufs = fileio._arena(3 << 20, 3)
    addrs = [fileio._address(b) for b in bufs]
    assert addrs[0] % fileio.HUGE == 0
    assert [a - addrs[0] for a in addrs] == [0, 3 << 20, 6 << 20]  # back to back, no overlap
    assert all(b.nbytes == 3 << 20 and b.obj is arena for b in bufs)
    flags = _vma_flags(addrs[0])
    assert "hg" in flags  # MADV_HUGEPAGE took (module doc: one request per write, not four)
    assert "dd" in flags  # MADV_DONTDUMP: the buffers hold plaintext
    assert "sh" not in flags  # private: shared anonymous memory is shmem, no huge pages
    assert _vma_flags(addrs[2] + (3 << 20) - 1) == flags  # the whole span advised alike


def test_writer_at_an_unaligned_position_uses_plain_writes(tmp_path: Path) -> None:
    p = tmp_path / "f"
    fd = os.open(p, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        os.write(fd, b"abc")
        w = DirectWriter(fd, buf=1 << 20)
        assert not w.direct
        w.write(b"d" * 5000)
        w.finish()
    finally:
        os.close(fd)
    assert p.read_bytes() == b"abc" + b"d" * 5000


def test_everything_works_without_o_direct(keyring: ev.RawAesKeyring, tmp_path: Path,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(fileio, "_DIRECT", 0)
    pt = os.urandom((2 << 20) + 99)
    (tmp_path / "p").write_bytes(pt)
    ev.encrypt_file(tmp_path / "p", tmp_path / "c", keyring=keyring)
    ev.decrypt_file(tmp_path / "c", tmp_path / "o", keyring=keyring)
    assert (tmp_path / "o").read_bytes() == pt


def test_o_direct_einval_falls_back_to_plain_io(keyring: ev.RawAesKeyring, tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    """A file system that accepts the O_DIRECT flag but refuses the I/O (EINVAL)."""
    real_pwrite, real_preadv = os.pwrite, os.preadv

    def is_direct(fd: int) -> bool:
        import fcntl

        return bool(fcntl.fcntl(fd, fcntl.F_GETFL) & os.O_DIRECT)

    def pwrite(fd: int, data: object, off: int) -> int:
        if is_direct(fd):
            raise OSError(22, "Invalid argument")
        return real_pwrite(fd, data, off)  # type: ignore[arg-type]

    def preadv(fd: int, bufs: object, off: int, *flags: int) -> int:
        if is_direct(fd):
            raise OSError(22, "Invalid argument")
        return real_preadv(fd, bufs, off, *flags)  # type: ignore[arg-type]

    monkeypatch.setattr(os, "pwrite", pwrite)
    monkeypatch.setattr(os, "preadv", preadv)
    pt = os.urandom((3 << 20) + 5)
    (tmp_path / "p").write_bytes(pt)
    ev.encrypt_file(tmp_path / "p", tmp_path / "c", keyring=keyring)
    _drop_cache(tmp_path / "c")
    ev.decrypt_file(tmp_path / "c", tmp_path / "o", keyring=keyring)
    assert (tmp_path / "o").read_bytes() == pt


_RSS_CHILD = """
import os, sys
from trent import envelope as ev
kr = ev.RawAesKeyring("n", "k", bytes(32))
src, ct, out = sys.argv[1:4]
ev.encrypt_file(src, ct, keyring=kr, frame_length=65536)
ev.decrypt_file(ct, out, keyring=kr, threads=2)
print([l for l in open("/proc/self/status") if l.startswith("VmHWM")][0].split()[1])
"""


def test_peak_rss_of_the_file_path_is_bounded(tmp_path: Path) -> None:
    """VmHWM counts the O_DIRECT buffers too (tracemalloc would not see them)."""
    src = tmp_path / "p"
    with open(src, "wb") as f:
        block = os.urandom(1 << 20)
        for _ in range(96):
            f.write(block)
    r = subprocess.run([sys.executable, "-c", _RSS_CHILD, str(src), str(tmp_path / "c"), str(tmp_path / "o")],
                       capture_output=True, text=True, timeout=120, check=True)
    assert int(r.stdout.strip()) < 64 * 1024, r.stdout
    assert (tmp_path / "o").stat().st_size == 96 << 20


@pytest.mark.parametrize("where", ["middle frame", None])
def test_buffered_write_option(keyring: ev.RawAesKeyring, tmp_path: Path, where: str | None) -> None:
    """``direct_write=False`` (page cache): same result, same cleanup on failure."""
    pt = os.urandom((2 << 20) + 4321)
    (tmp_path / "p").write_bytes(pt)
    ev.encrypt_file(tmp_path / "p", tmp_path / "c", keyring=keyring, direct_write=False)
    if where is None:
        ev.decrypt_file(tmp_path / "c", tmp_path / "o", keyring=keyring, direct_write=False)
        assert (tmp_path / "o").read_bytes() == pt
        return
    (tmp_path / "c").write_bytes(_tampered((tmp_path / "c").read_bytes(), where))
    with pytest.raises(ev.DecryptionFailed):
        ev.decrypt_file(tmp_path / "c", tmp_path / "o", keyring=keyring, direct_write=False)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["c", "p"]


# ------------------------------------------------------------------------- cached or not


def _read_all(path: Path) -> bytes:
    fd = os.open(path, os.O_RDONLY)
    try:
        got = bytearray()
        with DirectReader(fd, buf=1 << 20) as r:
            buf = memoryview(bytearray(1 << 20))
            while n := r.readinto(buf):
                got += buf[:n]
        return bytes(got)
    finally:
        os.close(fd)


def test_reading_an_uncached_file_does_not_fill_the_page_cache(tmp_path: Path) -> None:
    """cachestat(2) decides; a RWF_NOWAIT probe would start readahead for the whole file."""
    p = tmp_path / "f"
    data = os.urandom(8 << 20)
    p.write_bytes(data)
    _drop_cache(p)
    fd = os.open(p, os.O_RDONLY)
    try:
        before = fileio.cached_pages(fd, 0, len(data))
        if before is None or before > 16:
            pytest.skip("no cachestat(2), or this file system keeps the pages cached")
        assert _read_all(p) == data
        after = fileio.cached_pages(fd, 0, len(data))
    finally:
        os.close(fd)
    assert after is not None and after < (len(data) // os.sysconf("SC_PAGE_SIZE")) // 4


@pytest.mark.parametrize("cached", [True, False, None])
def test_reader_is_exact_whatever_cachestat_says(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                 cached: bool | None) -> None:
    """All cached -> plain copy; not -> O_DIRECT; unknown (old kernel) -> RWF_NOWAIT probe."""
    p = tmp_path / "f"
    data = os.urandom((3 << 20) + 4097)
    p.write_bytes(data)
    monkeypatch.setattr(fileio, "cached_pages",
                        lambda fd, off, n: None if cached is None else (n if cached else 0))
    assert _read_all(p) == data
