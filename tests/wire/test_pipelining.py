"""HTTP/1.1 pipelining on the built-in server (server/http11.py, RFC 9112 §9.3.2), on the wire:
several requests written in one go on one raw socket (boto3 does not pipeline; the socket is
the client here), and the byte stream that comes back must parse as exactly one response per
request, in request order, each seeing the effects of the requests before it, and no
``100 Continue`` except right before the final response of the request that asked for it.
Nothing sent after a request that closes the connection (RFC 9112 §9.6) is run, audited
or answered; a request the server cannot parse whole (a streamed upload whose chunked framing
breaks, an Upgrade with a body) gets exactly one answer, never none or two. An Upgrade on a
request without a body is ignored (RFC 9110 §7.8): served, and the connection goes on."""

from __future__ import annotations

import base64
import json
import os
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import urlsplit

import pytest
from botocore.auth import S3SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.exceptions import ClientError

from tests.fixtures.trent_server import TrentServer, seeded_trent
from tests.wire.raw_http import CREDENTIALS, Reader, connect, http10, kms_request, raw_request, s3_request, with_header
from tests.wire.s3_helpers import SEED, body, s3_client

BUCKET = "pipelined"


@pytest.fixture(scope="module")
def server() -> Iterator[TrentServer]:
    with seeded_trent(SEED, prefix="trent-pipelining-") as server:
        s3_client(server).create_bucket(Bucket=BUCKET)
        yield server


@pytest.fixture(scope="module")
def large(server: TrentServer) -> bytes:
    """A 4 MiB object at ``/pipelined/large``: its content after the first 64 KiB is streamed."""
    data = body(4 << 20)
    s3_client(server).put_object(Bucket=BUCKET, Key="large", Body=data)
    return data


def test_a_get_sees_the_put_before_it(server: TrentServer) -> None:
    """PUT, GET, PUT (streamed, Expect: 100-continue, body sent at once), GET, DELETE, GET of
    one key in one write: each GET sees what the requests before it did."""
    key = f"same-{uuid.uuid4().hex[:8]}"
    first, second = body(1000), body(200_000)  # buffered upload, then a streamed one
    path = f"/{BUCKET}/{key}"
    burst = b"".join([
        s3_request(server, "PUT", path, first),
        s3_request(server, "GET", path),
        s3_request(server, "PUT", path, second, expect=True),
        s3_request(server, "GET", path),
        s3_request(server, "DELETE", path),
        s3_request(server, "GET", path),
    ])
    with connect(server) as sock:
        sock.sendall(burst)
        reader = Reader(sock)
        answers = [reader.response("PUT"), reader.response(), reader.response("PUT", expected_continue=True),
                   reader.response(), reader.response("DELETE"), reader.response()]
        reader.nothing_more()
    assert [a.status for a in answers] == [200, 200, 200, 200, 204, 404], [(a.status, a.body[:300]) for a in answers]
    assert answers[1].body == first
    assert answers[3].body == second
    assert b"<Code>NoSuchKey</Code>" in answers[5].body


def test_a_large_upload_read_past_the_parser_is_followed_by_the_next_request(server: TrentServer) -> None:
    """An upload of several MiB and an odd tail (its body past the first read goes straight
    into the pipe's pieces, not through llhttp: server/body_pipe.BodyFiller), sent in uneven
    writes, the last of which carries a GET of it and a PUT and GET of another key: the body
    ends exactly where the next request starts, and each is parsed and answered."""
    key, other = f"direct-{uuid.uuid4().hex[:8]}", f"after-direct-{uuid.uuid4().hex[:8]}"
    data, small = body((3 << 20) + 12_345), body(70_000)
    put = s3_request(server, "PUT", f"/{BUCKET}/{key}", data)
    after = b"".join([s3_request(server, "GET", f"/{BUCKET}/{key}"), s3_request(server, "PUT", f"/{BUCKET}/{other}", small),
                      s3_request(server, "GET", f"/{BUCKET}/{other}")])
    cuts = [0, len(put) - len(data) + 1000, len(put) - len(data) + (1 << 20) + 7, len(put) - 5, len(put)]
    with connect(server) as sock:
        for start, end in zip(cuts, cuts[1:-1]):
            sock.sendall(put[start:end])
            time.sleep(0.05)
        sock.sendall(put[cuts[-2]:] + after)
        reader = Reader(sock)
        answers = [reader.response("PUT"), reader.response(), reader.response("PUT"), reader.response()]
        reader.nothing_more()
    assert [a.status for a in answers] == [200] * 4, [(a.status, a.body[:300]) for a in answers]
    assert answers[1].body == data
    assert answers[3].body == small


