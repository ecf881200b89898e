"""GetKeyLastUsage over the wire: last successful cryptographic use, tracking start,
kept across a restart (flushed from memory by the sweeper and at shutdown)."""

from __future__ import annotations

from tests.fixtures.trent_server import start_trent, stop_trent
from tests.wire.helpers import expect_error


def test_unused_key_reports_no_usage(kms):
    md = kms.create_key()["KeyMetadata"]
    out = kms.get_key_last_usage(KeyId=md["KeyId"])
    assert out["KeyId"] == md["KeyId"] and "KeyLastUsage" not in out  # bare id (spec §2.3)
    assert out["KeyCreationDate"] == md["CreationDate"]
    # "The date KMS began recording ... or the key's creation date, whichever is later."
    assert out["TrackingStartDate"] >= out["KeyCreationDate"]


def test_last_successful_cryptographic_use(kms):
    md = kms.create_key()["KeyMetadata"]
    blob = kms.encrypt(KeyId=md["KeyId"], Plaintext=b"x")["CiphertextBlob"]
    first = kms.get_key_last_usage(KeyId=md["KeyId"])["KeyLastUsage"]
    assert first["Operation"] == "Encrypt" and first["KmsRequestId"]
    kms.decrypt(CiphertextBlob=blob)
    last = kms.get_key_last_usage(KeyId=md["KeyId"])["KeyLastUsage"]
    assert last["Operation"] == "Decrypt" and last["Timestamp"] >= first["Timestamp"]
    # Failures and management calls are not uses.
    expect_error(kms.decrypt, "InvalidCiphertextException", CiphertextBlob=blob, EncryptionContext={"a": "b"})
    kms.describe_key(KeyId=md["KeyId"])
    kms.generate_data_key_without_plaintext(KeyId=md["KeyId"], KeySpec="AES_128")
    assert kms.get_key_last_usage(KeyId=md["KeyId"])["KeyLastUsage"]["Operation"] == "GenerateDataKeyWithoutPlaintext"


def test_usage_of_both_keys_in_re_encrypt(kms):
    a, b = kms.create_key()["KeyMetadata"], kms.create_key()["KeyMetadata"]
    blob = kms.encrypt(KeyId=a["KeyId"], Plaintext=b"x")["CiphertextBlob"]
    kms.re_encrypt(CiphertextBlob=blob, DestinationKeyId=b["KeyId"])
    for key in (a, b):
        assert kms.get_key_last_usage(KeyId=key["KeyId"])["KeyLastUsage"]["Operation"] == "ReEncrypt"


def test_usage_survives_restart(tmp_path):
    server = start_trent(tmp_path / "data")
    try:
        kms = server.client()
        md = kms.create_key()["KeyMetadata"]
        kms.generate_data_key(KeyId=md["KeyId"], NumberOfBytes=32)
        before = kms.get_key_last_usage(KeyId=md["KeyId"])
    finally:
        stop_trent(server)  # the shutdown flushes what the last sweep had not
    server = start_trent(tmp_path / "data")
    try:
        after = server.client().get_key_last_usage(KeyId=md["KeyId"])
        assert after["KeyLastUsage"] == before["KeyLastUsage"]
        assert after["TrackingStartDate"] == before["TrackingStartDate"]
    finally:
        stop_trent(server)


def test_deleted_key_is_gone_with_its_usage(trent_server, kms):
    md = kms.create_key()["KeyMetadata"]
    kms.encrypt(KeyId=md["KeyId"], Plaintext=b"x")
    kms.schedule_key_deletion(KeyId=md["KeyId"], PendingWindowInDays=7)
    assert kms.get_key_last_usage(KeyId=md["KeyId"])["KeyLastUsage"]["Operation"] == "Encrypt"
    trent_server.advance_clock("7d")
    expect_error(kms.get_key_last_usage, "NotFoundException", f"Key '{md['Arn']}' does not exist", KeyId=md["KeyId"])


def test_usage_by_alias_and_of_mac_keys(kms):
    md = kms.create_key()["KeyMetadata"]
    kms.create_alias(AliasName="alias/usage-tracked", TargetKeyId=md["KeyId"])
    kms.encrypt(KeyId="alias/usage-tracked", Plaintext=b"x")
    # spec §2.3: GetKeyLastUsage takes a key id or ARN only ("Alias names are not supported").
    expect_error(kms.get_key_last_usage, "NotFoundException", "Invalid keyId 'alias/usage-tracked'",
                 KeyId="alias/usage-tracked")
    assert kms.get_key_last_usage(KeyId=md["Arn"])["KeyLastUsage"]["Operation"] == "Encrypt"
    try:
        mac_key = kms.create_key(KeySpec="HMAC_256", KeyUsage="GENERATE_VERIFY_MAC")["KeyMetadata"]
    except kms.exceptions.UnsupportedOperationException:
        return  # HMAC keys are not in this build yet
    kms.generate_mac(KeyId=mac_key["KeyId"], Message=b"m", MacAlgorithm="HMAC_SHA_256")
    assert kms.get_key_last_usage(KeyId=mac_key["KeyId"])["KeyLastUsage"]["Operation"] == "GenerateMac"
