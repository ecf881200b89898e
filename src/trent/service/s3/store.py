"""Where content blobs live, as seen by the S3 use cases (issue 17).

Implemented by ``objectstore/blob_file.py`` (a directory) and ``objectstore/blob_s3.py``
(any S3-compatible bucket), picked by ``--object-store`` in the composition root; the
use cases need exactly these four operations. Only ciphertext ever passes through it
(``crypto.segments`` blobs), under opaque names that say nothing about bucket or key.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator
from typing import Protocol


class ObjectStore(Protocol):
    def put(self, name: str, chunks: Iterable[bytes | bytearray]) -> int:
        """Store ``name`` from ``chunks``; return the bytes written. Atomic: if iterating
        ``chunks`` raises (a bad signature, a wrong digest, a client gone), nothing is
        left under ``name`` and the exception propagates."""

    def get(self, name: str, start: int, end: int) -> Iterator[bytes | memoryview]:
        """Bytes ``start`` (inclusive) to ``end`` (exclusive) of ``name``, in pieces. A
        piece may be a view of a buffer the next piece reuses: use or copy it before asking
        for the next (``crypto.segments.decrypt_range`` copies what it holds back)."""

    def delete(self, name: str) -> None:
        """Remove ``name``; no error if it is not there."""

    def names(self) -> Iterator[str]:
        """Every stored name (orphan sweeps, and tests that scan the backend)."""


def new_blob_name(rng: Callable[[int], bytes] = os.urandom) -> str:
    """A fresh opaque name: 128 random bits, two-level fan-out for directory stores."""
    token = rng(16).hex()
    return f"{token[:2]}/{token[2:4]}/{token}"
