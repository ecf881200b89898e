"""The tamper matrix (issue 16): AWS's own validator — ``aws cloudtrail validate-logs`` from
the AWS CLI, unchanged, against Trent's CloudTrail API and S3 bucket — and ``trent audit
verify`` both pass on untouched files and both detect each kind of tampering; row edits
in the event table and a deleted newest digest are caught by ``trent audit verify``
alone (CloudTrail's scheme cannot see them).

One server delivers a trail with several digests; each case tampers with the live bucket
(restored from a snapshot afterwards) or with a copy of the database.
"""

from __future__ import annotations

import contextlib
import gzip
import io
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from tests.fixtures.trent_server import TrentServer, start_trent, stop_trent

BUCKET = "trent-audit-logs"
AWS = str(Path(sys.executable).with_name("aws"))


class Trail:
    def __init__(self, server: TrentServer) -> None:
        self.server = server
        self.bucket_dir = server.data_dir / "audit-buckets" / BUCKET
        self.arn = f"arn:aws:cloudtrail:{server.region}:{server.account_id}:trail/trent"

    def flush(self) -> dict:
        return self.server.admin("/_trent/audit/flush", {})

    def keys(self, kind: str) -> list[str]:
        base = self.bucket_dir / "AWSLogs" / self.server.account_id / kind
        return sorted(str(p.relative_to(self.bucket_dir)) for p in base.rglob("*.json.gz"))

    def path(self, key: str) -> Path:
        return self.bucket_dir / key

    def meta(self, key: str) -> Path:
        return self.bucket_dir / ".trent-objectmeta" / (key + ".json")

    def validate_logs(self) -> tuple[int, str]:
        env = {**os.environ, "AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test",
               "AWS_DEFAULT_REGION": self.server.region, "AWS_ENDPOINT_URL_S3": self.server.endpoint_url}
        env.pop("AWS_PROFILE", None)
        done = subprocess.run(
            [AWS, "cloudtrail", "validate-logs", "--endpoint-url", self.server.endpoint_url, "--trail-arn", self.arn,
             "--start-time", "2000-01-01T00:00:00Z", "--verbose"],
            capture_output=True, text=True, env=env, timeout=120,
        )
        return done.returncode, done.stdout + done.stderr

    def verify(self, *extra: str, database: Path | None = None) -> tuple[int, str]:
        """``trent audit verify`` (its CLI entry point, in this process)."""
        from trent.cli.main import main

        db = database or self.server.database
        out = io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(out):
            rc = main(["audit", "verify", "--database-url", f"sqlite:///{db}", "--dir", str(self.bucket_dir), *extra])
        return rc, out.getvalue()


@pytest.fixture(scope="module")
def trail(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Trail]:
    server = start_trent(tmp_path_factory.mktemp("tamper") / "data")
    try:
        kms = server.client()
        trail = Trail(server)
        key_id = kms.create_key(Description="tamper")["KeyMetadata"]["KeyId"]
        for round_ in range(4):
            for i in range(6):
                kms.encrypt(KeyId=key_id, Plaintext=b"x" * (i + 1), EncryptionContext={"round": str(round_)})
            kms.tag_resource(KeyId=key_id, Tags=[{"TagKey": "round", "TagValue": str(round_)}])
            report = trail.flush()
            assert report["errors"] == [] and report["logFiles"] and report["digests"], report
            time.sleep(1.05)  # distinct digest seconds, as real intervals would give
        yield trail
    finally:
        stop_trent(server)


@pytest.fixture
def pristine(trail: Trail, tmp_path: Path) -> Iterator[Trail]:
    """Tamper freely: the bucket comes back afterwards."""
    snapshot = tmp_path / "snapshot"
    shutil.copytree(trail.bucket_dir, snapshot)
    try:
        yield trail
    finally:
        shutil.rmtree(trail.bucket_dir)
        shutil.copytree(snapshot, trail.bucket_dir)


def both_detect(trail: Trail, aws_says: str, trent_says: str) -> None:
    rc, out = trail.validate_logs()
    assert rc != 0 and aws_says in out, out
    rc, out = trail.verify()
    assert rc == 1 and trent_says in out, out


def rewrite_log(trail: Trail, key: str, change) -> None:  # noqa: ANN001
    document = json.loads(gzip.decompress(trail.path(key).read_bytes()))
    change(document["Records"])
    trail.path(key).write_bytes(gzip.compress(json.dumps(document, separators=(",", ":")).encode()))


def test_untouched_files_pass_both(trail: Trail) -> None:
    rc, out = trail.validate_logs()
    assert rc == 0, out
    assert "4/4 digest files valid" in out and "4/4 log files valid" in out, out
    rc, out = trail.verify()
    assert rc == 0 and "OK: no problems found" in out, out
    assert "4/4 digest files valid" in out and "4/4 log files valid" in out


def test_edit_one_field_of_one_record(pristine: Trail) -> None:
    key = pristine.keys("CloudTrail")[1]
    rewrite_log(pristine, key, lambda records: records[2].update(sourceIPAddress="10.9.8.7"))
    both_detect(pristine, "hash value doesn't match", f"{key}\tINVALID: hash value doesn't match")


def test_delete_a_record(pristine: Trail) -> None:
    key = pristine.keys("CloudTrail")[2]
    rewrite_log(pristine, key, lambda records: records.pop(3))
    both_detect(pristine, "hash value doesn't match", f"{key}\tINVALID: hash value doesn't match")


