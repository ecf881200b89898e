"""File -> file entry points: :func:`encrypt_file` / :func:`decrypt_file`.

The fastest bounded-memory path for regular files (bench/ENVELOPE.md): the same streaming
engine, with ``O_DIRECT`` read-ahead and write-behind threads (fileio.py) instead of the
page cache. Output safety: the result is written to an unnamed ``O_TMPFILE`` file (mode
0600) in ``target``'s directory and linked into place only after the whole message verified
— for signed suites, after the signature; on any failure the staging buffers are zeroed, the
file truncated and dropped, and ``target`` is left untouched; if the process dies, the kernel
frees the unnamed file (tempout.py; a named 0600 temporary where O_TMPFILE is missing).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

from .api import StreamResult, decrypt_stream, encrypt_stream
from .fileio import DirectReader, DirectWriter, PlainWriter
from .tempout import HiddenOutput

PathLike = str | os.PathLike[str]


def write_verified(
    target: PathLike, produce: Callable[[BinaryIO], StreamResult], *, overwrite: bool = False,
    direct_write: bool = True,
) -> StreamResult:
    """Run ``produce(sink)`` into a temporary file; rename it to ``target`` only on success."""
    dst = Path(target)
    if not overwrite and dst.exists():
        raise FileExistsError(f"{dst} exists")
    out = HiddenOutput(dst)  # O_TMPFILE: nothing to leave behind even on a crash (tempout.py)
    writer = DirectWriter(out.fd) if direct_write else PlainWriter(out.fd)
    try:
        result = produce(writer)  # type: ignore[arg-type]
        writer.finish()
        out.publish(overwrite=overwrite)
        return result
    except BaseException:
        writer.abort()
        out.discard()
        raise
    finally:
        out.close()


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
