"""RSAES-OAEP Encrypt/Decrypt/ReEncrypt over the wire (spec §3.2, §6.1, §6.4)."""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding

from tests.wire.asymmetric_helpers import load_public, openssl, write_pem_public_key
from tests.wire.helpers import expect_error

LIMITS = {
    ("RSA_2048", "RSAES_OAEP_SHA_1"): 214, ("RSA_2048", "RSAES_OAEP_SHA_256"): 190,
    ("RSA_3072", "RSAES_OAEP_SHA_1"): 342, ("RSA_3072", "RSAES_OAEP_SHA_256"): 318,
    ("RSA_4096", "RSAES_OAEP_SHA_1"): 470, ("RSA_4096", "RSAES_OAEP_SHA_256"): 446,
}


@pytest.fixture(scope="module")
def client(trent_server):
    return trent_server.client()


@pytest.fixture(scope="module")
def rsa_keys(client):
    keys = {}
    for spec in ("RSA_2048", "RSA_3072", "RSA_4096"):
        md = client.create_key(KeySpec=spec, KeyUsage="ENCRYPT_DECRYPT")["KeyMetadata"]
        keys[spec] = (md, client.get_public_key(KeyId=md["KeyId"])["PublicKey"])
    return keys


def _oaep(algorithm: str) -> padding.OAEP:
    h = hashes.SHA1() if algorithm.endswith("SHA_1") else hashes.SHA256()
    return padding.OAEP(mgf=padding.MGF1(h), algorithm=h, label=None)


@pytest.mark.parametrize(("spec", "algorithm"), sorted(LIMITS))
def test_round_trip_at_the_size_limit_and_one_over(client, rsa_keys, spec, algorithm):
    md, _ = rsa_keys[spec]
    limit = LIMITS[(spec, algorithm)]
    out = client.encrypt(KeyId=md["KeyId"], Plaintext=b"p" * limit, EncryptionAlgorithm=algorithm)
    assert out["EncryptionAlgorithm"] == algorithm and out["KeyId"] == md["Arn"]
    assert len(out["CiphertextBlob"]) == int(spec[4:]) // 8  # raw OAEP output
    back = client.decrypt(KeyId=md["KeyId"], CiphertextBlob=out["CiphertextBlob"], EncryptionAlgorithm=algorithm)
    assert back["Plaintext"] == b"p" * limit and back["EncryptionAlgorithm"] == algorithm
    assert back["KeyId"] == md["Arn"] and "KeyMaterialId" not in back
    expect_error(client.encrypt, "ValidationException",
                 f"Algorithm {algorithm} and key spec {spec} cannot encrypt data larger than {limit} bytes.",
                 KeyId=md["KeyId"], Plaintext=b"p" * (limit + 1), EncryptionAlgorithm=algorithm)


@pytest.mark.parametrize("algorithm", ["RSAES_OAEP_SHA_1", "RSAES_OAEP_SHA_256"])
def test_ciphertext_made_offline_with_cryptography_decrypts(client, rsa_keys, algorithm):
    md, public_der = rsa_keys["RSA_3072"]
    blob = load_public(public_der).encrypt(b"offline secret", _oaep(algorithm))
    out = client.decrypt(KeyId=md["Arn"], CiphertextBlob=blob, EncryptionAlgorithm=algorithm)
    assert out["Plaintext"] == b"offline secret"


@pytest.mark.parametrize(("algorithm", "digest"), [("RSAES_OAEP_SHA_1", "sha1"), ("RSAES_OAEP_SHA_256", "sha256")])
def test_ciphertext_made_offline_with_openssl_decrypts(client, rsa_keys, tmp_path, algorithm, digest):
    md, public_der = rsa_keys["RSA_2048"]
    pem = write_pem_public_key(tmp_path, public_der)
    (tmp_path / "pt").write_bytes(b"made by openssl")
    done = openssl("pkeyutl", "-encrypt", "-pubin", "-inkey", str(pem), "-in", str(tmp_path / "pt"),
                   "-out", str(tmp_path / "ct"), "-pkeyopt", "rsa_padding_mode:oaep",
                   "-pkeyopt", f"rsa_oaep_md:{digest}", "-pkeyopt", f"rsa_mgf1_md:{digest}")
    assert done.returncode == 0, done.stderr
    out = client.decrypt(KeyId=md["KeyId"], CiphertextBlob=(tmp_path / "ct").read_bytes(),
                         EncryptionAlgorithm=algorithm)
    assert out["Plaintext"] == b"made by openssl"


