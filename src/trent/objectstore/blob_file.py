"""Content blobs as files in a directory (``--object-store file://DIR``, the default:
``<data-dir>/objects``; issue 17).

The S3 use cases' store (``service/s3/store.py``): opaque names (``ab/cd/<32 hex>``),
only ciphertext. A put streams its pieces into a temporary file beside the target,
flushes it to disk and renames it into place: if the pieces raise (a bad signature, a
wrong digest, a client gone) the temporary file is removed and nothing is stored under
the name. A durable store (the default) also fsyncs the directory after the rename, and
the parents of directories it made, so the name survives a power loss as the bytes do
(``directories.py``). Reads seek to the range and return it in 256 KiB pieces.

A large blob does not stay in the page cache. A durable put hands every ``STREAM_STEP``
bytes to writeback as it goes and drops the pages of the step before (drop-behind), then
the rest once its fsync is done; a read of more than ``STREAM_STEP`` bytes reads with
``RWF_DONTCACHE`` (Linux 6.14's uncached buffered I/O), a MiB at a time into one buffer.
A large object streams through, as a sequential scan of a big table goes through
PostgreSQL's ring buffer, instead of pushing the database and the small objects out of
the cache. On a VM it is also what keeps large PUTs fast: memory the page cache takes
fresh (handed back to the host while it was free) costs a host fault on first touch, so
writes that left 256 MiB blobs cached fell to ~280 MB/s and ~2,600 µs of CPU per MiB on
this machine once the cache grew, against ~1,700 MB/s and ~350 µs with drop-behind.
Each direction uses what measured faster here (bench/S3_SSE.md, 2026-12-07): uncached
writes start writeback on every write (a large SSE-S3 PUT: ~300 against ~350 MB/s), and
reads with drop-behind ran at ~400 MB/s against ~600 uncached. Where the kernel refuses
the flag, reads are cached.
"""

from __future__ import annotations

import contextlib
import errno
import os
import re
from collections.abc import Iterable, Iterator
from pathlib import Path

from trent.objectstore.base import InvalidObjectKey, ObjectStoreError
from trent.objectstore.directories import fsync_directory, make_directories

READ_PIECE = 256 << 10  # per concurrent GET: ciphertext and plaintext in flight stay small
LARGE_READ_PIECE = 1 << 20  # uncached reads of 256 KiB ran at half the speed of 1 MiB ones
# Past this many bytes a blob is large: written with drop-behind, read uncached (module doc).
STREAM_STEP = 4 << 20
RWF_DONTCACHE = getattr(os, "RWF_DONTCACHE", 0x80)  # include/uapi/linux/fs.h; os names it from 3.14
_HAS_PREADV = hasattr(os, "preadv")  # Linux, BSDs; not macOS < 11
_ADVISE = getattr(os, "posix_fadvise", None)  # Linux and most Unixes; not macOS
_DONTNEED = getattr(os, "POSIX_FADV_DONTNEED", 0)
_NAME = re.compile(r"^[0-9a-f]{2}/[0-9a-f]{2}/[0-9a-f]{32}$")
_TEMP_PREFIX = ".put-"  # an unfinished put: never listed as a blob (names())
_TEMP_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
_READ_FLAGS = os.O_RDONLY | os.O_CLOEXEC


