"""Requests the built-in server refuses at its door (server/http11.py), before any front door
ran: a body over the limit (413), a head llhttp cannot parse (400). When the request's
method and URL were read, the answer and the event are those of the service the router
names (``EdgeAudit.refused_by_service``): an S3 request gets S3's XML error document and an
S3 event named by its operation, an STS request the query protocol's error and an STS
event; their clients cannot read KMS's JSON. Garbage whose request line did not parse, and
a KMS request, keep KMS's JSON. The status stays the door's. Each refusal closes the
connection: what was sent after it never runs.

boto3 sends the over-the-limit STS request (an AssumeRole with a huge policy); a raw socket
sends the over-the-limit S3 request (no S3 request boto3 writes is read whole any more: every
one with a body over 64 KiB, path-style or virtual-hosted, streams to S3, whose own limits
apply) and the heads boto3 never writes. llhttp reports a header when the next one starts, so
the header line right before a broken one is never seen: the requests below put a filler
header there."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.exceptions import ClientError

from tests.fixtures.trent_server import TrentServer, seeded_trent, start_trent, stop_trent
from tests.wire.raw_http import CREDENTIALS, Reader, connect, kms_request, raw_request, s3_request
from tests.wire.s3_helpers import SEED, s3_client

BUCKET = "refusals"
S3_DOMAIN = "s3.localhost.test"  # set: a Host outside it (the loopback address) names no bucket
MAX_BODY = 1 << 20  # the server's default --max-body-bytes


@pytest.fixture(scope="module")
def server() -> Iterator[TrentServer]:
    with seeded_trent(SEED, prefix="trent-door-", extra_args=("--s3-domain", S3_DOMAIN)) as server:
        s3_client(server).create_bucket(Bucket=BUCKET)
        yield server


def _events_since(server: TrentServer, count: int) -> list[dict[str, Any]]:
    return server.audit_events()[count:]


def _summary(events: list[dict[str, Any]]) -> list[tuple[str, str, str | None]]:
    return [(e["eventSource"], e["eventName"], e.get("errorCode")) for e in events]


def _broken(raw: bytes, line: bytes) -> bytes:
    """``raw``'s head with a filler header (never reported: see the module doc) and ``line``
    at its end; its body, if any, after."""
    end = raw.index(b"\r\n\r\n")
    return raw[:end] + b"\r\nX-Filler: lost\r\n" + line + raw[end:]


def _too_many_headers(raw: bytes) -> bytes:
    end = raw.index(b"\r\n\r\n")
    return raw[:end] + b"".join(b"\r\nX-Pad-%d: x" % i for i in range(100)) + raw[end:]


def _refused_once(server: TrentServer, raw: bytes, method: str = "GET") -> tuple[Any, list[dict[str, Any]]]:
    """``raw`` then a pipelined S3 GET, in one write: one answer that closes the connection,
    and the events recorded meanwhile (the GET never ran: no event of it)."""
    before = len(server.audit_events())
    with connect(server) as sock:
        sock.sendall(raw + s3_request(server, "GET", f"/{BUCKET}/never-read"))
        reader = Reader(sock)
        answer = reader.response(method)
        reader.closed()
    assert answer.headers.get("connection") == "close", answer.headers
    return answer, _events_since(server, before)


def _s3_code(answer: Any) -> str:
    text = answer.body.decode()
    assert text.startswith("<?xml") and "<Error>" in text, text[:300]
    return text.split("<Code>", 1)[1].split("</Code>", 1)[0]


# --- S3 -----------------------------------------------------------------------------------------


def test_an_s3_request_over_the_body_limit_gets_s3s_entity_too_large(server: TrentServer) -> None:
    """A signed S3 request over the server's body limit that is still read whole, and so
    refused at the door: a DeleteObjects (``POST /?delete``, 1 MiB + 1 byte) that names no
    bucket, path-style (``/`` is then S3's service itself, where no operation takes a body;
    the Host is no bucket under --s3-domain). S3's EntityTooLarge (XML), with the door's 413,
    and an S3 event, named as a POST no route matches is (PostObject); the connection closed.
    (A DeleteObjects that names its bucket, path-style or virtual-hosted, streams to S3:
    test_s3_virtual_hosted_bodies.py.)"""
    raw = s3_request(server, "POST", "/?delete", b"x" * (MAX_BODY + 1))
    answer, events = _refused_once(server, raw, "GET")
    assert answer.status == 413 and _s3_code(answer) == "EntityTooLarge", answer.body[:300]
    assert answer.headers["content-type"].startswith("application/xml")
    assert answer.headers.get("x-amz-request-id")
    assert _summary(events) == [("s3.amazonaws.com", "PostObject", "EntityTooLarge")], events
    assert events[0]["userIdentity"]["type"] == "Unknown"  # refused before anything was authenticated


# A header section llhttp refuses, after the request line: (broken request, S3 operation).
MALFORMED_HEADS = {
    "invalid-header-token": lambda server, key: (_broken(s3_request(server, "GET", f"/{BUCKET}/{key}"),
                                                         b"Bad Header"), "GetObject"),
    "too-many-headers": lambda server, key: (_too_many_headers(s3_request(server, "GET", f"/{BUCKET}/{key}")),
                                             "GetObject"),
    "content-length-and-chunked": lambda server, key: (_broken(s3_request(server, "PUT", f"/{BUCKET}/{key}", b"abc"),
                                                               b"Transfer-Encoding: chunked"), "PutObject"),
    "obsolete-line-folding": lambda server, key: (_broken(s3_request(server, "DELETE", f"/{BUCKET}/{key}"),
                                                          b" folded"), "DeleteObject"),
}


@pytest.mark.parametrize("malformed", list(MALFORMED_HEADS), ids=list(MALFORMED_HEADS))
def test_an_s3_request_with_a_malformed_head_gets_s3s_invalid_request(server: TrentServer, malformed: str) -> None:
    """A signed S3 request whose header section llhttp refuses: 400 with S3's InvalidRequest
    (XML, no internals), an S3 event for the operation its method and URL name, the
    connection closed; not run (the object is as it was)."""
    key = f"malformed-{uuid.uuid4().hex[:8]}"
    s3 = s3_client(server)
    s3.put_object(Bucket=BUCKET, Key=key, Body=b"as it was")
    raw, operation = MALFORMED_HEADS[malformed](server, key)
    answer, events = _refused_once(server, raw, "GET")
    assert answer.status == 400 and _s3_code(answer) == "InvalidRequest", answer.body[:300]
    assert "<Message>Malformed HTTP request.</Message>" in answer.body.decode()
    assert answer.headers["content-type"].startswith("application/xml")
    assert _summary(events) == [("s3.amazonaws.com", operation, "InvalidRequest")], events
    assert events[0]["requestParameters"] == {"bucketName": BUCKET, "key": key}
    assert s3.get_object(Bucket=BUCKET, Key=key)["Body"].read() == b"as it was"


# --- STS ----------------------------------------------------------------------------------------


def _sts_error(answer_body: bytes) -> str:
    text = answer_body.decode()
    assert text.startswith("<ErrorResponse") and "<Type>Sender</Type>" in text, text[:300]
    return text.split("<Code>", 1)[1].split("</Code>", 1)[0]


def test_an_sts_request_with_a_malformed_head_gets_stss_error(server: TrentServer) -> None:
    """A signed STS call (its Action in the query string) whose header section llhttp
    refuses: 400 in the query protocol's ErrorResponse, an STS event for its Action."""
    path = "/?Action=GetCallerIdentity&Version=2011-06-15"
    request = AWSRequest("POST", server.endpoint_url + path, data=b"",
                         headers={"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"})
    SigV4Auth(CREDENTIALS, "sts", server.region).add_auth(request)
    answer, events = _refused_once(server, _broken(raw_request(server, request, path), b"Bad Header"), "POST")
    assert answer.status == 400 and _sts_error(answer.body) == "MalformedQueryString", answer.body[:300]
    assert _summary(events) == [("sts.amazonaws.com", "GetCallerIdentity", "MalformedQueryString")], events