def test_decrypt_needs_key_id_and_the_right_algorithm(client, rsa_keys):
    md, _ = rsa_keys["RSA_2048"]
    blob = client.encrypt(KeyId=md["KeyId"], Plaintext=b"x", EncryptionAlgorithm="RSAES_OAEP_SHA_256")["CiphertextBlob"]
    # without KeyId the raw OAEP output names no key: an opaque InvalidCiphertext
    expect_error(client.decrypt, "InvalidCiphertextException", CiphertextBlob=blob,
                 EncryptionAlgorithm="RSAES_OAEP_SHA_256")
    expect_error(client.decrypt, "InvalidCiphertextException", KeyId=md["KeyId"], CiphertextBlob=blob,
                 EncryptionAlgorithm="RSAES_OAEP_SHA_1")
    expect_error(client.decrypt, "InvalidKeyUsageException",
                 "Algorithm SYMMETRIC_DEFAULT is incompatible with key spec RSA_2048.",
                 KeyId=md["KeyId"], CiphertextBlob=blob)
    tampered = bytearray(blob)
    tampered[10] ^= 1
    expect_error(client.decrypt, "InvalidCiphertextException", KeyId=md["KeyId"], CiphertextBlob=bytes(tampered),
                 EncryptionAlgorithm="RSAES_OAEP_SHA_256")


def test_encrypt_errors(client, rsa_keys):
    md, _ = rsa_keys["RSA_2048"]
    expect_error(client.encrypt, "InvalidKeyUsageException",
                 "Algorithm SYMMETRIC_DEFAULT is incompatible with key spec RSA_2048.",
                 KeyId=md["KeyId"], Plaintext=b"x")
    expect_error(client.encrypt, "ValidationException", "EncryptionContext is not supported for asymmetric KMS keys.",
                 KeyId=md["KeyId"], Plaintext=b"x", EncryptionAlgorithm="RSAES_OAEP_SHA_1",
                 EncryptionContext={"a": "b"})
    sym = client.create_key()["KeyMetadata"]
    expect_error(client.encrypt, "InvalidKeyUsageException",
                 "Algorithm RSAES_OAEP_SHA_1 is incompatible with key spec SYMMETRIC_DEFAULT.",
                 KeyId=sym["KeyId"], Plaintext=b"x", EncryptionAlgorithm="RSAES_OAEP_SHA_1")
    signer = client.create_key(KeySpec="RSA_2048", KeyUsage="SIGN_VERIFY")["KeyMetadata"]
    expect_error(client.encrypt, "InvalidKeyUsageException",
                 f"{signer['Arn']} key usage is SIGN_VERIFY which is not valid for Encrypt.",
                 KeyId=signer["KeyId"], Plaintext=b"x", EncryptionAlgorithm="RSAES_OAEP_SHA_1")
    expect_error(client.decrypt, "InvalidKeyUsageException",
                 f"{signer['Arn']} key usage is SIGN_VERIFY which is not valid for Decrypt.",
                 KeyId=signer["KeyId"], CiphertextBlob=b"x" * 256, EncryptionAlgorithm="RSAES_OAEP_SHA_1")
    expect_error(client.encrypt, "DryRunOperationException",
                 "The request would have succeeded, but the DryRun option is set.",
                 KeyId=md["KeyId"], Plaintext=b"x", EncryptionAlgorithm="RSAES_OAEP_SHA_1", DryRun=True)
    expect_error(client.generate_data_key, "InvalidKeyUsageException",
                 "Algorithm SYMMETRIC_DEFAULT is incompatible with key spec RSA_2048.",
                 KeyId=md["KeyId"], KeySpec="AES_256")


