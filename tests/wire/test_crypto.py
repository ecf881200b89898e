"""Encrypt, Decrypt, ReEncrypt, GenerateDataKey*, GenerateRandom over the wire (spec §3.2, §3.6, §6)."""

from __future__ import annotations

import base64

import pytest
from botocore.exceptions import ClientError

from tests.wire.helpers import expect_error, wire_error

UNUSABLE = (
    "The ciphertext refers to a customer master key that does not exist, does not exist in this region, "
    "or you are not allowed to access."
)
INCORRECT_KEY = "The key ID in the request does not identify a CMK that can perform this operation."


@pytest.fixture()
def key(kms):
    return kms.create_key()["KeyMetadata"]


def test_encrypt_decrypt_round_trip_without_key_id(kms, key):
    out = kms.encrypt(KeyId=key["KeyId"], Plaintext=b"hello world")
    assert out["KeyId"] == key["Arn"]
    assert out["EncryptionAlgorithm"] == "SYMMETRIC_DEFAULT"
    back = kms.decrypt(CiphertextBlob=out["CiphertextBlob"])
    assert back["Plaintext"] == b"hello world"
    assert back["KeyId"] == key["Arn"] and back["EncryptionAlgorithm"] == "SYMMETRIC_DEFAULT"
    assert back["KeyMaterialId"] == key["CurrentKeyMaterialId"]


@pytest.mark.parametrize("size", [1, 4096])
def test_plaintext_size_limits(kms, key, size):
    blob = kms.encrypt(KeyId=key["KeyId"], Plaintext=b"x" * size)["CiphertextBlob"]
    assert len(blob) <= 6144
    assert kms.decrypt(CiphertextBlob=blob)["Plaintext"] == b"x" * size


def test_oversized_plaintext(kms, key):
    expect_error(
        kms.encrypt, "ValidationException",
        "1 validation error detected: Value at 'plaintext' failed to satisfy constraint: "
        "Member must have length less than or equal to 4096",
        KeyId=key["KeyId"], Plaintext=b"x" * 4097,
    )


def test_encrypt_by_alias_name_and_alias_arn(kms, key):
    kms.create_alias(AliasName="alias/crypto-alias", TargetKeyId=key["KeyId"])
    for ident in ("alias/crypto-alias", key["Arn"].replace(f"key/{key['KeyId']}", "alias/crypto-alias")):
        out = kms.encrypt(KeyId=ident, Plaintext=b"via alias")
        assert out["KeyId"] == key["Arn"]
        assert kms.decrypt(CiphertextBlob=out["CiphertextBlob"], KeyId=ident)["Plaintext"] == b"via alias"


def test_encryption_context_must_match_exactly(kms, key):
    context = {"purpose": "test", "tenant": "a"}
    blob = kms.encrypt(KeyId=key["KeyId"], Plaintext=b"ctx", EncryptionContext=context)["CiphertextBlob"]
    assert kms.decrypt(CiphertextBlob=blob, EncryptionContext=dict(reversed(context.items())))["Plaintext"] == b"ctx"
    for wrong in (None, {}, {"purpose": "test"}, {"purpose": "test", "tenant": "A"}, {**context, "x": "y"}):
        kwargs = {"CiphertextBlob": blob} if wrong is None else {"CiphertextBlob": blob, "EncryptionContext": wrong}
        err = expect_error(kms.decrypt, "InvalidCiphertextException", **kwargs)
        assert err["message"] == ""  # spec §6.2: no message at all


def test_empty_context_equals_no_context(kms, key):
    blob = kms.encrypt(KeyId=key["KeyId"], Plaintext=b"e", EncryptionContext={})["CiphertextBlob"]
    assert kms.decrypt(CiphertextBlob=blob)["Plaintext"] == b"e"


def test_every_tampered_byte_is_rejected(kms, key):
    blob = kms.encrypt(KeyId=key["KeyId"], Plaintext=b"tamper me")["CiphertextBlob"]
    # Flip bits in the header, the material id, the salt, the nonce, the body and the tag.
    for position in (0, 1, 5, 20, 49, 50, 66, 78, len(blob) - 1):
        tampered = bytearray(blob)
        tampered[position] ^= 0x01
        with pytest.raises(ClientError) as info:
            kms.decrypt(CiphertextBlob=bytes(tampered))
        assert info.value.response["Error"]["Code"] in ("InvalidCiphertextException", "AccessDeniedException"), position
    for truncated in (blob[:10], blob[:60], blob[:-1]):
        with pytest.raises(ClientError) as info:
            kms.decrypt(CiphertextBlob=truncated)
        assert info.value.response["Error"]["Code"] == "InvalidCiphertextException"


def test_decrypt_with_the_wrong_key_id(kms, key):
    other = kms.create_key()["KeyMetadata"]
    blob = kms.encrypt(KeyId=key["KeyId"], Plaintext=b"x")["CiphertextBlob"]
    expect_error(kms.decrypt, "IncorrectKeyException", INCORRECT_KEY, CiphertextBlob=blob, KeyId=other["KeyId"])
    expect_error(kms.decrypt, "NotFoundException", "Invalid keyId 'nope'", CiphertextBlob=blob, KeyId="nope")


