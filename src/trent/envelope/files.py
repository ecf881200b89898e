"""File -> file entry points: :func:`encrypt_file` / :func:`decrypt_file`.

The fastest bounded-memory path for regular files (bench/ENVELOPE.md): the same streaming
engine, with ``O_DIRECT`` read-ahead and write-behind threads (fileio.py) instead of the
page cache. Output safety, as in the CLI: the result is written to a private temporary file
(mode 0600) beside ``target`` and renamed into place only after the whole message verified —
for signed suites, after the signature; on any failure the staging buffers are zeroed, the
temporary file truncated and removed, and ``target`` is left untouched.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

from .api import StreamResult, decrypt_stream, encrypt_stream
from .fileio import DirectReader, DirectWriter, PlainWriter

PathLike = str | os.PathLike[str]


def write_verified(
    target: PathLike, produce: Callable[[BinaryIO], StreamResult], *, overwrite: bool = False,
    direct_write: bool = True,
) -> StreamResult:
    """Run ``produce(sink)`` into a temporary file; rename it to ``target`` only on success."""
    dst = Path(target)
    if not overwrite and dst.exists():
        raise FileExistsError(f"{dst} exists")
    fd, tmp = tempfile.mkstemp(prefix=f".{dst.name}.", suffix=".partial", dir=dst.parent)
    writer = DirectWriter(fd) if direct_write else PlainWriter(fd)
    try:
        result = produce(writer)  # type: ignore[arg-type]
        writer.finish()
        os.replace(tmp, dst)
        return result
    except BaseException:
        writer.abort()
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
    finally:
        os.close(fd)


def _with_source(source: PathLike, run: Callable[[BinaryIO, int], StreamResult]) -> StreamResult:
    fd = os.open(source, os.O_RDONLY)
    try:
        with DirectReader(fd) as reader:
            return run(reader, os.fstat(fd).st_size)  # type: ignore[arg-type]
    finally:
        os.close(fd)


def encrypt_file(source: PathLike, target: PathLike, *, overwrite: bool = False, direct_write: bool = True,
                 **kwargs: object) -> StreamResult:
    """Encrypt file ``source`` to ``target``; keyword arguments as :func:`iter_encrypt`.

    ``direct_write=False`` writes through the page cache instead of O_DIRECT (faster when the
    disk, not the CPU, is the limit — e.g. 0x0478 on a slow or busy disk)."""
    return _with_source(source, lambda src, size: write_verified(
        target, lambda sink: encrypt_stream(src, sink, source_length=size, **kwargs), overwrite=overwrite,
        direct_write=direct_write))


def decrypt_file(source: PathLike, target: PathLike, *, overwrite: bool = False, direct_write: bool = True,
                 **kwargs: object) -> StreamResult:
    """Decrypt file ``source`` to ``target`` (renamed into place only once fully verified);
    keyword arguments as :func:`iter_decrypt`; ``direct_write`` as :func:`encrypt_file`."""
    return _with_source(source, lambda src, _size: write_verified(
        target, lambda sink: decrypt_stream(src, sink, **kwargs), overwrite=overwrite,
        direct_write=direct_write))
