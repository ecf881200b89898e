"""S3 payload modes and upload flow control on the wire (issue 17, s3-sse spec §8):
signed aws-chunked bodies (``STREAMING-AWS4-HMAC-SHA256-PAYLOAD``: the request signed by
botocore's own S3 signer, chunk signatures by an independent HMAC chain here), a
tampered chunk refused with nothing stored, and ``Expect: 100-continue`` answered only
for a request that may proceed (a refused one gets its error and no 100)."""

from __future__ import annotations

import hashlib
import hmac
import http.client
import os
import socket
from collections.abc import Iterator
from urllib.parse import urlsplit

import pytest
from botocore.auth import S3SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from botocore.exceptions import ClientError

from tests.fixtures.trent_server import TrentServer, seeded_trent
from tests.wire.raw_http import Reader
from tests.wire.s3_helpers import SEED, body, s3_client, without_expect

STREAMING = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD"
EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()
CHUNK = 64 * 1024


@pytest.fixture(scope="module")
def server() -> Iterator[TrentServer]:
    with seeded_trent(SEED, prefix="trent-s3-modes-") as server:
        s3_client(server).create_bucket(Bucket="modes")
        yield server


class _StreamingAuth(S3SigV4Auth):
    """botocore's S3 signer, told the payload is signed chunk by chunk."""

    def payload(self, request):  # noqa: ANN001, ANN201
        return STREAMING

    def _should_sha256_sign_payload(self, request):  # noqa: ANN001, ANN201
        return True


