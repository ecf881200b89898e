"""S3's payload modes in the one SigV4 verifier (issue 17, s3-sse spec §8).

Oracles: AWS's published chunked-upload examples (tests/vectors/s3-chunked) for signed
chunks and signed trailers, and botocore itself for STREAMING-UNSIGNED-PAYLOAD-TRAILER
(real boto3 requests captured before sending). Bodies are fed to the decoder in every
split that can cut a chunk header, a CRLF or the trailer.
"""

from __future__ import annotations

import hashlib
import io
import json
import random
import zlib
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import boto3
import pytest
from awscrt import checksums as crt
from botocore.awsrequest import AWSResponse
from botocore.config import Config

from trent import errors
from trent.protocol import sigv4
from trent.protocol.sigv4 import AwsChunkedDecoder, ChunkSigner, PayloadMode, payload_mode

VECTORS = json.loads((Path(__file__).resolve().parents[2] / "vectors" / "s3-chunked" / "aws-examples.json").read_text())
SECRET = VECTORS["secret_access_key"]


def _case(name: str) -> dict[str, Any]:
    return next(c for c in VECTORS["cases"] if c["name"] == name)


def _signed_body(case: dict[str, Any], *, tamper_chunk: int | None = None) -> bytes:
    data = VECTORS["data"]
    sizes = [*data["chunk_sizes"], 0]
    out = bytearray()
    for i, (size, sig) in enumerate(zip(sizes, case["chunk_signatures"])):
        chunk = data["byte"].encode() * size
        if tamper_chunk == i and size:
            chunk = b"b" + chunk[1:]
        out += f"{size:x};chunk-signature={sig}\r\n".encode() + chunk
        if size:
            out += b"\r\n"
    if "trailer" in case:
        for name, value in case["trailer"]:
            out += f"{name}:{value}\r\n".encode()
        out += f"x-amz-trailer-signature:{case['trailer_signature']}\r\n".encode()
    out += b"\r\n"
    return bytes(out)


def _decoder_for(case: dict[str, Any]) -> AwsChunkedDecoder:
    headers = [(n.encode(), v.encode()) for n, v in case["headers"]]
    parsed = sigv4.parse_request_auth(headers)
    mode = payload_mode(parsed.headers.first("x-amz-content-sha256"))
    # the request itself: the seed signature is AWS's
    sigv4.verify_signature(
        parsed, SECRET, VECTORS["method"], VECTORS["path"], "", parsed.headers, b"",
        payload_hash=mode.value, path_as_sent=True,
    )
    return AwsChunkedDecoder(
        mode,
        signer=ChunkSigner.for_request(parsed, SECRET),
        declared_trailer=parsed.headers.first("x-amz-trailer"),
        decoded_length=int(parsed.headers.first("x-amz-decoded-content-length") or 0),
    )


def _decode(decoder: AwsChunkedDecoder, body: bytes, cuts: list[int]) -> tuple[bytes, sigv4.Checksum | None]:
    out = bytearray()
    start = 0
    for cut in [*cuts, len(body)]:
        for piece in decoder.feed(body[start:cut]):
            out += piece
        start = cut
    return bytes(out), decoder.finish()


@pytest.mark.parametrize("name", ["signed-chunks", "signed-chunks-with-trailer"])
def test_aws_published_examples_decode(name: str) -> None:
    case = _case(name)
    body = _signed_body(case)
    data, checksum = _decode(_decoder_for(case), body, [])
    assert data == b"a" * 66560
    if "trailer" in case:
        assert checksum is not None and checksum.b64digest() == "sOO8/Q=="
        assert checksum.b64digest() == sigv4.checksum_of("crc32c", data)
        # awscrt, the AWS common runtime, agrees with the published value
        import base64

        assert base64.b64encode(crt.crc32c(data).to_bytes(4, "big")).decode() == "sOO8/Q=="
    else:
        assert checksum is None


