"""Regenerate the SigV4 known-answer vectors in this directory (see README.md).

    /work/main/.venv/bin/python tests/vectors/sigv4/generate.py

Every vector is signed by botocore's own ``SigV4Auth`` at a fixed time, and the
canonical request / string to sign / signature botocore computed are recorded. Two
independent checks run before anything is written:

1. a from-scratch HMAC chain in this file (hashlib/hmac only, no botocore, no trent)
   recomputes string-to-sign and signature from botocore's canonical request;
2. the ``aws-suite-get-vanilla`` vector must reproduce the signature AWS publishes in
   its SigV4 test suite (``get-vanilla``: 5fa00fa3…fbf31).

Trent's own code is deliberately not imported here: the vectors must not be derived
from the implementation they test.
"""

from __future__ import annotations

import datetime
import hashlib
import hmac
import json
import sys
from pathlib import Path
from unittest import mock
from urllib.parse import urlsplit

import boto3
import botocore.auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

HERE = Path(__file__).resolve().parent
# AWS's documented example credentials (not a real secret).
AKID = "AKIDEXAMPLE"
SECRET = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
SUITE_TIME = datetime.datetime(2015, 8, 30, 12, 36, 0, tzinfo=datetime.timezone.utc)
KMS_TIME = datetime.datetime(2024, 5, 17, 9, 30, 15, tzinfo=datetime.timezone.utc)
GET_VANILLA_SIGNATURE = "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"


def _independent(secret: str, amz_date: str, scope: str, creq: str) -> tuple[str, str, str]:
    sts = "\n".join(
        ["AWS4-HMAC-SHA256", amz_date, scope, hashlib.sha256(creq.encode()).hexdigest()]
    )
    date, region, service, term = scope.split("/")
    k = ("AWS4" + secret).encode()
    for part in (date, region, service, term):
        k = hmac.new(k, part.encode(), hashlib.sha256).digest()
    return sts, k.hex(), hmac.new(k, sts.encode(), hashlib.sha256).hexdigest()


def _wire_headers(request: AWSRequest) -> list[list[str]]:
    """The headers as a server receives them: lowercase names, one entry per value, plus Host."""
    out = []
    for name, value in request.headers.items():  # one item per occurrence, in order
        out.append([name.lower(), value])
    if not any(n == "host" for n, _ in out):
        out.insert(0, ["host", urlsplit(request.url).netloc])
    return out


def sign(
    name: str,
    description: str,
    method: str,
    url: str,
    headers: list[tuple[str, str]],
    body: str,
    region: str,
    service: str,
    when: datetime.datetime,
    token: str | None = None,
) -> dict:
    request = AWSRequest(method=method, url=url, data=body.encode())
    for k, v in headers:
        if k in request.headers:
            request.headers.add_header(k, v)
        else:
            request.headers[k] = v
    signer = botocore.auth.SigV4Auth(Credentials(AKID, SECRET, token), service, region)
    with mock.patch.object(botocore.auth, "get_current_datetime", return_value=when):
        signer.add_auth(request)
    amz_date = request.context["timestamp"]
    # Recompute the steps as add_auth saw them, i.e. before it injected Authorization.
    authorization = request.headers["Authorization"]
    del request.headers["Authorization"]
    creq = signer.canonical_request(request)
    sts = signer.string_to_sign(request, creq)
    sig = signer.signature(sts, request)
    scope = signer.credential_scope(request)
    assert authorization.endswith(f"Signature={sig}"), name
    request.headers["Authorization"] = authorization
    # independent check 1
    ind_sts, ind_key, ind_sig = _independent(SECRET, amz_date, scope, creq)
    assert (ind_sts, ind_sig) == (sts, sig), name
    parts = urlsplit(url)
    return {
        "name": name,
        "description": description,
        "access_key_id": AKID,
        "secret_access_key": SECRET,
        "session_token": token,
        "region": region,
        "service": service,
        "now": when.timestamp(),
        "method": method,
        "path": parts.path or "/",
        "query": parts.query,
        "headers": _wire_headers(request),
        "body": body,
        "expected": {
            "amz_date": amz_date,
            "scope": scope,
            "canonical_request": creq,
            "string_to_sign": sts,
            "signing_key_hex": ind_key,
            "signature": sig,
            "authorization": authorization,
        },
    }


