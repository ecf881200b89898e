"""GenerateMac/VerifyMac over the wire (spec §3.4)."""

from __future__ import annotations

import pytest

from tests.wire.helpers import expect_error

SPECS = {"HMAC_224": ("HMAC_SHA_224", 28), "HMAC_256": ("HMAC_SHA_256", 32),
         "HMAC_384": ("HMAC_SHA_384", 48), "HMAC_512": ("HMAC_SHA_512", 64)}


@pytest.fixture(scope="module")
def client(trent_server):
    return trent_server.client()


@pytest.fixture(scope="module")
def mac_keys(client):
    return {spec: client.create_key(KeySpec=spec, KeyUsage="GENERATE_VERIFY_MAC")["KeyMetadata"] for spec in SPECS}


@pytest.mark.parametrize("spec", sorted(SPECS))
def test_generate_and_verify_then_flip_every_bit_class(client, mac_keys, spec):
    algorithm, length = SPECS[spec]
    md = mac_keys[spec]
    out = client.generate_mac(KeyId=md["KeyId"], Message=b"message", MacAlgorithm=algorithm)
    assert out["KeyId"] == md["Arn"] and out["MacAlgorithm"] == algorithm and len(out["Mac"]) == length
    # deterministic: same key, same message, same tag
    assert client.generate_mac(KeyId=md["KeyId"], Message=b"message", MacAlgorithm=algorithm)["Mac"] == out["Mac"]
    ok = client.verify_mac(KeyId=md["KeyId"], Message=b"message", MacAlgorithm=algorithm, Mac=out["Mac"])
    assert ok == {**ok, "KeyId": md["Arn"], "MacValid": True, "MacAlgorithm": algorithm}
    for position in (0, length // 2, length - 1):
        flipped = bytearray(out["Mac"])
        flipped[position] ^= 0x01
        err = expect_error(client.verify_mac, "KMSInvalidMacException", KeyId=md["KeyId"], Message=b"message",
                           MacAlgorithm=algorithm, Mac=bytes(flipped))
        assert err["message"] == ""
    expect_error(client.verify_mac, "KMSInvalidMacException", KeyId=md["KeyId"], Message=b"messagE",
                 MacAlgorithm=algorithm, Mac=out["Mac"])
    expect_error(client.verify_mac, "KMSInvalidMacException", KeyId=md["KeyId"], Message=b"message",
                 MacAlgorithm=algorithm, Mac=out["Mac"][:-1])


def test_different_keys_give_different_macs(client):
    a = client.create_key(KeySpec="HMAC_256", KeyUsage="GENERATE_VERIFY_MAC")["KeyMetadata"]
    b = client.create_key(KeySpec="HMAC_256", KeyUsage="GENERATE_VERIFY_MAC")["KeyMetadata"]
    mac_a = client.generate_mac(KeyId=a["KeyId"], Message=b"m", MacAlgorithm="HMAC_SHA_256")["Mac"]
    mac_b = client.generate_mac(KeyId=b["KeyId"], Message=b"m", MacAlgorithm="HMAC_SHA_256")["Mac"]
    assert mac_a != mac_b
    expect_error(client.verify_mac, "KMSInvalidMacException", KeyId=b["KeyId"], Message=b"m",
                 MacAlgorithm="HMAC_SHA_256", Mac=mac_a)


def test_algorithm_mismatch(client, mac_keys):
    md = mac_keys["HMAC_224"]
    expect_error(client.generate_mac, "InvalidKeyUsageException",
                 "Algorithm HMAC_SHA_256 is incompatible with key spec HMAC_224.",
                 KeyId=md["KeyId"], Message=b"m", MacAlgorithm="HMAC_SHA_256")
    expect_error(client.verify_mac, "InvalidKeyUsageException",
                 "Algorithm HMAC_SHA_512 is incompatible with key spec HMAC_224.",
                 KeyId=md["KeyId"], Message=b"m", MacAlgorithm="HMAC_SHA_512", Mac=b"x" * 28)


def test_unknown_algorithm_is_a_validation_error(client, mac_keys):
    err = expect_error(client.generate_mac, "ValidationException", KeyId=mac_keys["HMAC_256"]["KeyId"],
                       Message=b"m", MacAlgorithm="HMAC_SHA_1")
    assert "macAlgorithm" in err["message"]


def test_wrong_usage_both_ways(client, mac_keys):
    sym = client.create_key()["KeyMetadata"]
    expect_error(client.generate_mac, "InvalidKeyUsageException",
                 f"{sym['Arn']} key usage is ENCRYPT_DECRYPT which is not valid for GenerateMac.",
                 KeyId=sym["KeyId"], Message=b"m", MacAlgorithm="HMAC_SHA_256")
    expect_error(client.verify_mac, "InvalidKeyUsageException",
                 f"{sym['Arn']} key usage is ENCRYPT_DECRYPT which is not valid for VerifyMac.",
                 KeyId=sym["KeyId"], Message=b"m", MacAlgorithm="HMAC_SHA_256", Mac=b"x" * 32)
    md = mac_keys["HMAC_256"]
    expect_error(client.encrypt, "InvalidKeyUsageException",
                 f"{md['Arn']} key usage is GENERATE_VERIFY_MAC which is not valid for Encrypt.",
                 KeyId=md["KeyId"], Plaintext=b"x")
    expect_error(client.sign, "InvalidKeyUsageException",
                 f"{md['Arn']} key usage is GENERATE_VERIFY_MAC which is not valid for Sign.",
                 KeyId=md["KeyId"], Message=b"x", SigningAlgorithm="ECDSA_SHA_256")
    expect_error(client.get_public_key, "UnsupportedOperationException",
                 f"{md['Arn']} key spec is HMAC_256 which is not valid for GetPublicKey.", KeyId=md["KeyId"])
    blob = client.encrypt(KeyId=sym["KeyId"], Plaintext=b"x")["CiphertextBlob"]
    # spec §6.3: a Decrypt KeyId naming an HMAC key is IncorrectKeyException
    expect_error(client.decrypt, "IncorrectKeyException", CiphertextBlob=blob, KeyId=md["KeyId"])


def test_mac_states_and_dry_run(client):
    md = client.create_key(KeySpec="HMAC_384", KeyUsage="GENERATE_VERIFY_MAC")["KeyMetadata"]
    expect_error(client.generate_mac, "DryRunOperationException",
                 "The request would have succeeded, but the DryRun option is set.",
                 KeyId=md["KeyId"], Message=b"m", MacAlgorithm="HMAC_SHA_384", DryRun=True)
    client.disable_key(KeyId=md["KeyId"])
    expect_error(client.generate_mac, "DisabledException", f"{md['Arn']} is disabled.",
                 KeyId=md["KeyId"], Message=b"m", MacAlgorithm="HMAC_SHA_384")
    client.schedule_key_deletion(KeyId=md["KeyId"], PendingWindowInDays=7)
    expect_error(client.verify_mac, "KMSInvalidStateException", f"{md['Arn']} is pending deletion.",
                 KeyId=md["KeyId"], Message=b"m", MacAlgorithm="HMAC_SHA_384", Mac=b"x" * 48)
