"""CreateKey/DescribeKey/GetPublicKey for every KeySpec (spec §3.1, §3.7, §5.2)."""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, mldsa, rsa

from tests.wire.asymmetric_helpers import load_public
from tests.wire.helpers import expect_error

RSA_ENC = ["RSAES_OAEP_SHA_1", "RSAES_OAEP_SHA_256"]
RSA_SIGN = ["RSASSA_PKCS1_V1_5_SHA_256", "RSASSA_PKCS1_V1_5_SHA_384", "RSASSA_PKCS1_V1_5_SHA_512",
            "RSASSA_PSS_SHA_256", "RSASSA_PSS_SHA_384", "RSASSA_PSS_SHA_512"]
# (spec, usage) -> (metadata member, algorithms, public key check)
CASES = {
    ("RSA_2048", "ENCRYPT_DECRYPT"): ("EncryptionAlgorithms", RSA_ENC, (rsa.RSAPublicKey, 2048)),
    ("RSA_3072", "SIGN_VERIFY"): ("SigningAlgorithms", RSA_SIGN, (rsa.RSAPublicKey, 3072)),
    ("RSA_4096", "ENCRYPT_DECRYPT"): ("EncryptionAlgorithms", RSA_ENC, (rsa.RSAPublicKey, 4096)),
    ("RSA_4096", "SIGN_VERIFY"): ("SigningAlgorithms", RSA_SIGN, (rsa.RSAPublicKey, 4096)),
    ("ECC_NIST_P256", "SIGN_VERIFY"): ("SigningAlgorithms", ["ECDSA_SHA_256"], (ec.EllipticCurvePublicKey, "secp256r1")),
    ("ECC_NIST_P256", "KEY_AGREEMENT"): ("KeyAgreementAlgorithms", ["ECDH"], (ec.EllipticCurvePublicKey, "secp256r1")),
    ("ECC_NIST_P384", "SIGN_VERIFY"): ("SigningAlgorithms", ["ECDSA_SHA_384"], (ec.EllipticCurvePublicKey, "secp384r1")),
    ("ECC_NIST_P384", "KEY_AGREEMENT"): ("KeyAgreementAlgorithms", ["ECDH"], (ec.EllipticCurvePublicKey, "secp384r1")),
    ("ECC_NIST_P521", "SIGN_VERIFY"): ("SigningAlgorithms", ["ECDSA_SHA_512"], (ec.EllipticCurvePublicKey, "secp521r1")),
    ("ECC_NIST_P521", "KEY_AGREEMENT"): ("KeyAgreementAlgorithms", ["ECDH"], (ec.EllipticCurvePublicKey, "secp521r1")),
    ("ECC_SECG_P256K1", "SIGN_VERIFY"): ("SigningAlgorithms", ["ECDSA_SHA_256"], (ec.EllipticCurvePublicKey, "secp256k1")),
    ("ECC_NIST_EDWARDS25519", "SIGN_VERIFY"): ("SigningAlgorithms", ["ED25519_SHA_512", "ED25519_PH_SHA_512"],
                                               (ed25519.Ed25519PublicKey, None)),
    ("ML_DSA_44", "SIGN_VERIFY"): ("SigningAlgorithms", ["ML_DSA_SHAKE_256"], (mldsa.MLDSA44PublicKey, None)),
    ("ML_DSA_65", "SIGN_VERIFY"): ("SigningAlgorithms", ["ML_DSA_SHAKE_256"], (mldsa.MLDSA65PublicKey, None)),
    ("ML_DSA_87", "SIGN_VERIFY"): ("SigningAlgorithms", ["ML_DSA_SHAKE_256"], (mldsa.MLDSA87PublicKey, None)),
    ("HMAC_224", "GENERATE_VERIFY_MAC"): ("MacAlgorithms", ["HMAC_SHA_224"], None),
    ("HMAC_256", "GENERATE_VERIFY_MAC"): ("MacAlgorithms", ["HMAC_SHA_256"], None),
    ("HMAC_384", "GENERATE_VERIFY_MAC"): ("MacAlgorithms", ["HMAC_SHA_384"], None),
    ("HMAC_512", "GENERATE_VERIFY_MAC"): ("MacAlgorithms", ["HMAC_SHA_512"], None),
}
ALGORITHM_MEMBERS = {"EncryptionAlgorithms", "SigningAlgorithms", "MacAlgorithms", "KeyAgreementAlgorithms"}
NEW_SPECS = {"ECC_NIST_EDWARDS25519", "ML_DSA_44", "ML_DSA_65", "ML_DSA_87"}


