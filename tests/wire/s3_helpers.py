"""Shared pieces of the S3 server-side-encryption wire suites (issue 17): a seeded Trent
with two users of the dev account (alice: everything; bob: everything, but a key policy
can deny him), boto3 clients for them, and a scan of the object store for plaintext."""

from __future__ import annotations

import base64
import hashlib
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from botocore.config import Config
from botocore.handlers import add_expect_header

from tests.fixtures.trent_server import ACCOUNT_ID, TrentServer

EVERYTHING = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}
USERS = {
    "alice": ("AKIAS3SSEALICE000001", "alice-secret"),
    "bob": ("AKIAS3SSEBOB00000001", "bob-secret"),
}
SEED = {"accounts": [{"id": ACCOUNT_ID, "name": "dev", "users": [
    {"name": name, "access_keys": [{"id": akid, "secret": secret}], "policies": {"Everything": EVERYTHING}}
    for name, (akid, secret) in USERS.items()
]}]}
MARKER = b"TRENT-PLAINTEXT-MARKER-"  # every test body starts with it: the backend scan looks for it


def s3_client(server: TrentServer, who: str | None = None, **config: Any) -> Any:
    params: dict[str, Any] = {"config": Config(retries={"max_attempts": 1}, **config)}
    if who is not None:
        akid, secret = USERS[who]
        params.update(aws_access_key_id=akid, aws_secret_access_key=secret)
    return server.client("s3", **params)


def virtual_hosted(server: TrentServer, s3_domain: str, who: str | None = None, **config: Any) -> Any:
    """An S3 client with virtual-hosted addressing against a server started with
    ``--s3-domain s3_domain``: ``Host: <bucket>.<s3_domain>:<port>``, each request sent to
    the server's loopback address (the name resolves nowhere)."""
    port = server.endpoint_url.rsplit(":", 1)[1]
    loopback = server.endpoint_url.removeprefix("http://")

    def to_loopback(request: Any, **_: Any) -> None:
        host = request.url.split("/")[2]
        request.headers["Host"] = host
        request.url = request.url.replace(host, loopback, 1)

    params: dict[str, Any] = {"endpoint_url": f"http://{s3_domain}:{port}", "config": Config(
        s3={"addressing_style": "virtual"}, retries={"max_attempts": 1}, **config)}
    if who is not None:
        akid, secret = USERS[who]
        params.update(aws_access_key_id=akid, aws_secret_access_key=secret)
    client = server.client("s3", **params)
    client.meta.events.register("before-send.s3", to_loopback)
    return client


def without_expect(client: Any) -> Any:
    """``client`` sending its PUT bodies at once, without ``Expect: 100-continue`` (boto3
    asks for it on every S3 upload; curl and the Go SDK below 2 MiB do not). A small
    PutObject sent so is served on the server's event loop (protocol/s3/front_door.py,
    ``on_loop``); one that waits for 100 Continue streams through a worker thread."""
    client.meta.events.unregister("before-call.s3", add_expect_header)
    return client


def body(size: int) -> bytes:
    """Plaintext that is easy to recognise in a backend scan."""
    return (MARKER + os.urandom(max(0, size - len(MARKER))))[:size]


def sse_c_key() -> tuple[bytes, str]:
    key = os.urandom(32)
    return key, base64.b64encode(hashlib.md5(key).digest()).decode()  # noqa: S324 - S3's wire format


def blob_files(root: Path) -> Iterator[Path]:
    return (p for p in root.rglob("*") if p.is_file())


def assert_no_plaintext(chunks: Iterator[bytes]) -> int:
    """Scan stored content for the plaintext marker; returns how many blobs were scanned."""
    count = 0
    for data in chunks:
        count += 1
        assert MARKER not in data, "plaintext reached the object store"
    return count
