"""S3 presigned URLs (query-string authentication) over HTTP: URLs made by real boto3's
``generate_presigned_url``, both kinds it makes -- the legacy Signature Version 2
(``AWSAccessKeyId``/``Expires``/``Signature``, boto3's default for S3) and SigV4
(``X-Amz-Algorithm``/``-Credential``/``-Date``/``-Expires``/``-SignedHeaders``/``-Signature``,
``signature_version="s3v4"``) -- used by a plain HTTP client that knows no credentials, as
a browser or curl would. (``generate_presigned_post``, the HTML form upload, is not covered.)

Covers GET, PUT (read back through boto3), HEAD, Range, ListObjectsV2, a signed
Content-Type, keys that need escaping, SSE-C headers (s3-sse spec §6), a role session's token
in the query, authorization and audit as for header-signed requests, and S3's refusals: an
edited URL, an expired one, one not yet valid, malformed SigV4 parameters, an unsigned
header, an unknown access key, and both an Authorization header and query authentication.

Time: an expired or not-yet-valid URL is made by signing at another moment (botocore's clock
patched while it signs), not by waiting; the server's clock is the real one."""

from __future__ import annotations

import base64
import copy
import http.client
import json
import os
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone
from email.message import Message
from types import SimpleNamespace
from typing import Any
from unittest import mock
from urllib.parse import parse_qsl, unquote_plus, urlencode, urlsplit, urlunsplit
from xml.etree import ElementTree

import botocore.auth
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from tests.wire.test_aws_cli import aws_binary
from tests.fixtures.trent_server import ACCOUNT_ID, TrentServer, seeded_trent
from tests.wire.s3_helpers import EVERYTHING, SEED, USERS, body, s3_client, sse_c_key

BUCKET = "presigned"
#: virtual-hosted-style addressing: <bucket>.s3.localhost.test resolves nowhere; ``fetch``
#: connects to the loopback server and sends the URL's host as ``Host``, as DNS would
S3_DOMAIN = "s3.localhost.test"
ROLE = "presign-reader"
ALICE_ARN = f"arn:aws:iam::{ACCOUNT_ID}:user/alice"

#: the S3 suites' seed plus a role alice may assume (a temporary credential's token)
PRESIGN_SEED = copy.deepcopy(SEED)
PRESIGN_SEED["accounts"][0]["roles"] = [{
    "name": ROLE, "policies": {"Everything": EVERYTHING},
    "trust_policy": {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"AWS": ALICE_ARN}, "Action": "sts:AssumeRole"}]},
}]


@pytest.fixture(scope="module")
def server() -> Iterator[TrentServer]:
    with seeded_trent(PRESIGN_SEED, prefix="trent-s3-presigned-", extra_args=("--s3-domain", S3_DOMAIN)) as server:
        yield server


@pytest.fixture(scope="module")
def bucket(server: TrentServer) -> str:
    s3_client(server, "alice").create_bucket(Bucket=BUCKET)
    return BUCKET


#: boto3's default presigned URL is the legacy query-string Signature Version 2 (botocore's
#: HmacV1QueryAuth); ``signature_version="s3v4"`` gives SigV4 query authentication.
VERSIONS: dict[str, dict[str, Any]] = {"v2-default": {}, "v4": {"signature_version": "s3v4"}}


