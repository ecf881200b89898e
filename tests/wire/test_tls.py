"""TLS on both front doors, aws:SecureTransport, trusted proxies, plain HTTP refused in
production (issue 20; server/tls.py, protocol/transport.py).

Each test's CA is generated here (tls_helpers.py); boto3 is given it with ``verify=`` and
the AWS CLI with ``--ca-bundle``, exactly as users point SDKs at a private CA.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import ssl
import subprocess
import sys
import time
from pathlib import Path

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError, SSLError
from cryptography import x509

from tests.fixtures.trent_server import TrentServer, stop_trent
from tests.wire.helpers import expect_error
from tests.wire.tls_helpers import make_ca, start_server

ACCOUNT = "123456789012"
PROD_KEY = {"id": "AKIAPRODTLSTEST00001", "secret": "prod-tls-secret-for-tests-only"}


def _kms(server: TrentServer, ca_pem: Path | None, **extra):
    return boto3.client("kms", endpoint_url=server.endpoint_url, region_name="us-east-1",
                        aws_access_key_id=extra.pop("akid", "test"), aws_secret_access_key=extra.pop("secret", "test"),
                        verify=str(ca_pem) if ca_pem else None, config=Config(retries={"max_attempts": 1}), **extra)


def _peer_common_name(server: TrentServer, ca_pem: Path, **versions) -> str:
    context = ssl.create_default_context(cafile=str(ca_pem))
    for name, value in versions.items():
        setattr(context, name, value)
    port = int(server.endpoint_url.rsplit(":", 1)[1])
    with socket.create_connection(("127.0.0.1", port), timeout=5) as raw, \
            context.wrap_socket(raw, server_hostname="127.0.0.1") as tls:
        cert = x509.load_der_x509_certificate(tls.getpeercert(binary_form=True))
    return cert.subject.get_attributes_for_oid(x509.oid.NameOID.COMMON_NAME)[0].value


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    directory = tmp_path_factory.mktemp("pki")
    ca = make_ca(directory)
    cert, key = ca.issue(directory, "server", "trent-1.test")
    return ca, cert, key, directory


@pytest.fixture(scope="module", params=["trent", "uvicorn"])
def tls_server(request, pki, tmp_path_factory):
    ca, cert, key, _ = pki
    server = start_server(tmp_path_factory.mktemp("tls") / "data", "--tls-cert", str(cert), "--tls-key", str(key),
                          "--http-server", request.param, ca=ca)
    yield server, request.param
    stop_trent(server)


def test_boto3_and_the_aws_cli_over_tls(tls_server, pki):
    server, http_server = tls_server
    ca = pki[0]
    kms = _kms(server, ca.cert_pem)
    key_id = kms.create_key()["KeyMetadata"]["KeyId"]
    blob = kms.encrypt(KeyId=key_id, Plaintext=b"over tls")["CiphertextBlob"]
    assert kms.decrypt(CiphertextBlob=blob)["Plaintext"] == b"over tls"
    out = subprocess.run(
        [str(Path(sys.executable).parent / "aws"), "--endpoint-url", server.endpoint_url, "--ca-bundle", str(ca.cert_pem),
         "--region", "us-east-1", "kms", "describe-key", "--key-id", key_id],
        env={**os.environ, "AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test"},
        capture_output=True, text=True, timeout=120, check=True,
    )
    assert json.loads(out.stdout)["KeyMetadata"]["KeyId"] == key_id
    # An SDK that does not trust the CA refuses the server.
    with pytest.raises(SSLError):
        _kms(server, None).list_keys()
    events = [e for e in server.audit_events() if e["eventName"] == "Encrypt"]
    details = events[-1]["tlsDetails"]
    assert details["clientProvidedHostHeader"] == server.endpoint_url.split("://")[1]
    if http_server == "trent":  # uvicorn does not tell its ASGI app the version and cipher
        assert details["tlsVersion"] in ("TLSv1.2", "TLSv1.3") and details["cipherSuite"]


def test_a_large_s3_upload_over_tls(tls_server, pki):
    """An SSE-C upload of several MiB and an odd tail over TLS (boto3's aws-chunked body with a
    trailing checksum): the TLS layer reads into the server's buffers too (http11 is a
    BufferedProtocol; past its first read the body goes straight into the upload's pieces),
    and the object reads back whole, a range of it too."""
    server, _ = tls_server
    s3 = boto3.client("s3", endpoint_url=server.endpoint_url, region_name="us-east-1", aws_access_key_id="test",
                      aws_secret_access_key="test", verify=str(pki[0].cert_pem),
                      config=Config(retries={"max_attempts": 1}))
    bucket = f"tls-{server.endpoint_url.rsplit(':', 1)[1]}"
    s3.create_bucket(Bucket=bucket)
    data = os.urandom((5 << 20) + 4321)
    sse_c = {"SSECustomerAlgorithm": "AES256", "SSECustomerKey": os.urandom(32)}
    s3.put_object(Bucket=bucket, Key="big", Body=data, **sse_c)
    assert s3.get_object(Bucket=bucket, Key="big", **sse_c)["Body"].read() == data
    ranged = s3.get_object(Bucket=bucket, Key="big", Range="bytes=1048570-3145739", **sse_c)["Body"].read()
    assert ranged == data[1048570:3145740]


def test_tls_1_2_is_the_minimum(tls_server, pki):
    """(Debian's OpenSSL policy also refuses TLS < 1.2; tests/unit/server/test_tls.py checks
    that Trent's context says so itself, whatever the host's policy.)"""
    server, _ = tls_server
    ca = pki[0]
    assert _peer_common_name(server, ca.cert_pem, minimum_version=ssl.TLSVersion.TLSv1_2,
                             maximum_version=ssl.TLSVersion.TLSv1_2) == "trent-1.test"
    with pytest.raises(ssl.SSLError):
        _peer_common_name(server, ca.cert_pem, minimum_version=ssl.TLSVersion.TLSv1,
                          maximum_version=ssl.TLSVersion.TLSv1_1)


def test_plain_http_to_the_tls_port_gets_no_answer(tls_server):
    server, _ = tls_server
    port = int(server.endpoint_url.rsplit(":", 1)[1])
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n{}")
        reply = sock.recv(1024)
    assert b"HTTP/1.1 200" not in reply and b"KeyMetadata" not in reply


def _deny_unless_tls_policy() -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": [
        {"Sid": "Admin", "Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"}, "Action": "kms:*",
         "Resource": "*"},
        {"Sid": "TlsOnly", "Effect": "Deny", "Principal": "*", "Action": "kms:Encrypt", "Resource": "*",
         "Condition": {"Bool": {"aws:SecureTransport": "false"}}},
    ]})


def test_secure_transport_in_policies_direct_and_behind_a_trusted_proxy(pki, tmp_path):
    """One data dir, two servers: one terminates TLS itself; the other serves plain HTTP to
    a 'proxy' (127.0.0.1 is trusted) whose X-Forwarded-Proto decides."""
    ca, cert, key, _ = pki
    data = tmp_path / "data"
    tls = start_server(data, "--tls-cert", str(cert), "--tls-key", str(key), ca=ca)
    behind_proxy = start_server(data, "--trusted-proxy", "127.0.0.1/32", scheme="http")
    try:
        kms = _kms(tls, ca.cert_pem)
        key_id = kms.create_key(Policy=_deny_unless_tls_policy())["KeyMetadata"]["KeyId"]
        assert kms.encrypt(KeyId=key_id, Plaintext=b"x")["KeyId"]

        plain = _kms(behind_proxy, None)
        err = expect_error(plain.encrypt, "AccessDeniedException", KeyId=key_id, Plaintext=b"x")
        assert "with an explicit deny in a resource-based policy" in err["message"]

        proxied = _kms(behind_proxy, None)  # same caller, key and policy: a different decision
        proxied.meta.events.register("before-sign.kms.*", _forwarded("https", "203.0.113.9"))
        assert proxied.encrypt(KeyId=key_id, Plaintext=b"x")["KeyId"]
        event = [e for e in behind_proxy.audit_events() if e["eventName"] == "Encrypt" and "errorCode" not in e][-1]
        assert event["sourceIPAddress"] == "203.0.113.9"  # the client, as the trusted proxy says
        assert event["tlsDetails"] == {"clientProvidedHostHeader": behind_proxy.endpoint_url.split("://")[1]}
    finally:
        stop_trent(behind_proxy)
        stop_trent(tls)


def test_forwarded_headers_from_untrusted_peers_are_ignored(tmp_path):
    server = start_server(tmp_path / "data", "--trusted-proxy", "10.99.0.0/16", scheme="http")
    try:
        kms = _kms(server, None)
        key_id = kms.create_key(Policy=_deny_unless_tls_policy())["KeyMetadata"]["KeyId"]
        kms.meta.events.register("before-sign.kms.*", _forwarded("https", "203.0.113.9"))
        expect_error(kms.encrypt, "AccessDeniedException", KeyId=key_id, Plaintext=b"x")
        event = [e for e in server.audit_events() if e["eventName"] == "Encrypt"][-1]
        assert event["sourceIPAddress"] == "127.0.0.1" and "tlsDetails" not in event
    finally:
        stop_trent(server)


def _forwarded(proto: str, client: str):
    def add(request, **_):
        request.headers["X-Forwarded-Proto"] = proto
        request.headers["X-Forwarded-For"] = f"198.51.100.1, {client}"  # left of the proxy's entry: client-written
    return add


def _production_seed(tmp_path: Path) -> Path:
    seed = tmp_path / "seed.json"
    seed.write_text(json.dumps({"accounts": [{"id": ACCOUNT, "users": [{
        "name": "ops", "access_keys": [PROD_KEY],
        "policies": {"All": {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "kms:*",
                                                                      "Resource": "*"}]}}}]}]}))
    return seed


def test_production_refuses_plain_http_and_audits_it(tmp_path):
    args = ("--root-key-file", str(tmp_path / "root.key"), "--seed", str(_production_seed(tmp_path)))
    (tmp_path / "root.key").write_bytes(os.urandom(32))
    os.chmod(tmp_path / "root.key", 0o600)
    server = start_server(tmp_path / "data", *args, "--trusted-proxy", "10.99.0.0/16", scheme="http", dev=False)
    try:
        kms = _kms(server, None, akid=PROD_KEY["id"], secret=PROD_KEY["secret"])
        expect_error(kms.list_keys, "AccessDeniedException",
                     "Requests to this Trent server must use HTTPS: plain HTTP is refused.")
        refused = [e for e in server.audit_events() if e.get("errorCode") == "AccessDeniedException"]
        assert refused and refused[-1]["eventName"] == "ListKeys" and refused[-1]["sourceIPAddress"] == "127.0.0.1"
    finally:
        stop_trent(server)
    insecure = start_server(tmp_path / "data2", *args, "--insecure-http", scheme="http", dev=False)
    try:
        assert "Keys" in _kms(insecure, None, akid=PROD_KEY["id"], secret=PROD_KEY["secret"]).list_keys()
    finally:
        stop_trent(insecure)
    out = subprocess.run([sys.executable, "-m", "trent.cli.main", "serve", "--data-dir", str(tmp_path / "data3"),
                          *args[:2]], capture_output=True, text=True, timeout=60)
    assert out.returncode == 2 and "production mode serves HTTPS" in out.stderr


@pytest.mark.parametrize("http_server", ["trent", "uvicorn"])
def test_production_refuses_plain_http_s3_and_sts_in_their_own_formats(tmp_path, http_server):
    """S3 and STS clients refused for plain HTTP get their service's XML error (403
    AccessDenied, which botocore parses) and the trail an event of that service for the
    operation asked, not KMS's JSON and a KMS event."""
    (tmp_path / "root.key").write_bytes(os.urandom(32))
    os.chmod(tmp_path / "root.key", 0o600)
    server = start_server(tmp_path / "data", "--root-key-file", str(tmp_path / "root.key"), "--seed",
                          str(_production_seed(tmp_path)), "--trusted-proxy", "10.99.0.0/16", "--http-server", http_server,
                          scheme="http", dev=False)
    refused_message = "Requests to this Trent server must use HTTPS: plain HTTP is refused."
    client = {"endpoint_url": server.endpoint_url, "region_name": "us-east-1", "aws_access_key_id": PROD_KEY["id"],
              "aws_secret_access_key": PROD_KEY["secret"]}
    try:
        s3 = boto3.client("s3", **client, config=Config(retries={"max_attempts": 1}, s3={"addressing_style": "path"}))
        with pytest.raises(ClientError) as refused:
            s3.put_object(Bucket="plain", Key="a/b.txt", Body=b"never stored")
        answer = refused.value.response
        assert answer["ResponseMetadata"]["HTTPStatusCode"] == 403
        assert (answer["Error"]["Code"], answer["Error"]["Message"]) == ("AccessDenied", refused_message)
        with pytest.raises(ClientError) as head:  # a HEAD answer has no body: the status says it
            s3.head_bucket(Bucket="plain")
        assert head.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403

        sts = boto3.client("sts", **client, config=Config(retries={"max_attempts": 1}))
        with pytest.raises(ClientError) as who:
            sts.get_caller_identity()
        answer = who.value.response
        assert answer["ResponseMetadata"]["HTTPStatusCode"] == 403
        assert (answer["Error"]["Code"], answer["Error"]["Message"]) == ("AccessDenied", refused_message)

        events = [e for e in server.audit_events() if e.get("eventSource") in ("s3.amazonaws.com", "sts.amazonaws.com")]
        assert [(e["eventSource"], e["eventName"], e["errorCode"]) for e in events] == [
            ("s3.amazonaws.com", "PutObject", "AccessDenied"), ("s3.amazonaws.com", "HeadBucket", "AccessDenied"),
            ("sts.amazonaws.com", "GetCallerIdentity", "AccessDenied")]
        assert events[0]["requestParameters"] == {"bucketName": "plain", "key": "a/b.txt"}
        assert all(e["sourceIPAddress"] == "127.0.0.1" and e["userIdentity"]["type"] == "Unknown" for e in events)
    finally:
        stop_trent(server)


