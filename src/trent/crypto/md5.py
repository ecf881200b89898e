"""MD5 for S3's ETags and Content-MD5 checks, over whole object bodies (issue 17).

An SSE-S3 object's ETag is the MD5 of its data (s3-sse spec), so a large SSE-S3 PUT
hashes every byte, and MD5 is its slowest step: more than half of the server's CPU for
a 256 MiB PUT. pyca/cryptography's MD5 (its own OpenSSL build) measured 1,337 µs per MiB
here against hashlib's 1,414 µs (the system's OpenSSL 3.0), 5 % of that PUT; both release
the GIL while they hash (bench/S3_SSE.md, session of 2026-12-07). Short, one-shot digests
(a 32-byte SSE-C key, an ETag of ETags) stay on hashlib: there the object costs more
than the hashing.
"""

from __future__ import annotations

from cryptography.hazmat.primitives import hashes

_MD5 = hashes.MD5()


class StreamingMd5:
    """``update`` pieces of any size; after the first ``digest``, only ``digest`` again."""

    __slots__ = ("_digest", "_hash")

    def __init__(self) -> None:
        self._hash = hashes.Hash(_MD5)
        self._digest: bytes | None = None

    def update(self, data: bytes | bytearray | memoryview) -> None:
        self._hash.update(data)  # after digest(): cryptography's AlreadyFinalized

    def digest(self) -> bytes:
        if self._digest is None:
            self._digest = self._hash.finalize()
        return self._digest