@pytest.fixture(scope="module", params=sorted(VERSIONS))
def version(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture(scope="module")
def s3(version: str, server: TrentServer, bucket: str) -> Any:
    client = s3_client(server, "alice", **VERSIONS[version])
    V4_CLIENTS[id(client)] = version == "v4"
    return client


@pytest.fixture(scope="module")
def s3v4(server: TrentServer, bucket: str) -> Any:
    return s3_client(server, "alice", **VERSIONS["v4"])


#: which clients presign with SigV4 (botocore's resolved config says "s3v4" for both: it
#: presigns with SigV2 only when the caller did not ask for a signature version)
V4_CLIENTS: dict[int, bool] = {}


def is_v4(client: Any) -> bool:
    return V4_CLIENTS[id(client)]


def fetch(url: str, method: str = "GET", data: bytes | None = None,
          headers: dict[str, str] | None = None) -> tuple[int, Message, bytes]:
    """One request sending exactly ``headers`` (plus Host, Accept-Encoding and, with a body,
    Content-Length, as any client does), as a browser or curl given the URL would. Not
    urllib: it adds ``Content-Type: application/x-www-form-urlencoded`` to a request with a
    body, a header the URL did not sign, which S3 refuses under SigV2 (it signs
    Content-Type). Response headers are looked up case-insensitively."""
    parts = urlsplit(url)
    sent = dict(headers or {})
    address = parts.netloc
    if (parts.hostname or "").endswith("." + S3_DOMAIN):
        sent["Host"] = parts.netloc
        address = f"127.0.0.1:{parts.port}"
    connection = http.client.HTTPConnection(address, timeout=30)
    try:
        target = parts.path + ("?" + parts.query if parts.query else "")
        connection.request(method, target, body=data, headers=sent)
        response = connection.getresponse()
        return response.status, response.headers, response.read()
    finally:
        connection.close()


def s3_error(payload: bytes) -> dict[str, str]:
    root = ElementTree.fromstring(payload)
    return {child.tag: child.text or "" for child in root}


def refusal(url: str, method: str = "GET", **kwargs: Any) -> tuple[int, str, str]:
    status, _, payload = fetch(url, method, **kwargs)
    error = s3_error(payload)
    return status, error["Code"], error["Message"]


def with_query(url: str, **changes: str | None) -> str:
    parts = urlsplit(url)
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k not in changes]
    query += [(k, v) for k, v in changes.items() if v is not None]
    return urlunsplit(parts._replace(query=urlencode(query)))


@contextmanager
def signed_at(moment: datetime) -> Iterator[None]:
    """botocore signs as if it were ``moment`` (UTC): SigV4 takes X-Amz-Date from
    ``get_current_datetime`` (botocore.auth, or botocore.crt.auth when awscrt is installed),
    SigV2 computes Expires from ``time.time()``."""
    aware = moment.replace(tzinfo=timezone.utc)

    def current(remove_tzinfo: bool = True) -> datetime:
        return aware.replace(tzinfo=None) if remove_tzinfo else aware

    fake_time = SimpleNamespace(time=aware.timestamp)
    with mock.patch("botocore.auth.get_current_datetime", current), \
            mock.patch.object(botocore.auth, "time", fake_time), \
            mock.patch("botocore.crt.auth.get_current_datetime", current):
        yield


def audit_event(server: TrentServer, request_id: str) -> dict[str, Any]:
    """The trail's one event of ``request_id`` (S3 events are written with the response;
    polled briefly all the same)."""
    deadline = time.monotonic() + 10
    while not (events := [e for e in server.audit_events() if e.get("requestID") == request_id]):
        assert time.monotonic() < deadline, f"no audit event for request {request_id}"
        time.sleep(0.2)
    (event,) = events
    return event


def utc_now() -> datetime:
    return datetime.now(timezone.utc).replace(tzinfo=None)


def test_presigned_get_put_and_head_work_without_credentials(s3: Any) -> None:
    data = body(300_000)
    put_url = s3.generate_presigned_url("put_object", Params={"Bucket": BUCKET, "Key": "up.bin"}, ExpiresIn=300)
    status, headers, _ = fetch(put_url, "PUT", data)
    assert status == 200 and headers["x-amz-server-side-encryption"] == "AES256"
    assert s3.get_object(Bucket=BUCKET, Key="up.bin")["Body"].read() == data

    get_url = s3.generate_presigned_url("get_object", Params={"Bucket": BUCKET, "Key": "up.bin"}, ExpiresIn=300)
    status, headers, got = fetch(get_url)
    assert status == 200 and got == data
    assert headers["x-amz-server-side-encryption"] == "AES256"

    head_url = s3.generate_presigned_url("head_object", Params={"Bucket": BUCKET, "Key": "up.bin"}, ExpiresIn=300)
    status, headers, got = fetch(head_url, "HEAD")
    assert status == 200 and got == b"" and int(headers["Content-Length"]) == len(data)

    # Range given when signing: SigV4 signs it as a header to send; SigV2 does not sign it
    ranged = s3.generate_presigned_url("get_object", Params={"Bucket": BUCKET, "Key": "up.bin", "Range": "bytes=10-19"})
    status, headers, got = fetch(ranged, headers={"Range": "bytes=10-19"})
    assert (status, got, headers["Content-Range"]) == (206, data[10:20], f"bytes 10-19/{len(data)}")


