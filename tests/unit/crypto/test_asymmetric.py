"""crypto.private_keys / signing / rsa_oaep / ecdh / mac: pure functions on key bytes."""

from __future__ import annotations

import hashlib
import hmac

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from trent.crypto import ecdh, mac, private_keys, rsa_oaep, signing

SIGN_CASES = [
    ("RSA_2048", "RSASSA_PSS_SHA_256", "RAW"), ("RSA_2048", "RSASSA_PKCS1_V1_5_SHA_512", "DIGEST"),
    ("ECC_NIST_P256", "ECDSA_SHA_256", "RAW"), ("ECC_NIST_P384", "ECDSA_SHA_384", "DIGEST"),
    ("ECC_SECG_P256K1", "ECDSA_SHA_256", "DIGEST"), ("ECC_NIST_EDWARDS25519", "ED25519_SHA_512", "RAW"),
    ("ECC_NIST_EDWARDS25519", "ED25519_PH_SHA_512", "DIGEST"), ("ML_DSA_44", "ML_DSA_SHAKE_256", "RAW"),
    ("ML_DSA_87", "ML_DSA_SHAKE_256", "EXTERNAL_MU"),
]


@pytest.mark.parametrize(("spec", "algorithm", "message_type"), SIGN_CASES)
def test_sign_verify_round_trip(spec, algorithm, message_type):
    private = private_keys.load(private_keys.generate(spec))
    message = b"m" * (signing.DIGEST_LENGTHS[algorithm] if message_type != "RAW" else 100)
    sig = signing.sign(private, algorithm, message_type, message)
    assert signing.verify(private, algorithm, message_type, message, sig)
    assert not signing.verify(private, algorithm, message_type, message[:-1] + b"n", sig)
    assert not signing.verify(private, algorithm, message_type, message, b"junk")


def test_generate_pair_is_pkcs8_and_spki():
    der, spki = private_keys.generate_pair("ECC_NIST_P521")
    key = serialization.load_der_private_key(der, password=None)
    assert key.public_key().public_bytes(serialization.Encoding.DER,
                                         serialization.PublicFormat.SubjectPublicKeyInfo) == spki
    with pytest.raises(private_keys.UnsupportedSpec):
        private_keys.generate("SM2")


@pytest.mark.parametrize(("bits", "algorithm", "limit"), [(2048, "RSAES_OAEP_SHA_1", 214), (2048, "RSAES_OAEP_SHA_256", 190),
                                                           (3072, "RSAES_OAEP_SHA_1", 342), (4096, "RSAES_OAEP_SHA_256", 446)])
def test_oaep_limits(bits, algorithm, limit):
    assert rsa_oaep.max_plaintext(bits // 8, algorithm) == limit


def test_oaep_round_trip_and_opaque_failure():
    private = private_keys.load(private_keys.generate("RSA_2048"))
    ct = rsa_oaep.encrypt(private, "RSAES_OAEP_SHA_256", b"x" * 190)
    assert rsa_oaep.decrypt(private, "RSAES_OAEP_SHA_256", ct) == b"x" * 190
    with pytest.raises(rsa_oaep.OaepError) as info:
        rsa_oaep.decrypt(private, "RSAES_OAEP_SHA_1", ct)
    assert str(info.value) == ""
    with pytest.raises(rsa_oaep.OaepError):
        rsa_oaep.decrypt(private, "RSAES_OAEP_SHA_256", b"short")


def test_ecdh_matches_pyca_and_refuses_other_curves():
    private = private_keys.load(private_keys.generate("ECC_NIST_P256"))
    peer = ec.generate_private_key(ec.SECP256R1())
    spki = peer.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    assert ecdh.derive(private, spki) == peer.exchange(ec.ECDH(), private.public_key())
    other = ec.generate_private_key(ec.SECP384R1()).public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    for bad in (other, b"", b"\x30\x00", spki[:-1]):
        with pytest.raises(ecdh.PeerKeyError):
            ecdh.derive(private, bad)


@pytest.mark.parametrize(("algorithm", "name"), [("HMAC_SHA_224", "sha224"), ("HMAC_SHA_256", "sha256"),
                                                  ("HMAC_SHA_384", "sha384"), ("HMAC_SHA_512", "sha512")])
def test_mac_is_rfc2104(algorithm, name):
    key = bytes(range(64))
    tag = mac.generate(algorithm, key, b"message")
    assert tag == hmac.new(key, b"message", getattr(hashlib, name)).digest()
    assert mac.verify(algorithm, key, b"message", tag)
    assert not mac.verify(algorithm, key, b"message", tag[:-1] + bytes([tag[-1] ^ 1]))
    assert not mac.verify(algorithm, key, b"message", tag[:-1])