@pytest.fixture(scope="module")
def client(trent_server):
    return trent_server.client()


@pytest.mark.parametrize(("spec", "usage"), sorted(CASES))
def test_create_describe_and_public_key(client, spec, usage):
    member, algorithms, public_check = CASES[(spec, usage)]
    created = client.create_key(KeySpec=spec, KeyUsage=usage, Description=f"{spec} {usage}")["KeyMetadata"]
    described = client.describe_key(KeyId=created["KeyId"])["KeyMetadata"]
    for md in (created, described):
        assert md["KeySpec"] == spec and md["KeyUsage"] == usage and md["KeyState"] == "Enabled"
        assert md[member] == algorithms
        assert not (ALGORITHM_MEMBERS - {member}) & set(md), md  # spec §5.2: only the usage's list
        assert "CurrentKeyMaterialId" not in md  # spec §5.2: symmetric keys only
        if spec in NEW_SPECS:
            assert "CustomerMasterKeySpec" not in md
        else:
            assert md["CustomerMasterKeySpec"] == spec
    if public_check is None:
        expect_error(client.get_public_key, "UnsupportedOperationException",
                     f"{created['Arn']} key spec is {spec} which is not valid for GetPublicKey.",
                     KeyId=created["KeyId"])
        return
    out = client.get_public_key(KeyId=created["KeyId"])
    assert out["KeyId"] == created["Arn"] and out["KeySpec"] == spec and out["KeyUsage"] == usage
    assert out[member] == algorithms and not (ALGORITHM_MEMBERS - {member}) & set(out)
    assert ("CustomerMasterKeySpec" in out) == (spec not in NEW_SPECS)
    public = load_public(out["PublicKey"])  # DER SubjectPublicKeyInfo
    cls, detail = public_check
    assert isinstance(public, cls)
    if cls is rsa.RSAPublicKey:
        assert public.key_size == detail
    elif cls is ec.EllipticCurvePublicKey:
        assert public.curve.name == detail
    # stable: the same public key every time
    assert client.get_public_key(KeyId=created["KeyId"])["PublicKey"] == out["PublicKey"]


def test_sm2_outside_china(client):
    for usage in ("SIGN_VERIFY", "ENCRYPT_DECRYPT", "KEY_AGREEMENT"):
        expect_error(client.create_key, "UnsupportedOperationException",
                     "KeySpec SM2 is not supported in this region. SM2 is available only in China Regions.",
                     KeySpec="SM2", KeyUsage=usage)


def test_get_public_key_on_a_symmetric_key(client):
    md = client.create_key()["KeyMetadata"]
    expect_error(client.get_public_key, "UnsupportedOperationException",
                 f"{md['Arn']} key spec is SYMMETRIC_DEFAULT which is not valid for GetPublicKey.", KeyId=md["KeyId"])


def test_private_material_is_not_in_the_database_in_clear(client, trent_server):
    """Private keys are wrapped under the root key like symmetric material: the PKCS#8
    private scalar must not appear in any file of the data dir."""
    md = client.create_key(KeySpec="ECC_NIST_P256", KeyUsage="SIGN_VERIFY")["KeyMetadata"]
    public = client.get_public_key(KeyId=md["KeyId"])["PublicKey"]
    point = public[-65:]  # the uncompressed public point; the private key would be next to it in PKCS#8
    for path in trent_server.data_dir.rglob("*"):
        if path.is_file():
            assert point not in path.read_bytes(), path


def test_key_usage_required_and_compatibility(client):
    expect_error(client.create_key, "ValidationException",
                 "You must specify a KeyUsage value for all KMS keys except for symmetric encryption keys.",
                 KeySpec="ML_DSA_65")
    expect_error(client.create_key, "ValidationException", "KeyUsage KEY_AGREEMENT is not compatible with KeySpec ML_DSA_44",
                 KeySpec="ML_DSA_44", KeyUsage="KEY_AGREEMENT")