def test_presigned_bucket_and_service_requests(s3: Any) -> None:
    s3.put_object(Bucket=BUCKET, Key="listed/a.txt", Body=b"a")
    url = s3.generate_presigned_url("list_objects_v2", Params={"Bucket": BUCKET, "Prefix": "listed/"})
    status, _, payload = fetch(url)
    assert status == 200 and b"<Key>listed/a.txt</Key>" in payload and b"<KeyCount>1</KeyCount>" in payload
    status, _, payload = fetch(s3.generate_presigned_url("list_buckets"))
    assert status == 200 and f"<Name>{BUCKET}</Name>".encode() in payload


@pytest.mark.parametrize("key", ["with space/and+plus=eq.txt", "ünï/cødé ☂.bin", "a//double~tilde*(x)"])
def test_keys_that_need_escaping(s3: Any, key: str) -> None:
    data = body(1000)
    put_url = s3.generate_presigned_url("put_object", Params={"Bucket": BUCKET, "Key": key})
    assert fetch(put_url, "PUT", data)[0] == 200
    assert s3.get_object(Bucket=BUCKET, Key=key)["Body"].read() == data
    status, _, got = fetch(s3.generate_presigned_url("get_object", Params={"Bucket": BUCKET, "Key": key}))
    assert (status, got) == (200, data)


def test_virtual_hosted_style_urls(server: TrentServer, s3: Any) -> None:
    """SigV2 signs ``/bucket/key`` although the path is ``/key`` (the bucket is in the host)."""
    port = urlsplit(server.endpoint_url).port
    config = Config(s3={"addressing_style": "virtual"}, **VERSIONS["v4" if is_v4(s3) else "v2-default"])
    virtual = server.client("s3", endpoint_url=f"http://{S3_DOMAIN}:{port}", aws_access_key_id=USERS["alice"][0],
                            aws_secret_access_key=USERS["alice"][1], config=config)
    data = body(2000)
    put_url = virtual.generate_presigned_url("put_object", Params={"Bucket": BUCKET, "Key": "vhost/a b.bin"})
    assert urlsplit(put_url).netloc == f"{BUCKET}.{S3_DOMAIN}:{port}"
    assert fetch(put_url, "PUT", data)[0] == 200
    assert s3.get_object(Bucket=BUCKET, Key="vhost/a b.bin")["Body"].read() == data
    get_url = virtual.generate_presigned_url("get_object", Params={"Bucket": BUCKET, "Key": "vhost/a b.bin"})
    assert fetch(get_url)[::2] == (200, data)
    list_url = virtual.generate_presigned_url("list_objects_v2", Params={"Bucket": BUCKET, "Prefix": "vhost/"})
    status, _, payload = fetch(list_url)
    listed = ElementTree.fromstring(payload).iter("{http://s3.amazonaws.com/doc/2006-03-01/}Key")
    assert status == 200 and [unquote_plus(k.text or "") for k in listed] == ["vhost/a b.bin"]  # encoding-type=url
    # the same URL sent to another bucket's host: the signature names the bucket
    s3.create_bucket(Bucket="presigned-other")
    other = get_url.replace(f"//{BUCKET}.", "//presigned-other.", 1)
    assert refusal(other)[:2] == (403, "SignatureDoesNotMatch")