@pytest.mark.parametrize("name", ["signed-chunks", "signed-chunks-with-trailer"])
def test_every_split_point_decodes_the_same(name: str) -> None:
    case = _case(name)
    body = _signed_body(case)
    rng = random.Random(17)
    interesting = [i for i in range(len(body)) if i < 200 or abs(i - 65536 - 90) < 120 or i > len(body) - 260]
    for cut in interesting:
        data, _ = _decode(_decoder_for(case), body, [cut])
        assert data == b"a" * 66560, cut
    for _ in range(20):
        cuts = sorted(rng.sample(range(1, len(body)), 40))
        assert _decode(_decoder_for(case), body, cuts)[0] == b"a" * 66560
    # one byte at a time through the header and trailer regions
    decoder = _decoder_for(case)
    assert _decode(decoder, body, list(range(1, len(body))))[0] == b"a" * 66560


@pytest.mark.parametrize("chunk", [0, 1])
def test_a_changed_chunk_fails_its_signature(chunk: int) -> None:
    case = _case("signed-chunks")
    decoder = _decoder_for(case)
    with pytest.raises(errors.InvalidSignature):
        _decode(decoder, _signed_body(case, tamper_chunk=chunk), [])


def test_reordered_chunks_fail() -> None:
    case = _case("signed-chunks")
    sigs = case["chunk_signatures"]
    swapped = dict(case, chunk_signatures=[sigs[1], sigs[0], sigs[2]])
    with pytest.raises(errors.InvalidSignature):
        _decode(_decoder_for(case), _signed_body(swapped), [])


def test_changed_trailer_fails_the_trailer_signature() -> None:
    case = _case("signed-chunks-with-trailer")
    body = _signed_body(case).replace(b"sOO8/Q==", b"AAAAAA==")
    with pytest.raises(errors.InvalidSignature):
        _decode(_decoder_for(case), body, [])


def test_truncation_at_every_boundary_is_incomplete_body() -> None:
    case = _case("signed-chunks-with-trailer")
    body = _signed_body(case)
    for end in (0, 10, 90, 65536 + 90, 65536 + 95, len(body) - 80, len(body) - 2, len(body) - 1):
        decoder = _decoder_for(case)
        decoder.feed(body[:end])
        with pytest.raises(errors.IncompleteBody):
            decoder.finish()


def test_bytes_after_the_end_are_refused() -> None:
    case = _case("signed-chunks")
    decoder = _decoder_for(case)
    with pytest.raises(errors.IncompleteBody):
        decoder.feed(_signed_body(case) + b"x")


def test_decoded_length_must_match() -> None:
    case = _case("signed-chunks")
    parsed = sigv4.parse_request_auth([(n.encode(), v.encode()) for n, v in case["headers"]])
    for declared in (66559, 66561):
        decoder = AwsChunkedDecoder(
            PayloadMode.STREAMING_SIGNED, signer=ChunkSigner.for_request(parsed, SECRET), decoded_length=declared
        )
        with pytest.raises(errors.IncompleteBody):
            _decode(decoder, _signed_body(case), [])


def test_short_signed_chunk_before_another_is_invalid_chunk_size() -> None:
    case = _case("signed-chunks")
    parsed = sigv4.parse_request_auth([(n.encode(), v.encode()) for n, v in case["headers"]])
    signer = ChunkSigner.for_request(parsed, SECRET)
    prev = signer.seed_signature
    body = bytearray()
    for data in (b"x" * 100, b"y" * 100):
        prev = signer.chunk_signature(prev, hashlib.sha256(data).hexdigest())
        body += f"{len(data):x};chunk-signature={prev}\r\n".encode() + data + b"\r\n"
    decoder = AwsChunkedDecoder(PayloadMode.STREAMING_SIGNED, signer=signer)
    with pytest.raises(errors.InvalidChunkSize):
        decoder.feed(bytes(body))


