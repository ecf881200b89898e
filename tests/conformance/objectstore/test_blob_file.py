"""objectstore/blob_file.py: content blobs as files (issue 17). A put makes its
directories when they are missing, streams into a temporary file named after the blob
and renames it into place; a put that fails leaves nothing behind."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from trent.objectstore.base import ObjectStoreError
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
    import trent.objectstore.blob_file as blob_file

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


def test_a_large_durable_put_starts_writeback_as_it_goes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every WRITEBACK_STEP bytes written, the range written since the last one is handed to
    the kernel for writeback (POSIX_FADV_DONTNEED), then one fsync; the blob reads back
    whole. A store that is not durable (tests) asks for nothing."""
    import trent.objectstore.blob_file as blob_file

    if blob_file._START_WRITEBACK is None:  # noqa: SLF001
        pytest.skip("no posix_fadvise on this platform")
    calls: list[tuple[int, int, int]] = []
    real = blob_file._START_WRITEBACK  # noqa: SLF001

    def spy(fd: int, offset: int, length: int, advice: int) -> None:
        calls.append((offset, length, advice))
        real(fd, offset, length, advice)

    monkeypatch.setattr(blob_file, "_START_WRITEBACK", spy)
    monkeypatch.setattr(blob_file, "WRITEBACK_STEP", 3000)
    data = os.urandom(10_000)
    store = FileBlobStore(tmp_path)
    blob = name()
    assert store.put(blob, [data[i : i + 1000] for i in range(0, len(data), 1000)]) == len(data)
    assert calls == [(0, 3000, os.POSIX_FADV_DONTNEED), (3000, 3000, os.POSIX_FADV_DONTNEED),
                     (6000, 3000, os.POSIX_FADV_DONTNEED)]
    assert b"".join(store.get(blob, 0, len(data))) == data
    calls.clear()
    FileBlobStore(tmp_path / "scratch", durable=False).put(name(), [data])
    assert calls == []


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