def test_presigned_upload_parts(s3: Any) -> None:
    """The browser-upload pattern: the server starts a multipart upload, hands out one
    presigned UploadPart URL per part (``uploadId`` and ``partNumber`` are signed
    sub-resources), and completes it with the ETags the client reports."""
    key = "multipart.bin"
    upload_id = s3.create_multipart_upload(Bucket=BUCKET, Key=key)["UploadId"]
    parts = [body(5 * 1024 * 1024), body(1000)]
    etags = []
    for number, part in enumerate(parts, start=1):
        url = s3.generate_presigned_url("upload_part", Params={"Bucket": BUCKET, "Key": key, "UploadId": upload_id,
                                                               "PartNumber": number})
        status, headers, _ = fetch(url, "PUT", part)
        assert status == 200
        etags.append(headers["ETag"])
    wrong_part = s3.generate_presigned_url("upload_part", Params={"Bucket": BUCKET, "Key": key, "UploadId": upload_id,
                                                                  "PartNumber": 1})
    assert refusal(with_query(wrong_part, partNumber="3"), "PUT", data=b"x")[:2] == (403, "SignatureDoesNotMatch")
    s3.complete_multipart_upload(Bucket=BUCKET, Key=key, UploadId=upload_id, MultipartUpload={
        "Parts": [{"PartNumber": n, "ETag": etag} for n, etag in enumerate(etags, start=1)]})
    assert s3.get_object(Bucket=BUCKET, Key=key)["Body"].read() == b"".join(parts)


def test_the_aws_clis_presign(server: TrentServer, bucket: str) -> None:
    """``aws s3 presign`` (the CLI's own command) makes a URL a plain client can GET."""
    s3_client(server, "alice").put_object(Bucket=bucket, Key="cli.txt", Body=b"from the cli")
    env = {**os.environ, "AWS_ACCESS_KEY_ID": USERS["alice"][0], "AWS_SECRET_ACCESS_KEY": USERS["alice"][1],
           "AWS_DEFAULT_REGION": server.region, "AWS_CONFIG_FILE": os.devnull,
           "AWS_SHARED_CREDENTIALS_FILE": os.devnull}
    out = subprocess.run([aws_binary(), "--endpoint-url", server.endpoint_url, "s3", "presign",
                          f"s3://{bucket}/cli.txt", "--expires-in", "120"],
                         capture_output=True, text=True, env=env, timeout=60, check=False)
    assert out.returncode == 0, out.stderr
    url = out.stdout.strip()
    assert "Signature" in urlsplit(url).query
    assert fetch(url)[::2] == (200, b"from the cli")


def test_content_type_is_signed_when_given(s3: Any) -> None:
    url = s3.generate_presigned_url("put_object", Params={"Bucket": BUCKET, "Key": "typed.json",
                                                          "ContentType": "application/json"})
    assert fetch(url, "PUT", b"{}", headers={"Content-Type": "application/json"})[0] == 200
    assert s3.head_object(Bucket=BUCKET, Key="typed.json")["ContentType"] == "application/json"
    assert refusal(url, "PUT", data=b"<x/>", headers={"Content-Type": "text/xml"})[:2] == \
        (403, "SignatureDoesNotMatch")
    # a URL signed without a Content-Type: SigV2's string to sign holds the Content-Type
    # sent (S3 refuses one the URL did not sign); SigV4 signs only the headers it names
    bare = s3.generate_presigned_url("put_object", Params={"Bucket": BUCKET, "Key": "untyped"})
    status, _, payload = fetch(bare, "PUT", b"x", headers={"Content-Type": "application/x-www-form-urlencoded"})
    if is_v4(s3):
        assert status == 200
    else:
        assert (status, s3_error(payload)["Code"]) == (403, "SignatureDoesNotMatch")


def test_presigned_sse_c_keys_travel_as_headers(server: TrentServer, s3: Any) -> None:
    key, key_md5 = sse_c_key()
    sse = {"SSECustomerAlgorithm": "AES256", "SSECustomerKey": key}
    data = body(5_000)
    s3.put_object(Bucket=BUCKET, Key="sse-c.bin", Body=data, **sse)
    url = s3.generate_presigned_url("get_object", Params={"Bucket": BUCKET, "Key": "sse-c.bin", **sse})
    sse_headers = {
        "x-amz-server-side-encryption-customer-algorithm": "AES256",
        "x-amz-server-side-encryption-customer-key": base64.b64encode(key).decode(),
        "x-amz-server-side-encryption-customer-key-MD5": key_md5,
    }
    status, headers, got = fetch(url, headers=sse_headers)
    assert status == 200 and got == data
    assert headers["x-amz-server-side-encryption-customer-key-MD5"] == key_md5
    # SigV2 URLs carry the key in the query (botocore puts it there): never in the trail
    event = audit_event(server, headers["x-amz-request-id"])
    assert base64.b64encode(key).decode() not in json.dumps(event)
    assert event["requestParameters"]["x-amz-server-side-encryption-customer-algorithm"] == "AES256"
    other_key, other_md5 = sse_c_key()
    wrong = {**sse_headers, "x-amz-server-side-encryption-customer-key": base64.b64encode(other_key).decode(),
             "x-amz-server-side-encryption-customer-key-MD5": other_md5}
    # another key than the one signed: refused before any object is read
    assert refusal(url, headers=wrong)[:2] == (403, "SignatureDoesNotMatch")
    status, _, payload = fetch(url)  # the key headers not sent at all
    if is_v4(s3):  # they are signed headers: the signature cannot match without them
        assert (status, s3_error(payload)["Code"]) == (403, "SignatureDoesNotMatch")
    else:  # SigV2: botocore signed them as query parameters; the key itself must still be a header
        assert (status, s3_error(payload)["Code"]) == (400, "InvalidRequest")


