"""ML-KEM keys over the wire (issue 19 §4; FIPS 203, the model's Encapsulate/Decapsulate
docs), each test stating AWS's behaviour."""

from __future__ import annotations


import pytest
from cryptography.hazmat.primitives import serialization

from tests.wire.helpers import expect_error

CT_BYTES = {"ML_KEM_768": 1088, "ML_KEM_1024": 1568}


@pytest.mark.parametrize("spec", ["ML_KEM_768", "ML_KEM_1024"])
def test_encapsulate_decapsulate_and_public_key(kms, spec):
    """AWS: CreateKey KeySpec=ML_KEM_* KeyUsage=ENCAPSULATE_DECAPSULATE lists
    EncapsulationAlgorithms [ML_KEM]; Encapsulate returns a 32-byte SharedSecret and its
    ciphertext (1088 bytes for 768, 1568 for 1024); Decapsulate recovers the secret; the
    public key from GetPublicKey encapsulates to the same key offline."""
    md = kms.create_key(KeySpec=spec, KeyUsage="ENCAPSULATE_DECAPSULATE")["KeyMetadata"]
    assert md["EncapsulationAlgorithms"] == ["ML_KEM"] and "CustomerMasterKeySpec" not in md
    out = kms.encapsulate(KeyId=md["KeyId"], EncapsulationAlgorithm="ML_KEM")
    assert out["KeyId"] == md["Arn"] and len(out["SharedSecret"]) == 32
    assert len(out["SharedSecretCiphertextBlob"]) == CT_BYTES[spec]
    back = kms.decapsulate(KeyId=md["KeyId"], SharedSecretCiphertextBlob=out["SharedSecretCiphertextBlob"],
                           EncapsulationAlgorithm="ML_KEM")
    assert back["SharedSecret"] == out["SharedSecret"] and back["KeyId"] == md["Arn"]
    public = kms.get_public_key(KeyId=md["KeyId"])
    assert public["EncapsulationAlgorithms"] == ["ML_KEM"] and public["KeyUsage"] == "ENCAPSULATE_DECAPSULATE"
    peer = serialization.load_der_public_key(public["PublicKey"])  # pyca: the other side
    secret, ciphertext = peer.encapsulate()
    assert kms.decapsulate(KeyId=md["KeyId"], SharedSecretCiphertextBlob=ciphertext,
                           EncapsulationAlgorithm="ML_KEM")["SharedSecret"] == secret


def test_decapsulate_errors_and_implicit_rejection(kms):
    """AWS: a ciphertext of the wrong length is InvalidCiphertextException; any other
    (altered) ciphertext yields a 32-byte pseudo-random value (implicit rejection); a key
    of another usage is InvalidKeyUsageException; a disabled key DisabledException."""
    md = kms.create_key(KeySpec="ML_KEM_768", KeyUsage="ENCAPSULATE_DECAPSULATE")["KeyMetadata"]
    ct = kms.encapsulate(KeyId=md["KeyId"], EncapsulationAlgorithm="ML_KEM")["SharedSecretCiphertextBlob"]
    expect_error(kms.decapsulate, "InvalidCiphertextException", KeyId=md["KeyId"],
                 SharedSecretCiphertextBlob=ct[:-1], EncapsulationAlgorithm="ML_KEM")
    altered = bytes([ct[0] ^ 1]) + ct[1:]
    assert len(kms.decapsulate(KeyId=md["KeyId"], SharedSecretCiphertextBlob=altered,
                               EncapsulationAlgorithm="ML_KEM")["SharedSecret"]) == 32
    symmetric = kms.create_key()["KeyMetadata"]
    expect_error(kms.encapsulate, "InvalidKeyUsageException",
                 f"{symmetric['Arn']} key usage is ENCRYPT_DECRYPT which is not valid for Encapsulate.",
                 KeyId=symmetric["KeyId"], EncapsulationAlgorithm="ML_KEM")
    expect_error(kms.encrypt, "InvalidKeyUsageException", KeyId=md["KeyId"], Plaintext=b"x")
    kms.disable_key(KeyId=md["KeyId"])
    expect_error(kms.encapsulate, "DisabledException", f"{md['Arn']} is disabled.",
                 KeyId=md["KeyId"], EncapsulationAlgorithm="ML_KEM")


def test_create_key_ml_kem_needs_the_right_usage(kms):
    """AWS: ML-KEM specs take only ENCAPSULATE_DECAPSULATE; the usage is not valid for others."""
    expect_error(kms.create_key, "ValidationException", "KeyUsage SIGN_VERIFY is not compatible with KeySpec ML_KEM_768",
                 KeySpec="ML_KEM_768", KeyUsage="SIGN_VERIFY")
    expect_error(kms.create_key, "ValidationException",
                 "KeyUsage ENCAPSULATE_DECAPSULATE is not compatible with KeySpec RSA_2048",
                 KeySpec="RSA_2048", KeyUsage="ENCAPSULATE_DECAPSULATE")


@pytest.mark.parametrize("spec", ["ML_KEM_768", "ML_KEM_1024"])
def test_generate_data_key_pair_ml_kem_gives_seed_format_pkcs8(kms, spec):
    """AWS: GenerateDataKeyPair with an ML-KEM KeyPairSpec returns the private key as PKCS#8
    in seed format (the same length for every ML-KEM spec) and the SPKI public key."""
    wrapping = kms.create_key()["KeyMetadata"]
    pair = kms.generate_data_key_pair(KeyId=wrapping["KeyId"], KeyPairSpec=spec)
    private = serialization.load_der_private_key(pair["PrivateKeyPlaintext"], password=None)
    assert len(pair["PrivateKeyPlaintext"]) == 86  # 22-byte PKCS#8 frame + [0] 64-byte seed
    assert private.public_key().public_bytes_raw() == serialization.load_der_public_key(pair["PublicKey"]).public_bytes_raw()
    assert kms.decrypt(CiphertextBlob=pair["PrivateKeyCiphertextBlob"])["Plaintext"] == pair["PrivateKeyPlaintext"]


def test_ml_kem_512_is_refused_as_unsupported_never_a_5xx(kms):
    """Trent does not implement ML_KEM_512 (see README): AWS's error for an unsupported
    value, UnsupportedOperationException (400), never KMSInternalException."""
    expect_error(kms.create_key, "UnsupportedOperationException", KeySpec="ML_KEM_512", KeyUsage="ENCAPSULATE_DECAPSULATE")
    wrapping = kms.create_key()["KeyMetadata"]
    expect_error(kms.generate_data_key_pair, "UnsupportedOperationException", KeyId=wrapping["KeyId"],
                 KeyPairSpec="ML_KEM_512")
