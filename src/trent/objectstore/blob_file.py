"""Content blobs as files in a directory (``--object-store file://DIR``, the default:
``<data-dir>/objects``; issue 17).

The S3 use cases' store (``service/s3/store.py``): opaque names (``ab/cd/<32 hex>``),
only ciphertext. A put streams its pieces into a temporary file beside the target,
flushes it to disk and renames it into place: if the pieces raise (a bad signature, a
wrong digest, a client gone) the temporary file is removed and nothing is stored under
the name. A durable store (the default) also fsyncs the directory after the rename, and
the parents of directories it made, so the name survives a power loss as the bytes do
(``directories.py``). Reads seek to the range and return it in 256 KiB pieces.
"""

from __future__ import annotations

import contextlib
import os
import re
from collections.abc import Iterable, Iterator
from pathlib import Path

from trent.objectstore.base import InvalidObjectKey, ObjectStoreError
from trent.objectstore.directories import fsync_directory, make_directories

READ_PIECE = 256 << 10  # per concurrent GET: ciphertext and plaintext in flight stay small
# A durable put asks the kernel to start writing back every this many bytes as it goes,
# so the fsync at the end waits for the last few MiB, not the whole blob (below).
WRITEBACK_STEP = 4 << 20
_START_WRITEBACK = getattr(os, "posix_fadvise", None)  # Linux and most Unixes; not macOS
_NAME = re.compile(r"^[0-9a-f]{2}/[0-9a-f]{2}/[0-9a-f]{32}$")
_TEMP_PREFIX = ".put-"  # an unfinished put: never listed as a blob (names())
_TEMP_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
_READ_FLAGS = os.O_RDONLY | os.O_CLOEXEC


class FileBlobStore:
    def __init__(self, root: Path, *, durable: bool = True) -> None:
        self.root = root
        self._root_text = str(root)  # reads and deletes join names as text: pathlib costs ~2 µs a call
        self._durable = durable
        try:
            root.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise ObjectStoreError(f"cannot create the object directory: {exc.strerror}") from None

    def __repr__(self) -> str:
        return f"FileBlobStore({str(self.root)!r})"

    def _path(self, name: str) -> Path:
        return Path(self._file(name))

    def _file(self, name: str) -> str:
        if not _NAME.match(name):
            raise InvalidObjectKey("blob names are ab/cd/<32 hex>")
        return self._root_text + "/" + name

    def put(self, name: str, chunks: Iterable[bytes | memoryview]) -> int:
        path = self._path(name)
        # The temporary file is named after the blob (names are 128 random bits, never put
        # twice; O_EXCL refuses a clash): one open where mkstemp's random names cost more,
        # and the directories are made only when that open finds them missing, instead of
        # a mkdir (and a stat, when it exists) per put (bench/S3_SSE.md, 2026-12-06).
        temp = path.with_name(_TEMP_PREFIX + path.name)
        try:
            fd = os.open(temp, _TEMP_FLAGS, 0o600)
        except FileNotFoundError:
            make_directories(path.parent, durable=self._durable)
            fd = os.open(temp, _TEMP_FLAGS, 0o600)
        written = flushed = 0
        start_writeback = _START_WRITEBACK if self._durable else None
        try:
            with os.fdopen(fd, "wb", buffering=0) as out:
                for piece in chunks:
                    out.write(piece)
                    written += len(piece)
                    if start_writeback is not None and written - flushed >= WRITEBACK_STEP:
                        # Early writeback: on Linux, POSIX_FADV_DONTNEED starts asynchronous
                        # writeback of the range's dirty pages (WB_SYNC_NONE) and drops only
                        # its clean ones, which pages just written are not. The disk then
                        # works while the next MiB are received, hashed and encrypted; the
                        # fsync below used to wait ~19 ms for a 32 MiB blob, 2 ms with this
                        # (a large SSE-S3 PUT's write path: ~480 -> ~600 MB/s with its MD5,
                        # bench/S3_SSE.md issue-17r). Durability is still the fsync's.
                        start_writeback(fd, flushed, written - flushed, os.POSIX_FADV_DONTNEED)
                        flushed = written
                if self._durable:
                    os.fsync(out.fileno())
            os.replace(temp, path)
            if self._durable:
                # the name too (directories.py): the row about to commit refers to it. Should
                # this fail, the put fails and the file left is an orphan for the reaper's sweep.
                fsync_directory(path.parent)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(temp)
            raise
        return written

    def get(self, name: str, start: int, end: int) -> Iterator[bytes]:
        # pread on a plain descriptor: no buffered file object per read (a small GET reads
        # one piece, and io.open's layers cost more than the read)
        try:
            fd = os.open(self._file(name), _READ_FLAGS)
        except OSError as exc:
            raise ObjectStoreError(f"cannot read blob {name}: {exc.strerror}") from None
        try:
            at = start
            while at < end:
                piece = os.pread(fd, min(READ_PIECE, end - at), at)
                if not piece:
                    return  # short: the decryptor reports the truncation
                at += len(piece)
                yield piece
        finally:
            os.close(fd)

    def delete(self, name: str) -> None:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self._file(name))

    def names(self) -> Iterator[str]:
        for path in sorted(self.root.rglob("*")):
            if path.is_file() and not path.name.startswith(_TEMP_PREFIX):
                yield path.relative_to(self.root).as_posix()
