"""Byte plumbing for the transfers: exact reads, a zero-copy body for botocore, buffers.

botocore accepts ``bytes``, ``bytearray`` or a file-like body; slicing a bytearray copies a
whole part, so parts go out as :class:`ViewBody`, a seekable reader over a memoryview
(botocore reads it for the payload hash and the checksum, seeks back, then sends it).
"""

from __future__ import annotations

import http.client
import io
from typing import Any, BinaryIO


class ViewBody(io.RawIOBase):
    def __init__(self, view: memoryview) -> None:
        self._view = view
        self._pos = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def readinto(self, b: Any) -> int:
        n = min(len(b), len(self._view) - self._pos)
        b[:n] = self._view[self._pos:self._pos + n]
        self._pos += n
        return n

    def read(self, size: int = -1) -> bytes:
        end = len(self._view) if size is None or size < 0 else min(len(self._view), self._pos + size)
        out = self._view[self._pos:end].tobytes()
        self._pos = end
        return out

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._pos, io.SEEK_END: len(self._view)}[whence]
        self._pos = max(0, base + offset)
        return self._pos

    def tell(self) -> int:
        return self._pos

    def __len__(self) -> int:
        return len(self._view)


def read_exactly(reader: BinaryIO | Any, view: memoryview) -> int:
    """Fill ``view`` from ``reader``; fewer bytes only at end of stream."""
    got = 0
    readinto = getattr(reader, "readinto", None)
    while got < len(view):
        if readinto is not None:
            n = readinto(view[got:])
        else:
            chunk = reader.read(len(view) - got)
            n = len(chunk)
            view[got:got + n] = chunk
        if not n:
            break
        got += n
    return got


def raw_stream(body: Any) -> Any:
    """The fastest reader of a GetObject body that has ``readinto``.

    botocore's StreamingBody wraps a urllib3 response whose ``readinto`` allocates a bytes
    object per call and copies it; the ``http.client.HTTPResponse`` under it reads from the
    socket straight into our buffer (measured: ~1.6x the MB per CPU second at 256 KiB reads).
    Both are private attributes, so anything unexpected falls back to the public object. We
    count the bytes ourselves (the body must be exactly Content-Length) and the GCM tag
    authenticates them; the caller closes ``body``, which drops the connection.
    """
    urllib3_response = getattr(body, "_raw_stream", None)
    fp = getattr(urllib3_response, "_fp", None)
    if isinstance(fp, http.client.HTTPResponse) and not getattr(urllib3_response, "_decoder", None):
        return fp
    return urllib3_response if urllib3_response is not None else body
