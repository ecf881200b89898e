"""Switching roots of trust with `trent admin rewrap-root` (issue 7), through the real CLI
and server: dev file root -> Shamir-sealed root -> HSM root, nothing lost on the way,
and an interrupted rewrap changes nothing."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest

from tests.fixtures.trent_server import start_trent, stop_trent
from tests.wire.test_custom_key_stores import ANCHOR
from tests.wire.test_sealed_root import trent
from trent.keystores.root_key import AesRootKey
from trent.keystores.software import SoftwareKeyStore
from trent.service.root_rewrap import RewrapError, rewrap_root


def test_file_to_sealed_to_hsm(softhsm):
    with tempfile.TemporaryDirectory(prefix="trent-rewrap-") as tmp:
        tmp = Path(tmp)
        data, new_seal, shares = tmp / "data", tmp / "new-seal", tmp / "shares"
        cluster = f"cluster-trentckstwo={softhsm.module}:token=cks-two"
        server = start_trent(data, "--hsm-cluster", cluster, env=softhsm.env)
        try:
            kms = server.client()
            key = kms.create_key()["KeyMetadata"]["KeyId"]
            blob = kms.encrypt(KeyId=key, Plaintext=b"moved twice")["CiphertextBlob"]
            data_key = kms.generate_data_key(KeyId=key, KeySpec="AES_256")["Plaintext"]
            store = kms.create_custom_key_store(CustomKeyStoreName="rewrap", CloudHsmClusterId="cluster-trentckstwo",
                                                TrustAnchorCertificate=ANCHOR, KeyStorePassword=softhsm.user_pin)
            store_id = store["CustomKeyStoreId"]
        finally:
            stop_trent(server)
        raw_materials = _raw_materials(data)

        # dev file root -> sealed root (made by `trent init` elsewhere, moved in at the end).
        assert trent("init", "--data-dir", str(new_seal), "--shares", "3", "--threshold", "2",
                     "--share-dir", str(shares)).returncode == 0
        s1, s2, s3 = (str(shares / f"share-{i}.txt") for i in (1, 2, 3))
        out = trent("admin", "--dev", "--data-dir", str(data), "rewrap-root", "--to", "sealed",
                    "--to-seal-dir", str(new_seal), "--to-share-file", s1, "--to-share-file", s2)
        assert out.returncode == 0, out.stderr
        assert '"rewrapped": ' in out.stdout and '"rewrapped": 0' not in out.stdout
        # Running it again (as after an interruption) finds everything moved already.
        out = trent("admin", "--dev", "--data-dir", str(data), "--root-key-file", str(data / "root.key"),
                    "rewrap-root", "--to", "sealed", "--to-seal-dir", str(new_seal),
                    "--to-share-file", s1, "--to-share-file", s3)
        assert out.returncode == 0 and '"rewrapped": 0' in out.stdout, out.stderr
        secrets = [b"moved twice", data_key, softhsm.user_pin.encode(), *raw_materials]
        os.remove(data / "root.key")  # the old root is no longer needed
        _scan(data, secrets)

        server = start_trent(data, "--root", "sealed", "--hsm-cluster", cluster, env=softhsm.env)
        try:
            for share in (s3, s1):
                assert trent("unseal", "--endpoint-url", server.endpoint_url, "--share-file", share).returncode == 0
            kms = server.client()
            assert kms.decrypt(CiphertextBlob=blob)["Plaintext"] == b"moved twice"
            kms.connect_custom_key_store(CustomKeyStoreId=store_id)  # its PIN was re-wrapped too
            entry = kms.describe_custom_key_stores(CustomKeyStoreId=store_id)["CustomKeyStores"][0]
            assert entry["ConnectionState"] == "CONNECTED"
            kms.disconnect_custom_key_store(CustomKeyStoreId=store_id)
        finally:
            stop_trent(server)

        # sealed root -> HSM root.
        pin_file = tmp / "root.pin"
        pin_file.write_text(softhsm.user_pin + "\n")
        hsm_root = f"{softhsm.module}:token=root"
        out = trent("admin", "--dev", "--data-dir", str(data), "rewrap-root", "--root", "sealed",
                    "--share-file", s2, "--share-file", s3, "--to", "hsm", "--to-hsm-root", hsm_root,
                    "--to-hsm-root-pin-file", str(pin_file))
        assert out.returncode == 0, out.stderr
        server = start_trent(data, "--root", "hsm", "--hsm-root", hsm_root, "--hsm-root-pin-file", str(pin_file),
                             env=softhsm.env)
        try:
            assert server.client().decrypt(CiphertextBlob=blob)["Plaintext"] == b"moved twice"
        finally:
            stop_trent(server)
        _scan(data, secrets)  # HSM mode: no material, plaintext, data key or PIN at rest either
        # Wrong shares for the current root: refused, nothing changed.
        out = trent("admin", "--dev", "--data-dir", str(data), "rewrap-root", "--root", "sealed",
                    "--share-file", s2, "--to", "file", "--to-root-key-file", str(tmp / "x.key"))
        assert out.returncode == 2 and "needs 2 shares" in out.stderr


def _raw_materials(data: Path) -> list[bytes]:
    """The dev root can still open the rows: collect the raw material to scan for."""
    import sqlite3

    from trent.keystores.software import material_aad

    root = AesRootKey((data / "root.key").read_bytes())
    db = sqlite3.connect(data / "trent.db")
    rows = db.execute("select key_id, material_id, wrapped from key_materials").fetchall()
    db.close()
    raw = [root.unwrap(bytes(w), material_aad(k, m)) for k, m, w in rows]
    assert raw and all(len(r) == 32 for r in raw)
    return raw


def _scan(data: Path, secrets: list[bytes]) -> None:
    for path in data.rglob("*"):
        if path.is_file():
            content = path.read_bytes()
            for secret in secrets:
                assert secret not in content, path


class _FailingRoot(AesRootKey):
    """A new root whose third wrap fails: the run must leave every row as it was."""

    calls = 0

    def wrap(self, plaintext: bytes, aad: bytes) -> bytes:
        type(self).calls += 1
        if type(self).calls == 3:
            raise RuntimeError("power cut")
        return super().wrap(plaintext, aad)


def test_interrupted_rewrap_changes_nothing(tmp_path):
    from trent.domain.keys import KeyMaterial, MaterialState
    from trent.storage.sql import SqlStorage
    from tests.conformance.storage import builders

    storage = SqlStorage(f"sqlite:///{tmp_path / 'db'}", upgrade=True)
    old = AesRootKey(os.urandom(32))
    store = SoftwareKeyStore(old)
    materials = []
    for _ in range(5):
        key = builders.key()
        mid, wrapped = store.new_symmetric_material(key.key_id)
        m = KeyMaterial(key.key_id, mid, wrapped, MaterialState.CURRENT, 0.0)
        storage.create_key(key.with_changes(current_material_id=mid), m)
        materials.append(m)
    with pytest.raises(RuntimeError):
        rewrap_root(storage, old, _FailingRoot(os.urandom(32)))
    fresh = SoftwareKeyStore(old)
    for m in materials:
        assert storage.get_material(m.key_id, m.material_id).wrapped == m.wrapped
        fresh.unwrap_material(m)
    with pytest.raises(RewrapError):
        rewrap_root(storage, AesRootKey(os.urandom(32)), AesRootKey(os.urandom(32)))
    storage.close()
