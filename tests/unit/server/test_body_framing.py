"""What a request's head says about its body (server/body_framing.py): which S3 uploads
are read whole before their handler starts (S3_BUFFERED_UPLOAD_MAX) rather than streamed
through a BodyPipe, which bodies are too large to read, which clients wait for 100
Continue, and which heads announce a body (RFC 9112 §6.3)."""

from __future__ import annotations

import pytest

from trent.server.body_framing import BodyFraming
from trent.server.http11 import S3_BUFFERED_UPLOAD_MAX

Headers = list[tuple[bytes, bytes]]


@pytest.mark.parametrize(("headers", "small"), [
    ([(b"content-length", b"1024")], True),
    ([(b"content-length", b"0")], True),
    ([(b"content-length", str(S3_BUFFERED_UPLOAD_MAX).encode())], True),
    ([(b"content-length", str(S3_BUFFERED_UPLOAD_MAX + 1).encode())], False),
    ([(b"content-length", b"1024"), (b"expect", b"100-continue")], False),  # waits for its 100
    ([(b"expect", b"100-continue"), (b"content-length", b"10")], False),
    ([(b"expect", b"something-else"), (b"content-length", b"10")], False),  # any Expect
    ([(b"transfer-encoding", b"chunked")], False),  # no declared length
    ([(b"content-length", b"10"), (b"transfer-encoding", b"chunked")], False),
    ([], False),
    ([(b"content-length", b"-1")], False),
    ([(b"content-length", b"1e3")], False),
    ([(b"content-length", b" 10")], False),
])
def test_an_upload_is_read_whole_when_small_declared_and_not_waiting(headers: Headers, small: bool) -> None:
    assert BodyFraming.of(headers).read_whole(S3_BUFFERED_UPLOAD_MAX) is small


@pytest.mark.parametrize(("headers", "over"), [
    ([], False),
    ([(b"content-length", b"100")], False),
    ([(b"content-length", b"101")], True),
    ([(b"content-length", b" 101 ")], True),  # int() reads surrounding whitespace
    ([(b"content-length", b"ten")], True),  # a length that is not one is not under any limit
    ([(b"transfer-encoding", b"chunked")], False),  # counted as it arrives (on_body)
])
def test_a_declared_length_over_the_limit_exceeds_it(headers: Headers, over: bool) -> None:
    assert BodyFraming.of(headers).exceeds(100) is over


@pytest.mark.parametrize(("headers", "waits"), [
    ([], False),
    ([(b"expect", b"100-continue")], True),
    ([(b"expect", b"100-Continue")], True),  # RFC 9110 §10.1.1: case-insensitive
    ([(b"expect", b"something-else")], False),
    ([(b"expect", b"100-continue"), (b"expect", b"something-else")], True),
])
def test_a_client_waits_for_100_continue_when_it_expects_it(headers: Headers, waits: bool) -> None:
    framing = BodyFraming.of(headers)
    assert framing.expects_continue is waits
    assert framing.expect is bool(headers)


@pytest.mark.parametrize(("headers", "body"), [
    ([], False),
    ([(b"content-length", b"0")], False),
    ([(b"content-length", b" 0 ")], False),
    ([(b"content-length", b"1")], True),
    ([(b"content-length", b"x")], True),  # unknown end: a body
    ([(b"transfer-encoding", b"chunked")], True),
    ([(b"transfer-encoding", b"gzip, chunked")], True),
])
def test_a_head_announces_a_body_by_its_framing_fields(headers: Headers, body: bool) -> None:
    assert BodyFraming.of(headers).announces_body is body


def test_other_headers_are_not_read() -> None:
    assert BodyFraming.of([(b"host", b"x"), (b"content-type", b"text/plain")]) == BodyFraming()
