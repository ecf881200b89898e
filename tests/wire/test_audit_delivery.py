"""Delivery across time and nodes (issue 16 §2): signing keys that rotate — by hand, or
because the root of trust moved into an HSM — keep every digest verifiable (AWS CLI's
validate-logs and trent audit verify); two nodes on one PostgreSQL write one gapless
chain and exactly one of them delivers at a time (the lease); the sweeper's service
events commit with their change, and not at all when the trail refuses them.
"""

from __future__ import annotations

import contextlib
import dataclasses
import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.fixtures.trent_server import TrentServer, start_trent, stop_trent
from trent.cli.main import main as trent_main
from trent.service.audit_delivery import DeliverySettings

AWS = str(Path(sys.executable).with_name("aws"))


def validate_logs(server: TrentServer, url: str | None = None) -> tuple[int, str]:
    url = url or server.endpoint_url
    env = {**os.environ, "AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test",
           "AWS_DEFAULT_REGION": server.region, "AWS_ENDPOINT_URL_S3": url}
    done = subprocess.run(
        [AWS, "cloudtrail", "validate-logs", "--endpoint-url", url, "--start-time", "2000-01-01T00:00:00Z",
         "--trail-arn", f"arn:aws:cloudtrail:{server.region}:{server.account_id}:trail/trent", "--verbose"],
        capture_output=True, text=True, env=env, timeout=120,
    )
    return done.returncode, done.stdout + done.stderr


def trent(*argv: str) -> tuple[int, str]:
    out = io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(out):
        rc = trent_main(list(argv))
    return rc, out.getvalue()


def some_calls(server: TrentServer, n: int = 3) -> None:
    kms = server.client()
    key_id = kms.create_key()["KeyMetadata"]["KeyId"]
    for _ in range(n):
        kms.encrypt(KeyId=key_id, Plaintext=b"delivered")


def flush(server: TrentServer) -> dict:
    report = server.admin("/_trent/audit/flush", {})
    assert report["errors"] == [], report
    return report


def test_rotated_signing_keys_keep_old_digests_valid(tmp_path: Path) -> None:
    data = tmp_path / "data"
    server = start_trent(data)
    try:
        some_calls(server)
        flush(server)
        rc, out = trent("audit", "rotate-signing-key", "--dev", "--data-dir", str(data))
        assert rc == 0, out
        rotated = json.loads(out)["Fingerprint"]
        some_calls(server)
        assert flush(server)["digests"]
        keys = server.client("cloudtrail").list_public_keys()["PublicKeyList"]
        assert len(keys) == 2
        old, new = sorted(keys, key=lambda k: k["ValidityStartTime"])
        assert new["Fingerprint"] == rotated and "ValidityEndTime" not in new
        assert old["ValidityEndTime"] == new["ValidityStartTime"]
        rc, out = validate_logs(server)
        assert rc == 0 and "2/2 digest files valid" in out, out
        rc, out = trent("audit", "verify", "--data-dir", str(data))
        assert rc == 0 and "OK: no problems found" in out, out
    finally:
        stop_trent(server)


def test_one_delivery_past_a_log_files_size_makes_chained_files_aws_validates(tmp_path: Path) -> None:
    """More events in one delivery than a log file holds (``DeliverySettings.max_events_per_file``):
    several files, each chained to the one before, and AWS CLI's validate-logs accepts every one."""
    per_file = next(f.default for f in dataclasses.fields(DeliverySettings) if f.name == "max_events_per_file")
    server = start_trent(tmp_path / "data")
    try:
        some_calls(server, n=per_file + 100)  # CreateKey + Encrypts: past one file's worth
        files = flush(server)["logFiles"]
        assert len(files) >= 2, files
        rc, out = validate_logs(server)
        assert rc == 0 and f"{len(files)}/{len(files)} log files valid" in out, out
    finally:
        stop_trent(server)