def _assume_role_over_the_limit(server: TrentServer) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """An AssumeRole whose session policy makes its body larger than the limit: STS's answer,
    and the events it left."""
    sts = server.client("sts")
    before = len(server.audit_events())
    with pytest.raises(ClientError) as refused:
        sts.assume_role(RoleArn=f"arn:aws:iam::{server.account_id}:role/nobody", RoleSessionName="big",
                        Policy="x" * MAX_BODY)
    return refused.value.response, _events_since(server, before)


def test_an_sts_request_over_the_body_limit_gets_stss_error(server: TrentServer) -> None:
    """boto3's AssumeRole with a body over 1 MiB: the door's 413 in STS's ErrorResponse (botocore
    parses its code) and an STS event. Its Action is in the body, which was not read: the
    event's name is Unknown, as for any STS call whose Action is not known."""
    answer, events = _assume_role_over_the_limit(server)
    assert answer["ResponseMetadata"]["HTTPStatusCode"] == 413
    assert answer["Error"]["Code"] == "MalformedQueryString", answer["Error"]
    assert _summary(events) == [("sts.amazonaws.com", "Unknown", "MalformedQueryString")], events


def test_an_sts_request_over_the_body_limit_on_uvicorn_gets_stss_error(tmp_path: Any) -> None:
    """The ASGI front door (``--http-server uvicorn``) refuses the same AssumeRole the same way."""
    server = start_trent(tmp_path / "data", "--http-server", "uvicorn")
    try:
        answer, events = _assume_role_over_the_limit(server)
    finally:
        stop_trent(server)
    assert answer["ResponseMetadata"]["HTTPStatusCode"] == 413
    assert answer["Error"]["Code"] == "MalformedQueryString", answer["Error"]
    assert _summary(events) == [("sts.amazonaws.com", "Unknown", "MalformedQueryString")], events


