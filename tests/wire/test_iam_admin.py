"""`trent admin` IAM commands and seed files (issue 5), against a real data dir and server.

The admin commands run as the real CLI (a subprocess) on a data dir; a server started on
that data dir then serves what they created, checked through boto3.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.fixtures.trent_server import start_trent, stop_trent
from tests.wire.helpers import expect_error

A = "123456789012"
B = "444455556666"


def trent(data_dir: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        [sys.executable, "-m", "trent.cli.main", "admin", "--dev", "--data-dir", str(data_dir), *args],
        capture_output=True, text=True, timeout=120, check=False,
    )
    if check:
        assert result.returncode == 0, result.stderr
    return result


def lines(result: subprocess.CompletedProcess[str]) -> list[dict]:
    return [json.loads(line) for line in result.stdout.splitlines() if line.strip()]


TRUST_ALICE = json.dumps({"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{A}:user/alice"}, "Action": "sts:AssumeRole"}]})
ALLOW_ENCRYPT = json.dumps({"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Action": ["kms:Encrypt", "kms:DescribeKey"], "Resource": "*"}]})


def test_admin_roles_and_policies_then_served(tmp_path):
    data = tmp_path / "data"
    trent(data, "create-account", A)
    trent(data, "create-user", A, "alice")
    alice = lines(trent(data, "create-access-key", A, "alice"))[0]
    trust_file = tmp_path / "trust.json"
    trust_file.write_text(TRUST_ALICE)
    role = lines(trent(data, "create-role", A, "app", "--trust-policy", str(trust_file), "--max-session-duration", "7200"))[0]
    assert role["Arn"] == f"arn:aws:iam::{A}:role/app" and role["RoleId"].startswith("AROA")
    trent(data, "create-role", A, "other", "--trust-policy", TRUST_ALICE)  # inline JSON works too
    trent(data, "put-role-policy", A, "app", "Encrypt", "--document", ALLOW_ENCRYPT)
    (tmp_path / "p.json").write_text(ALLOW_ENCRYPT)
    trent(data, "put-user-policy", A, "alice", "Encrypt", "--document", f"file://{tmp_path / 'p.json'}")

    listed = lines(trent(data, "list-roles", A))
    assert [(r["RoleName"], r["MaxSessionDuration"]) for r in listed] == [("app", 7200), ("other", 3600)]
    assert listed[0]["AssumeRolePolicyDocument"] == json.loads(TRUST_ALICE)
    assert [p["PolicyName"] for p in lines(trent(data, "list-policies", role["Arn"]))] == ["Encrypt"]
    assert [p["PolicyName"] for p in lines(trent(data, "list-policies", f"arn:aws:iam::{A}:user/alice"))] == ["Encrypt"]
    trent(data, "delete-user-policy", A, "alice", "Encrypt")
    assert lines(trent(data, "list-policies", f"arn:aws:iam::{A}:user/alice")) == []
    trent(data, "delete-role", f"arn:aws:iam::{A}:role/other")
    assert [r["RoleName"] for r in lines(trent(data, "list-roles", A))] == ["app"]

    server = start_trent(data)
    try:
        sts = server.client("sts", aws_access_key_id=alice["AccessKeyId"], aws_secret_access_key=alice["SecretAccessKey"])
        out = sts.assume_role(RoleArn=role["Arn"], RoleSessionName="cli", DurationSeconds=7200)
        c = out["Credentials"]
        kms = server.client("kms", aws_access_key_id=c["AccessKeyId"], aws_secret_access_key=c["SecretAccessKey"],
                            aws_session_token=c["SessionToken"])
        key_id = server.client().create_key()["KeyMetadata"]["KeyId"]
        assert kms.encrypt(KeyId=key_id, Plaintext=b"x")["CiphertextBlob"]
        # a policy removed with the CLI while the server runs is gone within the cache TTL
        trent(data, "delete-role-policy", A, "app", "Encrypt")
        time.sleep(1.2)
        expect_error(kms.encrypt, "AccessDeniedException", KeyId=key_id, Plaintext=b"x")
    finally:
        stop_trent(server)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("create-role", A, "bad name", "--trust-policy", TRUST_ALICE), "is not valid"),
        (("create-role", A, "r", "--trust-policy",
          '{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole"}]}'), "no principal"),
        (("create-role", A, "r", "--trust-policy", "/nonexistent/trust.json"), "cannot read policy document"),
        (("create-role", A, "r", "--trust-policy", TRUST_ALICE, "--max-session-duration", "60"), "MaxSessionDuration"),
        (("put-user-policy", A, "nobody", "P", "--document", ALLOW_ENCRYPT), "The user with name nobody cannot be found."),
        (("put-role-policy", A, "nope", "P", "--document", ALLOW_ENCRYPT), "The role with name nope cannot be found."),
        (("delete-role", f"arn:aws:iam::{A}:role/nope"), "cannot be found"),
    ],
)
def test_admin_errors(tmp_path, args, message):
    data = tmp_path / "data"
    trent(data, "create-account", A)
    result = trent(data, *args, check=False)
    assert result.returncode == 2
    assert message in result.stderr, result.stderr


SEED = {
    "accounts": [
        {"id": B, "name": "partner", "users": [
            {"name": "bob", "access_keys": [{"id": "AKIABOBSEED000000001", "secret": "bob-secret"}],
             "policies": {"Kms": {"Version": "2012-10-17", "Statement": [
                 {"Effect": "Allow", "Action": "kms:*", "Resource": "*"}]}}}]},
    ]
}


def test_admin_seed_is_idempotent_and_validated(tmp_path):
    data = tmp_path / "data"
    seed = tmp_path / "seed.json"
    seed.write_text(json.dumps(SEED))
    first = lines(trent(data, "seed", str(seed)))[0]
    assert f"arn:aws:iam::{B}:user/bob" in first["created"]
    second = lines(trent(data, "seed", str(seed)))[0]
    assert second["created"] == [] and second["updated"] == []
    seed.write_text(json.dumps({"accounts": [{"id": B, "users": [{"nam": "x"}]}]}))
    bad = trent(data, "seed", str(seed), check=False)
    assert bad.returncode == 2 and "accounts[0].users[0]: unknown member 'nam'" in bad.stderr


def test_serve_with_seed_from_the_environment(tmp_path):
    seed = tmp_path / "seed.json"
    seed.write_text(json.dumps(SEED))
    server = start_trent(tmp_path / "data", env={**os.environ, "TRENT_SEED": str(seed)})
    try:
        sts = server.client("sts", aws_access_key_id="AKIABOBSEED000000001", aws_secret_access_key="bob-secret")
        assert sts.get_caller_identity()["Arn"] == f"arn:aws:iam::{B}:user/bob"
        server.reset()  # a --dev reset deletes every row, then re-applies the seed
        assert sts.get_caller_identity()["Arn"] == f"arn:aws:iam::{B}:user/bob"
    finally:
        stop_trent(server)


def test_serve_refuses_an_invalid_seed(tmp_path):
    seed = tmp_path / "seed.json"
    seed.write_text("{not json")
    with pytest.raises(RuntimeError, match="trent exited"):
        start_trent(tmp_path / "data", "--seed", str(seed), timeout=60)