def test_a_large_upload_answered_early_is_dropped_and_the_connection_goes_on(server: TrentServer) -> None:
    """A 3 MiB PUT into a bucket that does not exist is answered before its body is read; the
    rest of the body is read and dropped (not parsed as requests), and a GET pipelined
    behind it is answered."""
    put = s3_request(server, "PUT", f"/no-such-bucket-{uuid.uuid4().hex[:8]}/key", body(3 << 20))
    get = s3_request(server, "GET", f"/{BUCKET}/missing-{uuid.uuid4().hex[:8]}")
    with connect(server) as sock:
        sock.sendall(put[: len(put) - (2 << 20)])
        reader = Reader(sock)
        refused = reader.response("PUT")  # before the rest of the body was sent
        sock.sendall(put[len(put) - (2 << 20):] + get)
        missing = reader.response()
        reader.nothing_more()
    assert refused.status == 404 and b"<Code>NoSuchBucket</Code>" in refused.body
    assert missing.status == 404 and b"<Code>NoSuchKey</Code>" in missing.body


def test_100_continue_waits_for_the_responses_before_it(server: TrentServer, large: bytes) -> None:
    """A GET of a large object (its content streamed by a worker) and then a PUT's head with
    Expect: 100-continue, in one write: the 100 Continue may only come after the GET's last
    byte; written earlier it lands inside the GET's body and corrupts the stream."""
    key = f"continued-{uuid.uuid4().hex[:8]}"
    upload = body(300_000)
    with connect(server) as sock:
        sock.sendall(s3_request(server, "GET", f"/{BUCKET}/large")
                     + s3_request(server, "PUT", f"/{BUCKET}/{key}", upload, expect=True, with_body=False))
        time.sleep(1.0)  # the server gets every chance to answer the PUT's Expect early
        reader = Reader(sock)
        got = reader.response()
        assert got.status == 200 and len(got.body) == len(large)
        assert got.body == large, "the GET's body was corrupted (an interim response inside it?)"
        assert reader.interim_response() == 100
        # The body, and a GET of the same key pipelined behind it.
        sock.sendall(upload + s3_request(server, "GET", f"/{BUCKET}/{key}"))
        put = reader.response("PUT")
        after = reader.response()
        reader.nothing_more()
    assert put.status == 200, put.body[:300]
    assert after.status == 200 and after.body == upload


def test_a_refused_expect_gets_no_100(server: TrentServer, large: bytes) -> None:
    """A GET, then a PUT with Expect that is refused (wrong signature): the GET whole, then
    the refusal, no 100 Continue anywhere."""
    put = s3_request(server, "PUT", f"/{BUCKET}/refused", body(100_000), expect=True, with_body=False)
    put = put.replace(b"Signature=", b"Signature=0", 1)
    with connect(server) as sock:
        sock.sendall(s3_request(server, "GET", f"/{BUCKET}/large") + put)
        reader = Reader(sock)
        got = reader.response()
        refused = reader.response("PUT")
    assert got.status == 200 and got.body == large
    assert refused.status == 403 and not refused.continued


def test_a_small_upload_gets_its_100_at_once_when_nothing_is_before_it(server: TrentServer) -> None:
    """A PUT of an object kept inline (at most 4 KiB) with Expect: 100-continue, alone on its
    connection: 100 Continue comes before its body is sent, and the upload is then read
    whole and served on the loop (http11.HttpServer.continues_at_once). Refused after its
    body (a wrong signature), it is answered 403 and the connection stays usable."""
    key = f"early-{uuid.uuid4().hex[:8]}"
    data = body(4096)
    with connect(server) as sock:
        reader = Reader(sock)
        sock.sendall(s3_request(server, "PUT", f"/{BUCKET}/{key}", data, expect=True, with_body=False))
        assert reader.interim_response() == 100  # before any body byte was sent
        sock.sendall(data)
        put = reader.response("PUT")
        bad = s3_request(server, "PUT", f"/{BUCKET}/{key}-bad", data, expect=True, with_body=False)
        sock.sendall(bad.replace(b"Signature=", b"Signature=0", 1))
        assert reader.interim_response() == 100
        sock.sendall(data + s3_request(server, "GET", f"/{BUCKET}/{key}"))
        refused, after = reader.response("PUT"), reader.response()
        reader.nothing_more()
    assert put.status == 200, put.body[:300]
    assert refused.status == 403 and b"<Code>SignatureDoesNotMatch</Code>" in refused.body
    assert after.status == 200 and after.body == data
    with pytest.raises(ClientError):
        s3_client(server).head_object(Bucket=BUCKET, Key=f"{key}-bad")


