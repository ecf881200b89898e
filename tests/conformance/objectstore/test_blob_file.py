"""objectstore/blob_file.py: content blobs as files (issue 17). A put makes its
directories when they are missing, streams into a temporary file named after the blob
and renames it into place; a put that fails leaves nothing behind."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from trent.objectstore.base import ObjectStoreError
import trent.objectstore.blob_file as blob_file
from tests.release_probe import ReleaseProbe
from trent.objectstore.blob_file import FileBlobStore

from .fsyncs import record_fsyncs


def name() -> str:
    raw = os.urandom(18).hex()
    return f"{raw[:2]}/{raw[2:4]}/{raw[4:36]}"


def test_puts_make_missing_directories_and_reuse_existing_ones(tmp_path: Path) -> None:
    store = FileBlobStore(tmp_path / "objects")
    first = name()
    second = first[:6] + os.urandom(16).hex()  # the same ab/cd directory, which now exists
    third = first[:3] + ("00" if first[3:5] != "00" else "01") + "/" + os.urandom(16).hex()  # ab exists, cd not
    for blob, data in ((first, b"one"), (second, b"two" * 1000), (third, b"")):
        assert store.put(blob, [data[:1], memoryview(data[1:])]) == len(data)
        assert b"".join(store.get(blob, 0, len(data))) == data
        assert (tmp_path / "objects" / blob).stat().st_mode & 0o777 == 0o600
    assert sorted(store.names()) == sorted([first, second, third])
    assert not list((tmp_path / "objects").rglob(".put-*"))


def test_a_failed_put_leaves_no_file(tmp_path: Path) -> None:
    store = FileBlobStore(tmp_path / "objects")
    blob = name()

    def failing() -> Iterator[bytes]:
        yield b"partial"
        raise ValueError("the client went away")

    with pytest.raises(ValueError):
        store.put(blob, failing())
    assert list(store.names()) == [] and not list((tmp_path / "objects").rglob(".put-*"))
    assert store.put(blob, [b"again"]) == 5  # the name is free again
    assert b"".join(store.get(blob, 0, 5)) == b"again"


def test_reads_return_any_range_in_pieces_and_stop_short_at_the_end(tmp_path: Path) -> None:
    store = FileBlobStore(tmp_path)
    data = bytes(range(256)) * 40  # 10,240 bytes
    name = "ab/cd/" + "1" * 32
    store.put(name, [data])
    original = blob_file.READ_PIECE
    blob_file.READ_PIECE = 1000  # several pieces per read
    try:
        for start, end in [(0, len(data)), (1, 2), (999, 3001), (5000, len(data)), (len(data) - 1, len(data))]:
            pieces = list(store.get(name, start, end))
            assert b"".join(pieces) == data[start:end]
            assert all(len(p) <= 1000 for p in pieces)
        assert b"".join(store.get(name, 10_000, 20_000)) == data[10_000:]  # short: the caller sees it
        assert list(store.get(name, 5, 5)) == []
    finally:
        blob_file.READ_PIECE = original
    with pytest.raises(ObjectStoreError):
        list(store.get("ab/cd/" + "2" * 32, 0, 1))


def _preadv_calls(monkeypatch: pytest.MonkeyPatch, *, refuse: bool) -> list[tuple[int, int, int]]:
    """Record the store's preadv calls as (offset, length, flags); with ``refuse``, answer
    RWF_DONTCACHE as a kernel before 6.14 does (EOPNOTSUPP, having read nothing)."""
    import errno

    calls: list[tuple[int, int, int]] = []
    real = os.preadv

    def preadv(fd: int, buffers: list[memoryview], offset: int, flags: int = 0) -> int:
        if refuse and flags & blob_file.RWF_DONTCACHE:
            raise OSError(errno.EOPNOTSUPP, os.strerror(errno.EOPNOTSUPP))
        calls.append((offset, sum(len(b) for b in buffers), flags))
        return real(fd, buffers, offset, flags)

    monkeypatch.setattr(os, "preadv", preadv)
    return calls


def _advice_calls(monkeypatch: pytest.MonkeyPatch) -> list[tuple[int, int, int]]:
    calls: list[tuple[int, int, int]] = []
    real = blob_file._ADVISE  # noqa: SLF001
    assert real is not None

    def spy(fd: int, offset: int, length: int, advice: int) -> None:
        calls.append((offset, length, advice))
        real(fd, offset, length, advice)

    monkeypatch.setattr(blob_file, "_ADVISE", spy)
    return calls


needs_fadvise = pytest.mark.skipif(not hasattr(os, "posix_fadvise"), reason="no posix_fadvise here")
needs_preadv = pytest.mark.skipif(not hasattr(os, "preadv"), reason="no preadv here")


@needs_fadvise
def test_a_large_durable_put_hands_each_step_to_writeback_and_drops_the_pages_behind(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every STREAM_STEP bytes written, the step is handed to writeback and the pages of
    the step handed over before it are dropped (both POSIX_FADV_DONTNEED); after the
    fsync the whole blob is dropped. A blob shorter than STREAM_STEP, and any blob of
    a store that is not durable (tests), asks for nothing."""
    monkeypatch.setattr(blob_file, "STREAM_STEP", 3000)
    advice = _advice_calls(monkeypatch)
    data = os.urandom(10_000)
    store = FileBlobStore(tmp_path)
    blob = name()
    assert store.put(blob, [data[i : i + 1000] for i in range(0, len(data), 1000)]) == len(data)
    dontneed = os.POSIX_FADV_DONTNEED
    assert advice == [
        (0, 3000, dontneed),  # writeback of step 1
        (3000, 3000, dontneed),  # writeback of step 2
        (6000, 3000, dontneed), (0, 3000, dontneed),  # writeback of step 3, drop of step 1
        (0, 0, dontneed),  # after the fsync: the rest
    ]
    assert b"".join(store.get(blob, 0, len(data))) == data
    advice.clear()
    store.put(name(), [data[:2999]])
    FileBlobStore(tmp_path / "scratch", durable=False).put(name(), [data])
    assert advice == []


