"""Issue 15: `trent encrypt|decrypt` and AWS's own `aws-encryption-cli` read each other's files,
both using the running Trent as their KMS.

aws-encryption-sdk-cli 4.x pins aws-encryption-sdk ~= 3.1 while Trent's tests use 4.x, so the CLI lives
in its own venv (``.venv-esdk-cli``, made by ``make test``) and is driven as a subprocess, exactly as a
user runs it. Sizes cross the boundaries of Trent's file path (the 1 MiB chunk: 256 frames of 4 KiB;
65,536 frames; the reader's and writer's buffers; more than 64 MiB) and stdin/stdout streaming.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from .conftest import KmsKey

REPO = Path(__file__).resolve().parents[3]
ESDK_CLI = REPO / ".venv-esdk-cli" / "bin" / "aws-encryption-cli"
SUITE_NAMES = {0x0478: "AES_256_GCM_HKDF_SHA512_COMMIT_KEY", 0x0578: "AES_256_GCM_HKDF_SHA512_COMMIT_KEY_ECDSA_P384"}
MIB = 1 << 20

#: (frame length, size)
CASES = [
    (4096, 0),
    (4096, MIB - 1),
    (4096, MIB),              # 256 full frames = one whole chunk, empty final frame
    (4096, MIB + 1),
    (4096, 257 * 4096 - 1),
    (4096, 3 * MIB + 5),      # past the reader's 2 MiB and the writer's 3 MiB buffers
    (128, 65536 * 128 + 1),   # 65,537 frames, at the smallest frame the SDK writes
    (65536, 8 * MIB),
]


@pytest.fixture(scope="module")
def esdk_cli() -> Path:
    assert ESDK_CLI.exists(), f"{ESDK_CLI} is missing: `make test` creates it (make .venv-esdk-cli)"
    version = subprocess.run([str(ESDK_CLI), "--version"], capture_output=True, text=True, timeout=60)
    assert version.returncode == 0 and "aws-encryption-sdk-cli/4." in version.stdout, version
    return ESDK_CLI


def _env(kms_endpoint: Any) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "AWS_PROFILE"}
    return env | {"AWS_ACCESS_KEY_ID": kms_endpoint.access_key_id,
                  "AWS_SECRET_ACCESS_KEY": kms_endpoint.secret_access_key,
                  "AWS_DEFAULT_REGION": kms_endpoint.region,
                  # botocore's service-specific endpoint: the ESDK's own KMS clients go to Trent
                  "AWS_ENDPOINT_URL_KMS": kms_endpoint.endpoint_url}


def aws_cli(kms_endpoint: Any, esdk_cli: Path, *args: str, stdin: bytes | None = None) -> bytes:
    r = subprocess.run([str(esdk_cli), *args, "-S", "--commitment-policy", "require-encrypt-require-decrypt"],
                       input=stdin, capture_output=True, env=_env(kms_endpoint), timeout=300)
    assert r.returncode == 0, r.stderr.decode(errors="replace")[-2000:]
    return r.stdout


def trent_cli(kms_endpoint: Any, *args: str, stdin: bytes | None = None) -> bytes:
    cmd = [sys.executable, "-m", "trent.cli.main", args[0], "--endpoint-url", kms_endpoint.endpoint_url, "-q",
           *args[1:]]
    r = subprocess.run(cmd, input=stdin, capture_output=True, env=_env(kms_endpoint), timeout=300)
    assert r.returncode == 0, r.stderr.decode(errors="replace")[-2000:]
    return r.stdout


def _plain(tmp: Path, size: int) -> tuple[Path, str]:
    p = tmp / "plain.bin"
    with open(p, "wb") as f:
        left = size
        while left:
            block = os.urandom(min(left, 4 * MIB))
            f.write(block)
            left -= len(block)
    return p, _sha256(p)


def _sha256(p: Path) -> str:
    h = hashlib.sha256()
    with open(p, "rb") as f:
        while block := f.read(MIB):
            h.update(block)
    return h.hexdigest()


@pytest.mark.parametrize("suite", [0x0478, 0x0578], ids=hex)
@pytest.mark.parametrize(("frame", "size"), CASES, ids=[f"frame{f}-size{s}" for f, s in CASES])
def test_trent_cli_writes_aws_encryption_cli_reads(kms_endpoint: Any, esdk_cli: Path, key1: KmsKey, tmp_path: Path,
                                                   suite: int, frame: int, size: int) -> None:
    pt, digest = _plain(tmp_path, size)
    ct, out = tmp_path / "ct.bin", tmp_path / "out.bin"
    trent_cli(kms_endpoint, "encrypt", str(pt), "-o", str(ct), "--key", key1.arn, "--suite", hex(suite),
              "--frame-length", str(frame), "-c", "purpose=interop")
    aws_cli(kms_endpoint, esdk_cli, "-d", "-i", str(ct), "-o", str(out), "-w", f"key={key1.arn}")
    assert _sha256(out) == digest


@pytest.mark.parametrize("suite", [0x0478, 0x0578], ids=hex)
@pytest.mark.parametrize(("frame", "size"), CASES, ids=[f"frame{f}-size{s}" for f, s in CASES])
def test_aws_encryption_cli_writes_trent_cli_reads(kms_endpoint: Any, esdk_cli: Path, key1: KmsKey, tmp_path: Path,
                                                   suite: int, frame: int, size: int) -> None:
    pt, digest = _plain(tmp_path, size)
    ct, out = tmp_path / "ct.bin", tmp_path / "out.bin"
    aws_cli(kms_endpoint, esdk_cli, "-e", "-i", str(pt), "-o", str(ct), "-w", f"key={key1.arn}",
            "--algorithm", SUITE_NAMES[suite], "--frame-length", str(frame), "-c", "purpose=interop")
    for threads in ("1", "2"):
        if out.exists():
            out.unlink()
        trent_cli(kms_endpoint, "decrypt", str(ct), "-o", str(out), "--key", key1.arn, "-c", "purpose=interop",
                  "--threads", threads)
        assert _sha256(out) == digest, f"threads={threads}"


def test_a_message_of_more_than_64_mib_both_ways(kms_endpoint: Any, esdk_cli: Path, key1: KmsKey,
                                                 tmp_path: Path) -> None:
    pt, digest = _plain(tmp_path, 64 * MIB + 4097)
    ct, out = tmp_path / "ct.bin", tmp_path / "out.bin"
    trent_cli(kms_endpoint, "encrypt", str(pt), "-o", str(ct), "--key", key1.arn)
    aws_cli(kms_endpoint, esdk_cli, "-d", "-i", str(ct), "-o", str(out), "-w", f"key={key1.arn}")
    assert _sha256(out) == digest
    ct.unlink()
    out.unlink()
    aws_cli(kms_endpoint, esdk_cli, "-e", "-i", str(pt), "-o", str(ct), "-w", f"key={key1.arn}")
    trent_cli(kms_endpoint, "decrypt", str(ct), "-o", str(out), "--key", key1.arn)
    assert _sha256(out) == digest


@pytest.mark.parametrize("suite", [0x0478, 0x0578], ids=hex)
def test_stdin_stdout_streaming_both_ways(kms_endpoint: Any, esdk_cli: Path, key1: KmsKey, suite: int) -> None:
    pt = os.urandom(MIB + 4097)
    ct = trent_cli(kms_endpoint, "encrypt", "-", "-o", "-", "--key", key1.arn, "--suite", hex(suite), stdin=pt)
    assert aws_cli(kms_endpoint, esdk_cli, "-d", "-i", "-", "-o", "-", "-w", f"key={key1.arn}", stdin=ct) == pt
    ct = aws_cli(kms_endpoint, esdk_cli, "-e", "-i", "-", "-o", "-", "-w", f"key={key1.arn}",
                 "--algorithm", SUITE_NAMES[suite], stdin=pt)
    assert trent_cli(kms_endpoint, "decrypt", "-", "-o", "-", "--key", key1.arn, stdin=ct) == pt
