"""Reading helpers: ``readinto`` over any file-like object, and a small read window.

The window serves the parts of a message that are parsed field by field (header, final
frame, footer, v1 non-framed body); the framed body has its own aligned buffers
(decryptor.py). Bytes the window consumes are hashed in order while ``hasher`` is set.
Short or missing data raises :class:`DecryptionFailed` (a truncated message).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import BinaryIO

from ._hashing import Hasher
from .errors import DecryptionFailed, EnvelopeError

ReadInto = Callable[[memoryview], int]


def readinto_fn(source: BinaryIO) -> ReadInto:
    readinto = getattr(source, "readinto", None)
    if readinto is not None:
        def _ri(view: memoryview) -> int:
            n = readinto(view)
            if n is None:
                raise EnvelopeError("non-blocking sources are not supported")
            return int(n)
        return _ri

    def _copy(view: memoryview) -> int:
        data = source.read(len(view))
        view[: len(data)] = data
        return len(data)

    return _copy


def fill(readinto: ReadInto, view: memoryview) -> tuple[int, bool]:
    """Fill ``view`` as far as possible; returns (bytes read, reached EOF)."""
    got = 0
    want = len(view)
    while got < want:
        n = readinto(view[got:])
        if n == 0:
            return got, True
        got += n
    return got, False


class Window:
    """``mv[start:end]`` is unconsumed input; two buffers alternate so that a buffer the
    (threaded) hasher may still be reading is never rewritten."""

    def __init__(self, readinto: ReadInto, capacity: int, seed: bytes = b"", eof: bool = False) -> None:
        self.readinto = readinto
        self.capacity = max(capacity, len(seed))
        self.mvs = [memoryview(bytearray(self.capacity)) for _ in range(2)]
        self.slot = 0
        self.mv = self.mvs[0]
        self.mv[: len(seed)] = seed
        self.start = self.hashed = 0
        self.end = len(seed)
        self.eof = eof
        self.hasher: Hasher | None = None

    def attach_hasher(self, hasher: Hasher | None) -> None:
        """Hash everything consumed from now on."""
        self.hasher = hasher
        self.hashed = self.start

    def flush_hash(self) -> None:
        if self.hasher is not None and self.start > self.hashed:
            self.hasher.update(self.slot + 10, self.mv[self.hashed : self.start])
        self.hashed = self.start

    def refill(self) -> None:
        """Move the unconsumed tail to the other buffer and read until full or EOF."""
        self.flush_hash()
        other = self.slot ^ 1
        if self.hasher is not None:
            self.hasher.wait(other + 10)
        n = self.end - self.start
        dst = self.mvs[other]
        dst[:n] = self.mv[self.start : self.end]
        self.slot, self.mv = other, dst
        self.start = self.hashed = 0
        got, self.eof = fill(self.readinto, dst[n:]) if not self.eof else (0, True)
        self.end = n + got

    def read_exact(self, n: int) -> bytes:
        if n <= self.capacity:
            while self.end - self.start < n:
                if self.eof:
                    raise DecryptionFailed()
                self.refill()
            b = bytes(self.mv[self.start : self.start + n])
            self.start += n
            return b
        parts = []
        left = n
        while left:
            if self.start == self.end:
                if self.eof:
                    raise DecryptionFailed()
                self.refill()
                continue
            take = min(left, self.end - self.start)
            parts.append(bytes(self.mv[self.start : self.start + take]))
            self.start += take
            left -= take
        return b"".join(parts)

    def peek_u32(self) -> int | None:
        """The next 4 bytes as an integer, or None at EOF."""
        while self.end - self.start < 4:
            if self.eof:
                return None
            self.refill()
        return int.from_bytes(self.mv[self.start : self.start + 4], "big")

    def take_rest(self) -> bytes:
        """Unconsumed buffered bytes (the reader continues at the source)."""
        b = bytes(self.mv[self.start : self.end])
        self.start = self.end
        return b

    def at_eof(self) -> bool:
        while self.start == self.end:
            if self.eof:
                return True
            self.refill()
        return False
