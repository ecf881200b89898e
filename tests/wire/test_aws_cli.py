"""The AWS CLI, unchanged, against Trent (issue 2: `aws --endpoint-url ... kms create-key`)."""

from __future__ import annotations

import base64
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest


def aws_binary() -> str:
    candidate = Path(sys.executable).parent / "aws"
    found = str(candidate) if candidate.exists() else shutil.which("aws")
    if found is None:
        pytest.fail("the AWS CLI (awscli, a test dependency) is not installed")
    return found


def aws(server, *args: str) -> dict:
    env = {**os.environ, "AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test", "AWS_DEFAULT_REGION": "us-east-1",
           "AWS_CONFIG_FILE": os.devnull, "AWS_SHARED_CREDENTIALS_FILE": os.devnull}
    out = subprocess.run([aws_binary(), "--endpoint-url", server.endpoint_url, "--output", "json", "kms", *args],
                         capture_output=True, text=True, env=env, timeout=60)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout) if out.stdout.strip() else {}


def test_cli_smoke(trent_server, tmp_path):
    key = aws(trent_server, "create-key", "--description", "from the cli")["KeyMetadata"]
    assert key["KeyState"] == "Enabled" and key["Description"] == "from the cli"
    aws(trent_server, "create-alias", "--alias-name", "alias/cli", "--target-key-id", key["KeyId"])
    plaintext = tmp_path / "p.txt"
    plaintext.write_bytes(b"hello from the aws cli")
    blob = aws(trent_server, "encrypt", "--key-id", "alias/cli", "--plaintext", f"fileb://{plaintext}")["CiphertextBlob"]
    ciphertext = tmp_path / "c.bin"
    ciphertext.write_bytes(base64.b64decode(blob))
    out = aws(trent_server, "decrypt", "--ciphertext-blob", f"fileb://{ciphertext}")
    assert base64.b64decode(out["Plaintext"]) == b"hello from the aws cli"
    assert key["KeyId"] in [k["KeyId"] for k in aws(trent_server, "list-keys")["Keys"]]
    aliases = aws(trent_server, "list-aliases", "--key-id", key["KeyId"])["Aliases"]
    assert [a["AliasName"] for a in aliases] == ["alias/cli"]