def test_a_small_upload_behind_an_unanswered_request_waits_for_its_turn(server: TrentServer, large: bytes) -> None:
    """The same small upload pipelined behind a GET of a large object: its 100 Continue
    comes only after the GET's last byte (as a streamed upload's, test above), never
    inside that body."""
    key = f"late-{uuid.uuid4().hex[:8]}"
    data = body(1000)
    with connect(server) as sock:
        sock.sendall(s3_request(server, "GET", f"/{BUCKET}/large")
                     + s3_request(server, "PUT", f"/{BUCKET}/{key}", data, expect=True, with_body=False))
        reader = Reader(sock)
        got = reader.response()
        assert got.status == 200 and got.body == large
        assert reader.interim_response() == 100
        sock.sendall(data)
        put = reader.response("PUT")
        reader.nothing_more()
    assert put.status == 200
    assert s3_client(server).get_object(Bucket=BUCKET, Key=key)["Body"].read() == data


def test_kms_calls_see_the_calls_before_them(server: TrentServer) -> None:
    """CreateKey, CreateAlias, Encrypt by the alias, DisableKey, Encrypt (refused), EnableKey,
    Encrypt, DescribeKey: one write, eight answers in order, each after the one before it
    took effect (the management calls run on worker threads, the crypto calls on the loop)."""
    key_id = server.client().create_key()["KeyMetadata"]["KeyId"]
    alias = f"alias/pipelined-{uuid.uuid4().hex[:8]}"
    plaintext = base64.b64encode(b"in order").decode()
    calls: list[tuple[str, dict[str, Any]]] = [
        ("CreateKey", {"Description": "pipelined"}),
        ("CreateAlias", {"AliasName": alias, "TargetKeyId": key_id}),
        ("Encrypt", {"KeyId": alias, "Plaintext": plaintext}),
        ("DisableKey", {"KeyId": key_id}),
        ("Encrypt", {"KeyId": alias, "Plaintext": plaintext}),
        ("EnableKey", {"KeyId": key_id}),
        ("Encrypt", {"KeyId": key_id, "Plaintext": plaintext}),
        ("DescribeKey", {"KeyId": alias}),
    ]
    with connect(server) as sock:
        sock.sendall(b"".join(kms_request(server, op, params) for op, params in calls))
        reader = Reader(sock)
        answers = [reader.response("POST") for _ in calls]
        reader.nothing_more()
    bodies = [json.loads(a.body) if a.body else {} for a in answers]
    assert [a.status for a in answers] == [200, 200, 200, 200, 400, 200, 200, 200], bodies
    assert bodies[0]["KeyMetadata"]["Description"] == "pipelined"
    assert bodies[2]["KeyId"].endswith(key_id)
    assert bodies[4]["__type"] == "DisabledException"
    assert bodies[6]["KeyId"].endswith(key_id)
    assert bodies[7]["KeyMetadata"]["KeyState"] == "Enabled"


def test_many_pipelined_calls_are_answered_in_order(server: TrentServer) -> None:
    """200 calls in one write, more than the 64 a connection may have unanswered before the
    server stops reading it: all answered, in order."""
    count = 200
    burst = b"".join(kms_request(server, "GenerateRandom", {"NumberOfBytes": 1 + i % 64}) for i in range(count))
    with connect(server) as sock:
        sock.sendall(burst)
        reader = Reader(sock)
        answers = [reader.response("POST") for _ in range(count)]
        reader.nothing_more()
    assert [a.status for a in answers] == [200] * count
    assert [len(base64.b64decode(json.loads(a.body)["Plaintext"])) for a in answers] == [
        1 + i % 64 for i in range(count)]