# --- what stays KMS's ---------------------------------------------------------------------------


GARBAGE = {
    "not-http": b"NOT HTTP AT ALL\r\n\r\n",
    "tls-to-the-plain-port": bytes.fromhex("16030100a5010000a10303") + b"\x00" * 32,
    "broken-url": b"GET /" + BUCKET.encode() + b"/k\x01ey HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n",
}


@pytest.mark.parametrize("garbage", list(GARBAGE), ids=list(GARBAGE))
def test_garbage_whose_request_line_did_not_parse_keeps_kmss_json(server: TrentServer, garbage: str) -> None:
    """No method or URL read (or a URL that is what broke): nothing says which service it was
    for, so KMS's JSON answers it, and a KMS event records it."""
    answer, events = _refused_once(server, GARBAGE[garbage], "POST")
    assert answer.status == 400
    assert json.loads(answer.body) == {"__type": "SerializationException", "message": "Malformed HTTP request."}
    assert _summary(events) == [("kms.amazonaws.com", "Unknown", "SerializationException")], events


def test_a_kms_request_with_a_malformed_head_keeps_kmss_json(server: TrentServer) -> None:
    """A KMS call (its X-Amz-Target read) with a malformed header: KMS's JSON, its KMS event."""
    raw = _broken(kms_request(server, "GenerateRandom", {"NumberOfBytes": 8}), b"Bad Header")
    answer, events = _refused_once(server, raw, "POST")
    assert answer.status == 400 and json.loads(answer.body)["__type"] == "SerializationException"
    assert _summary(events) == [("kms.amazonaws.com", "GenerateRandom", "SerializationException")], events