def test_re_encrypt_across_key_types(client, rsa_keys):
    rsa, _ = rsa_keys["RSA_2048"]
    rsa4k, _ = rsa_keys["RSA_4096"]
    sym = client.create_key()["KeyMetadata"]
    # symmetric -> RSA
    blob = client.encrypt(KeyId=sym["KeyId"], Plaintext=b"move me", EncryptionContext={"c": "1"})["CiphertextBlob"]
    out = client.re_encrypt(CiphertextBlob=blob, SourceEncryptionContext={"c": "1"}, DestinationKeyId=rsa["KeyId"],
                            DestinationEncryptionAlgorithm="RSAES_OAEP_SHA_256")
    assert out["KeyId"] == rsa["Arn"] and out["SourceKeyId"] == sym["Arn"]
    assert out["DestinationEncryptionAlgorithm"] == "RSAES_OAEP_SHA_256" and "DestinationKeyMaterialId" not in out
    assert out["SourceKeyMaterialId"] == sym["CurrentKeyMaterialId"]
    rsa_blob = out["CiphertextBlob"]
    # RSA -> RSA (different key and algorithm)
    out = client.re_encrypt(CiphertextBlob=rsa_blob, SourceKeyId=rsa["KeyId"],
                            SourceEncryptionAlgorithm="RSAES_OAEP_SHA_256", DestinationKeyId=rsa4k["KeyId"],
                            DestinationEncryptionAlgorithm="RSAES_OAEP_SHA_1")
    assert "SourceKeyMaterialId" not in out and out["SourceEncryptionAlgorithm"] == "RSAES_OAEP_SHA_256"
    blob4k = out["CiphertextBlob"]
    # RSA -> symmetric
    out = client.re_encrypt(CiphertextBlob=blob4k, SourceKeyId=rsa4k["Arn"], SourceEncryptionAlgorithm="RSAES_OAEP_SHA_1",
                            DestinationKeyId=sym["KeyId"], DestinationEncryptionContext={"d": "2"})
    assert out["DestinationEncryptionAlgorithm"] == "SYMMETRIC_DEFAULT"
    back = client.decrypt(CiphertextBlob=out["CiphertextBlob"], EncryptionContext={"d": "2"})
    assert back["Plaintext"] == b"move me"
    # destination RSA with a plaintext too large for it
    big = client.encrypt(KeyId=sym["KeyId"], Plaintext=b"z" * 300)["CiphertextBlob"]
    expect_error(client.re_encrypt, "ValidationException",
                 "Algorithm RSAES_OAEP_SHA_256 and key spec RSA_2048 cannot encrypt data larger than 190 bytes.",
                 CiphertextBlob=big, DestinationKeyId=rsa["KeyId"], DestinationEncryptionAlgorithm="RSAES_OAEP_SHA_256")
    # destination RSA without an algorithm
    expect_error(client.re_encrypt, "InvalidKeyUsageException",
                 "Algorithm SYMMETRIC_DEFAULT is incompatible with key spec RSA_2048.",
                 CiphertextBlob=blob, SourceEncryptionContext={"c": "1"}, DestinationKeyId=rsa["KeyId"])


def test_disabled_rsa_key(client):
    md = client.create_key(KeySpec="RSA_2048", KeyUsage="ENCRYPT_DECRYPT")["KeyMetadata"]
    blob = client.encrypt(KeyId=md["KeyId"], Plaintext=b"x", EncryptionAlgorithm="RSAES_OAEP_SHA_1")["CiphertextBlob"]
    client.disable_key(KeyId=md["KeyId"])
    expect_error(client.decrypt, "DisabledException", f"{md['Arn']} is disabled.", KeyId=md["KeyId"],
                 CiphertextBlob=blob, EncryptionAlgorithm="RSAES_OAEP_SHA_1")
    expect_error(client.encrypt, "DisabledException", f"{md['Arn']} is disabled.", KeyId=md["KeyId"],
                 Plaintext=b"x", EncryptionAlgorithm="RSAES_OAEP_SHA_1")


def test_rsa_source_errors(client, rsa_keys):
    rsa, _ = rsa_keys["RSA_2048"]
    sym = client.create_key()["KeyMetadata"]
    blob = client.encrypt(KeyId=rsa["KeyId"], Plaintext=b"s", EncryptionAlgorithm="RSAES_OAEP_SHA_1")["CiphertextBlob"]
    # the source key must be named: without SourceKeyId the raw OAEP output is just junk
    expect_error(client.re_encrypt, "InvalidCiphertextException", CiphertextBlob=blob,
                 SourceEncryptionAlgorithm="RSAES_OAEP_SHA_1", DestinationKeyId=sym["KeyId"])
    expect_error(client.re_encrypt, "InvalidKeyUsageException",
                 "Algorithm SYMMETRIC_DEFAULT is incompatible with key spec RSA_2048.",
                 CiphertextBlob=blob, SourceKeyId=rsa["KeyId"], DestinationKeyId=sym["KeyId"])
    expect_error(client.decrypt, "ValidationException", "EncryptionContext is not supported for asymmetric KMS keys.",
                 KeyId=rsa["KeyId"], CiphertextBlob=blob, EncryptionAlgorithm="RSAES_OAEP_SHA_1",
                 EncryptionContext={"a": "b"})
    # a symmetric blob presented with an RSA KeyId is not RSA ciphertext
    sym_blob = client.encrypt(KeyId=sym["KeyId"], Plaintext=b"s")["CiphertextBlob"]
    expect_error(client.decrypt, "InvalidCiphertextException", KeyId=rsa["KeyId"], CiphertextBlob=sym_blob,
                 EncryptionAlgorithm="RSAES_OAEP_SHA_1")
    expect_error(client.decrypt, "DryRunOperationException",
                 "The request would have succeeded, but the DryRun option is set.",
                 KeyId=rsa["KeyId"], CiphertextBlob=blob, EncryptionAlgorithm="RSAES_OAEP_SHA_1", DryRun=True)