def test_decrypt_garbage(kms):
    expect_error(kms.decrypt, "InvalidCiphertextException", CiphertextBlob=b"not a ciphertext at all")


def test_decrypt_disabled_key(kms, key):
    blob = kms.encrypt(KeyId=key["KeyId"], Plaintext=b"x")["CiphertextBlob"]
    kms.disable_key(KeyId=key["KeyId"])
    expect_error(kms.decrypt, "DisabledException", f"{key['Arn']} is disabled.", CiphertextBlob=blob)
    kms.enable_key(KeyId=key["KeyId"])
    assert kms.decrypt(CiphertextBlob=blob)["Plaintext"] == b"x"


def test_unsupported_algorithm_for_symmetric_key(kms, key):
    expect_error(
        kms.encrypt, "InvalidKeyUsageException", "Algorithm RSAES_OAEP_SHA_256 is incompatible with key spec SYMMETRIC_DEFAULT.",
        KeyId=key["KeyId"], Plaintext=b"x", EncryptionAlgorithm="RSAES_OAEP_SHA_256",
    )


@pytest.mark.parametrize(
    ("kwargs", "length"), [({"KeySpec": "AES_256"}, 32), ({"KeySpec": "AES_128"}, 16), ({"NumberOfBytes": 1}, 1), ({"NumberOfBytes": 1024}, 1024)]
)
def test_generate_data_key(kms, key, kwargs, length):
    out = kms.generate_data_key(KeyId=key["KeyId"], EncryptionContext={"k": "v"}, **kwargs)
    assert len(out["Plaintext"]) == length and out["KeyId"] == key["Arn"]
    assert out["KeyMaterialId"] == key["CurrentKeyMaterialId"]
    assert kms.decrypt(CiphertextBlob=out["CiphertextBlob"], EncryptionContext={"k": "v"})["Plaintext"] == out["Plaintext"]


def test_generate_data_key_without_plaintext(kms, key):
    out = kms.generate_data_key_without_plaintext(KeyId=key["KeyId"], KeySpec="AES_256")
    assert "Plaintext" not in out and out["KeyId"] == key["Arn"]
    assert len(kms.decrypt(CiphertextBlob=out["CiphertextBlob"])["Plaintext"]) == 32


@pytest.mark.parametrize("kwargs", [{}, {"KeySpec": "AES_256", "NumberOfBytes": 32}])
def test_generate_data_key_needs_exactly_one_size(kms, key, kwargs):
    expect_error(kms.generate_data_key, "ValidationException", "Please specify either number of bytes or key spec.", KeyId=key["KeyId"], **kwargs)


def test_generate_data_key_number_of_bytes_bounds(kms, key):
    expect_error(
        kms.generate_data_key, "ValidationException",
        "1 validation error detected: Value '1025' at 'numberOfBytes' failed to satisfy constraint: "
        "Member must have value less than or equal to 1024",
        KeyId=key["KeyId"], NumberOfBytes=1025,
    )


def test_re_encrypt_between_keys_and_contexts(kms, key):
    dest = kms.create_key()["KeyMetadata"]
    blob = kms.encrypt(KeyId=key["KeyId"], Plaintext=b"move me", EncryptionContext={"a": "1"})["CiphertextBlob"]
    out = kms.re_encrypt(
        CiphertextBlob=blob, SourceEncryptionContext={"a": "1"}, DestinationKeyId=dest["KeyId"],
        DestinationEncryptionContext={"b": "2"},
    )
    assert out["SourceKeyId"] == key["Arn"] and out["KeyId"] == dest["Arn"]
    assert out["SourceEncryptionAlgorithm"] == out["DestinationEncryptionAlgorithm"] == "SYMMETRIC_DEFAULT"
    assert out["SourceKeyMaterialId"] == key["CurrentKeyMaterialId"]
    assert out["DestinationKeyMaterialId"] == dest["CurrentKeyMaterialId"]
    assert "Plaintext" not in out
    assert kms.decrypt(CiphertextBlob=out["CiphertextBlob"], EncryptionContext={"b": "2"})["Plaintext"] == b"move me"
    expect_error(kms.re_encrypt, "IncorrectKeyException", INCORRECT_KEY, CiphertextBlob=blob, SourceKeyId=dest["KeyId"],
                 SourceEncryptionContext={"a": "1"}, DestinationKeyId=dest["KeyId"])
    expect_error(kms.re_encrypt, "InvalidCiphertextException", CiphertextBlob=blob, DestinationKeyId=dest["KeyId"])


def test_re_encrypt_to_a_disabled_destination(kms, key):
    dest = kms.create_key()["KeyMetadata"]
    kms.disable_key(KeyId=dest["KeyId"])
    blob = kms.encrypt(KeyId=key["KeyId"], Plaintext=b"x")["CiphertextBlob"]
    expect_error(kms.re_encrypt, "DisabledException", f"{dest['Arn']} is disabled.", CiphertextBlob=blob, DestinationKeyId=dest["KeyId"])


