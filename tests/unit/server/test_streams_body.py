"""Which requests' bodies the server streams to the S3 front door through a BodyPipe (no size
limit at the HTTP layer: S3's own apply) rather than reading them whole under
--max-body-bytes (server/http11.py, ``HttpServer.streams_body``): S3's, path-style or
virtual-hosted (``--s3-domain``: a bucket's own requests are then ``POST /?delete``,
``PUT /?policy``, ``PUT /``, KMS's and STS's paths), unless they are small; never KMS's."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from trent import bootstrap
from trent.config import Settings, env_defaults
from trent.server.body_framing import BodyFraming

S3_DOMAIN = "s3.trent.test"
LARGE = [(b"content-length", str(2 << 20).encode())]  # over --max-body-bytes and S3_BUFFERED_UPLOAD_MAX
SMALL = [(b"content-length", b"1000")]


def _signed(service: str) -> tuple[bytes, bytes]:
    return (b"authorization", b"AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20260101/us-east-1/%s/aws4_request, "
                              b"SignedHeaders=host;x-amz-date, Signature=00" % service.encode())


S3 = [_signed("s3"), (b"x-amz-content-sha256", b"UNSIGNED-PAYLOAD")]
KMS = [(b"content-type", b"application/x-amz-json-1.1"), (b"x-amz-target", b"TrentService.Encrypt"), _signed("kms")]
STS = [(b"content-type", b"application/x-www-form-urlencoded; charset=utf-8")]


def _host(value: str) -> list[tuple[bytes, bytes]]:
    return [(b"host", value.encode())]


def _http(tmp_path: Path, **changes: Any) -> Iterator[Any]:
    settings = dataclasses.replace(Settings(**env_defaults()), data_dir=tmp_path, dev=True, **changes)  # type: ignore[arg-type]
    bootstrap.prepare(settings)
    runtime = bootstrap.build(settings)
    try:
        yield runtime.http
    finally:
        runtime.deps.storage.close()


@pytest.fixture()
def http(tmp_path: Path) -> Iterator[Any]:
    yield from _http(tmp_path, s3_domain=S3_DOMAIN)


@pytest.fixture()
def path_style_only(tmp_path: Path) -> Iterator[Any]:
    yield from _http(tmp_path)


CASES = {
    # KMS: always read whole, under --max-body-bytes
    "kms-encrypt": (b"POST", b"/", _host("127.0.0.1:8080") + KMS + SMALL, False),
    "kms-large": (b"POST", b"/", _host("127.0.0.1:8080") + KMS + LARGE, False),
    "kms-host-under-the-s3-domain": (b"POST", b"/", _host(f"bucket.{S3_DOMAIN}") + KMS + LARGE, False),
    "sts-large": (b"POST", b"/", _host("127.0.0.1:8080") + STS + LARGE, False),
    # virtual-hosted: the bucket in the Host header
    "vhost-delete-objects": (b"POST", b"/?delete", _host(f"bucket.{S3_DOMAIN}") + S3 + LARGE, True),
    "vhost-port": (b"POST", b"/?delete", _host(f"bucket.{S3_DOMAIN}:8080") + S3 + LARGE, True),
    "vhost-upper-case": (b"POST", b"/?delete", _host(f"Bucket.{S3_DOMAIN.upper()}") + S3 + LARGE, True),
    "vhost-final-dot": (b"POST", b"/?delete", _host(f"bucket.{S3_DOMAIN}.:8080") + S3 + LARGE, True),
    "vhost-host-last": (b"POST", b"/?delete", S3 + LARGE + _host(f"bucket.{S3_DOMAIN}"), True),
    "vhost-put-bucket-policy": (b"PUT", b"/?policy", _host(f"bucket.{S3_DOMAIN}") + S3 + LARGE, True),
    "vhost-create-bucket": (b"PUT", b"/", _host(f"bucket.{S3_DOMAIN}") + S3 + LARGE, True),
    "vhost-chunked": (b"PUT", b"/?encryption", _host(f"bucket.{S3_DOMAIN}") + S3
                      + [(b"transfer-encoding", b"chunked")], True),
    "vhost-put-object": (b"PUT", b"/key", _host(f"bucket.{S3_DOMAIN}") + S3 + LARGE, True),
    "vhost-post-slash": (b"POST", b"/", _host(f"bucket.{S3_DOMAIN}") + S3 + LARGE, False),  # PostObject: not served
    "vhost-small": (b"POST", b"/?delete", _host(f"bucket.{S3_DOMAIN}") + S3 + SMALL, False),  # read whole
    "vhost-get": (b"GET", b"/?policy", _host(f"bucket.{S3_DOMAIN}") + S3, False),
    "vhost-unsigned-post": (b"POST", b"/?delete", _host(f"bucket.{S3_DOMAIN}") + LARGE, True),  # the router: S3 (a query)
    # not a bucket under the s3 domain: S3's service itself, path-style
    "the-s3-domain-itself": (b"POST", b"/?delete", _host(S3_DOMAIN) + S3 + LARGE, False),
    "another-domain": (b"POST", b"/?delete", _host(f"bucket.not{S3_DOMAIN}") + S3 + LARGE, False),
    "a-longer-domain": (b"POST", b"/?delete", _host(f"bucket.{S3_DOMAIN}.example") + S3 + LARGE, False),
    "no-host": (b"POST", b"/?delete", S3 + LARGE, False),
    # path-style, as before
    "path-delete-objects": (b"POST", b"/bucket?delete", _host("127.0.0.1:8080") + S3 + LARGE, True),
    "path-put-object": (b"PUT", b"/bucket/key", _host("127.0.0.1:8080") + S3 + LARGE, True),
    "path-small": (b"PUT", b"/bucket/key", _host("127.0.0.1:8080") + S3 + SMALL, False),
    "path-service": (b"PUT", b"/", _host("127.0.0.1:8080") + S3 + LARGE, False),
    "trent-endpoint": (b"POST", b"/_trent/unseal", _host("127.0.0.1:8080") + LARGE, False),
}


@pytest.mark.parametrize("case", list(CASES), ids=list(CASES))
def test_streams_body(http: Any, case: str) -> None:
    method, url, headers, streamed = CASES[case]
    assert _streams(http, method, url, headers) is streamed


def _streams(http: Any, method: bytes, url: bytes, headers: list[tuple[bytes, bytes]]) -> bool:
    return bool(http.streams_body(method, url, headers, BodyFraming.of(headers)))


def test_without_an_s3_domain_slash_is_never_streamed(path_style_only: Any) -> None:
    """No --s3-domain: ``/`` is S3's service itself (or KMS, STS); path-style as before."""
    host = _host(f"bucket.{S3_DOMAIN}")
    assert _streams(path_style_only, b"POST", b"/?delete", host + S3 + LARGE) is False
    assert _streams(path_style_only, b"PUT", b"/", host + S3 + LARGE) is False
    assert _streams(path_style_only, b"POST", b"/bucket?delete", _host("127.0.0.1") + S3 + LARGE) is True
    assert _streams(path_style_only, b"POST", b"/", _host("127.0.0.1") + KMS + SMALL) is False