def test_safe_reads_of_several_keys_in_one_write(server: TrentServer) -> None:
    """GETs and HEADs only (they may run in parallel): answers in request order."""
    s3 = s3_client(server)
    contents = {f"read-{i}": os.urandom(10 + i * 7000) for i in range(12)}
    for key, data in contents.items():
        s3.put_object(Bucket=BUCKET, Key=key, Body=data)
    order = list(contents) * 2
    methods = ["HEAD" if i % 5 == 4 else "GET" for i in range(len(order))]
    with connect(server) as sock:
        sock.sendall(b"".join(s3_request(server, m, f"/{BUCKET}/{k}") for m, k in zip(methods, order)))
        reader = Reader(sock)
        answers = [reader.response(m) for m in methods]
        reader.nothing_more()
    for method, key, answer in zip(methods, order, answers):
        assert answer.status == 200
        assert int(answer.headers["content-length"]) == len(contents[key])
        assert answer.body == (b"" if method == "HEAD" else contents[key])


# --- RFC 9112 §9.6: nothing after a request that closes the connection ------------------------


def _events_since(server: TrentServer, count: int) -> list[dict[str, Any]]:
    return server.audit_events()[count:]


def _aliases(server: TrentServer, key_id: str) -> set[str]:
    return {a["AliasName"] for a in server.client().list_aliases(KeyId=key_id)["Aliases"]}


def _create_alias_then_more(server: TrentServer, closing: Callable[[bytes], bytes]) -> None:
    """A CreateAlias made to close the connection by ``closing``, then a second CreateAlias,
    a CreateKey and a GET in the same write: the first is answered (``connection: close``)
    and the connection closes; the others never run and leave no event in the trail."""
    key_id = server.client().create_key()["KeyMetadata"]["KeyId"]
    first, second = (f"alias/close-{uuid.uuid4().hex[:8]}" for _ in range(2))
    before = len(server.audit_events())
    with connect(server) as sock:
        sock.sendall(closing(kms_request(server, "CreateAlias", {"AliasName": first, "TargetKeyId": key_id}))
                     + kms_request(server, "CreateAlias", {"AliasName": second, "TargetKeyId": key_id})
                     + kms_request(server, "CreateKey", {"Description": "after close"})
                     + s3_request(server, "GET", f"/{BUCKET}/nothing"))
        reader = Reader(sock)
        answer = reader.response("POST")
        reader.closed()
    assert answer.status == 200, answer.body[:300]
    assert answer.headers.get("connection") == "close"
    assert _aliases(server, key_id) == {first}  # (ListAliases: audited after anything the burst recorded)
    events = _events_since(server, before)
    assert [e["eventName"] for e in events] == ["CreateAlias", "ListAliases"], events
    assert events[0]["requestParameters"]["aliasName"] == first and "errorCode" not in events[0]


def test_nothing_after_connection_close_is_run_audited_or_answered(server: TrentServer) -> None:
    """``Connection: close`` (RFC 9112 §9.6): the requests pipelined after it are not processed."""
    _create_alias_then_more(server, lambda raw: with_header(raw, b"Connection: close"))


def test_an_http10_request_without_keep_alive_is_the_last(server: TrentServer) -> None:
    """HTTP/1.0 without ``Connection: keep-alive`` closes the connection as ``Connection:
    close`` does (RFC 9112 §9.3): the requests sent after it are not processed either."""
    _create_alias_then_more(server, http10)


def test_http10_keep_alive_stays_open(server: TrentServer) -> None:
    """HTTP/1.0 with ``Connection: keep-alive``: pipelined as any HTTP/1.1 request."""
    calls = [http10(with_header(kms_request(server, "GenerateRandom", {"NumberOfBytes": n}),
                                b"Connection: keep-alive")) for n in (3, 5)]
    with connect(server) as sock:
        sock.sendall(b"".join(calls))
        reader = Reader(sock)
        answers = [reader.response("POST"), reader.response("POST")]
        reader.nothing_more()
    assert [a.status for a in answers] == [200, 200]
    assert [len(base64.b64decode(json.loads(a.body)["Plaintext"])) for a in answers] == [3, 5]
    assert all("connection" not in a.headers for a in answers)


