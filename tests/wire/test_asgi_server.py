"""The same pipeline served as an ASGI app under uvicorn (`--http-server uvicorn`)."""

from __future__ import annotations

from tests.fixtures.trent_server import start_trent, stop_trent
from tests.wire.helpers import expect_error


def test_uvicorn_front_door(tmp_path):
    server = start_trent(tmp_path / "data", "--http-server", "uvicorn")
    try:
        kms = server.client()
        key = kms.create_key()["KeyMetadata"]
        blob = kms.encrypt(KeyId=key["KeyId"], Plaintext=b"asgi", EncryptionContext={"a": "b"})["CiphertextBlob"]
        assert kms.decrypt(CiphertextBlob=blob, EncryptionContext={"a": "b"})["Plaintext"] == b"asgi"
        expect_error(kms.describe_key, "NotFoundException", "Invalid keyId 'nope'", KeyId="nope")
        assert server.advance_clock("1h")["offsetSeconds"] == 3600
        events = server.audit_events()
        assert [e["eventName"] for e in events][-3:] == ["Encrypt", "Decrypt", "DescribeKey"]
    finally:
        stop_trent(server)
