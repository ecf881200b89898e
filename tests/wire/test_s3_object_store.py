"""Where S3 object content lives and how Trent is reached (issue 17): a moto S3 server as
the backend (``--object-store s3+http://...``) with a scan proving only ciphertext
reaches it, PostgreSQL storage, the uvicorn front door, virtual-hosted-style addressing
under ``--s3-domain``, and botocore's aws-chunked uploads with trailing checksums over
HTTPS (``STREAMING-UNSIGNED-PAYLOAD-TRAILER``)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from botocore.config import Config

from tests.fixtures.moto_s3 import MotoS3, start_moto, stop_moto
from tests.fixtures.trent_server import TrentServer, start_trent, stop_trent
from tests.wire.s3_helpers import assert_no_plaintext, body, s3_client, sse_c_key
from tests.wire.tls_helpers import make_ca, start_server

MIB = 1 << 20


@pytest.fixture(scope="module")
def moto() -> Iterator[MotoS3]:
    server = start_moto()
    try:
        yield server
    finally:
        stop_moto(server)


def exercise(server: TrentServer, bucket: str, **config) -> dict[str, bytes]:
    """Every mode, single part and multipart, and a small object (its ciphertext in its
    row, not in the object store: TRENT_S3_INLINE_MAX); returns what was written."""
    s3 = s3_client(server, **config)
    s3.create_bucket(Bucket=bucket)
    key, _ = sse_c_key()
    written = {"s3": body(300_000), "kms": body(70_000), "c": body(10_000), "mp": body(6 * MIB) + body(100),
               "small": body(1000)}
    s3.put_object(Bucket=bucket, Key="small", Body=written["small"], ServerSideEncryption="aws:kms")
    s3.put_object(Bucket=bucket, Key="s3", Body=written["s3"])
    s3.put_object(Bucket=bucket, Key="kms", Body=written["kms"], ServerSideEncryption="aws:kms")
    s3.put_object(Bucket=bucket, Key="c", Body=written["c"], SSECustomerAlgorithm="AES256", SSECustomerKey=key)
    uid = s3.create_multipart_upload(Bucket=bucket, Key="mp", ServerSideEncryption="aws:kms",
                                     BucketKeyEnabled=True)["UploadId"]
    parts = []
    for number, piece in ((1, written["mp"][: 6 * MIB]), (2, written["mp"][6 * MIB :])):
        etag = s3.upload_part(Bucket=bucket, Key="mp", UploadId=uid, PartNumber=number, Body=piece)["ETag"]
        parts.append({"PartNumber": number, "ETag": etag})
    s3.complete_multipart_upload(Bucket=bucket, Key="mp", UploadId=uid, MultipartUpload={"Parts": parts})
    assert s3.get_object(Bucket=bucket, Key="s3")["Body"].read() == written["s3"]
    assert s3.get_object(Bucket=bucket, Key="kms", Range="bytes=100-70000")["Body"].read() == written["kms"][100:]
    assert s3.get_object(Bucket=bucket, Key="c", SSECustomerAlgorithm="AES256",
                         SSECustomerKey=key)["Body"].read() == written["c"]
    got = s3.get_object(Bucket=bucket, Key="mp")
    assert got["BucketKeyEnabled"] is True and got["Body"].read() == written["mp"]
    assert s3.get_object(Bucket=bucket, Key="small")["Body"].read() == written["small"]
    assert s3.get_object(Bucket=bucket, Key="small", Range="bytes=10-19")["Body"].read() == written["small"][10:20]
    return written


def test_moto_backend_sees_only_ciphertext(moto: MotoS3, tmp_path: Path) -> None:
    backend = f"s3+http://{moto.endpoint_url.removeprefix('http://')}/trent-content/objects"
    server = start_trent(tmp_path / "data", "--object-store", backend,
                         env={"AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test"})
    try:
        exercise(server, "on-moto")
        client = moto.client()
        names = [o["Key"] for page in client.get_paginator("list_objects_v2").paginate(Bucket="trent-content")
                 for o in page.get("Contents", [])]
        assert len(names) == 5 and all(n.startswith("objects/") for n in names)  # the small one is in its row
        assert not any("on-moto" in n for n in names)  # opaque names
        scanned = assert_no_plaintext(client.get_object(Bucket="trent-content", Key=n)["Body"].read() for n in names)
        assert scanned == len(names)
        assert not (tmp_path / "data" / "objects").exists()  # nothing went to the local default
        # a delete removes the backend's blob too, once the reaper's grace is over
        # (service/s3/blob_reaper.py): a dev clock advance sweeps
        s3_client(server).delete_object(Bucket="on-moto", Key="s3")

        def left() -> list[str]:
            return [o["Key"] for o in client.list_objects_v2(Bucket="trent-content").get("Contents", [])]

        assert len(left()) == len(names)
        server.advance_clock("1s")
        server.advance_clock("1h")
        assert len(left()) == len(names) - 1
    finally:
        stop_trent(server)


def test_postgresql_storage(postgres_url: str, tmp_path: Path) -> None:
    from trent.storage.sql import SqlStorage

    SqlStorage(postgres_url, upgrade=True).reset()
    server = start_trent(tmp_path / "data", "--database-url", postgres_url)
    try:
        exercise(server, "on-postgres")
        scanned = assert_no_plaintext(p.read_bytes() for p in (tmp_path / "data" / "objects").rglob("*") if p.is_file())
        assert scanned >= 5
    finally:
        stop_trent(server)


def test_uvicorn_front_door(tmp_path: Path) -> None:
    server = start_trent(tmp_path / "data", "--http-server", "uvicorn")
    try:
        exercise(server, "on-uvicorn")
    finally:
        stop_trent(server)


def test_virtual_hosted_style(tmp_path: Path) -> None:
    server = start_trent(tmp_path / "data", "--s3-domain", "s3.localhost.test")
    try:
        path_style = s3_client(server)
        path_style.create_bucket(Bucket="vhost")

        def to_loopback(request, **_):
            # <bucket>.s3.localhost.test resolves nowhere: send to the server, with the signed Host
            host = request.url.split("/")[2]
            assert host.startswith("vhost.s3.localhost.test:")
            request.headers["Host"] = host
            request.url = request.url.replace(host, server.endpoint_url.removeprefix("http://"), 1)

        virtual = server.client("s3", endpoint_url=f"http://s3.localhost.test:{server.endpoint_url.rsplit(':', 1)[1]}",
                                config=Config(s3={"addressing_style": "virtual"}, retries={"max_attempts": 1}))
        virtual.meta.events.register("before-send.s3", to_loopback)
        data = body(1000)
        put = virtual.put_object(Bucket="vhost", Key="dir/file.txt", Body=data)
        assert put["ServerSideEncryption"] == "AES256"
        assert path_style.get_object(Bucket="vhost", Key="dir/file.txt")["Body"].read() == data
        assert virtual.get_object(Bucket="vhost", Key="dir/file.txt")["Body"].read() == data
        assert [o["Key"] for o in virtual.list_objects_v2(Bucket="vhost")["Contents"]] == ["dir/file.txt"]
    finally:
        stop_trent(server)


def test_aws_chunked_trailing_checksums_over_https(tmp_path: Path) -> None:
    ca = make_ca(tmp_path)
    cert, key = ca.issue(tmp_path, "server")
    server = start_server(tmp_path / "data", "--tls-cert", str(cert), "--tls-key", str(key), ca=ca)
    try:
        s3 = server.client("s3", verify=str(ca.cert_pem), config=Config(retries={"max_attempts": 1}))
        seen: list[str] = []
        s3.meta.events.register("before-send.s3.PutObject",
                                lambda request, **_: seen.append(request.headers.get("x-amz-content-sha256", b"").decode()))
        s3.create_bucket(Bucket="chunked")
        for algorithm in ("CRC32", "CRC32C", "SHA256"):
            data = body(3 * MIB + 17)
            put = s3.put_object(Bucket="chunked", Key=algorithm, Body=data, ChecksumAlgorithm=algorithm)
            assert put[f"Checksum{algorithm}"]
            got = s3.get_object(Bucket="chunked", Key=algorithm, ChecksumMode="ENABLED")
            assert got["Body"].read() == data and got[f"Checksum{algorithm}"] == put[f"Checksum{algorithm}"]
        assert set(seen) == {"STREAMING-UNSIGNED-PAYLOAD-TRAILER"}
        key_bytes, _ = sse_c_key()  # SSE-C over TLS
        s3.put_object(Bucket="chunked", Key="c", Body=b"secret", SSECustomerAlgorithm="AES256",
                      SSECustomerKey=key_bytes)
        assert s3.get_object(Bucket="chunked", Key="c", SSECustomerAlgorithm="AES256",
                             SSECustomerKey=key_bytes)["Body"].read() == b"secret"
    finally:
        stop_trent(server)


def test_production_refuses_sse_c_over_plain_http(tmp_path: Path) -> None:
    """spec §6: outside --dev, SSE-C over plain HTTP is S3's InvalidRequest (here with
    --insecure-http, which lets the rest of the API answer over HTTP)."""
    import json
    import os as _os

    akid, secret = "AKIAS3PRODSSEC000001", "prod-s3-secret-for-tests-only"
    seed = tmp_path / "seed.json"
    seed.write_text(json.dumps({"accounts": [{"id": "123456789012", "users": [{
        "name": "ops", "access_keys": [{"id": akid, "secret": secret}],
        "policies": {"All": {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*",
                                                                      "Resource": "*"}]}}}]}]}))
    (tmp_path / "root.key").write_bytes(_os.urandom(32))
    _os.chmod(tmp_path / "root.key", 0o600)
    server = start_server(tmp_path / "data", "--root-key-file", str(tmp_path / "root.key"), "--seed", str(seed),
                          "--insecure-http", scheme="http", dev=False)
    try:
        s3 = server.client("s3", aws_access_key_id=akid, aws_secret_access_key=secret,
                           config=Config(retries={"max_attempts": 1}))
        s3.create_bucket(Bucket="prod-bucket")
        assert s3.put_object(Bucket="prod-bucket", Key="s3", Body=b"x")["ServerSideEncryption"] == "AES256"
        key, _ = sse_c_key()
        from botocore.exceptions import ClientError

        with pytest.raises(ClientError) as info:
            s3.put_object(Bucket="prod-bucket", Key="c", Body=b"x", SSECustomerAlgorithm="AES256", SSECustomerKey=key)
        error = info.value.response["Error"]
        assert (error["Code"], info.value.response["ResponseMetadata"]["HTTPStatusCode"]) == ("InvalidRequest", 400)
        assert error["Message"] == ("Requests specifying Server Side Encryption with Customer provided keys must be "
                                    "made over a secure connection.")
    finally:
        stop_trent(server)