def test_a_streamed_upload_with_connection_close_is_read_whole_and_is_the_last(server: TrentServer) -> None:
    """A streamed PUT (its body through a pipe) with ``Connection: close``, its body sent in
    two parts, the second followed by a PUT of another key and a DELETE of the first: the
    upload is stored whole, the connection closes after its answer, the PUT and DELETE
    after it never run and leave no event."""
    key, other = f"closing-{uuid.uuid4().hex[:8]}", f"after-close-{uuid.uuid4().hex[:8]}"
    data = body(300_000)  # above the buffered-upload limit: streamed to the handler
    put = with_header(s3_request(server, "PUT", f"/{BUCKET}/{key}", data), b"Connection: close")
    after = s3_request(server, "PUT", f"/{BUCKET}/{other}", body(100)) + s3_request(server, "DELETE", f"/{BUCKET}/{key}")
    split = len(put) - len(data) // 2
    before = len(server.audit_events())
    with connect(server) as sock:
        sock.sendall(put[:split])
        time.sleep(0.3)  # the handler is reading the first half from its pipe
        sock.sendall(put[split:] + after)
        reader = Reader(sock)
        answer = reader.response("PUT")
        reader.closed()
    assert answer.status == 200, answer.body[:300]
    assert answer.headers.get("connection") == "close"
    s3 = s3_client(server)
    with pytest.raises(ClientError) as missing:  # (audited after anything the burst recorded)
        s3.head_object(Bucket=BUCKET, Key=other)
    assert missing.value.response["Error"]["Code"] == "404"
    events = [e for e in _events_since(server, before) if e["eventName"] not in ("GenerateDataKey", "Decrypt")]
    assert [e["eventName"] for e in events] == ["PutObject", "HeadObject"], events
    assert events[0]["requestParameters"]["key"] == key and "errorCode" not in events[0]
    assert s3.get_object(Bucket=BUCKET, Key=key)["Body"].read() == data


def test_nothing_after_a_too_large_request_is_run(server: TrentServer) -> None:
    """A KMS request whose body is over the limit is refused (413) and closes the connection
    (the server's own ``connection: close``, RFC 9112 §9.6): a CreateAlias sent after its
    body is not run."""
    key_id = server.client().create_key()["KeyMetadata"]["KeyId"]
    alias = f"alias/after-413-{uuid.uuid4().hex[:8]}"
    oversized = (f"POST / HTTP/1.1\r\nHost: {urlsplit(server.endpoint_url).netloc}\r\n"
                 "Content-Type: application/x-amz-json-1.1\r\nX-Amz-Target: TrentService.GenerateRandom\r\n"
                 f"Content-Length: {(1 << 20) + 1}\r\n\r\n").encode() + b"x" * ((1 << 20) + 1)
    before = len(server.audit_events())
    with connect(server) as sock:
        sock.sendall(oversized + kms_request(server, "CreateAlias", {"AliasName": alias, "TargetKeyId": key_id}))
        reader = Reader(sock)
        answer = reader.response("POST")
        reader.closed()
    assert answer.status == 413 and answer.headers.get("connection") == "close"
    assert _aliases(server, key_id) == set()
    events = _events_since(server, before)  # the refusal, then the ListAliases just made
    assert [(e["eventName"], e.get("errorCode")) for e in events] == [
        ("GenerateRandom", "SerializationException"), ("ListAliases", None)], events


# --- a request whose framing breaks: one answer, nothing stored, the connection closes ---------

# Chunked framing (RFC 9112 §7.1) that llhttp refuses, sent after some valid chunks: a chunk
# size that is not hex, and a chunk's data not followed by its CRLF.
BROKEN_FRAMING = {"chunk-size": b"zz\r\n", "chunk-data": b"10\r\n" + b"x" * 16 + b"!!"}


def chunk(piece: bytes) -> bytes:
    return b"%x\r\n" % len(piece) + piece + b"\r\n"


def chunked_put(server: TrentServer, path: str, data: bytes) -> bytes:
    """A signed S3 PUT's head for ``data`` sent with ``Transfer-Encoding: chunked`` (the
    payload hash covers the whole of ``data``; SigV4 does not sign Transfer-Encoding)."""
    request = AWSRequest("PUT", server.endpoint_url + path, headers={"Transfer-Encoding": "chunked"}, data=data)
    S3SigV4Auth(CREDENTIALS, "s3", server.region).add_auth(request)
    raw = raw_request(server, request, path)
    return raw[: len(raw) - len(data)]


