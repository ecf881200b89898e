"""The same pipeline served as an ASGI app under uvicorn (`--http-server uvicorn`)."""

from __future__ import annotations

from tests.fixtures.trent_server import start_trent, stop_trent
from tests.wire.helpers import expect_error
from tests.wire.test_explain import explain_call


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
        # the --dev clock jump is audited too (issue 20), after the three calls
        assert [e["eventName"] for e in events][-4:] == ["Encrypt", "Decrypt", "DescribeKey", "DevClockAdvance"]
        # issue 5 on this front door too: key policies and POST /_trent/authz/explain
        assert kms.list_key_policies(KeyId=key["KeyId"])["PolicyNames"] == ["default"]
        status, answer = explain_call(server, {"Principal": "arn:aws:iam::123456789012:user/dev",
                                               "Action": "kms:Decrypt", "KeyId": key["Arn"]})
        assert status == 200 and answer["decision"]["effect"] == "Allow", answer
        assert server.audit_events()[-1]["eventName"] == "ExplainAuthorization"
    finally:
        stop_trent(server)