def test_swap_two_records(pristine: Trail) -> None:
    key = pristine.keys("CloudTrail")[0]

    def swap(records: list) -> None:
        records[1], records[2] = records[2], records[1]

    rewrite_log(pristine, key, swap)
    both_detect(pristine, "hash value doesn't match", f"{key}\tINVALID: hash value doesn't match")


def test_truncate_a_log_file(pristine: Trail) -> None:
    key = pristine.keys("CloudTrail")[1]
    data = pristine.path(key).read_bytes()
    pristine.path(key).write_bytes(data[: len(data) // 2])
    # validate-logs inflates what is there and hashes it; trent audit verify names the truncation
    both_detect(pristine, f"{key}\tINVALID", f"{key}\tINVALID: invalid format (truncated gzip stream)")


def test_delete_a_log_file(pristine: Trail) -> None:
    key = pristine.keys("CloudTrail")[2]
    pristine.path(key).unlink()
    both_detect(pristine, "INVALID: not found", f"{key}\tINVALID: not found")


def test_delete_a_digest_in_the_middle(pristine: Trail) -> None:
    middle = pristine.keys("CloudTrail-Digest")[1]
    pristine.path(middle).unlink()
    both_detect(pristine, f"{middle}\tINVALID: not found", f"previous digest {middle} not found")


def test_replace_a_digest_with_one_signed_by_another_key(pristine: Trail) -> None:
    """Same body, same fingerprint, re-signed with a key the server never had."""
    key = pristine.keys("CloudTrail-Digest")[2]
    body = gzip.decompress(pristine.path(key).read_bytes())
    digest = json.loads(body)
    digest["logFiles"] = digest["logFiles"][:0]  # e.g. hide the period's log file
    forged = json.dumps(digest).encode()
    import hashlib

    to_sign = (f"{digest['digestEndTime']}\n{BUCKET}/{key}\n{hashlib.sha256(forged).hexdigest()}\n"
               f"{digest['previousDigestSignature']}").encode()
    attacker = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    signature = attacker.sign(to_sign, padding.PKCS1v15(), hashes.SHA256()).hex()
    pristine.path(key).write_bytes(gzip.compress(forged))
    meta = json.loads(pristine.meta(key).read_text())
    meta["metadata"]["signature"] = signature
    pristine.meta(key).write_text(json.dumps(meta))
    both_detect(pristine, "INVALID: signature verification failed", f"{key}\tINVALID: signature verification failed")


def test_move_a_log_file(pristine: Trail) -> None:
    key = pristine.keys("CloudTrail")[1]
    moved = key[:-24] + "MOVEDMOVEDMOVED0.json.gz"
    pristine.path(key).rename(pristine.path(moved))
    both_detect(pristine, f"{key}\tINVALID: not found", f"{moved}\tINVALID: not listed in any digest")


def test_move_a_digest(pristine: Trail) -> None:
    key = pristine.keys("CloudTrail-Digest")[1]
    stamp = key[-24:-8]
    # Same minute, another second: the file's own second is the one digit pair not chosen.
    other_second = "58" if stamp[-3:-1] == "59" else "59"
    moved = key[:-24] + stamp[:-3] + other_second + "Z" + key[-8:]
    assert moved != key
    pristine.path(key).rename(pristine.path(moved))
    pristine.meta(key).rename(pristine.meta(moved))
    both_detect(pristine, "INVALID", f"{moved}\tINVALID: has been moved from its original location")


# -- trent audit verify only -------------------------------------------------------------------


@pytest.fixture
def database_copy(trail: Trail, tmp_path: Path) -> Path:
    copy = tmp_path / "trent.db"
    source = sqlite3.connect(trail.server.database)
    target = sqlite3.connect(copy)
    source.backup(target)
    source.close()
    target.close()
    return copy


def _db(path: Path, *statements: str) -> None:
    con = sqlite3.connect(path)
    with con:
        for statement in statements:
            con.execute(statement)
    con.close()


def test_edit_a_row_of_the_event_table(trail: Trail, database_copy: Path) -> None:
    _db(database_copy, "UPDATE audit_segments SET bodies = CAST(replace(CAST(bodies AS TEXT), '\"Encrypt\"', "
                       "'\"Decrypt\"') AS BLOB) WHERE first_seq = 5")
    rc, out = trail.verify(database=database_copy)
    assert rc == 1 and "event 5 (" in out and "does not chain" in out, out


def test_delete_a_row_of_the_event_table(trail: Trail, database_copy: Path) -> None:
    _db(database_copy, "DELETE FROM audit_segments WHERE first_seq = 7")
    rc, out = trail.verify(database=database_copy)
    assert rc == 1 and "event sequence jumps from 6 to 8" in out, out


def test_reorder_rows_of_the_event_table(trail: Trail, database_copy: Path) -> None:
    # two one-event segments trade places
    _db(database_copy, "UPDATE audit_segments SET first_seq = -1, last_seq = -1 WHERE first_seq = 3",
        "UPDATE audit_segments SET first_seq = 3, last_seq = 3 WHERE first_seq = 4",
        "UPDATE audit_segments SET first_seq = 4, last_seq = 4 WHERE first_seq = -1")
    rc, out = trail.verify(database=database_copy)
    assert rc == 1 and "event 3 (" in out and "does not chain" in out, out


def test_delete_the_newest_digest(pristine: Trail) -> None:
    newest = pristine.keys("CloudTrail-Digest")[-1]
    pristine.path(newest).unlink()
    rc, out = pristine.validate_logs()
    assert rc == 0, out  # CloudTrail's scheme cannot tell: its chain simply ends earlier
    rc, out = pristine.verify()
    assert rc == 1 and f"{newest}\tINVALID: the server signed this newest digest but it is not in the bucket" in out, out