def _blobs(server: TrentServer) -> set[str]:
    """Every file in the object store, temporary ones (``.put-*``) included."""
    root = server.data_dir / "objects"
    return {str(p.relative_to(root)) for p in root.rglob("*") if p.is_file()}


@pytest.mark.parametrize("broken", list(BROKEN_FRAMING), ids=list(BROKEN_FRAMING))
def test_a_streamed_upload_whose_chunked_framing_breaks_is_answered(server: TrentServer, broken: str) -> None:
    """A chunked PUT (streamed to its handler) whose framing breaks after three valid chunks,
    the connection left open: the handler's answer, an S3 IncompleteBody (400), comes within
    seconds with ``connection: close``, the connection closes, the PUT is audited once and
    nothing is stored, not even a temporary blob. (It used to hang until the client left:
    the handler and its S3 thread waited on the body for ever.)"""
    key = f"broken-{broken}-{uuid.uuid4().hex[:8]}"
    data = body(4 * 64 * 1024)
    valid = b"".join(chunk(data[i:i + 64 * 1024]) for i in range(0, 3 * 64 * 1024, 64 * 1024))
    blobs, before = _blobs(server), len(server.audit_events())
    with connect(server) as sock:
        sock.sendall(chunked_put(server, f"/{BUCKET}/{key}", data) + valid)
        time.sleep(0.3)  # the handler has the valid chunks and waits on its pipe for more
        sock.sendall(BROKEN_FRAMING[broken])
        sock.settimeout(5)
        reader = Reader(sock)
        try:
            answer = reader.response("PUT")
        except TimeoutError:
            pytest.fail("no answer within 5 s to an upload whose framing broke")
        reader.closed()
    assert answer.status == 400 and b"<Code>IncompleteBody</Code>" in answer.body, answer.body[:300]
    assert answer.headers.get("connection") == "close"
    with pytest.raises(ClientError) as missing:
        s3_client(server).head_object(Bucket=BUCKET, Key=key)
    assert missing.value.response["Error"]["Code"] == "404"
    assert _blobs(server) == blobs
    events = [e for e in _events_since(server, before) if e["eventName"] not in ("GenerateDataKey", "Decrypt")]
    assert [(e["eventName"], e.get("errorCode")) for e in events] == [
        ("PutObject", "IncompleteBody"), ("HeadObject", "NoSuchKey")], events
    assert events[0]["requestParameters"]["key"] == key


def test_framing_that_breaks_after_an_upload_was_answered_gets_no_second_answer(server: TrentServer) -> None:
    """A chunked PUT refused before its body is read (a wrong signature: 403, the connection
    kept, the rest of the body dropped as it comes), then its framing breaks: the connection
    closes, with no second response (a 400 for a request already answered) and no second event."""
    key = f"refused-{uuid.uuid4().hex[:8]}"
    data = body(4 * 64 * 1024)
    put = chunked_put(server, f"/{BUCKET}/{key}", data).replace(b"Signature=", b"Signature=0", 1)
    before = len(server.audit_events())
    with connect(server) as sock:
        sock.sendall(put + chunk(data[:64 * 1024]))
        reader = Reader(sock)
        refused = reader.response("PUT")
        sock.sendall(chunk(data[64 * 1024:]) + BROKEN_FRAMING["chunk-size"])
        reader.closed()
    assert refused.status == 403 and "connection" not in refused.headers, refused.body[:300]
    with pytest.raises(ClientError):
        s3_client(server).head_object(Bucket=BUCKET, Key=key)
    events = _events_since(server, before)
    assert [(e["eventName"], e.get("errorCode")) for e in events] == [
        ("PutObject", "SignatureDoesNotMatch"), ("HeadObject", "NoSuchKey")], events


# --- Upgrade (RFC 9110 §7.8): ignored on a request without a body, refused on one with ------------

# What ``curl --http2`` sends over plain HTTP.
H2C = (b"Connection: Upgrade, HTTP2-Settings", b"Upgrade: h2c", b"HTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA")


def upgrading(raw: bytes, *lines: bytes) -> bytes:
    for line in reversed(lines or H2C):
        raw = with_header(raw, line)
    return raw


