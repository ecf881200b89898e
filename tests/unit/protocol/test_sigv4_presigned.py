"""Query-string authentication, SigV4 (``sigv4/presigned.py``) and SigV2
(``sigv4/presigned_v2.py``), on URLs signed by botocore's own pure-Python presigners
(``S3SigV4QueryAuth``, ``HmacV1QueryAuth``) at a fixed moment, so every edge -- the last
valid second, the first expired one, a duplicate parameter, a sub-resource -- is exact.
The wire suite (tests/wire/test_s3_presigned.py) runs the same through a live server."""

from __future__ import annotations

import calendar
from collections.abc import Iterator
from datetime import datetime
from unittest import mock
from urllib.parse import urlsplit

import botocore.auth
import pytest
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from trent import errors
from trent.protocol import sigv4
from trent.protocol.sigv4.presigned_v2 import canonicalized_resource_path

AKID, SECRET = "AKIAPRESIGNUNIT00001", "unit-secret"
HOST = "s3.example.test"
SIGNED_AT = datetime(2026, 12, 5, 12, 0, 0)
T0 = calendar.timegm(SIGNED_AT.timetuple())


@pytest.fixture(autouse=True)
def frozen_botocore() -> Iterator[None]:
    with mock.patch("botocore.auth.get_current_datetime", lambda remove_tzinfo=True: SIGNED_AT), \
            mock.patch.object(botocore.auth, "time", mock.Mock(time=lambda: float(T0))):
        yield


def presign_v4(method: str, path: str, *, expires: int = 3600, headers: dict[str, str] | None = None,
               token: str | None = None) -> tuple[str, str, list[tuple[bytes, bytes]]]:
    request = AWSRequest(method=method, url=f"http://{HOST}{path}", headers=headers or {})
    botocore.auth.S3SigV4QueryAuth(Credentials(AKID, SECRET, token), "s3", "us-east-1", expires=expires).add_auth(request)
    parts = urlsplit(request.prepare().url)
    sent = [(b"host", HOST.encode())] + [(k.lower().encode(), v.encode()) for k, v in (headers or {}).items()]
    return parts.path, parts.query, sent


def presign_v2(method: str, path: str, *, expires: int = 3600,
               headers: dict[str, str] | None = None) -> tuple[str, str]:
    request = AWSRequest(method=method, url=f"http://{HOST}{path}", headers=headers or {})
    # what botocore's S3 client sets: /bucket/key, and /bucket/ for the bucket itself
    bare = path.partition("?")[0]
    request.auth_path = bare + "/" if bare.count("/") == 1 and len(bare) > 1 else bare
    botocore.auth.HmacV1QueryAuth(Credentials(AKID, SECRET), expires=expires).add_auth(request)
    parts = urlsplit(request.prepare().url)
    return parts.path, parts.query


def verify_v4(method: str, path: str, query: str, sent: list[tuple[bytes, bytes]], now: float,
              secret: str = SECRET) -> sigv4.PresignedAuth:
    presigned = sigv4.parse_presigned(query, sent, now, service="s3")
    sigv4.verify_signature(presigned.parsed, secret, method, path, presigned.signed_query, presigned.parsed.headers,
                           b"", payload_hash=sigv4.UNSIGNED_PAYLOAD, path_as_sent=True)
    return presigned


# --- SigV4 ---------------------------------------------------------------------------------------


def test_v4_a_botocore_url_verifies_from_its_first_to_its_last_second() -> None:
    path, query, sent = presign_v4("GET", "/bucket/some%20key.txt", expires=60)
    assert verify_v4("GET", path, query, sent, T0).expires_at == T0 + 60
    verify_v4("GET", path, query, sent, T0 + 60.9)  # S3 compares whole seconds
    with pytest.raises(errors.PresignedUrlNotValidNow) as expired:
        verify_v4("GET", path, query, sent, T0 + 61)
    assert expired.value.details == {"X-Amz-Expires": "60", "Expires": "2026-12-05T12:01:00Z",
                                     "ServerTime": "2026-12-05T12:01:01Z"}
    with pytest.raises(errors.PresignedUrlNotValidNow, match="Request is not yet valid"):
        verify_v4("GET", path, query, sent, T0 - 1)
    with pytest.raises(errors.InvalidSignature):
        verify_v4("GET", path, query, sent, T0, secret="another")
    with pytest.raises(errors.InvalidSignature):
        verify_v4("PUT", path, query, sent, T0)


def test_v4_the_signed_query_is_everything_but_the_signature_as_sent() -> None:
    path, query, sent = presign_v4("GET", "/bucket/k?response-content-type=text%2Fplain")
    presigned = verify_v4("GET", path, query, sent, T0)
    assert "X-Amz-Signature" not in presigned.signed_query
    assert "response-content-type=text%2Fplain" in presigned.signed_query.split("&")
    assert len(presigned.signed_query.split("&")) == len(query.split("&")) - 1