@pytest.mark.parametrize(
    ("call", "kwargs"),
    [
        ("encrypt", {"Plaintext": b"x"}),
        ("generate_data_key", {"KeySpec": "AES_256"}),
        ("generate_data_key_without_plaintext", {"KeySpec": "AES_256"}),
    ],
)
def test_dry_run(kms, key, call, kwargs):
    expect_error(
        getattr(kms, call), "DryRunOperationException", "The request would have succeeded, but the DryRun option is set.",
        KeyId=key["KeyId"], DryRun=True, **kwargs,
    )


def test_dry_run_still_checks(kms, key):
    kms.disable_key(KeyId=key["KeyId"])
    expect_error(kms.encrypt, "DisabledException", KeyId=key["KeyId"], Plaintext=b"x", DryRun=True)


def test_dry_run_decrypt_and_re_encrypt(kms, key):
    blob = kms.encrypt(KeyId=key["KeyId"], Plaintext=b"x")["CiphertextBlob"]
    expect_error(kms.decrypt, "DryRunOperationException", CiphertextBlob=blob, DryRun=True)
    expect_error(kms.re_encrypt, "DryRunOperationException", CiphertextBlob=blob, DestinationKeyId=key["KeyId"], DryRun=True)


def test_generate_random(kms):
    a = kms.generate_random(NumberOfBytes=32)["Plaintext"]
    b = kms.generate_random(NumberOfBytes=32)["Plaintext"]
    assert len(a) == len(b) == 32 and a != b
    assert len(kms.generate_random(NumberOfBytes=1024)["Plaintext"]) == 1024


def test_generate_random_bounds(kms):
    expect_error(kms.generate_random, "ValidationException", "NumberOfBytes is required.")
    expect_error(
        kms.generate_random, "ValidationException",
        "1 validation error detected: Value '1025' at 'numberOfBytes' failed to satisfy constraint: "
        "Member must have value less than or equal to 1024",
        NumberOfBytes=1025,
    )


def test_ciphertext_is_base64_on_the_wire(trent_server, key):
    """boto3 decodes blobs for us; check the raw JSON too."""
    import json
    import urllib.request

    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    body = json.dumps({"KeyId": key["KeyId"], "Plaintext": base64.b64encode(b"raw").decode()}).encode()
    request = AWSRequest(method="POST", url=trent_server.endpoint_url + "/", data=body, headers={
        "Content-Type": "application/x-amz-json-1.1", "X-Amz-Target": "TrentService.Encrypt"})
    SigV4Auth(Credentials("test", "test"), "kms", "us-east-1").add_auth(request)
    with urllib.request.urlopen(urllib.request.Request(request.url, data=body, headers=dict(request.headers), method="POST")) as response:
        assert response.headers["Content-Type"] == "application/x-amz-json-1.1"
        assert response.headers["x-amzn-RequestId"]
        payload = json.loads(response.read())
    assert set(payload) == {"CiphertextBlob", "KeyId", "EncryptionAlgorithm"}
    base64.b64decode(payload["CiphertextBlob"], validate=True)


def test_ciphertext_blob_is_required_unless_the_dry_run_ignores_it(kms, key):
    expect_error(
        kms.decrypt, "ValidationException",
        "1 validation error detected: Value null at 'ciphertextBlob' failed to satisfy constraint: Member must not be null",
        KeyId=key["KeyId"],
    )
    expect_error(kms.decrypt, "DryRunOperationException", KeyId=key["KeyId"], DryRun=True, DryRunModifiers=["IGNORE_CIPHERTEXT"])
    expect_error(kms.re_encrypt, "DryRunOperationException", DestinationKeyId=key["KeyId"], DryRun=True,
                 DryRunModifiers=["IGNORE_CIPHERTEXT"])
    kms.disable_key(KeyId=key["KeyId"])
    expect_error(kms.re_encrypt, "DisabledException", DestinationKeyId=key["KeyId"], DryRun=True,
                 DryRunModifiers=["IGNORE_CIPHERTEXT"])


def test_encrypts_share_a_derived_key_within_its_quota_and_each_has_its_own_nonce(kms, key):
    """keystores/software.py: a derived data key seals up to 2^16 messages, each with a
    fresh random nonce. Through boto3: a fresh key's Encrypts share one salt (blob bytes
    50-65), never a nonce (66-77), and each decrypts, under its own context only."""
    blobs = [kms.encrypt(KeyId=key["KeyId"], Plaintext=b"message %d" % i, EncryptionContext={"n": str(i)})["CiphertextBlob"]
             for i in range(40)]
    assert len({blob[50:66] for blob in blobs}) == 1
    assert len({blob[66:78] for blob in blobs}) == len(blobs)
    for i, blob in enumerate(blobs):
        assert kms.decrypt(CiphertextBlob=blob, EncryptionContext={"n": str(i)})["Plaintext"] == b"message %d" % i
    swapped = wire_error(kms.decrypt, CiphertextBlob=blobs[0], EncryptionContext={"n": "1"})
    assert swapped["code"] == "InvalidCiphertextException"
