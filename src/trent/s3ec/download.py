"""Decrypting a GetObject body into a sink with one buffer (in-place decryption).

The body is ``ciphertext ‖ tag``; its length is known (Content-Length), so the last 16 bytes
are read as the tag, never decrypted. Plaintext is handed to ``sink`` chunk by chunk *before*
the tag is checked — every caller writes it somewhere invisible (an unnamed file, a buffer)
and publishes only after :func:`decrypt_body` returned. A short or long body is
:class:`DecryptionFailed`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .content import ContentDecryptor, CtrDecryptor
from .errors import DecryptionFailed
from .streams import raw_stream, read_exactly

MiB = 1 << 20
Sink = Callable[[memoryview], None]


def decrypt_body(body: Any, content_length: int, decryptor: ContentDecryptor, sink: Sink, *,
                 chunk: int = MiB, progress: Callable[[int], None] | None = None) -> int:
    """Returns the plaintext length (after the tag verified)."""
    stream = raw_stream(body)
    left = content_length - decryptor.trailer_len
    if left < 0:
        raise DecryptionFailed()
    buf = memoryview(bytearray(min(chunk, max(left, 1))))
    total = 0
    try:
        while left:
            n = read_exactly(stream, buf[:min(len(buf), left)])
            if n == 0:
                raise DecryptionFailed()
            out = decryptor.update(buf[:n], buf[:n])
            if len(out):
                sink(out)
                total += len(out)
            left -= n
            if progress:
                progress(n)
        tag = bytearray(decryptor.trailer_len)
        if read_exactly(stream, memoryview(tag)) != len(tag) or stream.read(1):
            raise DecryptionFailed()
        tail = decryptor.finish(bytes(tag))
    finally:
        body.close()
    if tail:
        sink(memoryview(tail))
        total += len(tail)
    return total


def decrypt_range(body: Any, decryptor: CtrDecryptor, skip: int, length: int) -> bytes:
    """Ranged read: ``body`` starts on a block boundary ``skip`` bytes before the range."""
    try:
        data = decryptor.update(body.read())
    finally:
        body.close()
    return data[skip:skip + length]
