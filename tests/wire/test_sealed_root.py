"""Sealed mode through the real server and CLI (issue 7): init -> sealed -> refused with a
clear error -> unseal with k shares -> works; restart -> sealed -> old ciphertexts decrypt
after unsealing; k-1 shares or a wrong share keep it sealed and say so; trent seal."""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
import shamir_mnemonic
from botocore.exceptions import ClientError

from tests.fixtures.trent_server import start_trent, stop_trent
from tests.wire.helpers import expect_error
from tests.wire.test_explain import explain_call


def trent(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "trent.cli.main", *args], capture_output=True, text=True,
                          input=stdin, timeout=60)


def _refused(server) -> None:
    """Every front door refuses while sealed, before authentication: KMS, STS and explain."""
    kms = server.client()
    err = expect_error(lambda: kms.encrypt(KeyId="alias/anything", Plaintext=b"x"), "KMSInvalidStateException")
    assert "sealed" in err["message"] and "trent unseal" in err["message"]
    with pytest.raises(ClientError) as sts_error:
        server.client("sts").get_caller_identity()
    # STS has no KMSInvalidStateException: the gate is its ServiceUnavailable (protocol/sts.py)
    assert sts_error.value.response["Error"]["Code"] == "ServiceUnavailable"
    assert sts_error.value.response["ResponseMetadata"]["HTTPStatusCode"] == 503
    assert "sealed" in sts_error.value.response["Error"]["Message"]
    status, body = explain_call(server, {"principal": "arn:aws:iam::123456789012:root", "action": "kms:Encrypt",
                                         "keyId": "alias/anything"})
    assert status == 400 and body["__type"] == "KMSInvalidStateException" and "sealed" in body["message"]


@pytest.fixture()
def sealed_dir():
    with tempfile.TemporaryDirectory(prefix="trent-sealed-") as tmp:
        data, shares = Path(tmp) / "data", Path(tmp) / "shares"
        out = trent("init", "--data-dir", str(data), "--shares", "3", "--threshold", "2", "--share-dir", str(shares))
        assert out.returncode == 0, out.stderr
        yield data, [(shares / f"share-{i}.txt") for i in (1, 2, 3)]


def test_sealed_lifecycle(sealed_dir):
    data, shares = sealed_dir
    server = start_trent(data, "--root", "sealed")
    try:
        url = server.endpoint_url
        kms = server.client()
        health = server.admin("/_trent/health")
        assert health.pop("pid") > 0 and health == {"status": "sealed", "sealed": True}
        _refused(server)

        # A wrong share (one word changed): refused, says so, still sealed.
        words = shares[0].read_text().split()
        words[4] = "academic" if words[4] != "academic" else "acid"
        out = trent("unseal", "--endpoint-url", url, stdin=" ".join(words) + "\n")
        assert out.returncode == 1 and "not a valid unseal share" in out.stderr and "0 of 2" in out.stderr
        # k-1 shares: still sealed, progress shown.
        out = trent("unseal", "--endpoint-url", url, "--share-file", str(shares[0]))
        assert out.returncode == 0 and "1 of 2 shares received" in out.stdout
        _refused(server)
        out = trent("unseal", "--endpoint-url", url, "--share-file", str(shares[0]))
        assert out.returncode == 1 and "already given" in out.stderr
        out = trent("unseal", "--endpoint-url", url, "--share-file", str(shares[1]))
        assert out.returncode == 0 and "Unsealed." in out.stdout

        key = kms.create_key()["KeyMetadata"]["KeyId"]
        blob = kms.encrypt(KeyId=key, Plaintext=b"survives restarts")["CiphertextBlob"]
        data_key = kms.generate_data_key(KeyId=key, KeySpec="AES_256")
    finally:
        stop_trent(server)

    server = start_trent(data, "--root", "sealed")
    try:
        url = server.endpoint_url
        kms = server.client()
        _refused(server)
        for share in (shares[2], shares[1]):
            assert trent("unseal", "--endpoint-url", url, "--share-file", str(share)).returncode == 0
        assert kms.decrypt(CiphertextBlob=blob)["Plaintext"] == b"survives restarts"
        assert kms.decrypt(CiphertextBlob=data_key["CiphertextBlob"])["Plaintext"] == data_key["Plaintext"]

        # trent seal needs the admin token from the data dir.
        assert trent("seal", "--endpoint-url", url, "--data-dir", str(data.parent)).returncode == 1
        out = trent("seal", "--endpoint-url", url, "--data-dir", str(data))
        assert out.returncode == 0 and "0 of 2" in out.stdout
        _refused(server)
        assert trent("seal-status", "--endpoint-url", url).stdout.strip() == "Sealed: 0 of 2 shares received."
    finally:
        stop_trent(server)

    # Nothing secret at rest: not the root key, not a share, not a plaintext or data key.
    root = shamir_mnemonic.combine_mnemonics([shares[0].read_text().strip(), shares[2].read_text().strip()])
    secrets = [root, b"survives restarts", data_key["Plaintext"]] + [s.read_text().strip().encode() for s in shares]
    for path in data.rglob("*"):
        if path.is_file():
            content = path.read_bytes()
            for secret in secrets:
                assert secret not in content, path


def test_shares_of_another_init_do_not_unseal(sealed_dir):
    data, shares = sealed_dir
    with tempfile.TemporaryDirectory(prefix="trent-other-") as tmp:
        other = Path(tmp) / "shares"
        assert trent("init", "--data-dir", str(Path(tmp) / "d"), "--shares", "3", "--threshold", "2",
                     "--share-dir", str(other)).returncode == 0
        server = start_trent(data, "--root", "sealed")
        try:
            url = server.endpoint_url
            assert trent("unseal", "--endpoint-url", url, "--share-file", str(other / "share-1.txt")).returncode == 0
            out = trent("unseal", "--endpoint-url", url, "--share-file", str(other / "share-2.txt"))
            assert out.returncode == 1 and "do not rebuild this server's root key" in out.stderr
            _refused(server)
            assert trent("init", "--data-dir", str(data)).returncode == 2  # never overwrites a root
        finally:
            stop_trent(server)
