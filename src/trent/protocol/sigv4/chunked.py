"""``Content-Encoding: aws-chunked`` bodies, decoded as they stream in (s3-sse spec §8).

Wire format (AWS S3 API reference, "Signature Calculations for the Authorization
Header: Transferring Payload in Multiple Chunks" and "... Including Trailing Headers")::

    signed:    <hex size>;chunk-signature=<64 hex>\\r\\n <size bytes> \\r\\n   ... repeated
               0;chunk-signature=<64 hex>\\r\\n
               [trailer lines: <name>:<value>\\r\\n ... x-amz-trailer-signature:<64 hex>\\r\\n]
               \\r\\n
    unsigned:  <hex size>\\r\\n <size bytes> \\r\\n   ... repeated
               0\\r\\n [<name>:<value>\\r\\n ...] \\r\\n

Each chunk signature chains from the previous one (the first from the request's own
signature, the *seed*)::

    AWS4-HMAC-SHA256-PAYLOAD \\n <X-Amz-Date> \\n <scope> \\n <previous signature> \\n
        <SHA-256 of ""> \\n <SHA-256 of the chunk data>

and the trailer's from the final chunk's::

    AWS4-HMAC-SHA256-TRAILER \\n <X-Amz-Date> \\n <scope> \\n <previous signature> \\n
        <SHA-256 of "name:value\\n" for each trailing header>

:class:`AwsChunkedDecoder` is a push parser: :meth:`~AwsChunkedDecoder.feed` takes any
slice of the body and returns the decoded data in it (zero-copy ``memoryview`` slices
of the input); :meth:`~AwsChunkedDecoder.finish` checks the end (final chunk seen,
``x-amz-decoded-content-length``, the trailing checksum) and returns the checksum.
Memory is bounded: only a chunk-header or trailer line (≤ 4 KiB) is ever buffered.
Nothing decoded may be committed before ``finish`` returns: a chunk's data is handed
out before its signature is known to be good only because the caller discards
everything on any error.

Errors are S3's: a bad chunk or trailer signature -> SignatureDoesNotMatch
(:class:`errors.InvalidSignature`); truncated or malformed framing and a length
that differs from ``x-amz-decoded-content-length`` -> ``IncompleteBody``; a signed
chunk under 8 KiB that is not the last data chunk -> ``InvalidChunkSizeError``; a
checksum mismatch -> ``BadDigest``.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from trent import errors
from trent.protocol.sigv4.authorization import ParsedAuth
from trent.protocol.sigv4.checksums import Checksum, algorithm_of_header
from trent.protocol.sigv4.constants import EMPTY_SHA256
from trent.protocol.sigv4.payload import PayloadMode
from trent.protocol.sigv4.signing_keys import SigningKeyCache

MAX_LINE = 4096
MIN_SIGNED_CHUNK = 8192  # S3: every signed chunk but the last data chunk is >= 8 KiB
TRAILER_SIGNATURE = "x-amz-trailer-signature"
_CHUNK_ALGORITHM = "AWS4-HMAC-SHA256-PAYLOAD"
_TRAILER_ALGORITHM = "AWS4-HMAC-SHA256-TRAILER"


class _HexDigester(Protocol):
    def hexdigest(self, message: bytes) -> str: ...


@dataclass(frozen=True, slots=True)
class ChunkSigner:
    """What verifying chunk signatures needs: the request's signing key (HMAC pads
    pre-absorbed), its X-Amz-Date and scope, and the seed (the request's signature,
    already verified by ``verify_signature``)."""

    key: _HexDigester
    amz_date: str
    scope: str
    seed_signature: str

    @staticmethod
    def for_request(parsed: ParsedAuth, secret: str, cache: SigningKeyCache | None = None) -> ChunkSigner:
        auth = parsed.authorization
        key = (cache or SigningKeyCache(4)).prepared(auth.access_key_id, secret, auth.date, auth.region, auth.service)
        return ChunkSigner(key, parsed.amz_date, auth.scope, auth.signature)

    def chunk_signature(self, previous: str, data_sha256_hex: str) -> str:
        sts = "\n".join((_CHUNK_ALGORITHM, self.amz_date, self.scope, previous, EMPTY_SHA256, data_sha256_hex))
        return self.key.hexdigest(sts.encode("ascii"))

    def trailer_signature(self, previous: str, trailer_lines: Sequence[tuple[str, str]]) -> str:
        canonical = "".join(f"{name}:{value}\n" for name, value in trailer_lines)
        digest = hashlib.sha256(canonical.encode("utf-8")).hexdigest()
        sts = "\n".join((_TRAILER_ALGORITHM, self.amz_date, self.scope, previous, digest))
        return self.key.hexdigest(sts.encode("ascii"))


# parser states
_HEADER, _DATA, _DATA_END, _TRAILER, _DONE = range(5)


def _malformed(reason: str) -> errors.IncompleteBody:
    return errors.IncompleteBody(audit_reason=f"aws-chunked: {reason}")


def _bad_signature(reason: str) -> errors.InvalidSignature:
    return errors.InvalidSignature(audit_reason=reason)


class AwsChunkedDecoder:
    """Decode one aws-chunked body. ``declared_trailer``: the ``x-amz-trailer`` header
    (the checksum header the trailer will carry), ``decoded_length``: the
    ``x-amz-decoded-content-length`` header, ``signer``: required for signed modes."""

    def __init__(
        self,
        mode: PayloadMode,
        *,
        signer: ChunkSigner | None = None,
        declared_trailer: str | None = None,
        decoded_length: int | None = None,
    ) -> None:
        if not mode.chunked:
            raise ValueError(f"{mode} is not an aws-chunked payload mode")
        if mode.signed_chunks and signer is None:
            raise ValueError("signed chunks need a ChunkSigner")
        self._mode = mode
        self._signer = signer
        self._previous = signer.seed_signature if signer is not None else ""
        self._decoded_length = decoded_length
        self._state = _HEADER
        self._line = bytearray()
        self._remaining = 0
        self._chunk_signature = ""
        self._chunk_hash: hashlib._Hash | None = None
        self._short_seen = False
        self._final_seen = False
        self._total = 0
        self._trailer: list[tuple[str, str]] = []
        self._trailer_signature: str | None = None
        self._checksum: Checksum | None = None
        if declared_trailer is not None:
            algorithm = algorithm_of_header(declared_trailer.strip())
            if algorithm is None or not mode.has_trailer:
                raise errors.InvalidRequest(
                    "The value specified in the x-amz-trailer header is not supported",
                    audit_reason=f"x-amz-trailer {declared_trailer[:64]!r} with {mode.value}",
                )
            self._checksum = Checksum(algorithm)

    @property
    def decoded_bytes(self) -> int:
        return self._total

    # --- feeding ----------------------------------------------------------------------

    def feed(self, data: bytes | bytearray | memoryview) -> list[memoryview]:
        """Decoded payload contained in ``data`` (possibly none)."""
        view = memoryview(data)
        out: list[memoryview] = []
        pos, end = 0, len(view)
        while pos < end:
            state = self._state
            if state == _DATA:
                take = min(self._remaining, end - pos)
                piece = view[pos : pos + take]
                self._consume(piece)
                out.append(piece)
                pos += take
                self._remaining -= take
                if self._remaining == 0:
                    self._state = _DATA_END
            elif state == _DONE:
                raise _malformed("bytes after the end of the body")
            else:
                line, pos = self._take_line(view, pos, end)
                if line is None:
                    break
                if state == _HEADER:
                    self._chunk_header(line)
                elif state == _DATA_END:
                    if line:
                        raise _malformed("chunk data is longer than its size")
                    self._end_of_chunk()
                else:
                    self._trailer_line(line)
        return out

    def _consume(self, piece: memoryview) -> None:
        if self._chunk_hash is not None:
            self._chunk_hash.update(piece)
        if self._checksum is not None:
            self._checksum.update(piece)

    def _take_line(self, view: memoryview, pos: int, end: int) -> tuple[bytes | None, int]:
        """The next CRLF-terminated line (without CRLF), or None if it is not complete yet."""
        buf = self._line
        # look for LF in the new data; CR must precede it (possibly in the buffer)
        chunk = view[pos:end]
        index = bytes(chunk[: MAX_LINE + 2]).find(b"\n")
        if index < 0:
            buf += chunk[: MAX_LINE + 2]
            if len(buf) > MAX_LINE + 1:
                raise _malformed("line too long")
            return None, end
        buf += chunk[:index]
        pos += index + 1
        if not buf.endswith(b"\r"):
            raise _malformed("line not terminated by CRLF")
        line = bytes(buf[:-1])
        buf.clear()
        if len(line) > MAX_LINE:
            raise _malformed("line too long")
        return line, pos

    def _chunk_header(self, line: bytes) -> None:
        size_text, _, extension = line.partition(b";")
        try:
            size = int(size_text, 16) if size_text and size_text.strip() == size_text else -1
        except ValueError:
            size = -1
        if size < 0:
            raise _malformed("chunk size is not hex")
        if self._mode.signed_chunks:
            name, eq, signature = extension.partition(b"=")
            if name != b"chunk-signature" or not eq or len(signature) != 64:
                raise _malformed("chunk without chunk-signature")
            self._chunk_signature = signature.decode("latin-1")
            self._chunk_hash = hashlib.sha256()
            if size and self._short_seen:
                raise errors.InvalidChunkSize()
            if 0 < size < MIN_SIGNED_CHUNK:
                self._short_seen = True
        elif extension:
            raise _malformed("unexpected chunk extension in an unsigned stream")
        self._total += size
        if self._decoded_length is not None and self._total > self._decoded_length:
            raise _malformed("more data than x-amz-decoded-content-length")
        if size == 0:
            self._verify_chunk()
            self._state = _TRAILER if self._mode.has_trailer else _DATA_END
            self._final_seen = True
            return
        self._remaining = size
        self._state = _DATA

    def _verify_chunk(self) -> None:
        if self._signer is None:
            return
        assert self._chunk_hash is not None
        expected = self._signer.chunk_signature(self._previous, self._chunk_hash.hexdigest())
        if not hmac.compare_digest(expected.encode("ascii"), self._chunk_signature.encode("latin-1")):
            raise _bad_signature("chunk signature mismatch")
        self._previous = expected

    def _end_of_chunk(self) -> None:
        if self._final_seen:
            self._state = _DONE  # the empty line after `0;chunk-signature=...`
            return
        self._verify_chunk()
        self._state = _HEADER

    def _trailer_line(self, line: bytes) -> None:
        if not line:
            self._state = _DONE
            return
        name, colon, value = line.partition(b":")
        if not colon:
            raise _malformed("trailer line without a colon")
        text_name = name.decode("latin-1").strip().lower()
        text_value = value.decode("latin-1").strip()
        if text_name == TRAILER_SIGNATURE:
            self._trailer_signature = text_value
        else:
            if self._trailer_signature is not None:
                raise _malformed("trailer header after the trailer signature")
            self._trailer.append((text_name, text_value))
        if len(self._trailer) > 16:
            raise _malformed("too many trailer headers")

    # --- the end ----------------------------------------------------------------------

    def finish(self) -> Checksum | None:
        """Check the body ended properly; return the verified trailing checksum, if any."""
        if self._state != _DONE:
            raise _malformed("body ended before the final chunk")
        if self._decoded_length is not None and self._total != self._decoded_length:
            raise _malformed("length differs from x-amz-decoded-content-length")
        if self._mode is PayloadMode.STREAMING_SIGNED_TRAILER:
            assert self._signer is not None
            if self._trailer_signature is None:
                raise _bad_signature("trailer without x-amz-trailer-signature")
            expected = self._signer.trailer_signature(self._previous, self._trailer)
            if not hmac.compare_digest(expected.encode("ascii"), self._trailer_signature.encode("latin-1")):
                raise _bad_signature("trailer signature mismatch")
        elif self._trailer_signature is not None:
            raise _malformed("trailer signature in an unsigned stream")
        trailer = dict(self._trailer)
        if self._checksum is None:
            for name in trailer:
                if algorithm_of_header(name) is not None:
                    raise errors.InvalidRequest(
                        "The trailer contains a checksum that the x-amz-trailer header did not declare",
                        audit_reason=f"undeclared trailer {name}",
                    )
            return None
        sent = trailer.get(self._checksum.header_name)
        if sent is None:
            raise errors.InvalidRequest(
                f"x-amz-trailer specified {self._checksum.header_name} but the trailer did not contain it",
            )
        self._checksum.verify(sent)
        return self._checksum
