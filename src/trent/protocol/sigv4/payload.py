"""What ``x-amz-content-sha256`` says about the body (S3's payload modes, s3-sse spec §8).

KMS signs the exact body; S3 lets the client say how the payload is covered:

    <64 hex>                                  the SHA-256 of the body (checked against it)
    UNSIGNED-PAYLOAD                          not covered by the signature
    STREAMING-UNSIGNED-PAYLOAD-TRAILER        aws-chunked, unsigned chunks, trailing checksum
    STREAMING-AWS4-HMAC-SHA256-PAYLOAD        aws-chunked, every chunk signed
    STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER   ... plus a signed trailer

In every mode the header's *value* is the last line of the canonical request, so
``verify_signature(..., payload_hash=header)`` checks the request itself; the body is
then checked by the mode: hashed (:class:`BodyHasher`) or decoded chunk by chunk
(:mod:`trent.protocol.sigv4.chunked`).
"""

from __future__ import annotations

import enum
import hashlib
import hmac
import re

from trent import errors

_HEX64 = re.compile(r"^[0-9a-f]{64}$")


class PayloadMode(enum.Enum):
    SIGNED = "signed"  # the header is the body's SHA-256
    UNSIGNED = "UNSIGNED-PAYLOAD"
    STREAMING_UNSIGNED_TRAILER = "STREAMING-UNSIGNED-PAYLOAD-TRAILER"
    STREAMING_SIGNED = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD"
    STREAMING_SIGNED_TRAILER = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER"

    @property
    def chunked(self) -> bool:
        return self.value.startswith("STREAMING-")

    @property
    def signed_chunks(self) -> bool:
        return self in (PayloadMode.STREAMING_SIGNED, PayloadMode.STREAMING_SIGNED_TRAILER)

    @property
    def has_trailer(self) -> bool:
        return self.value.endswith("-TRAILER")


_BY_VALUE = {m.value: m for m in PayloadMode if m is not PayloadMode.SIGNED}


def payload_mode(x_amz_content_sha256: str | None) -> PayloadMode:
    """S3 requires the header on every SigV4 request; its value picks the mode."""
    if x_amz_content_sha256 is None:
        raise errors.InvalidRequest("Missing required header for this request: x-amz-content-sha256")
    mode = _BY_VALUE.get(x_amz_content_sha256)
    if mode is not None:
        return mode
    if _HEX64.match(x_amz_content_sha256):
        return PayloadMode.SIGNED
    raise errors.InvalidArgument(
        "x-amz-content-sha256 must be UNSIGNED-PAYLOAD, STREAMING-UNSIGNED-PAYLOAD-TRAILER, "
        "STREAMING-AWS4-HMAC-SHA256-PAYLOAD, STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER or a valid sha256 value.",
        details={"ArgumentName": "x-amz-content-sha256", "ArgumentValue": x_amz_content_sha256[:64]},
    )


class BodyHasher:
    """For :attr:`PayloadMode.SIGNED`: hash the body as it streams by, compare at the end
    (constant time). Nothing may be committed before :meth:`finish` has passed."""

    __slots__ = ("_expected", "_h")

    def __init__(self, expected_hex: str) -> None:
        self._expected = expected_hex
        self._h = hashlib.sha256()

    def update(self, data: bytes | memoryview) -> None:
        self._h.update(data)

    def finish(self) -> None:
        if not hmac.compare_digest(self._h.hexdigest().encode("ascii"), self._expected.encode("ascii")):
            raise errors.XAmzContentSHA256Mismatch()