def test_a_role_sessions_token_travels_in_the_query(server: TrentServer, s3: Any) -> None:
    sts = server.client("sts", aws_access_key_id=USERS["alice"][0], aws_secret_access_key=USERS["alice"][1])
    session = sts.assume_role(RoleArn=f"arn:aws:iam::{ACCOUNT_ID}:role/{ROLE}", RoleSessionName="presign")
    credentials = session["Credentials"]
    s3.put_object(Bucket=BUCKET, Key="session.txt", Body=b"temporary")
    temporary = server.client("s3", aws_access_key_id=credentials["AccessKeyId"],
                              aws_secret_access_key=credentials["SecretAccessKey"],
                              aws_session_token=credentials["SessionToken"],
                              config=Config(**VERSIONS["v4" if is_v4(s3) else "v2-default"]))
    url = temporary.generate_presigned_url("get_object", Params={"Bucket": BUCKET, "Key": "session.txt"})
    token_param = "X-Amz-Security-Token" if is_v4(s3) else "x-amz-security-token"
    assert dict(parse_qsl(urlsplit(url).query))[token_param] == credentials["SessionToken"]
    status, _, got = fetch(url)
    assert (status, got) == (200, b"temporary")
    # without the token the access key is no one's; with another token the credentials do not
    # resolve either: the same answers as header authentication gives those credentials
    def client_with(token: str | None) -> Any:
        return server.client("s3", aws_access_key_id=credentials["AccessKeyId"],
                             aws_secret_access_key=credentials["SecretAccessKey"], aws_session_token=token)

    assert refusal(with_query(url, **{token_param: None}))[:2] == _header_auth_error(client_with(None)) == \
        (403, "InvalidAccessKeyId")
    token = credentials["SessionToken"]
    forged = token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB")
    # [?] AWS S3 may answer a forged token 400 InvalidToken; Trent's header authentication
    # answers InvalidAccessKeyId, and query authentication must agree with it
    assert refusal(with_query(url, **{token_param: forged}))[:2] == _header_auth_error(client_with(forged)) == \
        (403, "InvalidAccessKeyId")


def test_an_edited_url_does_not_match_its_signature(s3: Any) -> None:
    s3.put_object(Bucket=BUCKET, Key="a.txt", Body=b"a")
    s3.put_object(Bucket=BUCKET, Key="b.txt", Body=b"b")
    url = s3.generate_presigned_url("get_object", Params={"Bucket": BUCKET, "Key": "a.txt"})
    assert refusal(url.replace("/a.txt?", "/b.txt?"))[:2] == (403, "SignatureDoesNotMatch")
    longer = {"X-Amz-Expires": "3601"} if is_v4(s3) else {"Expires": str(int(time.time()) + 7200)}
    assert refusal(with_query(url, **longer))[:2] == (403, "SignatureDoesNotMatch")
    assert refusal(with_query(url, **{"response-content-type": "text/html"}))[:2] == (403, "SignatureDoesNotMatch")
    # a PUT URL cannot be used to GET (the method is signed)
    put_url = s3.generate_presigned_url("put_object", Params={"Bucket": BUCKET, "Key": "a.txt"})
    assert refusal(put_url)[:2] == (403, "SignatureDoesNotMatch")
    assert refusal(put_url, "DELETE")[:2] == (403, "SignatureDoesNotMatch")
    assert s3.get_object(Bucket=BUCKET, Key="a.txt")["Body"].read() == b"a"


