"""S3's flexible checksums (``x-amz-checksum-<algorithm>``): incremental, base64 on output.

A request names one algorithm (``x-amz-sdk-checksum-algorithm`` / ``x-amz-trailer`` /
an ``x-amz-checksum-*`` header) and carries the checksum of the *decoded* payload,
base64-encoded big-endian (s3-sse spec §8). CRC32 is zlib's; CRC32C (the catalogue's
CRC-32/ISCSI) and CRC-64/NVME are ``anycrc``'s table-driven C implementations of those
catalogue models (any buffer, no copies, ~10 GB/s here); SHA-1 and SHA-256 are hashlib's.
A mismatch is S3's ``BadDigest`` naming the algorithm.

Not ``awscrt``, although botocore uses it for these two: once installed, botocore imports
it in *every* process that imports boto3 (+7 MiB RSS), which would push Trent's S3
Encryption Client past its 64 MiB bound (issue 18). The tests check both against awscrt
and against the catalogue's check values.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import zlib
from collections.abc import Callable

import anycrc

from trent import errors

HEADER_PREFIX = "x-amz-checksum-"


# Both reflected with init and xorout all ones, so calc(data, crc) continues from a previous
# value and the value of no data is 0, as _Crc starts. CRC32C = CRC-32/ISCSI (poly 0x1EDC6F41);
# CRC-64/NVME: poly 0xAD93D23594C93659.
_CRC32C = anycrc.Model("CRC32-ISCSI")
_CRC64_NVME = anycrc.Model("CRC64-NVME")


class _Crc:
    __slots__ = ("_fn", "_value", "_width")

    def __init__(self, fn: Callable[[bytes | memoryview, int], int], width: int) -> None:
        self._fn = fn
        self._value = 0
        self._width = width

    def update(self, data: bytes | memoryview) -> None:
        self._value = self._fn(data, self._value)

    def digest(self) -> bytes:
        return self._value.to_bytes(self._width, "big")


class _Hash:
    __slots__ = ("_h",)

    def __init__(self, name: str) -> None:
        self._h = hashlib.new(name)

    def update(self, data: bytes | memoryview) -> None:
        self._h.update(data)

    def digest(self) -> bytes:
        return self._h.digest()


_FACTORIES: dict[str, Callable[[], _Crc | _Hash]] = {
    "crc32": lambda: _Crc(zlib.crc32, 4),
    "crc32c": lambda: _Crc(_CRC32C.calc, 4),
    "crc64nvme": lambda: _Crc(_CRC64_NVME.calc, 8),
    "sha1": lambda: _Hash("sha1"),
    "sha256": lambda: _Hash("sha256"),
}
ALGORITHMS = frozenset(_FACTORIES)
# How S3 names the algorithm in BadDigest ("The CRC32 you specified did not match ...").
_DISPLAY = {"crc32": "CRC32", "crc32c": "CRC32C", "crc64nvme": "CRC64NVME", "sha1": "SHA1", "sha256": "SHA256"}


def algorithm_of_header(name: str) -> str | None:
    """``x-amz-checksum-crc32`` -> ``crc32``; None for any other header name."""
    lowered = name.lower()
    if not lowered.startswith(HEADER_PREFIX):
        return None
    algorithm = lowered[len(HEADER_PREFIX) :]
    return algorithm if algorithm in _FACTORIES else None


class Checksum:
    """One running checksum of the decoded payload."""

    __slots__ = ("algorithm", "_state")

    def __init__(self, algorithm: str) -> None:
        factory = _FACTORIES.get(algorithm.lower())
        if factory is None:
            raise errors.InvalidRequest(f"Value for x-amz-checksum-{algorithm} header is invalid.")
        self.algorithm = algorithm.lower()
        self._state = factory()

    @property
    def header_name(self) -> str:
        return HEADER_PREFIX + self.algorithm

    def update(self, data: bytes | memoryview) -> None:
        self._state.update(data)

    def b64digest(self) -> str:
        return base64.b64encode(self._state.digest()).decode("ascii")

    def verify(self, expected_b64: str) -> str:
        """The base64 value when it equals ``expected_b64``; BadDigest otherwise."""
        actual = self.b64digest()
        if not hmac.compare_digest(actual.encode("ascii"), expected_b64.strip().encode("latin-1", "replace")):
            raise errors.BadDigest(
                f"The {_DISPLAY[self.algorithm]} you specified did not match the calculated checksum."
            )
        return actual


def checksum_of(algorithm: str, data: bytes) -> str:
    """The base64 checksum of ``data`` in one call (tests, single-shot bodies)."""
    c = Checksum(algorithm)
    c.update(data)
    return c.b64digest()
