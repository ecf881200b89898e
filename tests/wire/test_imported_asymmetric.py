"""Issue 3 operations on imported (Origin EXTERNAL) HMAC and asymmetric keys: the MAC
equals Python's `hmac` over the imported bytes, GetPublicKey is derived from the
imported private key, signatures verify under it, and a deleted material is PIMP."""

from __future__ import annotations

import hashlib
import hmac
import os

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa

from tests.wire.helpers import expect_error
from tests.wire.import_helpers import import_material


@pytest.fixture(scope="module")
def client(trent_server):
    return trent_server.client()


def _pkcs8(private) -> bytes:
    return private.private_bytes(serialization.Encoding.DER, serialization.PrivateFormat.PKCS8,
                                 serialization.NoEncryption())


def _spki(private) -> bytes:
    return private.public_key().public_bytes(serialization.Encoding.DER,
                                             serialization.PublicFormat.SubjectPublicKeyInfo)


@pytest.mark.parametrize(("spec", "algorithm", "digest", "length"), [
    ("HMAC_224", "HMAC_SHA_224", hashlib.sha224, 28), ("HMAC_256", "HMAC_SHA_256", hashlib.sha256, 64),
    ("HMAC_384", "HMAC_SHA_384", hashlib.sha384, 48), ("HMAC_512", "HMAC_SHA_512", hashlib.sha512, 128),
])
def test_generate_mac_equals_python_hmac(client, spec, algorithm, digest, length):
    md = client.create_key(KeySpec=spec, KeyUsage="GENERATE_VERIFY_MAC", Origin="EXTERNAL")["KeyMetadata"]
    material = os.urandom(length)
    import_material(client, md["KeyId"], material)
    for message in (b"m", os.urandom(4096)):
        tag = client.generate_mac(KeyId=md["KeyId"], Message=message, MacAlgorithm=algorithm)["Mac"]
        assert tag == hmac.new(material, message, digest).digest()
        assert client.verify_mac(KeyId=md["KeyId"], Message=message, MacAlgorithm=algorithm, Mac=tag)["MacValid"]


def test_imported_ecc_key_signs_with_the_imported_private_key(client):
    private = ec.generate_private_key(ec.SECP256R1())
    md = client.create_key(KeySpec="ECC_NIST_P256", KeyUsage="SIGN_VERIFY", Origin="EXTERNAL")["KeyMetadata"]
    expect_error(client.sign, "KMSInvalidStateException", f"{md['Arn']} is pending import.",
                 KeyId=md["KeyId"], Message=b"m", SigningAlgorithm="ECDSA_SHA_256")
    import_material(client, md["KeyId"], _pkcs8(private))
    assert client.get_public_key(KeyId=md["KeyId"])["PublicKey"] == _spki(private)
    sig = client.sign(KeyId=md["KeyId"], Message=b"imported", SigningAlgorithm="ECDSA_SHA_256")["Signature"]
    private.public_key().verify(sig, b"imported", ec.ECDSA(hashes.SHA256()))
    client.delete_imported_key_material(KeyId=md["KeyId"])
    expect_error(client.sign, "KMSInvalidStateException", f"{md['Arn']} is pending import.",
                 KeyId=md["KeyId"], Message=b"m", SigningAlgorithm="ECDSA_SHA_256")


def test_imported_rsa_key_decrypts_offline_ciphertext(client):
    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    md = client.create_key(KeySpec="RSA_2048", KeyUsage="ENCRYPT_DECRYPT", Origin="EXTERNAL")["KeyMetadata"]
    # an RSA PKCS#8 blob is too long for bare OAEP: AES key wrap, as the AWS guide says
    import_material(client, md["KeyId"], _pkcs8(private), algorithm="RSA_AES_KEY_WRAP_SHA_256")
    oaep = padding.OAEP(mgf=padding.MGF1(hashes.SHA256()), algorithm=hashes.SHA256(), label=None)
    blob = private.public_key().encrypt(b"to the imported key", oaep)
    out = client.decrypt(KeyId=md["KeyId"], CiphertextBlob=blob, EncryptionAlgorithm="RSAES_OAEP_SHA_256")
    assert out["Plaintext"] == b"to the imported key"
    theirs = client.encrypt(KeyId=md["KeyId"], Plaintext=b"back", EncryptionAlgorithm="RSAES_OAEP_SHA_256")
    assert private.decrypt(theirs["CiphertextBlob"], oaep) == b"back"


def test_imported_key_agreement_key(client):
    private = ec.generate_private_key(ec.SECP384R1())
    md = client.create_key(KeySpec="ECC_NIST_P384", KeyUsage="KEY_AGREEMENT", Origin="EXTERNAL")["KeyMetadata"]
    import_material(client, md["KeyId"], _pkcs8(private))
    peer = ec.generate_private_key(ec.SECP384R1())
    out = client.derive_shared_secret(KeyId=md["KeyId"], KeyAgreementAlgorithm="ECDH", PublicKey=_spki(peer))
    assert out["SharedSecret"] == peer.exchange(ec.ECDH(), private.public_key())
    assert out["KeyOrigin"] == "EXTERNAL"
