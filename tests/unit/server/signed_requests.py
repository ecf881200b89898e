"""Raw, SigV4-signed KMS and S3 requests for the in-process server tests (the dev credentials)."""

from __future__ import annotations

import json
from typing import Any

from botocore.auth import S3SigV4Auth, SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from trent.config import DEV_ACCESS_KEY_ID, DEV_SECRET_ACCESS_KEY


def signed_kms(op: str, body: dict[str, Any]) -> bytes:
    """``TrentService.<op>`` with ``body`` as one HTTP/1.1 request, head and body, as sent."""
    data = json.dumps(body).encode()
    headers = {"Host": "127.0.0.1:8080", "Content-Type": "application/x-amz-json-1.1",
               "X-Amz-Target": f"TrentService.{op}"}
    request = AWSRequest(method="POST", url="http://127.0.0.1:8080/", data=data, headers=headers)
    SigV4Auth(Credentials(DEV_ACCESS_KEY_ID, DEV_SECRET_ACCESS_KEY), "kms", "us-east-1").add_auth(request)
    lines = [f"{k}: {v}" for k, v in request.headers.items()] + [f"Content-Length: {len(data)}"]
    return ("POST / HTTP/1.1\r\n" + "\r\n".join(lines) + "\r\n\r\n").encode() + data


def signed_s3(method: str, path: str, body: bytes = b"", secret: str = DEV_SECRET_ACCESS_KEY) -> bytes:
    """An S3 request (path-style, payload hash signed) as one HTTP/1.1 request, as sent;
    ``secret``: another one signs it wrongly."""
    request = AWSRequest(method=method, url=f"http://127.0.0.1:8080{path}", data=body,
                         headers={"Host": "127.0.0.1:8080"})
    S3SigV4Auth(Credentials(DEV_ACCESS_KEY_ID, secret), "s3", "us-east-1").add_auth(request)
    lines = [f"{k}: {v}" for k, v in request.headers.items()] + [f"Content-Length: {len(body)}"]
    return (f"{method} {path} HTTP/1.1\r\n" + "\r\n".join(lines) + "\r\n\r\n").encode() + body
