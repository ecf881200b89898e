"""GenerateDataKeyPair(WithoutPlaintext) over the wire for every KeyPairSpec (spec §3.6)."""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa

from tests.wire.helpers import expect_error

PAIR_SPECS = ["RSA_2048", "RSA_3072", "RSA_4096", "ECC_NIST_P256", "ECC_NIST_P384", "ECC_NIST_P521",
              "ECC_SECG_P256K1", "ECC_NIST_EDWARDS25519"]
CONTEXT = {"purpose": "data-key-pair"}


@pytest.fixture(scope="module")
def client(trent_server):
    return trent_server.client()


@pytest.fixture(scope="module")
def wrapping_key(client):
    return client.create_key()["KeyMetadata"]


def _spki(private) -> bytes:
    return private.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)


def _works(private) -> None:
    """The private key signs something its public half verifies."""
    if isinstance(private, rsa.RSAPrivateKey):
        sig = private.sign(b"m", padding.PKCS1v15(), hashes.SHA256())
        private.public_key().verify(sig, b"m", padding.PKCS1v15(), hashes.SHA256())
    elif isinstance(private, ec.EllipticCurvePrivateKey):
        private.public_key().verify(private.sign(b"m", ec.ECDSA(hashes.SHA256())), b"m", ec.ECDSA(hashes.SHA256()))
    else:
        assert isinstance(private, ed25519.Ed25519PrivateKey)
        private.public_key().verify(private.sign(b"m"), b"m")


@pytest.mark.parametrize("spec", PAIR_SPECS)
def test_pair_loads_matches_and_the_blob_decrypts(client, wrapping_key, spec):
    out = client.generate_data_key_pair(KeyId=wrapping_key["KeyId"], KeyPairSpec=spec, EncryptionContext=CONTEXT)
    assert out["KeyId"] == wrapping_key["Arn"] and out["KeyPairSpec"] == spec
    assert out["KeyMaterialId"] == wrapping_key["CurrentKeyMaterialId"]
    private = serialization.load_der_private_key(out["PrivateKeyPlaintext"], password=None)  # PKCS#8 DER
    assert _spki(private) == out["PublicKey"]
    assert serialization.load_der_public_key(out["PublicKey"]) is not None
    _works(private)
    if spec.startswith("RSA"):
        assert private.key_size == int(spec[4:])
    back = client.decrypt(CiphertextBlob=out["PrivateKeyCiphertextBlob"], EncryptionContext=CONTEXT)
    assert back["Plaintext"] == out["PrivateKeyPlaintext"] and back["KeyId"] == wrapping_key["Arn"]
    expect_error(client.decrypt, "InvalidCiphertextException", CiphertextBlob=out["PrivateKeyCiphertextBlob"])


@pytest.mark.parametrize("spec", ["ECC_NIST_P256", "ECC_NIST_EDWARDS25519", "RSA_2048"])
def test_without_plaintext(client, wrapping_key, spec):
    out = client.generate_data_key_pair_without_plaintext(KeyId=wrapping_key["KeyId"], KeyPairSpec=spec)
    assert "PrivateKeyPlaintext" not in out and out["KeyPairSpec"] == spec
    private_der = client.decrypt(CiphertextBlob=out["PrivateKeyCiphertextBlob"])["Plaintext"]
    assert _spki(serialization.load_der_private_key(private_der, password=None)) == out["PublicKey"]


def test_pairs_are_fresh(client, wrapping_key):
    a = client.generate_data_key_pair(KeyId=wrapping_key["KeyId"], KeyPairSpec="ECC_NIST_P256")
    b = client.generate_data_key_pair(KeyId=wrapping_key["KeyId"], KeyPairSpec="ECC_NIST_P256")
    assert a["PublicKey"] != b["PublicKey"]


@pytest.mark.parametrize("spec", ["SM2", "ML_KEM_512"])
def test_specs_this_region_or_build_cannot_make(client, wrapping_key, spec):
    message = ("KeyPairSpec SM2 is not supported in this region. SM2 is available only in China Regions."
               if spec == "SM2" else f"KeyPairSpec {spec} is not supported by this Trent server.")
    expect_error(client.generate_data_key_pair, "UnsupportedOperationException", message,
                 KeyId=wrapping_key["KeyId"], KeyPairSpec=spec)


def test_invalid_spec_is_a_validation_error(client, wrapping_key):
    err = expect_error(client.generate_data_key_pair, "ValidationException", KeyId=wrapping_key["KeyId"],
                       KeyPairSpec="RSA_1024")
    assert "keyPairSpec" in err["message"]


def test_wrapping_key_must_be_symmetric(client):
    rsa_key = client.create_key(KeySpec="RSA_2048", KeyUsage="ENCRYPT_DECRYPT")["KeyMetadata"]
    expect_error(client.generate_data_key_pair, "InvalidKeyUsageException",
                 "Algorithm SYMMETRIC_DEFAULT is incompatible with key spec RSA_2048.",
                 KeyId=rsa_key["KeyId"], KeyPairSpec="ECC_NIST_P256")
    mac_key = client.create_key(KeySpec="HMAC_256", KeyUsage="GENERATE_VERIFY_MAC")["KeyMetadata"]
    expect_error(client.generate_data_key_pair_without_plaintext, "InvalidKeyUsageException",
                 f"{mac_key['Arn']} key usage is GENERATE_VERIFY_MAC which is not valid for "
                 "GenerateDataKeyPairWithoutPlaintext.",
                 KeyId=mac_key["KeyId"], KeyPairSpec="ECC_NIST_P256")


def test_states_and_dry_run(client):
    md = client.create_key()["KeyMetadata"]
    expect_error(client.generate_data_key_pair, "DryRunOperationException",
                 "The request would have succeeded, but the DryRun option is set.",
                 KeyId=md["KeyId"], KeyPairSpec="ECC_NIST_P256", DryRun=True)
    client.disable_key(KeyId=md["KeyId"])
    expect_error(client.generate_data_key_pair, "DisabledException", f"{md['Arn']} is disabled.",
                 KeyId=md["KeyId"], KeyPairSpec="ECC_NIST_P256")
