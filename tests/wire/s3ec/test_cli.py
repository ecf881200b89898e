"""`trent s3 cp` / `trent s3 ls` end to end: moto S3 + Trent KMS, found through botocore's
AWS_ENDPOINT_URL_S3 / AWS_ENDPOINT_URL_KMS (or --endpoint-url / --kms-endpoint-url)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from tests.fixtures.moto_s3 import MotoS3

from .conftest import Amazon, KmsKey


def run(moto: MotoS3, kms: Any, *args: str, env_endpoints: bool = True) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, AWS_ACCESS_KEY_ID="test", AWS_SECRET_ACCESS_KEY="test", AWS_DEFAULT_REGION=kms.region)
    for k in ("AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL_KMS"):
        env.pop(k, None)
    if env_endpoints:
        env.update(AWS_ENDPOINT_URL_S3=moto.endpoint_url, AWS_ENDPOINT_URL_KMS=kms.endpoint_url)
    return subprocess.run([sys.executable, "-m", "trent.cli.main", "s3", *args], capture_output=True, text=True,
                          env=env, timeout=120)


def test_cp_up_and_down_with_alias_and_context(moto_s3: MotoS3, kms_endpoint: Any, kms_key: KmsKey, s3: Any,
                                               bucket: str, amazon: Amazon, tmp_path: Path) -> None:
    src = tmp_path / "report.bin"
    src.write_bytes(os.urandom(300_000))
    r = run(moto_s3, kms_endpoint, "cp", str(src), f"s3://{bucket}/docs/", "--kms-key-id", kms_key.alias,
            "-c", "team=ops")
    assert r.returncode == 0, r.stderr
    assert set(s3.head_object(Bucket=bucket, Key="docs/report.bin")["Metadata"]) >= {"x-amz-c", "x-amz-3", "x-amz-t"}
    out = tmp_path / "down"
    out.mkdir()
    r = run(moto_s3, kms_endpoint, "cp", f"s3://{bucket}/docs/report.bin", str(out), "-c", "team=ops")
    assert r.returncode == 0, r.stderr
    assert (out / "report.bin").read_bytes() == src.read_bytes()
    # what the command wrote, Amazon's client reads
    [res] = amazon.run([{"op": "get", "bucket": bucket, "key": "docs/report.bin", "file": str(tmp_path / "amz"),
                         "format": "v3", "keyring": {"kind": "kms", "key_id": kms_key.arn}, "context": {"team": "ops"}}])
    assert res["ok"], res
    assert (tmp_path / "amz").read_bytes() == src.read_bytes()

    # clear errors, nothing left on disk
    r = run(moto_s3, kms_endpoint, "cp", f"s3://{bucket}/docs/report.bin", str(tmp_path / "x"), "-c", "team=dev")
    assert r.returncode == 1 and "does not match" in r.stderr and not (tmp_path / "x").exists()
    r = run(moto_s3, kms_endpoint, "cp", f"s3://{bucket}/docs/report.bin", str(out / "report.bin"), "-c", "team=ops")
    assert r.returncode == 1 and "exists" in r.stderr
    body = bytearray(s3.get_object(Bucket=bucket, Key="docs/report.bin")["Body"].read())
    body[1000] ^= 1
    meta = s3.head_object(Bucket=bucket, Key="docs/report.bin")["Metadata"]
    s3.put_object(Bucket=bucket, Key="docs/tampered.bin", Body=bytes(body), Metadata=meta)
    r = run(moto_s3, kms_endpoint, "cp", f"s3://{bucket}/docs/tampered.bin", str(tmp_path / "t"), "-c", "team=ops")
    assert r.returncode == 1 and "tampered" in r.stderr and not (tmp_path / "t").exists()
    s3.put_object(Bucket=bucket, Key="docs/plain.txt", Body=b"hello")
    r = run(moto_s3, kms_endpoint, "cp", f"s3://{bucket}/docs/plain.txt", str(tmp_path / "p"))
    assert r.returncode == 1 and "no S3 Encryption Client metadata" in r.stderr and not (tmp_path / "p").exists()
    r = run(moto_s3, kms_endpoint, "cp", f"s3://{bucket}/docs/nothing", str(tmp_path / "n"))
    assert r.returncode == 1 and "NoSuchKey" in r.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["amz", "down", "report.bin"]


def test_wrong_key_and_v2(moto_s3: MotoS3, kms_endpoint: Any, kms_key: KmsKey, other_kms_key: KmsKey,
                          bucket: str, tmp_path: Path) -> None:
    src = tmp_path / "a"
    src.write_bytes(b"v2 object")
    r = run(moto_s3, kms_endpoint, "cp", str(src), f"s3://{bucket}/a", "--kms-key-id", kms_key.arn, "--format", "v2")
    assert r.returncode == 0, r.stderr
    r = run(moto_s3, kms_endpoint, "cp", f"s3://{bucket}/a", str(tmp_path / "b"))
    assert r.returncode == 1 and "without key commitment" in r.stderr
    r = run(moto_s3, kms_endpoint, "cp", f"s3://{bucket}/a", str(tmp_path / "b"), "--kms-key-id", other_kms_key.arn,
            "--commitment-policy", "REQUIRE_ENCRYPT_ALLOW_DECRYPT")
    assert r.returncode == 1 and "IncorrectKeyException" in r.stderr and not (tmp_path / "b").exists()
    r = run(moto_s3, kms_endpoint, "cp", f"s3://{bucket}/a", str(tmp_path / "b"),
            "--commitment-policy", "REQUIRE_ENCRYPT_ALLOW_DECRYPT")
    assert r.returncode == 0, r.stderr
    assert (tmp_path / "b").read_bytes() == b"v2 object"


def test_recursive_with_instruction_files_and_flags(moto_s3: MotoS3, kms_endpoint: Any, kms_key: KmsKey, s3: Any,
                                                    bucket: str, tmp_path: Path) -> None:
    tree = tmp_path / "tree"
    (tree / "sub").mkdir(parents=True)
    (tree / "x.txt").write_bytes(b"x" * 5000)
    (tree / "sub" / "empty").write_bytes(b"")
    flags = ["--endpoint-url", moto_s3.endpoint_url, "--kms-endpoint-url", kms_endpoint.endpoint_url,
             "--region", kms_endpoint.region]
    r = run(moto_s3, kms_endpoint, "cp", str(tree), f"s3://{bucket}/t", "-r", "--instruction-file",
            "--kms-key-id", kms_key.key_id, *flags, env_endpoints=False)
    assert r.returncode == 0, r.stderr
    keys = sorted(o["Key"] for o in s3.list_objects_v2(Bucket=bucket)["Contents"])
    assert keys == ["t/sub/empty", "t/sub/empty.instruction", "t/x.txt", "t/x.txt.instruction"]
    r = run(moto_s3, kms_endpoint, "ls", f"s3://{bucket}/t/", *flags, env_endpoints=False)
    assert r.returncode == 0 and "PRE sub/" in r.stdout and " x.txt.instruction" in r.stdout
    r = run(moto_s3, kms_endpoint, "ls", f"s3://{bucket}", "-r")
    assert r.returncode == 0 and "t/sub/empty" in r.stdout
    r = run(moto_s3, kms_endpoint, "ls")
    assert r.returncode == 0 and bucket in r.stdout
    out = tmp_path / "out"
    r = run(moto_s3, kms_endpoint, "cp", f"s3://{bucket}/t", str(out), "-r")
    assert r.returncode == 0, r.stderr
    assert (out / "x.txt").read_bytes() == b"x" * 5000 and (out / "sub" / "empty").read_bytes() == b""
    assert sorted(str(p.relative_to(out)) for p in out.rglob("*")) == ["sub", "sub/empty", "x.txt"]
    r = run(moto_s3, kms_endpoint, "cp", str(tree / "x.txt"), f"s3://{bucket}/y")
    assert r.returncode == 2 and "--kms-key-id" in r.stderr


def test_progress_bar_only_on_a_terminal(moto_s3: MotoS3, kms_endpoint: Any, kms_key: KmsKey, bucket: str,
                                         tmp_path: Path) -> None:
    import shlex
    import shutil

    src = tmp_path / "nine.bin"
    src.write_bytes(os.urandom(9 << 20))  # above the 8 MiB bar threshold
    r = run(moto_s3, kms_endpoint, "cp", str(src), f"s3://{bucket}/nine", "--kms-key-id", kms_key.arn)
    assert r.returncode == 0 and r.stderr == "" and r.stdout == ""  # quiet when not a terminal
    if shutil.which("script") is None:
        raise AssertionError("util-linux `script` is needed to give the command a terminal")
    env = dict(os.environ, AWS_ACCESS_KEY_ID="test", AWS_SECRET_ACCESS_KEY="test", AWS_DEFAULT_REGION=kms_endpoint.region,
               AWS_ENDPOINT_URL_S3=moto_s3.endpoint_url, AWS_ENDPOINT_URL_KMS=kms_endpoint.endpoint_url)
    cmd = shlex.join([sys.executable, "-m", "trent.cli.main", "s3", "cp", f"s3://{bucket}/nine", str(tmp_path / "back")])
    tty = subprocess.run(["script", "-qec", cmd, "/dev/null"], capture_output=True, env=env, timeout=120)
    assert tty.returncode == 0, tty.stdout
    assert "9.4/9.4 MB".encode() in tty.stdout and "\u2501".encode() in tty.stdout  # rich's bar, the total known
    assert (tmp_path / "back").read_bytes() == src.read_bytes()


def test_profile_credentials_and_region(moto_s3: MotoS3, kms_endpoint: Any, kms_key: KmsKey, bucket: str,
                                        tmp_path: Path) -> None:
    """--profile: credentials and region come from the shared files, as the AWS CLI finds them."""
    (tmp_path / "credentials").write_text("[s3ec]\naws_access_key_id = test\naws_secret_access_key = test\n")
    (tmp_path / "config").write_text(f"[profile s3ec]\nregion = {kms_endpoint.region}\n")
    src = tmp_path / "p.txt"
    src.write_bytes(b"from a profile")
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(AWS_SHARED_CREDENTIALS_FILE=str(tmp_path / "credentials"), AWS_CONFIG_FILE=str(tmp_path / "config"),
               AWS_ENDPOINT_URL_S3=moto_s3.endpoint_url, AWS_ENDPOINT_URL_KMS=kms_endpoint.endpoint_url)
    base = [sys.executable, "-m", "trent.cli.main", "s3"]
    r = subprocess.run([*base, "cp", str(src), f"s3://{bucket}/p", "--kms-key-id", kms_key.arn, "--profile", "s3ec"],
                       capture_output=True, text=True, env=env, timeout=120)
    assert r.returncode == 0, r.stderr
    r = subprocess.run([*base, "cp", f"s3://{bucket}/p", str(tmp_path / "back"), "--profile", "s3ec"],
                       capture_output=True, text=True, env=env, timeout=120)
    assert r.returncode == 0, r.stderr
    assert (tmp_path / "back").read_bytes() == b"from a profile"
    r = subprocess.run([*base, "ls", f"s3://{bucket}/"], capture_output=True, text=True, env=env, timeout=120)
    assert r.returncode == 1 and r.stderr == "trent s3 ls: You must specify a region.\n"  # no profile: no region
    r = subprocess.run([*base, "cp", f"s3://{bucket}/p", str(tmp_path / "x"), "--region", "us-east-1"],
                       capture_output=True, text=True, env=env, timeout=120)
    assert r.returncode == 1 and "Unable to locate credentials" in r.stderr and "Traceback" not in r.stderr