@pytest.mark.parametrize(
    "body",
    [b"zz\r\nab\r\n0\r\n\r\n", b"2\nab\r\n0\r\n\r\n", b"2\r\nabc\r\n0\r\n\r\n", b"-2\r\nab\r\n", b"2;x=y\r\nab\r\n",
     b"1" * 5000, b"0\r\nnocolon\r\n\r\n"],
)
def test_malformed_framing_is_incomplete_body(body: bytes) -> None:
    decoder = AwsChunkedDecoder(PayloadMode.STREAMING_UNSIGNED_TRAILER)
    with pytest.raises(errors.IncompleteBody):
        decoder.feed(body)
        decoder.finish()


def test_payload_modes() -> None:
    assert payload_mode("UNSIGNED-PAYLOAD") is PayloadMode.UNSIGNED
    assert payload_mode("a" * 64) is PayloadMode.SIGNED
    assert payload_mode("STREAMING-UNSIGNED-PAYLOAD-TRAILER").has_trailer
    with pytest.raises(errors.InvalidRequest):
        payload_mode(None)
    with pytest.raises(errors.InvalidArgument):
        payload_mode("A" * 64)  # uppercase hex is not what S3 accepts [?]
    hasher = sigv4.BodyHasher(hashlib.sha256(b"abc").hexdigest())
    hasher.update(b"ab")
    hasher.update(b"c")
    hasher.finish()
    bad = sigv4.BodyHasher(hashlib.sha256(b"abc").hexdigest())
    bad.update(b"abd")
    with pytest.raises(errors.XAmzContentSHA256Mismatch):
        bad.finish()


@pytest.mark.parametrize(
    ("algorithm", "check"),
    # the standard check values over "123456789" (CRC catalogue; FIPS 180 for the hashes)
    [("crc32", "cbf43926"), ("crc32c", "e3069283"), ("crc64nvme", "ae8b14860a799888"),
     ("sha1", "f7c3bc1d808e04732adf679965ccc34ca7ae3441"),
     ("sha256", "15e2b0d3c33891ebb0f1ef609ec419420c20e320ce94c65fbc8c3312448eb225")],
)
def test_checksum_check_values(algorithm: str, check: str) -> None:
    import base64

    c = sigv4.Checksum(algorithm)
    c.update(b"1234")
    c.update(memoryview(b"56789"))
    assert base64.b64decode(c.b64digest()).hex() == check
    with pytest.raises(errors.BadDigest, match=r"The .* you specified did not match the calculated checksum\."):
        c.verify(base64.b64encode(b"\0" * len(bytes.fromhex(check))).decode())


# --- botocore as the other side ------------------------------------------------------------


class _Raw:
    def stream(self, **_: Any):  # noqa: ANN201 - botocore's raw response protocol
        yield b""


def _text(value: str | bytes) -> str:
    return value.decode("latin-1") if isinstance(value, bytes) else value


def _capture(operation: str, endpoint: str = "https://s3.trent.test", **params: Any) -> dict[str, Any]:
    """A real boto3 request (default checksum behaviour: CRC32 in an aws-chunked trailer
    over https), captured before it leaves and answered with a canned 200."""
    client = boto3.client(
        "s3", endpoint_url=endpoint, region_name="us-east-1",
        aws_access_key_id="AKIDEXAMPLE", aws_secret_access_key=SECRET,
        config=Config(s3={"addressing_style": "path"}, retries={"max_attempts": 0}),
    )
    seen: dict[str, Any] = {}

    def before_send(request: Any, **_: Any) -> AWSResponse:
        body = request.body
        raw = body.read() if hasattr(body, "read") else (body or b"")
        seen.update(
            method=request.method, url=request.url, body=raw,
            headers=[(n, _text(v)) for n, v in request.headers.items()],
        )
        return AWSResponse(request.url, 200, {"ETag": '"0"'}, _Raw())

    client.meta.events.register("before-send.s3.*", before_send)
    getattr(client, operation)(**params)
    return seen