def _install(directory: Path, cert: Path, key: Path) -> tuple[Path, Path]:
    live_cert, live_key = directory / "live.crt", directory / "live.key"
    live_cert.write_bytes(cert.read_bytes())
    live_key.write_bytes(key.read_bytes())
    return live_cert, live_key


@pytest.mark.parametrize("workers", ["1", "2"])
def test_sighup_reloads_the_certificate(pki, tmp_path, workers):
    ca, cert, key, directory = pki
    live_cert, live_key = _install(tmp_path, cert, key)
    server = start_server(tmp_path / "data", "--tls-cert", str(live_cert), "--tls-key", str(live_key),
                          "--workers", workers, ca=ca)
    try:
        assert _peer_common_name(server, ca.cert_pem) == "trent-1.test"
        kms = _kms(server, ca.cert_pem)
        kms.list_keys()  # a connection made before the reload
        new_cert, new_key = ca.issue(tmp_path, "renewed", "trent-2.test")
        _install(tmp_path, new_cert, new_key)
        server.process.send_signal(signal.SIGHUP)
        deadline = time.monotonic() + 10
        while any(_peer_common_name(server, ca.cert_pem) != "trent-2.test" for _ in range(8)):
            assert time.monotonic() < deadline, "the new certificate was not served"
            time.sleep(0.1)
        kms.list_keys()
        # A broken pair is refused at reload: the server keeps serving the last good one.
        live_key.write_bytes(key.read_bytes())  # trent-1's key, trent-2's certificate
        server.process.send_signal(signal.SIGHUP)
        time.sleep(0.5)
        assert all(_peer_common_name(server, ca.cert_pem) == "trent-2.test" for _ in range(8))
        assert server.process.poll() is None
    finally:
        stop_trent(server)
