"""`trent encrypt` / `trent decrypt` end to end against the running KMS endpoint."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from .conftest import KmsKey


def run(kms_endpoint: Any, *args: str, stdin: bytes | None = None) -> subprocess.CompletedProcess[bytes]:
    env = dict(os.environ, AWS_ACCESS_KEY_ID=kms_endpoint.access_key_id,
               AWS_SECRET_ACCESS_KEY=kms_endpoint.secret_access_key, AWS_DEFAULT_REGION=kms_endpoint.region)
    cmd = [sys.executable, "-m", "trent.cli.main", *args[:1], "--endpoint-url", kms_endpoint.endpoint_url, *args[1:]]
    return subprocess.run(cmd, input=stdin, capture_output=True, env=env, timeout=120)


def test_file_round_trip_with_alias_and_context(kms_endpoint: Any, key1: KmsKey, tmp_path: Path) -> None:
    src = tmp_path / "a.bin"
    src.write_bytes(os.urandom(100_000))
    enc = tmp_path / "a.bin.encrypted"
    r = run(kms_endpoint, "encrypt", str(src), "-o", str(enc), "--key", key1.alias, "-c", "team=x")
    assert r.returncode == 0, r.stderr
    out = tmp_path / "a.out"
    r = run(kms_endpoint, "decrypt", str(enc), "-o", str(out), "--key", key1.alias, "-c", "team=x")
    assert r.returncode == 0, r.stderr
    assert out.read_bytes() == src.read_bytes()
    r = run(kms_endpoint, "decrypt", str(enc), "-o", str(tmp_path / "b"), "--key", key1.arn, "-c", "team=y")
    assert r.returncode == 1 and b"does not match" in r.stderr and not (tmp_path / "b").exists()


def test_stdin_stdout(kms_endpoint: Any, key1: KmsKey) -> None:
    r = run(kms_endpoint, "encrypt", "-", "-o", "-", "--key", key1.key_id, "--suite", "0x0478", stdin=b"hello")
    assert r.returncode == 0, r.stderr
    r2 = run(kms_endpoint, "decrypt", "-", "-o", "-", "--key", key1.arn, stdin=r.stdout)
    assert r2.returncode == 0 and r2.stdout == b"hello"
    r3 = run(kms_endpoint, "decrypt", "-", "-o", "-", "--discovery", stdin=r.stdout)
    assert r3.returncode == 0 and r3.stdout == b"hello"


def test_directories_recursively(kms_endpoint: Any, key1: KmsKey, tmp_path: Path) -> None:
    tree = tmp_path / "tree"
    (tree / "sub").mkdir(parents=True)
    (tree / "x.txt").write_bytes(b"x" * 5000)
    (tree / "sub" / "y.txt").write_bytes(b"")
    (tmp_path / "enc").mkdir()
    (tmp_path / "dec").mkdir()
    r = run(kms_endpoint, "encrypt", str(tree), "-r", "-o", str(tmp_path / "enc"), "--key", key1.arn)
    assert r.returncode == 0, r.stderr
    assert (tmp_path / "enc/tree/sub/y.txt.encrypted").is_file()
    r = run(kms_endpoint, "decrypt", str(tmp_path / "enc/tree"), "-r", "-o", str(tmp_path / "dec"), "--key", key1.arn)
    assert r.returncode == 0, r.stderr
    assert (tmp_path / "dec/tree/x.txt").read_bytes() == b"x" * 5000
    assert (tmp_path / "dec/tree/sub/y.txt").read_bytes() == b""


def test_tampered_file_leaves_no_output(kms_endpoint: Any, key1: KmsKey, tmp_path: Path) -> None:
    src = tmp_path / "p"
    src.write_bytes(os.urandom(50_000))
    enc = tmp_path / "p.encrypted"
    assert run(kms_endpoint, "encrypt", str(src), "-o", str(enc), "--key", key1.arn).returncode == 0
    data = bytearray(enc.read_bytes())
    data[-50] ^= 1  # inside the signature: every frame verifies, the footer does not
    enc.write_bytes(bytes(data))
    r = run(kms_endpoint, "decrypt", str(enc), "-o", str(tmp_path / "out"), "--key", key1.arn)
    assert r.returncode == 1 and b"cannot decrypt" in r.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["p", "p.encrypted"]


@pytest.mark.parametrize("args, message", [
    (["encrypt", "nope", "-o", "x", "--key", "k"], b"no such file"),
    (["encrypt", "-", "-o", "-"], b"--key is required"),
    (["decrypt", "-", "-o", "-"], b"--key"),
    (["encrypt", "-", "-o", "-", "--key", "k", "-c", "novalue"], b"KEY=VALUE"),
])
def test_usage_errors(kms_endpoint: Any, args: list[str], message: bytes) -> None:
    r = run(kms_endpoint, *args, stdin=b"")
    assert r.returncode == 2 and message in r.stderr, r.stderr


def test_unknown_key_is_a_clear_error(kms_endpoint: Any, tmp_path: Path) -> None:
    r = run(kms_endpoint, "encrypt", "-", "-o", "-", "--key", "alias/nope", stdin=b"x")
    assert r.returncode == 1 and b"NotFoundException" in r.stderr and b"Traceback" not in r.stderr