def test_digests_signed_inside_the_hsm_after_the_root_moved_there(tmp_path: Path, softhsm) -> None:
    """File root -> HSM root (trent admin rewrap-root): the old signing key cannot be used
    by the HSM signer, so the server makes one inside the token; both stay listed."""
    data = tmp_path / "data"
    server = start_trent(data, env=softhsm.env)
    try:
        some_calls(server)
        flush(server)
    finally:
        stop_trent(server)
    pin_file = tmp_path / "root.pin"
    pin_file.write_text(softhsm.user_pin + "\n")
    hsm_root = f"{softhsm.module}:token=root"
    done = subprocess.run(
        [sys.executable, "-m", "trent.cli.main", "admin", "--dev", "--data-dir", str(data), "rewrap-root",
         "--to", "hsm", "--to-hsm-root", hsm_root, "--to-hsm-root-pin-file", str(pin_file)],
        capture_output=True, text=True, env={**os.environ, **softhsm.env}, timeout=120,
    )
    assert done.returncode == 0, done.stderr
    server = start_trent(data, "--root", "hsm", "--hsm-root", hsm_root, "--hsm-root-pin-file", str(pin_file),
                         env=softhsm.env)
    try:
        some_calls(server)
        flush(server)
        import sqlite3

        con = sqlite3.connect(server.database)
        signers = con.execute("SELECT signer, private_blob FROM audit_signing_keys ORDER BY valid_from").fetchall()
        con.close()
        assert [s for s, _ in signers] == ["root-wrapped", "hsm"]
        assert bytes(signers[1][1]).startswith(b"P11S") and len(bytes(signers[1][1])) == 20  # a reference
        rc, out = validate_logs(server)
        assert rc == 0 and "2/2 digest files valid" in out, out
    finally:
        stop_trent(server)
    rc, out = trent("audit", "verify", "--data-dir", str(data))
    assert rc == 0, out


@pytest.mark.postgres
def test_two_nodes_one_chain_one_deliverer(tmp_path: Path, postgres_database_url: str) -> None:
    bucket = tmp_path / "shared-bucket"
    common = ("--database-url", postgres_database_url, "--audit-bucket-url", f"file://{bucket}")
    a = start_trent(tmp_path / "a", *common)
    b_dir = tmp_path / "b"
    b_dir.mkdir()
    (b_dir / "root.key").write_bytes((tmp_path / "a" / "root.key").read_bytes())
    (b_dir / "root.key").chmod(0o600)
    b = start_trent(b_dir, *common)
    try:
        some_calls(a)
        some_calls(b)
        first = flush(a)
        assert first["leaseHeld"] and first["logFiles"]
        assert b.admin("/_trent/audit/flush", {})["leaseHeld"] is False  # a holds the lease
        some_calls(b)
    finally:
        stop_trent(a)  # releases the lease
    try:
        second = flush(b)
        assert second["leaseHeld"] and second["logFiles"]
        rc, out = validate_logs(b)
        assert rc == 0 and "2/2 digest files valid" in out, out
    finally:
        stop_trent(b)
    rc, out = trent("audit", "verify", "--database-url", postgres_database_url, "--dir", str(bucket))
    assert rc == 0 and "OK: no problems found" in out, out


def test_the_asgi_face_and_bucket_only_verification(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Under ``--http-server uvicorn`` the CloudTrail API and the bucket answer too; and
    ``trent audit verify --no-database`` checks the bucket with the server's public keys."""
    server = start_trent(tmp_path / "data", "--http-server", "uvicorn")
    try:
        some_calls(server)
        flush(server)
        events = server.client("cloudtrail").lookup_events(
            LookupAttributes=[{"AttributeKey": "EventName", "AttributeValue": "CreateKey"}])["Events"]
        assert [e["EventName"] for e in events] == ["CreateKey"]
        listed = server.client("s3").list_objects_v2(Bucket="trent-audit-logs", Prefix="AWSLogs/")["Contents"]
        assert len(listed) == 2  # one log file, one digest
        for name, value in (("AWS_ACCESS_KEY_ID", "test"), ("AWS_SECRET_ACCESS_KEY", "test"),
                            ("AWS_DEFAULT_REGION", server.region)):
            monkeypatch.setenv(name, value)
        bucket = tmp_path / "data" / "audit-buckets" / "trent-audit-logs"
        rc, out = trent("audit", "verify", "--dir", str(bucket), "--no-database", "--endpoint-url",
                        server.endpoint_url)
        assert rc == 0 and "1/1 digest files valid" in out and "0 from the database" in out, out
        (bucket / listed[0]["Key"]).write_bytes(b"\x1f\x8b broken")
        rc, out = trent("audit", "verify", "--dir", str(bucket), "--no-database", "--endpoint-url",
                        server.endpoint_url)
        assert rc == 1 and "INVALID" in out, out
    finally:
        stop_trent(server)