def boto3_kms_request(operation: str, params: dict, token: str | None) -> tuple[list, str]:
    """What real boto3 puts on the wire for a KMS call (headers minus auth, body)."""
    captured = {}

    def before_send(request, **_):
        captured["request"] = request
        from botocore.awsrequest import AWSResponse

        return AWSResponse(request.url, 200, {}, None)

    client = boto3.client(
        "kms",
        region_name="us-east-1",
        endpoint_url="http://localhost:9999",
        aws_access_key_id=AKID,
        aws_secret_access_key=SECRET,
        aws_session_token=token,
    )
    client.meta.events.register("before-send", before_send)
    try:
        getattr(client, operation)(**params)
    except Exception:  # the fake 200 has no body; only the request matters
        pass
    req = captured["request"]
    skip = {"authorization", "x-amz-date", "x-amz-security-token"}
    # Fixed values replace the per-call random ones so the vectors are reproducible.
    fixed = {
        "amz-sdk-invocation-id": "0f6c2b8e-6a3f-4a55-9d0e-3f4a9f3d2c11",
        "user-agent": "Boto3/1.40.0 md/Botocore#1.40.0 ua/2.1 os/linux lang/python#3.11.7 cfg/retry-mode#legacy",
    }
    headers = [
        (k, fixed.get(k.lower(), v.decode() if isinstance(v, bytes) else v))
        for k, v in req.headers.items()
        if k.lower() not in skip
    ]
    body = req.body.decode() if isinstance(req.body, bytes) else (req.body or "")
    return headers, body


def main() -> int:
    vectors = []
    # --- AWS SigV4 test-suite style cases (service "service", 2015-08-30T12:36:00Z) ---
    suite = dict(region="us-east-1", service="service", when=SUITE_TIME)
    v = sign(
        "aws-suite-get-vanilla",
        "AWS SigV4 test suite get-vanilla; signature must equal the published value",
        "GET", "https://example.amazonaws.com/", [("Host", "example.amazonaws.com")], "", **suite,
    )
    assert v["expected"]["signature"] == GET_VANILLA_SIGNATURE, "independent check 2 failed"
    vectors.append(v)
    vectors.append(sign(
        "aws-suite-get-vanilla-query-order",
        "query parameters are sorted by key",
        "GET", "https://example.amazonaws.com/?Param2=value2&Param1=value1",
        [("Host", "example.amazonaws.com")], "", **suite,
    ))
    vectors.append(sign(
        "aws-suite-get-header-key-duplicate",
        "one header sent twice: values comma-joined in arrival order",
        "GET", "https://example.amazonaws.com/",
        [("Host", "example.amazonaws.com"), ("My-Header1", "value2"), ("My-Header1", "value2"),
         ("My-Header1", "value1")], "", **suite,
    ))
    vectors.append(sign(
        "aws-suite-get-header-value-order",
        "multiple values keep their order (not sorted)",
        "GET", "https://example.amazonaws.com/",
        [("Host", "example.amazonaws.com"), ("My-Header1", "value4"), ("My-Header1", "value1"),
         ("My-Header1", "value3"), ("My-Header1", "value2")], "", **suite,
    ))
    vectors.append(sign(
        "aws-suite-get-header-value-trim",
        "leading/trailing spaces trimmed, internal runs collapsed (even inside quotes)",
        "GET", "https://example.amazonaws.com/",
        [("Host", "example.amazonaws.com"), ("My-Header1", " value1"),
         ("My-Header2", ' "a   b   c" ')], "", **suite,
    ))
    vectors.append(sign(
        "aws-suite-post-x-www-form-urlencoded",
        "POST with a body and an explicit content-type",
        "POST", "https://example.amazonaws.com/",
        [("Host", "example.amazonaws.com"),
         ("Content-Type", "application/x-www-form-urlencoded")], "Param1=value1", **suite,
    ))
    vectors.append(sign(
        "date-header-fallback",
        "Date (RFC 1123) instead of X-Amz-Date; botocore rewrites Date and signs it",
        "POST", "https://example.amazonaws.com/",
        [("Host", "example.amazonaws.com"), ("Date", "Sun, 30 Aug 2015 12:36:00 GMT"),
         ("Content-Type", "application/x-amz-json-1.1")], "{}", **suite,
    ))
    # --- real boto3 KMS requests (what Trent actually receives) ---
    kms = dict(region="us-east-1", service="kms", when=KMS_TIME)
    token = "FwoGZXIvYXdzEXAMPLESESSIONTOKEN//////////wEaDExampleTokenValue=="
    plaintext = bytes(range(256)) * 4  # 1 KiB -> ~1.4 KiB of base64 JSON body
    headers, body = boto3_kms_request(
        "encrypt",
        {"KeyId": "alias/example", "Plaintext": plaintext,
         "EncryptionContext": {"purpose": "test-vector", "tenant": "42"}},
        token,
    )
    vectors.append(sign(
        "boto3-kms-encrypt-session-token",
        "boto3 KMS Encrypt (1 KiB plaintext) with a session token, endpoint localhost:9999",
        "POST", "http://localhost:9999/", headers, body, token=token, **kms,
    ))
    headers, body = boto3_kms_request(
        "describe_key", {"KeyId": "1234abcd-12ab-34cd-56ef-1234567890ab"}, None
    )
    vectors.append(sign(
        "boto3-kms-describekey",
        "boto3 KMS DescribeKey without a session token",
        "POST", "http://localhost:9999/", headers, body, **kms,
    ))
    for vec in vectors:
        (HERE / f"{vec['name']}.json").write_text(json.dumps(vec, indent=2, sort_keys=True) + "\n")
    print(f"wrote {len(vectors)} vectors", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