def _large_blob(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[FileBlobStore, str, bytes]:
    """A 10,000-byte blob in a store where a read of more than 3,000 bytes is large (read
    4,000 bytes at a time)."""
    monkeypatch.setattr(blob_file, "STREAM_STEP", 3000)
    monkeypatch.setattr(blob_file, "LARGE_READ_PIECE", 4000)
    data = os.urandom(10_000)
    store = FileBlobStore(tmp_path)
    blob = name()
    store.put(blob, [data])
    return store, blob, data


@needs_preadv
def test_a_large_read_is_uncached_into_one_buffer(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A read of more than STREAM_STEP bytes reads LARGE_READ_PIECE at a time with
    RWF_DONTCACHE into one buffer and hands on views of it; a shorter read is cached
    (pread). Everything reads back; a read past the end stops short."""
    store, blob, data = _large_blob(tmp_path, monkeypatch)
    calls = _preadv_calls(monkeypatch, refuse=False)
    pieces = [bytes(piece) for piece in store.get(blob, 0, len(data))]  # each used before the next
    assert pieces == [data[:4000], data[4000:8000], data[8000:]]
    uncached = blob_file.RWF_DONTCACHE
    assert calls == [(0, 4000, uncached), (4000, 4000, uncached), (8000, 2000, uncached)]
    views = list(store.get(blob, 0, len(data)))
    assert all(isinstance(v, memoryview) and v.obj is views[0].obj for v in views)  # one buffer
    calls.clear()
    assert b"".join(bytes(p) for p in store.get(blob, 5000, 14_000)) == data[5000:]  # short: the caller sees it
    assert calls == [(5000, 4000, uncached), (9000, 4000, uncached), (10_000, 4000, uncached)]  # the last: the end
    calls.clear()
    assert b"".join(store.get(blob, 100, 3100)) == data[100:3100]  # not large: cached pread
    assert calls == []


@needs_preadv
def test_where_the_kernel_refuses_uncached_reads_the_store_reads_cached(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A kernel before 6.14 (or a filesystem without it) answers RWF_DONTCACHE with
    EOPNOTSUPP: the refused read is redone cached, and the store stops asking."""
    store, blob, data = _large_blob(tmp_path, monkeypatch)
    calls = _preadv_calls(monkeypatch, refuse=True)
    assert b"".join(bytes(p) for p in store.get(blob, 0, len(data))) == data
    assert calls == [(0, 4000, 0), (4000, 4000, 0), (8000, 2000, 0)]  # the refused first call left no trace
    calls.clear()
    assert b"".join(bytes(p) for p in store.get(blob, 0, len(data))) == data
    assert calls == []  # large reads are plain cached preads from now on


def _resident_bytes(path: Path) -> int:
    """How much of ``path`` is in the page cache (util-linux fincore)."""
    out = subprocess.run(["fincore", "--bytes", "--noheadings", "--output", "RES", str(path)],
                         check=True, capture_output=True, text=True).stdout
    return int(out.strip())


def _kernel_reads_uncached(directory: Path) -> bool:
    import errno

    probe = directory / "probe"
    probe.write_bytes(b"x")
    fd = os.open(probe, os.O_RDONLY)
    try:
        os.preadv(fd, [bytearray(1)], 0, blob_file.RWF_DONTCACHE)
        return True
    except OSError as exc:
        if exc.errno in (errno.EOPNOTSUPP, errno.EINVAL):
            return False
        raise
    finally:
        os.close(fd)
        probe.unlink()


needs_fincore = pytest.mark.skipif(shutil.which("fincore") is None, reason="no fincore (util-linux) here")
MIB = 1 << 20


@needs_fadvise
@needs_fincore
def test_a_large_put_leaves_its_blob_out_of_the_page_cache_and_a_small_one_in(tmp_path: Path) -> None:
    store = FileBlobStore(tmp_path)
    large, small = name(), name()
    piece = os.urandom(MIB)
    assert store.put(large, [piece] * 32) == 32 * MIB
    assert _resident_bytes(tmp_path / large) <= MIB  # of 32 MiB (all of it, before drop-behind)
    store.put(small, [piece])
    assert _resident_bytes(tmp_path / small) == MIB


@needs_preadv
@needs_fincore
def test_a_large_read_leaves_the_blob_out_of_the_page_cache(tmp_path: Path) -> None:
    if not _kernel_reads_uncached(tmp_path):
        pytest.skip("this kernel or filesystem refuses RWF_DONTCACHE (Linux 6.14+ on ext4, xfs, btrfs)")
    store = FileBlobStore(tmp_path, durable=False)  # not durable: the put leaves the blob cached
    blob = name()
    store.put(blob, [os.urandom(MIB)] * 32)
    os.sync()
    path = tmp_path / blob
    fd = os.open(path, os.O_RDONLY)
    try:
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)  # written back by the sync: dropped
    finally:
        os.close(fd)
    assert _resident_bytes(path) <= MIB
    assert sum(len(p) for p in store.get(blob, 0, 32 * MIB)) == 32 * MIB
    assert _resident_bytes(path) <= MIB  # a cached read would leave all 32 MiB in


def test_a_durable_put_makes_the_name_durable_too(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """After the blob's own fsync and its rename, the directory holding it is fsynced (a
    committed row must not name a blob that a power loss unlinked); directories a put
    makes are fsynced in their parents before the blob goes in."""
    root = tmp_path / "objects"
    store = FileBlobStore(root)
    fsyncs = record_fsyncs(root, monkeypatch)
    first = name()
    a, b = first[:2], first[:5]
    store.put(first, [b"one"])
    assert fsyncs.take() == [
        (a, (b[3:],)),  # ab gained cd/
        (".", (a,)),  # the root gained ab/
        (first, None),  # the blob's bytes, then its name
        (b, (first[6:],)),
    ]
    second = b + "/" + os.urandom(16).hex()  # the same directory: nothing made
    store.put(second, [b"two"])
    assert fsyncs.take() == [(second, None), (b, tuple(sorted([first[6:], second[6:]])))]
    other = "01" if b[3:] != "01" else "02"
    third = f"{a}/{other}/" + os.urandom(16).hex()  # ab exists, its new subdirectory not
    store.put(third, [b"three"])
    assert fsyncs.take() == [(a, tuple(sorted([b[3:], other]))), (third, None), (third[:5], (third[6:],))]


def test_a_store_that_is_not_durable_fsyncs_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = tmp_path / "scratch"
    store = FileBlobStore(root, durable=False)
    fsyncs = record_fsyncs(root, monkeypatch)
    blob = name()
    store.put(blob, [b"data"])
    store.put(blob[:6] + os.urandom(16).hex(), [b"more"])
    assert fsyncs.take() == []
    assert b"".join(store.get(blob, 0, 4)) == b"data"


def test_a_put_lets_go_of_each_piece_before_asking_for_the_next(tmp_path: Path) -> None:
    """The next piece of an upload may take a while to arrive: the last one is not kept
    meanwhile (a MiB per upload in flight)."""
    store = FileBlobStore(tmp_path / "objects", durable=False)
    blob = name()
    probe = ReleaseProbe([b"x" * 1000, b"y" * 1000, b"z" * 10])
    assert store.put(blob, probe) == 2010
    assert probe.held_when_next_asked == [False, False]
    assert b"".join(store.get(blob, 0, 2010)) == b"x" * 1000 + b"y" * 1000 + b"z" * 10