def _signing_key(secret: str, date: str) -> bytes:
    key = ("AWS4" + secret).encode()
    for part in (date, "us-east-1", "s3", "aws4_request"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    return key


def signed_chunked_put(server: TrentServer, path: str, data: bytes, *, tamper: int | None = None,
                       headers: dict[str, str] | None = None) -> tuple[int, bytes]:
    pieces = [data[i : i + CHUNK] for i in range(0, len(data), CHUNK)] + [b""]
    length = sum(len(f"{len(p):x};chunk-signature=".encode()) + 64 + 2 + len(p) + 2 for p in pieces)
    all_headers = {"Content-Encoding": "aws-chunked", "x-amz-decoded-content-length": str(len(data)),
                   "Content-Length": str(length), **(headers or {})}
    request = AWSRequest("PUT", server.endpoint_url + path, headers=all_headers, data=b"")
    _StreamingAuth(Credentials("test", "test"), "s3", "us-east-1").add_auth(request)
    seed = request.headers["Authorization"].rsplit("Signature=", 1)[1]
    amz_date = request.headers["X-Amz-Date"]
    scope = f"{amz_date[:8]}/us-east-1/s3/aws4_request"
    key = _signing_key("test", amz_date[:8])
    previous, frames = seed, []
    for i, piece in enumerate(pieces):
        sts = "\n".join(("AWS4-HMAC-SHA256-PAYLOAD", amz_date, scope, previous, EMPTY_SHA256,
                         hashlib.sha256(piece).hexdigest()))
        signature = hmac.new(key, sts.encode(), hashlib.sha256).hexdigest()
        sent = piece if tamper != i else b"X" + piece[1:]
        frames.append(f"{len(piece):x};chunk-signature={signature}\r\n".encode() + sent + b"\r\n")
        previous = signature
    encoded = b"".join(frames)
    assert len(encoded) == length
    url = urlsplit(server.endpoint_url)
    connection = http.client.HTTPConnection(url.hostname, url.port, timeout=30)
    try:
        connection.request("PUT", path, encoded, headers=dict(request.headers.items()))
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


def test_signed_aws_chunked_upload(server: TrentServer) -> None:
    data = body(5 * CHUNK + 1234)
    status, answer = signed_chunked_put(server, "/modes/signed-chunks", data,
                                        headers={"x-amz-server-side-encryption": "aws:kms"})
    assert status == 200, answer
    got = s3_client(server).get_object(Bucket="modes", Key="signed-chunks")
    assert got["Body"].read() == data and got["ServerSideEncryption"] == "aws:kms"


def test_a_tampered_chunk_is_refused_and_nothing_is_stored(server: TrentServer) -> None:
    status, answer = signed_chunked_put(server, "/modes/tampered", body(3 * CHUNK), tamper=1)
    assert status == 403 and b"<Code>SignatureDoesNotMatch</Code>" in answer
    with pytest.raises(ClientError) as info:
        s3_client(server).head_object(Bucket="modes", Key="tampered")
    assert info.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404


def _raw_put_head(server: TrentServer, path: str, size: int) -> tuple[socket.socket, bytes]:
    """A signed PUT's head with Expect: 100-continue; returns the socket and what came back
    before any body byte was sent."""
    data = b"z" * size
    url = server.endpoint_url + path
    request = AWSRequest("PUT", url, headers={"Content-Length": str(size), "Expect": "100-continue"}, data=data)
    S3SigV4Auth(Credentials("test", "test"), "s3", "us-east-1").add_auth(request)
    parts = urlsplit(server.endpoint_url)
    sock = socket.create_connection((parts.hostname, parts.port), timeout=10)
    head = f"PUT {path} HTTP/1.1\r\nHost: {parts.netloc}\r\n" + "".join(
        f"{k}: {v}\r\n" for k, v in request.headers.items()) + "\r\n"
    sock.sendall(head.encode())
    return sock, sock.recv(65536)


@pytest.mark.parametrize("size", [1000, 100_000])  # a small body waits for its 100 as well
def test_expect_100_continue(server: TrentServer, size: int) -> None:
    sock, first = _raw_put_head(server, f"/modes/continued-{size}", size)
    try:
        assert first.startswith(b"HTTP/1.1 100 Continue\r\n\r\n"), first
        sock.sendall(b"z" * size)
        answer = b""
        while b"\r\n\r\n" not in answer:
            answer += sock.recv(65536)
        assert answer.split(b"\r\n", 1)[0] == b"HTTP/1.1 200 OK"
    finally:
        sock.close()
    assert s3_client(server).head_object(Bucket="modes", Key=f"continued-{size}")["ContentLength"] == size


def _signed(server: TrentServer, method: str, path: str, data: bytes, secret: str = "test") -> bytes:
    url = server.endpoint_url + path
    request = AWSRequest(method, url, headers={"Content-Length": str(len(data))}, data=data)
    S3SigV4Auth(Credentials("test", secret), "s3", "us-east-1").add_auth(request)
    head = f"{method} {path} HTTP/1.1\r\nHost: {urlsplit(server.endpoint_url).netloc}\r\n" + "".join(
        f"{k}: {v}\r\n" for k, v in request.headers.items() if k.lower() != "host") + "\r\n"
    return head.encode() + data


def test_pipelined_small_and_large_uploads_are_answered_in_order(server: TrentServer) -> None:
    """Uploads of at most 64 KiB without Expect are read whole before their handler runs
    (server/http11.py, S3_BUFFERED_UPLOAD_MAX), larger ones stream through a pipe: sent
    back to back on one connection, with a GET and a badly signed small PUT between them,
    every request is answered in order and the connection stays usable. (Each PUT runs
    after the requests before it: tests/wire/test_pipelining.py.)"""
    small, edge, large = os.urandom(1000), os.urandom(64 * 1024), os.urandom(64 * 1024 + 1)
    s3 = s3_client(server)
    s3.put_object(Bucket="modes", Key="pipe-before", Body=b"before")
    burst = b"".join([
        _signed(server, "PUT", "/modes/pipe-small", small),
        _signed(server, "PUT", "/modes/pipe-edge", edge),
        _signed(server, "PUT", "/modes/pipe-bad", small, secret="wrong"),
        _signed(server, "PUT", "/modes/pipe-large", large),
        _signed(server, "GET", "/modes/pipe-before", b""),
    ])
    parts = urlsplit(server.endpoint_url)
    with socket.create_connection((parts.hostname, parts.port), timeout=20) as sock:
        sock.sendall(burst)
        reader = Reader(sock)
        answers = [reader.response("PUT") for _ in range(4)] + [reader.response()]
    statuses, bodies = [a.status for a in answers], [a.body for a in answers]
    assert statuses == [200, 200, 403, 200, 200], statuses
    assert b"<Code>SignatureDoesNotMatch</Code>" in bodies[2]
    assert bodies[4] == b"before"
    for key, data in (("pipe-small", small), ("pipe-edge", edge), ("pipe-large", large)):
        assert s3.get_object(Bucket="modes", Key=key)["Body"].read() == data


def test_a_refused_upload_gets_no_100_continue(server: TrentServer) -> None:
    sock, first = _raw_put_head(server, "/no-such-bucket-here/k", 10_000_000)
    try:
        while b"</Error>" not in first:
            more = sock.recv(65536)
            if not more:
                break
            first += more
        assert first.startswith(b"HTTP/1.1 404 Not Found\r\n"), first[:200]
        assert b"100 Continue" not in first and b"<Code>NoSuchBucket</Code>" in first
        assert b"connection: close" in first.lower()  # the body it never sent is not awaited
    finally:
        sock.close()


def test_large_single_put_streams(server: TrentServer) -> None:
    """A 96 MiB single PUT and GET (no multipart): peak RSS stays far below the object."""
    pid = server.process.pid

    def peak() -> int:
        line = next(t for t in open(f"/proc/{pid}/status").read().splitlines() if t.startswith("VmHWM:"))
        return int(line.split()[1]) // 1024

    s3 = s3_client(server)
    s3.put_object(Bucket="modes", Key="warm", Body=os.urandom(8 << 20))
    s3.get_object(Bucket="modes", Key="warm")["Body"].read()
    before = peak()
    size = 96 << 20
    block = os.urandom(1 << 20)
    s3.put_object(Bucket="modes", Key="big", Body=block * 96)
    got = s3.get_object(Bucket="modes", Key="big")["Body"]
    digest = hashlib.sha256()
    total = 0
    while piece := got.read(1 << 20):
        digest.update(piece)
        total += len(piece)
    assert total == size and digest.digest() == hashlib.sha256(block * 96).digest()
    growth = peak() - before
    print(f"trent peak RSS before {before} MiB, after a 96 MiB PUT + GET: +{growth} MiB")
    assert growth < 48, f"peak RSS grew by {growth} MiB for a 96 MiB object"


def test_graceful_shutdown_finishes_a_download_in_progress(tmp_path) -> None:
    """SIGTERM while an object streams out: the server stops accepting, finishes the
    download (it is in flight until its last byte), then exits."""
    import signal

    from tests.fixtures.trent_server import start_trent, stop_trent

    server = start_trent(tmp_path / "data")
    try:
        s3 = s3_client(server)
        s3.create_bucket(Bucket="draining")
        data = body(24 << 20)
        s3.put_object(Bucket="draining", Key="big", Body=data)
        stream = s3.get_object(Bucket="draining", Key="big")["Body"]
        received = bytearray(stream.read(1 << 20))
        server.process.send_signal(signal.SIGTERM)
        while piece := stream.read(1 << 20):
            received += piece
        assert bytes(received) == data
        assert server.process.wait(timeout=30) == 0
    finally:
        stop_trent(server)


def test_object_reads_and_small_puts_are_answered_while_every_s3_thread_waits_for_an_upload(
    server: TrentServer,
) -> None:
    """GetObject, HeadObject and the PutObject of an object kept inline in its row run on
    the event loop when their reads are local (file SQLite, file object store:
    protocol/s3/front_door.py, on_loop), so they are answered even while all S3_THREADS
    worker threads sit in uploads whose clients have not sent their bodies yet. (The PUT's
    row is committed by the server's audit group commit, server/audit_batcher.py.)"""
    from trent.server.http11 import S3_THREADS

    s3 = s3_client(server)
    s3.put_object(Bucket="modes", Key="read-while-busy", Body=b"small and inline")
    s3.put_object(Bucket="modes", Key="read-while-busy-kms", Body=b"kms", ServerSideEncryption="aws:kms")
    held = []
    try:
        for n in range(S3_THREADS):
            sock, first = _raw_put_head(server, f"/modes/held-{n}", 1_000_000)
            held.append(sock)
            assert first.startswith(b"HTTP/1.1 100 Continue"), first  # its handler holds a thread
        quick = s3_client(server, connect_timeout=5, read_timeout=5)
        assert quick.get_object(Bucket="modes", Key="read-while-busy")["Body"].read() == b"small and inline"
        assert quick.get_object(Bucket="modes", Key="read-while-busy-kms")["Body"].read() == b"kms"
        assert quick.head_object(Bucket="modes", Key="read-while-busy")["ContentLength"] == 16
        # boto3's waits for 100 Continue (given at once: HttpServer.continues_at_once);
        # without_expect's sends its body at once
        at_once = without_expect(s3_client(server, connect_timeout=5, read_timeout=5))
        inline = os.urandom(4096)
        quick.put_object(Bucket="modes", Key="put-while-busy", Body=inline)
        at_once.put_object(Bucket="modes", Key="put-while-busy-kms", Body=b"k" * 100, ServerSideEncryption="aws:kms")
        assert quick.get_object(Bucket="modes", Key="put-while-busy")["Body"].read() == inline
        kms = quick.get_object(Bucket="modes", Key="put-while-busy-kms")
        assert kms["Body"].read() == b"k" * 100 and kms["ServerSideEncryption"] == "aws:kms"
    finally:
        for sock in held:
            sock.close()
