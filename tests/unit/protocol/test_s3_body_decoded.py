"""protocol/s3/body.py, ``decoded``: the payload checks an upload's body passes through
hold no piece while the next one is awaited (a MiB per upload in flight otherwise)."""

from __future__ import annotations

import hashlib

import pytest

from tests.release_probe import ReleaseProbe, drain
from trent import errors
from trent.protocol.s3.body import Payload, decoded
from trent.protocol.sigv4 import PayloadMode

DATA = [b"a" * 1000, b"b" * 1000, b"c" * 10]


def test_a_signed_payload_is_hashed_without_keeping_pieces() -> None:
    probe = ReleaseProbe(DATA)
    drain(decoded(probe, Payload(PayloadMode.SIGNED, hashlib.sha256(b"".join(DATA)).hexdigest()), {}))
    assert probe.held_when_next_asked == [False, False]


def test_a_signed_payload_that_differs_still_fails_at_its_end() -> None:
    with pytest.raises(errors.XAmzContentSHA256Mismatch):
        drain(decoded(ReleaseProbe(DATA), Payload(PayloadMode.SIGNED, hashlib.sha256(b"other").hexdigest()), {}))


def test_an_aws_chunked_payload_is_decoded_without_keeping_pieces() -> None:
    framed = b"".join(b"%x\r\n%s\r\n" % (len(d), d) for d in DATA) + b"0\r\n\r\n"
    raw = [framed[:700], framed[700:1900], framed[1900:]]  # splits inside chunks and a header
    probe = ReleaseProbe(raw)
    out: list[bytes] = []
    stream = decoded(probe, Payload(PayloadMode.STREAMING_UNSIGNED_TRAILER, PayloadMode.STREAMING_UNSIGNED_TRAILER.value),
                     {"x-amz-decoded-content-length": "2010"})
    for piece in stream:
        out.append(bytes(piece))
        del piece
    assert b"".join(out) == b"".join(DATA)
    assert probe.held_when_next_asked == [False, False]
