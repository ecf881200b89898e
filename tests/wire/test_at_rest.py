"""Nothing secret at rest, durable state, fail-closed audit (issue 2 proofs).

The at-rest scan plays an attacker holding the data dir: it reads the root key
file, unwraps every stored key material and secret with Trent's own unwrap, and
then proves that none of those secrets (nor any plaintext or data key that went
through the API) appears anywhere in the database files or the data dir.
"""

from __future__ import annotations

import base64
import json
import sqlite3

import pytest

from tests.fixtures.trent_server import start_trent, stop_trent
from trent.domain.keys import KeyMaterial, MaterialState
from trent.keystores.root_key import load_or_create_file_root_key
from trent.keystores.software import SoftwareKeyStore


def forms(secret: bytes) -> list[bytes]:
    return [secret, secret.hex().encode(), base64.b64encode(secret), base64.urlsafe_b64encode(secret)]


def test_no_key_material_or_secret_at_rest(tmp_path):
    server = start_trent(tmp_path / "data")
    try:
        kms = server.client()
        plaintexts, data_keys = [], []
        for i in range(3):
            key_id = kms.create_key(Description=f"scan {i}")["KeyMetadata"]["KeyId"]
            plaintext = f"plaintext number {i} that must never be stored".encode()
            plaintexts.append(plaintext)
            kms.encrypt(KeyId=key_id, Plaintext=plaintext)
            data_keys.append(kms.generate_data_key(KeyId=key_id, KeySpec="AES_256")["Plaintext"])
    finally:
        stop_trent(server)

    data_dir = tmp_path / "data"
    root = load_or_create_file_root_key(data_dir / "root.key")
    store = SoftwareKeyStore(root)
    db = sqlite3.connect(data_dir / "trent.db")
    rows = db.execute("SELECT key_id, material_id, wrapped FROM key_materials").fetchall()
    db.close()
    assert len(rows) == 3
    materials = [store.unwrap_material(KeyMaterial(k, m, bytes(w), MaterialState.CURRENT, 0.0)) for k, m, w in rows]
    assert all(len(m) == 32 for m in materials)

    everything = b"".join(p.read_bytes() for p in data_dir.rglob("*") if p.is_file() and p.name != "root.key")
    assert everything  # the database and the audit log are there
    for secret in [*materials, *plaintexts, *data_keys]:
        for form in forms(secret):
            assert form not in everything


def test_state_survives_a_restart(tmp_path):
    server = start_trent(tmp_path / "data")
    try:
        kms = server.client()
        key = kms.create_key(Description="durable")["KeyMetadata"]
        kms.create_alias(AliasName="alias/durable", TargetKeyId=key["KeyId"])
        kms.tag_resource(KeyId=key["KeyId"], Tags=[{"TagKey": "k", "TagValue": "v"}])
        blob = kms.encrypt(KeyId="alias/durable", Plaintext=b"kept", EncryptionContext={"c": "1"})["CiphertextBlob"]
    finally:
        stop_trent(server)
    server = start_trent(tmp_path / "data")
    try:
        kms = server.client()
        assert kms.describe_key(KeyId="alias/durable")["KeyMetadata"]["Description"] == "durable"
        assert kms.decrypt(CiphertextBlob=blob, EncryptionContext={"c": "1"})["Plaintext"] == b"kept"
        assert kms.list_resource_tags(KeyId=key["KeyId"])["Tags"] == [{"TagKey": "k", "TagValue": "v"}]
    finally:
        stop_trent(server)


def test_the_json_lines_copy_is_only_a_copy(tmp_path):
    """Issue 16: the trail is in the database (fail-closed there: tests/wire/test_audit_outbox.py);
    ``--audit-log`` is a JSON-lines copy of committed events, so one that cannot be written
    (/dev/full fails every write with ENOSPC) is logged and does not fail the calls."""
    server = start_trent(tmp_path / "data", "--audit-log", "/dev/full")
    try:
        kms = server.client()
        assert len(kms.generate_random(NumberOfBytes=8)["Plaintext"]) == 8
        key_id = kms.create_key()["KeyMetadata"]["KeyId"]
        assert any(e["eventName"] == "CreateKey" and e["responseElements"]["keyMetadata"]["keyId"] == key_id
                   for e in server.audit_events())
    finally:
        stop_trent(server)

    copy = tmp_path / "copy.jsonl"
    server = start_trent(tmp_path / "data2", "--audit-log", str(copy))
    try:
        request_id = server.client().list_keys()["ResponseMetadata"]["RequestId"]
    finally:
        stop_trent(server)
    assert any(json.loads(line).get("requestID") == request_id for line in copy.read_text().splitlines())


@pytest.mark.postgres
def test_server_on_postgresql(tmp_path, postgres_url):
    server = start_trent(tmp_path / "data", "--database-url", postgres_url)
    try:
        kms = server.client()
        key = kms.create_key()["KeyMetadata"]
        kms.create_alias(AliasName="alias/pg", TargetKeyId=key["KeyId"])
        blob = kms.encrypt(KeyId="alias/pg", Plaintext=b"on postgres")["CiphertextBlob"]
    finally:
        stop_trent(server)
    # A second, stateless node on the same database (fresh data dir, same root key) decrypts it.
    other = tmp_path / "other"
    other.mkdir()
    (other / "root.key").write_bytes((tmp_path / "data" / "root.key").read_bytes())
    (other / "root.key").chmod(0o600)
    server = start_trent(other, "--database-url", postgres_url)
    try:
        kms = server.client()
        assert kms.decrypt(CiphertextBlob=blob)["Plaintext"] == b"on postgres"
        assert kms.describe_key(KeyId="alias/pg")["KeyMetadata"]["KeyId"] == key["KeyId"]
    finally:
        stop_trent(server)