def test_an_expired_url_is_access_denied_with_s3s_elements(s3: Any) -> None:
    s3.put_object(Bucket=BUCKET, Key="soon.txt", Body=b"soon")
    signed = utc_now() - timedelta(hours=2)
    with signed_at(signed):
        url = s3.generate_presigned_url("get_object", Params={"Bucket": BUCKET, "Key": "soon.txt"}, ExpiresIn=3600)
    status, _, payload = fetch(url)
    error = s3_error(payload)
    assert (status, error["Code"], error["Message"]) == (403, "AccessDenied", "Request has expired")
    expires = datetime.strptime(error["Expires"], "%Y-%m-%dT%H:%M:%SZ")
    assert abs(expires - (signed + timedelta(hours=1))) <= timedelta(seconds=1)
    server_time = datetime.strptime(error["ServerTime"], "%Y-%m-%dT%H:%M:%SZ")
    assert abs(server_time - utc_now()) <= timedelta(seconds=60)
    if is_v4(s3):
        assert error["X-Amz-Expires"] == "3600"
    else:  # SigV2's Expires is an instant: S3 names no duration
        assert "X-Amz-Expires" not in error
    # the same object through a URL still in its window
    with signed_at(utc_now() - timedelta(minutes=59)):
        url = s3.generate_presigned_url("get_object", Params={"Bucket": BUCKET, "Key": "soon.txt"}, ExpiresIn=3600)
    assert fetch(url)[::2] == (200, b"soon")


def test_a_url_dated_in_the_future_is_not_yet_valid(s3v4: Any) -> None:
    with signed_at(utc_now() + timedelta(hours=1)):
        url = s3v4.generate_presigned_url("get_object", Params={"Bucket": BUCKET, "Key": "a.txt"})
    assert refusal(url) == (403, "AccessDenied", "Request is not yet valid")


@pytest.mark.parametrize(("changes", "message"), [
    ({"X-Amz-Expires": "604801"}, "X-Amz-Expires must be less than a week (in seconds) that is; 604800 seconds"),
    ({"X-Amz-Expires": "-1"}, "X-Amz-Expires must be non-negative"),
    ({"X-Amz-Expires": "soon"}, "X-Amz-Expires should be a number"),
    ({"X-Amz-Algorithm": "AWS4-HMAC-SHA1"}, 'X-Amz-Algorithm only supports "AWS4-HMAC-SHA256"'),
    ({"X-Amz-Date": None}, "Query-string authentication version 4 requires the X-Amz-Algorithm, X-Amz-Credential, "
                           "X-Amz-Signature, X-Amz-Date, X-Amz-SignedHeaders, and X-Amz-Expires parameters."),
    ({"X-Amz-Signature": None}, "Query-string authentication version 4 requires the X-Amz-Algorithm, "
                                "X-Amz-Credential, X-Amz-Signature, X-Amz-Date, X-Amz-SignedHeaders, and "
                                "X-Amz-Expires parameters."),
    ({"X-Amz-Credential": "AKIA/20261205/us-east-1/s3"},
     "Error parsing the X-Amz-Credential parameter; the Credential is mal-formed; "
     'expecting "<YOUR-AKID>/YYYYMMDD/REGION/SERVICE/aws4_request".'),
])
def test_malformed_query_parameters_get_s3s_texts(s3v4: Any, changes: dict[str, str | None], message: str) -> None:
    url = s3v4.generate_presigned_url("get_object", Params={"Bucket": BUCKET, "Key": "a.txt"})
    assert refusal(with_query(url, **changes)) == (400, "AuthorizationQueryParametersError", message)


def test_an_unsigned_amz_header_and_two_mechanisms_are_refused(s3: Any) -> None:
    url = s3.generate_presigned_url("get_object", Params={"Bucket": BUCKET, "Key": "a.txt"})
    if is_v4(s3):
        status, _, payload = fetch(url, headers={"x-amz-meta-extra": "1"})
        error = s3_error(payload)
        assert (status, error["Code"], error["Message"], error["HeadersNotSigned"]) == \
            (403, "AccessDenied", "There were headers present in the request which were not signed", "x-amz-meta-extra")
    else:  # SigV2 signs every x-amz-* header sent: one more is a different string to sign
        assert refusal(url, headers={"x-amz-meta-extra": "1"})[:2] == (403, "SignatureDoesNotMatch")
    status, code, message = refusal(url, headers={"Authorization": "AWS4-HMAC-SHA256 Credential=x"})
    assert (status, code) == (400, "InvalidArgument")
    assert message.startswith("Only one auth mechanism allowed")


