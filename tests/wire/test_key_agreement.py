"""DeriveSharedSecret over the wire (spec §3.5): the secret equals what
`openssl pkeyutl -derive` computes from the peer's private key and Trent's public key."""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519

from tests.wire.asymmetric_helpers import load_public, openssl, write_pem_public_key
from tests.wire.helpers import expect_error

CURVES = {"ECC_NIST_P256": (ec.SECP256R1, 32), "ECC_NIST_P384": (ec.SECP384R1, 48),
          "ECC_NIST_P521": (ec.SECP521R1, 66)}


@pytest.fixture(scope="module")
def client(trent_server):
    return trent_server.client()


@pytest.fixture(scope="module")
def agreement_keys(client):
    return {spec: client.create_key(KeySpec=spec, KeyUsage="KEY_AGREEMENT")["KeyMetadata"] for spec in CURVES}


def _spki(public) -> bytes:
    return public.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)


@pytest.mark.parametrize("spec", sorted(CURVES))
def test_secret_matches_openssl_derive(client, agreement_keys, tmp_path, spec):
    curve, length = CURVES[spec]
    md = agreement_keys[spec]
    public = client.get_public_key(KeyId=md["KeyId"])
    assert public["KeyUsage"] == "KEY_AGREEMENT" and public["KeyAgreementAlgorithms"] == ["ECDH"]
    peer = ec.generate_private_key(curve())
    out = client.derive_shared_secret(KeyId=md["KeyId"], KeyAgreementAlgorithm="ECDH", PublicKey=_spki(peer.public_key()))
    assert out["KeyId"] == md["Arn"] and out["KeyAgreementAlgorithm"] == "ECDH" and out["KeyOrigin"] == "AWS_KMS"
    secret = out["SharedSecret"]
    assert len(secret) == length
    # pyca, from the peer's side
    assert peer.exchange(ec.ECDH(), load_public(public["PublicKey"])) == secret
    # openssl, from the peer's side
    peer_pem = tmp_path / "peer.pem"
    peer_pem.write_bytes(peer.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                            serialization.NoEncryption()))
    trent_pem = write_pem_public_key(tmp_path, public["PublicKey"])
    done = openssl("pkeyutl", "-derive", "-inkey", str(peer_pem), "-peerkey", str(trent_pem))
    assert done.returncode == 0, done.stderr
    assert done.stdout == secret


def test_bad_peer_keys_are_message_less_validation_errors(client, agreement_keys):
    md = agreement_keys["ECC_NIST_P256"]
    other_curve = _spki(ec.generate_private_key(ec.SECP384R1()).public_key())
    edwards = _spki(ed25519.Ed25519PrivateKey.generate().public_key())
    for bad in (b"not a key", other_curve, edwards, other_curve[:-3]):
        err = expect_error(client.derive_shared_secret, "ValidationException", KeyId=md["KeyId"],
                           KeyAgreementAlgorithm="ECDH", PublicKey=bad)
        assert err["message"] == ""


def test_wrong_usage_and_wrong_algorithm(client, agreement_keys):
    signer = client.create_key(KeySpec="ECC_NIST_P256", KeyUsage="SIGN_VERIFY")["KeyMetadata"]
    peer = _spki(ec.generate_private_key(ec.SECP256R1()).public_key())
    expect_error(client.derive_shared_secret, "InvalidKeyUsageException",
                 f"{signer['Arn']} key usage is SIGN_VERIFY which is not valid for DeriveSharedSecret.",
                 KeyId=signer["KeyId"], KeyAgreementAlgorithm="ECDH", PublicKey=peer)
    err = expect_error(client.derive_shared_secret, "ValidationException", KeyId=agreement_keys["ECC_NIST_P256"]["KeyId"],
                       KeyAgreementAlgorithm="X25519", PublicKey=peer)
    assert "keyAgreementAlgorithm" in err["message"]
    md = agreement_keys["ECC_NIST_P384"]
    expect_error(client.sign, "InvalidKeyUsageException",
                 f"{md['Arn']} key usage is KEY_AGREEMENT which is not valid for Sign.",
                 KeyId=md["KeyId"], Message=b"m", SigningAlgorithm="ECDSA_SHA_384")


def test_agreement_states_and_dry_run(client):
    md = client.create_key(KeySpec="ECC_NIST_P256", KeyUsage="KEY_AGREEMENT")["KeyMetadata"]
    peer = _spki(ec.generate_private_key(ec.SECP256R1()).public_key())
    expect_error(client.derive_shared_secret, "DryRunOperationException",
                 "The request would have succeeded, but the DryRun option is set.",
                 KeyId=md["KeyId"], KeyAgreementAlgorithm="ECDH", PublicKey=peer, DryRun=True)
    client.disable_key(KeyId=md["KeyId"])
    expect_error(client.derive_shared_secret, "DisabledException", f"{md['Arn']} is disabled.",
                 KeyId=md["KeyId"], KeyAgreementAlgorithm="ECDH", PublicKey=peer)