@pytest.mark.parametrize("writes", ["one-write", "a-write-each"])
def test_an_upgrade_without_a_body_is_ignored_and_the_connection_goes_on(server: TrentServer, writes: str) -> None:
    """S3 requests without a body asking to switch to h2c (GET, DELETE, HEAD), pipelined with
    others on one connection, in one write or one per request as curl sends them: each is
    served as HTTP/1.1 in order (never a 101), with its own result, and the connection stays
    open after them (what follows an upgrade's head is the next request, not h2c)."""
    key = f"h2c-{uuid.uuid4().hex[:8]}"
    s3_client(server).put_object(Bucket=BUCKET, Key=key, Body=b"before")
    path = f"/{BUCKET}/{key}"
    requests = [
        ("GET", upgrading(s3_request(server, "GET", path))),
        ("PUT", s3_request(server, "PUT", path, b"after")),
        ("GET", upgrading(s3_request(server, "GET", path))),
        ("DELETE", upgrading(s3_request(server, "DELETE", path), b"Connection: upgrade", b"Upgrade: websocket")),
        ("HEAD", upgrading(s3_request(server, "HEAD", path))),
    ]
    before = len(server.audit_events())
    with connect(server) as sock:
        reader = Reader(sock)
        if writes == "one-write":
            sock.sendall(b"".join(raw for _, raw in requests))
            answers = [reader.response(method) for method, _ in requests]
        else:
            answers = []
            for method, raw in requests:
                sock.sendall(raw)
                answers.append(reader.response(method))
        reader.nothing_more()
    assert [a.status for a in answers] == [200, 200, 200, 204, 404], [a.body[:200] for a in answers]
    assert [answers[0].body, answers[2].body] == [b"before", b"after"]
    assert all("connection" not in a.headers and "upgrade" not in a.headers for a in answers)
    events = [e for e in _events_since(server, before) if e["eventName"] not in ("GenerateDataKey", "Decrypt")]
    assert [(e["eventName"], e.get("errorCode")) for e in events] == [
        ("GetObject", None), ("PutObject", None), ("GetObject", None), ("DeleteObject", None),
        ("HeadObject", "NoSuchKey")], events


@pytest.mark.parametrize("upgrade", ["h2c", "websocket"])
def test_an_upgrade_with_a_body_is_refused_once_in_s3s_format_and_not_run(server: TrentServer, upgrade: str) -> None:
    """A PUT with a body asking to switch protocols: llhttp hands what follows its head, the
    body included, to the new protocol, so it cannot be served as sent. Refused with one 400
    in S3's format (its method and URL say S3: InvalidRequest, an S3 PutObject event) that
    closes the connection; not run, and the DELETE pipelined after it neither. (It used to
    run, a PUT on an empty body, and be answered twice; then it was refused in KMS's JSON.)"""
    key = f"upgrade-{uuid.uuid4().hex[:8]}"
    s3 = s3_client(server)
    s3.put_object(Bucket=BUCKET, Key=key, Body=b"before")
    lines = H2C if upgrade == "h2c" else (b"Connection: upgrade", b"Upgrade: websocket")
    raw = upgrading(s3_request(server, "PUT", f"/{BUCKET}/{key}", body(1000)), *lines)
    before = len(server.audit_events())
    with connect(server) as sock:
        sock.sendall(raw + s3_request(server, "DELETE", f"/{BUCKET}/{key}"))
        reader = Reader(sock)
        answer = reader.response("PUT")
        reader.closed()
    assert answer.status == 400 and answer.headers.get("connection") == "close", answer.body[:300]
    assert answer.headers["content-type"] == "application/xml"
    assert b"<Code>InvalidRequest</Code>" in answer.body, answer.body[:300]
    assert b"<Message>A request that asks to upgrade (Upgrade) must not have a body.</Message>" in answer.body
    assert s3.get_object(Bucket=BUCKET, Key=key)["Body"].read() == b"before"
    events = [e for e in _events_since(server, before) if e["eventName"] not in ("GenerateDataKey", "Decrypt")]
    assert [(e["eventSource"], e["eventName"], e.get("errorCode")) for e in events] == [
        ("s3.amazonaws.com", "PutObject", "InvalidRequest"), ("s3.amazonaws.com", "GetObject", None)], events