class FileBlobStore:
    def __init__(self, root: Path, *, durable: bool = True) -> None:
        self.root = root
        self._root_text = str(root)  # reads and deletes join names as text: pathlib costs ~2 µs a call
        self._durable = durable
        # until the kernel refuses RWF_DONTCACHE once (EOPNOTSUPP: before 6.14, or a
        # filesystem without it)
        self._uncached = _HAS_PREADV
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
        try:
            written = self._write_all(fd, chunks)
            if self._durable:
                os.fsync(fd)
                if written > STREAM_STEP and _ADVISE is not None:
                    _ADVISE(fd, 0, 0, _DONTNEED)  # all clean now: the rest of a large blob
            os.close(fd)
            fd = -1
            os.replace(temp, path)
            if self._durable:
                # the name too (directories.py): the row about to commit refers to it. Should
                # this fail, the put fails and the file left is an orphan for the reaper's sweep.
                fsync_directory(path.parent)
        except BaseException:
            if fd >= 0:
                os.close(fd)
            with contextlib.suppress(OSError):
                os.unlink(temp)
            raise
        return written

    def _write_all(self, fd: int, chunks: Iterable[bytes | memoryview]) -> int:
        """Write ``chunks`` from offset 0; return the bytes written."""
        written = flushed = dropped = 0
        advise = _ADVISE if self._durable else None
        for piece in chunks:
            written += _pwrite_all(fd, piece, written)
            if advise is not None and written - flushed >= STREAM_STEP:
                # On Linux, POSIX_FADV_DONTNEED starts asynchronous writeback of the range's
                # dirty pages (WB_SYNC_NONE) and drops its clean ones. Early writeback: the
                # disk works while the next MiB are received, hashed and encrypted; the fsync
                # used to wait ~19 ms for a 32 MiB blob, 2 ms with this (bench/S3_SSE.md
                # issue-17r). Durability is still the fsync's.
                advise(fd, flushed, written - flushed, _DONTNEED)
                # Drop-behind: what was handed over two steps ago has been written back by
                # now, so this drops its pages and the next steps' writes reuse them.
                if flushed - STREAM_STEP > dropped:
                    advise(fd, dropped, flushed - STREAM_STEP - dropped, _DONTNEED)
                    dropped = flushed - STREAM_STEP
                flushed = written
            del piece  # before the next is waited for: the caller may wait on a socket
        return written

    def get(self, name: str, start: int, end: int) -> Iterator[bytes | memoryview]:
        # pread on a plain descriptor: no buffered file object per read (a small GET reads
        # one piece, and io.open's layers cost more than the read)
        try:
            fd = os.open(self._file(name), _READ_FLAGS)
        except OSError as exc:
            raise ObjectStoreError(f"cannot read blob {name}: {exc.strerror}") from None
        try:
            if end - start > STREAM_STEP and self._uncached:
                yield from self._read_uncached(fd, start, end)
                return
            at = start
            while at < end:
                piece = os.pread(fd, min(READ_PIECE, end - at), at)
                if not piece:
                    return  # short: the decryptor reports the truncation
                at += len(piece)
                yield piece
        finally:
            os.close(fd)

    def _read_uncached(self, fd: int, start: int, end: int) -> Iterator[memoryview]:
        """Uncached reads into one buffer; each piece is a view of it, valid until the next
        is asked for (``ObjectStore.get``): a GET holds one MiB in flight, allocated once."""
        buffer = memoryview(bytearray(min(LARGE_READ_PIECE, end - start)))
        at = start
        while at < end:
            into = buffer[: min(LARGE_READ_PIECE, end - at)]
            try:
                got = os.preadv(fd, [into], at, RWF_DONTCACHE)
            except OSError as exc:
                if exc.errno not in (errno.EOPNOTSUPP, errno.EINVAL):
                    raise
                self._uncached = False  # nothing was read: the flag is checked first
                got = os.preadv(fd, [into], at, 0)
            if not got:
                return  # short: the decryptor reports the truncation
            at += got
            yield buffer[:got]

    def delete(self, name: str) -> None:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self._file(name))

    def names(self) -> Iterator[str]:
        for path in sorted(self.root.rglob("*")):
            if path.is_file() and not path.name.startswith(_TEMP_PREFIX):
                yield path.relative_to(self.root).as_posix()


def _pwrite_all(fd: int, piece: bytes | memoryview, at: int) -> int:
    """``piece`` at offset ``at``: a write to a regular file may be short (a signal, a
    full disk that frees up), so the rest is written until all is or the call raises."""
    total = len(piece)
    done = os.pwrite(fd, piece, at)
    if done < total:
        view = memoryview(piece)
        while done < total:
            done += os.pwrite(fd, view[done:], at + done)
    return total
