"""objectstore/blob_file.py: content blobs as files (issue 17). A put makes its
directories when they are missing, streams into a temporary file named after the blob
and renames it into place; a put that fails leaves nothing behind."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from trent.objectstore.blob_file import FileBlobStore


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
