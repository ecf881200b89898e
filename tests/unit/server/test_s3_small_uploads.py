"""Which S3 uploads are read whole before their handler starts (server/http11.py,
S3_BUFFERED_UPLOAD_MAX) rather than streamed through a BodyPipe."""

from __future__ import annotations

import pytest

from trent.server.http11 import S3_BUFFERED_UPLOAD_MAX, _small_upload


@pytest.mark.parametrize(("headers", "small"), [
    ([(b"content-length", b"1024")], True),
    ([(b"content-length", b"0")], True),
    ([(b"content-length", str(S3_BUFFERED_UPLOAD_MAX).encode())], True),
    ([(b"content-length", str(S3_BUFFERED_UPLOAD_MAX + 1).encode())], False),
    ([(b"content-length", b"1024"), (b"expect", b"100-continue")], False),  # waits for its 100
    ([(b"expect", b"100-continue"), (b"content-length", b"10")], False),
    ([(b"transfer-encoding", b"chunked")], False),  # no declared length
    ([(b"content-length", b"10"), (b"transfer-encoding", b"chunked")], False),
    ([], False),
    ([(b"content-length", b"-1")], False),
    ([(b"content-length", b"1e3")], False),
])
def test_small_upload(headers: list[tuple[bytes, bytes]], small: bool) -> None:
    assert _small_upload(headers) is small