def test_v4_a_week_is_the_longest_validity() -> None:
    path, query, sent = presign_v4("GET", "/bucket/k", expires=604_800)
    assert verify_v4("GET", path, query, sent, T0 + 604_800).expires_at == T0 + 604_800
    path, query, sent = presign_v4("GET", "/bucket/k", expires=604_801)
    with pytest.raises(errors.AuthorizationQueryParametersError, match="less than a week"):
        verify_v4("GET", path, query, sent, T0)
    path, query, sent = presign_v4("GET", "/bucket/k", expires=0)
    verify_v4("GET", path, query, sent, T0)  # valid for the second it was signed in


def test_v4_signed_headers_must_be_sent_and_every_amz_header_signed() -> None:
    headers = {"x-amz-server-side-encryption-customer-algorithm": "AES256"}
    path, query, sent = presign_v4("GET", "/bucket/k", headers=headers)
    verify_v4("GET", path, query, sent, T0)
    with pytest.raises(errors.InvalidSignature):  # the signed header not sent
        verify_v4("GET", path, query, [(b"host", HOST.encode())], T0)
    extra = [*sent, (b"x-amz-meta-a", b"1"), (b"x-amz-acl", b"private")]
    with pytest.raises(errors.HeadersNotSigned) as unsigned:
        verify_v4("GET", path, query, extra, T0)
    assert unsigned.value.details == {"HeadersNotSigned": "x-amz-acl, x-amz-meta-a"}


def test_v4_a_session_token_is_read_from_the_query() -> None:
    path, query, sent = presign_v4("GET", "/bucket/k", token="session/token+with=chars")
    assert verify_v4("GET", path, query, sent, T0).parsed.security_token == "session/token+with=chars"


@pytest.mark.parametrize(("edit", "error", "text"), [
    (lambda q: q + "&X-Amz-Date=20261205T120000Z", errors.AuthorizationQueryParametersError,
     "Duplicate query parameter X-Amz-Date"),
    (lambda q: q.replace("%2Fs3%2F", "%2Fkms%2F"), errors.AuthorizationQueryParametersError,
     'incorrect service "kms". This endpoint belongs to "s3".'),
    (lambda q: q.replace("X-Amz-SignedHeaders=host", "X-Amz-SignedHeaders=x-amz-date"),
     errors.AuthorizationQueryParametersError, "requires the Host header to be signed"),
    (lambda q: q.replace("X-Amz-Date=20261205T120000Z", "X-Amz-Date=2026-12-05"),
     errors.AuthorizationQueryParametersError, "X-Amz-Date must be in the ISO8601 Long Format"),
    (lambda q: q.replace("%2F20261205%2F", "%2F20261204%2F"), errors.AuthorizationQueryParametersError,
     "Invalid credential date. Date is not the same as X-Amz-Date."),
    (lambda q: q.replace("X-Amz-Expires=3600", "X-Amz-Expires="), errors.AuthorizationQueryParametersError,
     "requires the X-Amz-Algorithm"),
])
def test_v4_malformed_parameters(edit, error: type[errors.TrentError], text: str) -> None:
    path, query, sent = presign_v4("GET", "/bucket/k")
    with pytest.raises(error, match=text.replace("(", r"\(").replace(".", r"\.")):
        verify_v4("GET", path, edit(query), sent, T0)


def test_v4_and_an_authorization_header_is_two_mechanisms() -> None:
    path, query, sent = presign_v4("GET", "/bucket/k")
    with pytest.raises(errors.InvalidArgument, match="Only one auth mechanism allowed") as both:
        verify_v4("GET", path, query, [*sent, (b"authorization", b"AWS4-HMAC-SHA256 x")], T0)
    assert both.value.details["ArgumentName"] == "Authorization"


# --- SigV2 ---------------------------------------------------------------------------------------


def verify_v2(method: str, path: str, query: str, now: float, headers: list[tuple[bytes, bytes]] | None = None,
              bucket_from_host: str | None = None, secret: str = SECRET) -> sigv4.PresignedV2:
    presigned = sigv4.parse_presigned_v2(method, path, query, headers or [], now, bucket_from_host=bucket_from_host)
    sigv4.verify_presigned_v2(presigned, secret)
    return presigned


