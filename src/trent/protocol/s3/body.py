"""An S3 request body, checked by its payload mode as it streams (issue 17, s3-sse spec §8).

The server hands the front door a :class:`BodySource`: the raw bytes as they arrive
(the built-in server feeds them from the socket through a bounded pipe, so an upload
is never held in memory whole; ``Expect: 100-continue`` is answered when the body is
first pulled, i.e. only once authorization and the data key are settled). How the
signature covers the payload (``x-amz-content-sha256``, checked at authentication)
decides what :func:`decoded` does with it:

    <sha256 hex>          bytes pass through; their SHA-256 is compared at the end
    UNSIGNED-PAYLOAD      bytes pass through
    STREAMING-*           aws-chunked framing decoded (chunk and trailer signatures,
                          the trailing x-amz-checksum-*), see ``sigv4/chunked.py``

Every check fails *from the iterator*, at the latest after the last byte, and the use
cases consume the body inside the object store's atomic put: a body that fails any
check leaves nothing stored.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Protocol

from trent import errors
from trent.crypto.checksums import HEADER_PREFIX, algorithm_of_header
from trent.domain.frozen import fast_init
from trent.protocol.sigv4 import AwsChunkedDecoder, BodyHasher, ChunkSigner, PayloadMode


class BodySource(Protocol):
    """A request body as the server receives it."""

    def chunks(self) -> Iterator[bytes]:
        """The raw body, piece by piece (may block for the network)."""
        ...

    def read_all(self, limit: int) -> bytes:
        """The whole raw body (documents: XML, bucket policies); over ``limit`` bytes is
        S3's MaxMessageLengthExceeded, answered as InvalidRequest (400) here."""
        ...

    @property
    def consumed(self) -> bool:
        """The body was read to its end (the connection may be reused)."""
        ...


class BytesBody:
    """A body already in memory (the ASGI face; tests)."""

    __slots__ = ("_data", "_read")

    def __init__(self, data: bytes) -> None:
        self._data = data
        self._read = False

    def chunks(self) -> Iterator[bytes]:
        self._read = True
        if self._data:
            yield self._data

    def read_all(self, limit: int) -> bytes:
        self._read = True
        if len(self._data) > limit:
            raise errors.InvalidRequest("Your request was too big.")
        return self._data

    @property
    def consumed(self) -> bool:
        return True


@fast_init
@dataclass(frozen=True, slots=True)
class Payload:
    """What authentication established about the body (``KmsPipeline.authenticate_s3``)."""

    mode: PayloadMode
    declared: str  # x-amz-content-sha256 as sent
    signer: ChunkSigner | None = None  # signed aws-chunked modes
    verified: bool = True  # False: --permissive dev caller, nothing is signature-checked


@fast_init
@dataclass(frozen=True, slots=True)
class BodyFacts:
    """What the headers say about the decoded body."""

    length: int | None  # Content-Length, or x-amz-decoded-content-length for aws-chunked
    checksum_algorithm: str | None  # crc32 | crc32c | crc64nvme | sha1 | sha256
    checksum_value: str | None  # an x-amz-checksum-* header (not a trailer)


def body_facts(headers: Mapping[str, str], payload: Payload) -> BodyFacts:
    name = "x-amz-decoded-content-length" if payload.mode.chunked else "content-length"
    raw_length = headers.get(name)
    length = int(raw_length) if raw_length is not None and raw_length.strip().isdigit() else None
    algorithm = value = None
    trailer = headers.get("x-amz-trailer")
    if trailer is not None:
        algorithm = algorithm_of_header(trailer.strip().lower())
    for name, sent in headers.items():
        if name.startswith(HEADER_PREFIX):
            found = algorithm_of_header(name)
            if found is not None:
                algorithm, value = found, sent
    if algorithm is None and (sdk := headers.get("x-amz-sdk-checksum-algorithm")):
        algorithm = sdk.strip().lower()
    return BodyFacts(length, algorithm, value)


def decoded(raw: Iterable[bytes], payload: Payload, headers: Mapping[str, str]) -> Iterator[bytes | memoryview]:
    """The payload's data, checked as it goes (see the module docstring)."""
    mode = payload.mode
    if mode is PayloadMode.UNSIGNED:
        yield from raw
        return
    if mode is PayloadMode.SIGNED:
        if not payload.verified:
            yield from raw
            return
        hasher = BodyHasher(payload.declared)
        for piece in raw:
            hasher.update(piece)
            yield piece
            del piece  # before the next is waited for (BodyPipe.chunks)
        hasher.finish()
        return
    if mode.signed_chunks and payload.signer is None:
        # [--permissive only] an unknown dev key: no secret to check chunk signatures with
        raise errors.InvalidSignature("Signed aws-chunked payloads need a known access key.")
    raw_length = headers.get("x-amz-decoded-content-length")
    decoder = AwsChunkedDecoder(
        mode,
        signer=payload.signer,
        declared_trailer=headers.get("x-amz-trailer"),
        decoded_length=int(raw_length) if raw_length and raw_length.isdigit() else None,
    )
    for piece in raw:
        yield from decoder.feed(piece)
        del piece  # before the next is waited for (BodyPipe.chunks)
    decoder.finish()