def _verify_captured(seen: dict[str, Any], cuts: int = 7) -> tuple[bytes, sigv4.Checksum | None]:
    headers = [(n.lower().encode("latin-1"), v.encode("latin-1")) for n, v in seen["headers"]]
    parsed = sigv4.parse_request_auth(headers)
    url = urlsplit(seen["url"])
    mode = payload_mode(parsed.headers.first("x-amz-content-sha256"))
    sigv4.verify_signature(
        parsed, SECRET, seen["method"], url.path, url.query, parsed.headers, b"",
        payload_hash=parsed.headers.first("x-amz-content-sha256"), path_as_sent=True,
    )
    if not mode.chunked:
        return seen["body"], None
    decoder = AwsChunkedDecoder(
        mode, declared_trailer=parsed.headers.first("x-amz-trailer"),
        decoded_length=int(parsed.headers.first("x-amz-decoded-content-length") or -1),
    )
    body = seen["body"]
    step = max(1, len(body) // cuts)
    return _decode(decoder, body, list(range(step, len(body), step)))


# sizes around botocore's 1 MiB aws-chunked chunk and the empty body
@pytest.mark.parametrize("size", [0, 1, 8191, 65536, 1024 * 1024 - 1, 1024 * 1024, 1024 * 1024 + 1, 3 * 1024 * 1024 + 5])
def test_botocore_put_object_unsigned_trailer(size: int) -> None:
    data = random.Random(size).randbytes(size)
    seen = _capture("put_object", Bucket="bucket", Key="dir/a key+ü.bin", Body=io.BytesIO(data))
    assert dict((n.lower(), v) for n, v in seen["headers"])["x-amz-content-sha256"] == (
        "STREAMING-UNSIGNED-PAYLOAD-TRAILER"
    )
    decoded, checksum = _verify_captured(seen)
    assert decoded == data
    assert checksum is not None and checksum.algorithm == "crc32"
    import base64

    assert base64.b64decode(checksum.b64digest()) == zlib.crc32(data).to_bytes(4, "big")


@pytest.mark.parametrize("algorithm", ["CRC32C", "SHA1", "SHA256", "CRC64NVME"])
def test_botocore_upload_part_with_each_trailing_checksum(algorithm: str) -> None:
    data = random.Random(7).randbytes(200_000)
    seen = _capture(
        "upload_part", Bucket="b", Key="k", UploadId="u-1", PartNumber=3, Body=io.BytesIO(data),
        ChecksumAlgorithm=algorithm,
    )
    decoded, checksum = _verify_captured(seen)
    assert decoded == data and checksum is not None and checksum.algorithm == algorithm.lower()


def test_botocore_signed_query_request_verifies() -> None:
    seen = _capture("list_objects_v2", Bucket="bucket", Prefix="a/b c", Delimiter="/", MaxKeys=7)
    _verify_captured(seen)
    url = urlsplit(seen["url"])
    headers = [(n.lower().encode("latin-1"), v.encode("latin-1")) for n, v in seen["headers"]]
    parsed = sigv4.parse_request_auth(headers)
    with pytest.raises(errors.InvalidSignature):
        sigv4.verify_signature(parsed, SECRET, "GET", url.path, url.query.replace("7", "8"), parsed.headers, b"",
                               payload_hash=parsed.headers.first("x-amz-content-sha256"), path_as_sent=True)


def test_botocore_unchunked_checksum_header_matches() -> None:
    """Over plain HTTP botocore signs the body's SHA-256 and sends x-amz-checksum-crc32
    as a header (no aws-chunked, s3-sse spec §8)."""
    data = b"hello world" * 1000
    seen = _capture("put_object", endpoint="http://127.0.0.1:9", Bucket="b", Key="k", Body=data)
    headers = {n.lower(): v for n, v in seen["headers"]}
    mode = payload_mode(headers["x-amz-content-sha256"])
    assert not mode.chunked
    decoded, _ = _verify_captured(seen)
    assert decoded == data
    if mode is PayloadMode.SIGNED:
        hasher = sigv4.BodyHasher(headers["x-amz-content-sha256"])
        hasher.update(decoded)
        hasher.finish()
    assert sigv4.checksum_of("crc32", data) == headers["x-amz-checksum-crc32"]