@pytest.mark.parametrize("path", [
    "/bucket/key.txt", "/bucket/a%20b/%C3%BC", "/bucket", "/",
    "/bucket/k?uploadId=abc%2Fdef&partNumber=3", "/bucket/k?response-content-disposition=attachment%3B%20x&foo=bar",
    "/bucket?acl", "/bucket?list-type=2&prefix=p%2F",
])
def test_v2_botocore_urls_verify_and_sign_the_same_string(path: str) -> None:
    method = "PUT" if "partNumber" in path else "GET"
    url_path, query = presign_v2(method, path)
    assert sigv4.is_presigned_v2(query) and not sigv4.is_presigned(query)
    presigned = verify_v2(method, url_path, query, T0)
    assert presigned.access_key_id == AKID and presigned.expires == T0 + 3600
    with pytest.raises(errors.InvalidSignature):
        verify_v2(method, url_path, query, T0, secret="another")
    with pytest.raises(errors.InvalidSignature):
        verify_v2("DELETE", url_path, query, T0)


def test_v2_the_canonicalized_resource_names_the_bucket_whatever_the_addressing() -> None:
    assert canonicalized_resource_path("/bucket/k", None) == "/bucket/k"
    assert canonicalized_resource_path("/bucket", None) == "/bucket/"
    assert canonicalized_resource_path("/", None) == "/"
    assert canonicalized_resource_path("/k", "bucket") == "/bucket/k"
    assert canonicalized_resource_path("/", "bucket") == "/bucket/"
    # a virtual-hosted request verifies against a URL botocore signed path-style
    _, query = presign_v2("GET", "/bucket/key.txt")
    verify_v2("GET", "/key.txt", query, T0, bucket_from_host="bucket")


def test_v2_expires_is_an_instant() -> None:
    path, query = presign_v2("GET", "/bucket/k", expires=60)
    verify_v2("GET", path, query, T0 + 60)
    with pytest.raises(errors.PresignedUrlNotValidNow) as expired:
        verify_v2("GET", path, query, T0 + 61)
    assert expired.value.details == {"Expires": "2026-12-05T12:01:00Z", "ServerTime": "2026-12-05T12:01:01Z"}


def test_v2_amz_headers_signed_into_the_url_may_also_be_sent() -> None:
    sse = {"x-amz-server-side-encryption-customer-algorithm": "AES256"}
    path, query = presign_v2("GET", "/bucket/k", headers=sse)
    assert "x-amz-server-side-encryption-customer-algorithm=AES256" in query  # botocore moves it to the URL
    verify_v2("GET", path, query, T0)
    verify_v2("GET", path, query, T0, headers=[(b"x-amz-server-side-encryption-customer-algorithm", b"AES256")])
    with pytest.raises(errors.InvalidSignature):  # another value than the one signed
        verify_v2("GET", path, query, T0, headers=[(b"x-amz-server-side-encryption-customer-algorithm", b"aws:kms")])
    with pytest.raises(errors.InvalidSignature):  # an x-amz-* header the URL did not sign
        verify_v2("GET", path, query, T0, headers=[(b"x-amz-meta-a", b"1")])


def test_v2_content_type_and_md5_are_signed() -> None:
    path, query = presign_v2("PUT", "/bucket/k", headers={"Content-Type": "application/json"})
    verify_v2("PUT", path, query, T0, headers=[(b"content-type", b"application/json")])
    with pytest.raises(errors.InvalidSignature):
        verify_v2("PUT", path, query, T0, headers=[(b"content-type", b"text/plain")])
    path, query = presign_v2("PUT", "/bucket/k")
    with pytest.raises(errors.InvalidSignature):  # urllib's default Content-Type, which the URL did not sign
        verify_v2("PUT", path, query, T0, headers=[(b"content-type", b"application/x-www-form-urlencoded")])


@pytest.mark.parametrize(("query", "text"), [
    ("AWSAccessKeyId=AKIA&Expires=1796000000", "requires the Signature, Expires and AWSAccessKeyId"),
    ("Signature=abc&Expires=1796000000", "requires the Signature, Expires and AWSAccessKeyId"),
    ("AWSAccessKeyId=AKIA&Signature=abc", "requires the Signature, Expires and AWSAccessKeyId"),
    ("AWSAccessKeyId=AKIA&Signature=abc&Expires=soon", "Invalid date"),
])
def test_v2_missing_or_malformed_parameters_are_access_denied(query: str, text: str) -> None:
    assert sigv4.is_presigned_v2(query)
    with pytest.raises(errors.AccessDenied, match=text):
        sigv4.parse_presigned_v2("GET", "/bucket/k", query, [], T0, bucket_from_host=None)


def test_query_auth_detection_compares_whole_names() -> None:
    assert not sigv4.is_presigned_v2("prefix=Signature%3D&X-Amz-Signature=abc")
    assert not sigv4.is_presigned_v2("list-type=2&prefix=AWSAccessKeyId")
    assert not sigv4.is_presigned("list-type=2&prefix=X-Amz-Algorithm")
    assert not sigv4.is_presigned("prefix=a&X-Amz-Credential-ish=1")
    assert sigv4.is_presigned("X-Amz-Signature=abc") and sigv4.is_presigned("a=1&X-Amz-Credential=x")