def test_an_unknown_access_key_is_invalid_access_key_id(server: TrentServer, s3: Any) -> None:
    # --dev admits unknown keys shaped like the dev account's id as that account's root; this
    # one is a well-formed key of no account: InvalidAccessKeyId, as for header authentication
    stranger = server.client("s3", aws_access_key_id="AKIAPRESIGNUNKNOWN01", aws_secret_access_key="nope",
                             config=Config(retries={"max_attempts": 1}, **VERSIONS["v4" if is_v4(s3) else "v2-default"]))
    url = stranger.generate_presigned_url("get_object", Params={"Bucket": BUCKET, "Key": "a.txt"})
    status, code, message = refusal(url)
    assert (status, code) == (403, "InvalidAccessKeyId") == _header_auth_error(stranger)
    assert message == "The AWS Access Key Id you provided does not exist in our records."


def test_a_bucket_policy_deny_applies_to_presigned_requests(server: TrentServer, s3: Any) -> None:
    name = "presigned-denied-" + ("v4" if is_v4(s3) else "v2")
    s3.create_bucket(Bucket=name)
    s3.put_object(Bucket=name, Key="secret.txt", Body=b"s")
    s3.put_object(Bucket=name, Key="open.txt", Body=b"o")
    s3.put_bucket_policy(Bucket=name, Policy=json.dumps({"Version": "2012-10-17", "Statement": [{
        "Effect": "Deny", "Principal": "*", "Action": "s3:GetObject", "Resource": f"arn:aws:s3:::{name}/secret.txt"}]}))
    denied = s3.generate_presigned_url("get_object", Params={"Bucket": name, "Key": "secret.txt"})
    assert refusal(denied)[:2] == (403, "AccessDenied")
    allowed = s3.generate_presigned_url("get_object", Params={"Bucket": name, "Key": "open.txt"})
    assert fetch(allowed)[::2] == (200, b"o")


def test_presigned_requests_are_audited_as_their_signer(server: TrentServer, s3: Any) -> None:
    s3.put_object(Bucket=BUCKET, Key="audited.txt", Body=b"audited")
    url = s3.generate_presigned_url("get_object", Params={"Bucket": BUCKET, "Key": "audited.txt"})
    status, headers, _ = fetch(url)
    assert status == 200
    event = audit_event(server, headers["x-amz-request-id"])
    assert (event["eventSource"], event["eventName"]) == ("s3.amazonaws.com", "GetObject")
    assert event["userIdentity"]["arn"] == ALICE_ARN
    assert event["userIdentity"]["accessKeyId"] == USERS["alice"][0]
    assert event["requestParameters"] == {"bucketName": BUCKET, "key": "audited.txt"}
    assert event["additionalEventData"] == {"SignatureVersion": "SigV4" if is_v4(s3) else "SigV2",
                                            "AuthenticationMethod": "QueryString"}
    signature = dict(parse_qsl(urlsplit(url).query))["X-Amz-Signature" if is_v4(s3) else "Signature"]
    assert USERS["alice"][1] not in json.dumps(event) and signature not in json.dumps(event)
    # a header-signed request says so
    header_id = s3.get_object(Bucket=BUCKET, Key="audited.txt")["ResponseMetadata"]["RequestId"]
    assert audit_event(server, header_id)["additionalEventData"] == \
        {"SignatureVersion": "SigV4", "AuthenticationMethod": "AuthHeader"}


def _header_auth_error(client: Any) -> tuple[int, str]:
    """What the same credentials get with an Authorization header (the reference)."""
    try:
        client.get_object(Bucket=BUCKET, Key="a.txt")
    except ClientError as error:
        return error.response["ResponseMetadata"]["HTTPStatusCode"], error.response["Error"]["Code"]
    return 200, "OK"
