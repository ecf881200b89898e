"""`trent backup create|restore` against a serving store, under load (issue 20).

While clients keep creating keys and encrypting, a backup is taken with the CLI; it is
restored with the CLI into a new, empty store, a server is started on that, and every
ciphertext made before the backup started decrypts there — with the same root of
trust, and only with it. A backup with one byte changed is refused.
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from tests.fixtures.trent_server import TrentServer, start_trent, stop_trent


def _backup(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "trent.cli.main", "backup", *args],
                          capture_output=True, text=True, timeout=300)


def _under_load(server: TrentServer, run_while: callable) -> tuple[list[tuple[str, bytes, bytes]], list[str]]:
    """Run ``run_while()`` while 4 clients encrypt and create keys. Returns the ciphertexts
    and keys acknowledged BEFORE it started (the ones the backup must contain)."""
    kms = server.client()
    keys = [kms.create_key()["KeyMetadata"]["KeyId"] for _ in range(5)]
    kms.rotate_key_on_demand(KeyId=keys[0])  # a key with two material versions
    sealed = [(k, f"before-{i}".encode(), kms.encrypt(KeyId=k, Plaintext=f"before-{i}".encode())["CiphertextBlob"])
              for i, k in enumerate(keys * 4)]
    stop = threading.Event()

    def load(n: int) -> None:
        client = server.client()
        while not stop.is_set():
            key_id = client.create_key()["KeyMetadata"]["KeyId"] if n == 0 else keys[n % len(keys)]
            client.encrypt(KeyId=key_id, Plaintext=b"during the backup")

    threads = [threading.Thread(target=load, args=(n,), daemon=True) for n in range(4)]
    for t in threads:
        t.start()
    time.sleep(0.3)
    try:
        run_while()
    finally:
        stop.set()
        for t in threads:
            t.join(30)
    return sealed, keys


def _check_restored(restored: TrentServer, sealed, keys) -> None:
    kms = restored.client()
    listed = {k["KeyId"] for k in kms.list_keys(Limit=1000)["Keys"]}
    assert set(keys) <= listed
    for key_id, plaintext, blob in sealed:
        out = kms.decrypt(CiphertextBlob=blob)
        assert out["Plaintext"] == plaintext and out["KeyId"].endswith(key_id)
    assert len(kms.list_key_rotations(KeyId=keys[0])["Rotations"]) == 1
    # The restored store takes new work.
    new = kms.create_key()["KeyMetadata"]["KeyId"]
    assert kms.decrypt(CiphertextBlob=kms.encrypt(KeyId=new, Plaintext=b"n")["CiphertextBlob"])["Plaintext"] == b"n"


def test_sqlite_backup_under_load_restores_and_decrypts(tmp_path: Path) -> None:
    server = start_trent(tmp_path / "data")
    root_key = tmp_path / "data" / "root.key"
    backup = tmp_path / "trent.tbk"
    try:
        result: dict = {}
        sealed, keys = _under_load(server, lambda: result.update(
            out=_backup("create", str(backup), "--dev", "--data-dir", str(tmp_path / "data"))))
        assert result["out"].returncode == 0, result["out"].stderr
        rows = json.loads(result["out"].stdout)["rows"]
        assert rows["keys"] >= 5 and rows["key_materials"] >= 6
    finally:
        stop_trent(server)

    restore_dir = tmp_path / "restored"
    restore_dir.mkdir()
    out = _backup("restore", str(backup), "--dev", "--data-dir", str(restore_dir), "--root-key-file", str(root_key))
    assert out.returncode == 0, out.stderr
    restored = start_trent(restore_dir, "--root-key-file", str(root_key))
    try:
        _check_restored(restored, sealed, keys)
    finally:
        stop_trent(restored)

    # Tampered: one byte changed -> refused, nothing written.
    data = bytearray(backup.read_bytes())
    data[len(data) // 3] ^= 0x20
    tampered = tmp_path / "tampered.tbk"
    tampered.write_bytes(bytes(data))
    empty = tmp_path / "empty"
    empty.mkdir()
    out = _backup("restore", str(tampered), "--dev", "--data-dir", str(empty), "--root-key-file", str(root_key))
    assert out.returncode == 2 and "altered" in out.stderr
    # ...and a backup opens with its own root only.
    other_root = tmp_path / "other.key"
    other_root.write_bytes(b"\x07" * 32)
    other_root.chmod(0o600)
    out = _backup("verify", str(backup), "--dev", "--data-dir", str(empty), "--root-key-file", str(other_root))
    assert out.returncode == 2 and "another root" in out.stderr


@pytest.mark.postgres
def test_postgres_backup_under_load_restores_and_decrypts(postgres_server, tmp_path: Path) -> None:
    source = postgres_server.create_database("trent_backup_source")
    target = postgres_server.create_database("trent_backup_target")
    root_key = tmp_path / "root.key"
    server = start_trent(tmp_path / "node", "--database-url", source, "--root-key-file", str(root_key))
    backup = tmp_path / "pg.tbk"
    try:
        result: dict = {}
        sealed, keys = _under_load(server, lambda: result.update(out=_backup(
            "create", str(backup), "--dev", "--data-dir", str(tmp_path / "node"), "--database-url", source,
            "--root-key-file", str(root_key))))
        assert result["out"].returncode == 0, result["out"].stderr
    finally:
        stop_trent(server)
    out = _backup("restore", str(backup), "--dev", "--data-dir", str(tmp_path / "node2"), "--database-url", target,
                  "--root-key-file", str(root_key))
    assert out.returncode == 0, out.stderr
    restored = start_trent(tmp_path / "node2", "--database-url", target, "--root-key-file", str(root_key))
    try:
        _check_restored(restored, sealed, keys)
    finally:
        stop_trent(restored)
