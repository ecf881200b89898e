"""Sign/Verify over the wire for every signing spec x algorithm x message type
(spec §3.3), verified offline with pyca `cryptography` and the `openssl` CLI."""

from __future__ import annotations

import hashlib

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, utils

from tests.wire.asymmetric_helpers import (
    SIGN_SPECS,
    hash_name,
    load_public,
    openssl,
    write_pem_public_key,
)
from tests.wire.helpers import expect_error

MESSAGE = b"the quick brown fox signs over the lazy dog"
CASES = [(spec, alg, mt) for spec, algs in SIGN_SPECS.items() for alg in algs for mt in ("RAW", "DIGEST")]


@pytest.fixture(scope="module")
def client(trent_server):
    return trent_server.client()


@pytest.fixture(scope="module")
def signing_keys(client):
    keys = {}
    for spec in [*SIGN_SPECS, "ECC_NIST_EDWARDS25519", "ML_DSA_44", "ML_DSA_65", "ML_DSA_87"]:
        md = client.create_key(KeySpec=spec, KeyUsage="SIGN_VERIFY")["KeyMetadata"]
        keys[spec] = (md, client.get_public_key(KeyId=md["KeyId"])["PublicKey"])
    return keys


def _hashed(algorithm: str, message: bytes) -> bytes:
    return hashlib.new(hash_name(algorithm), message).digest()


def _offline_verify(public_der: bytes, algorithm: str, message: bytes, signature: bytes) -> None:
    public = load_public(public_der)
    h = {"256": hashes.SHA256, "384": hashes.SHA384, "512": hashes.SHA512}[algorithm[-3:]]()
    if algorithm.startswith("ECDSA"):
        public.verify(signature, message, ec.ECDSA(h))
    elif algorithm.startswith("RSASSA_PSS"):
        public.verify(signature, message, padding.PSS(padding.MGF1(h), h.digest_size), h)
    else:
        public.verify(signature, message, padding.PKCS1v15(), h)


def _openssl_verify(tmp_path, public_der: bytes, algorithm: str, message: bytes, signature: bytes) -> None:
    pem = write_pem_public_key(tmp_path, public_der)
    (tmp_path / "msg").write_bytes(message)
    (tmp_path / "sig").write_bytes(signature)
    opts: list[str] = []
    if algorithm.startswith("RSASSA_PSS"):
        opts = ["-sigopt", "rsa_padding_mode:pss", "-sigopt", f"rsa_pss_saltlen:{int(algorithm[-3:]) // 8}"]
    done = openssl("dgst", f"-{hash_name(algorithm)}", *opts, "-verify", str(pem),
                   "-signature", str(tmp_path / "sig"), str(tmp_path / "msg"))
    assert done.returncode == 0 and b"Verified OK" in done.stdout, (done.stdout, done.stderr)


@pytest.mark.parametrize(("spec", "algorithm", "message_type"), CASES)
def test_sign_verify_every_algorithm(client, signing_keys, tmp_path, spec, algorithm, message_type):
    md, public_der = signing_keys[spec]
    message = MESSAGE if message_type == "RAW" else _hashed(algorithm, MESSAGE)
    out = client.sign(KeyId=md["KeyId"], Message=message, MessageType=message_type, SigningAlgorithm=algorithm)
    assert out["KeyId"] == md["Arn"] and out["SigningAlgorithm"] == algorithm
    signature = out["Signature"]
    # DIGEST means "already hashed": the signature must be over MESSAGE, hashed once.
    _offline_verify(public_der, algorithm, MESSAGE, signature)
    _openssl_verify(tmp_path, public_der, algorithm, MESSAGE, signature)
    ok = client.verify(KeyId=md["KeyId"], Message=message, MessageType=message_type, Signature=signature,
                       SigningAlgorithm=algorithm)
    assert ok["SignatureValid"] is True and ok["KeyId"] == md["Arn"] and ok["SigningAlgorithm"] == algorithm
    if spec.startswith("RSA"):
        assert len(signature) == int(spec[4:]) // 8


def test_default_message_type_is_raw(client, signing_keys):
    md, public_der = signing_keys["ECC_NIST_P256"]
    sig = client.sign(KeyId=md["KeyId"], Message=MESSAGE, SigningAlgorithm="ECDSA_SHA_256")["Signature"]
    _offline_verify(public_der, "ECDSA_SHA_256", MESSAGE, sig)


def test_offline_signature_verifies_in_trent(client, signing_keys):
    """Verify is the inverse of the public key, not just of our own Sign: a signature over
    a prehashed digest verified offline with Prehashed, then by Trent."""
    md, public_der = signing_keys["ECC_NIST_P384"]
    digest = hashlib.sha384(MESSAGE).digest()
    sig = client.sign(KeyId=md["KeyId"], Message=digest, MessageType="DIGEST", SigningAlgorithm="ECDSA_SHA_384")
    load_public(public_der).verify(sig["Signature"], digest, ec.ECDSA(utils.Prehashed(hashes.SHA384())))
    assert client.verify(KeyId=md["KeyId"], Message=MESSAGE, Signature=sig["Signature"],
                         SigningAlgorithm="ECDSA_SHA_384")["SignatureValid"]


def test_ed25519_raw(client, signing_keys, tmp_path):
    md, public_der = signing_keys["ECC_NIST_EDWARDS25519"]
    sig = client.sign(KeyId=md["KeyId"], Message=MESSAGE, MessageType="RAW", SigningAlgorithm="ED25519_SHA_512")
    signature = sig["Signature"]
    assert len(signature) == 64
    load_public(public_der).verify(signature, MESSAGE)
    pem = write_pem_public_key(tmp_path, public_der)
    (tmp_path / "msg").write_bytes(MESSAGE)
    (tmp_path / "sig").write_bytes(signature)
    done = openssl("pkeyutl", "-verify", "-pubin", "-inkey", str(pem), "-rawin", "-in", str(tmp_path / "msg"),
                   "-sigfile", str(tmp_path / "sig"))
    assert done.returncode == 0 and b"Signature Verified Successfully" in done.stdout, (done.stdout, done.stderr)
    assert client.verify(KeyId=md["KeyId"], Message=MESSAGE, Signature=signature,
                         SigningAlgorithm="ED25519_SHA_512")["SignatureValid"]


def test_ed25519ph_digest(client, signing_keys):
    """ED25519_PH_SHA_512 takes the SHA-512 prehash (RFC 8032 Ed25519ph, empty context).
    Checked with Trent's Verify and with the RFC reference arithmetic (unit-tested against
    RFC 8032 §7.3); openssl 3.0 and pyca cannot verify Ed25519ph."""
    from trent.crypto import ed25519ph

    md, public_der = signing_keys["ECC_NIST_EDWARDS25519"]
    prehash = hashlib.sha512(MESSAGE).digest()
    sig = client.sign(KeyId=md["KeyId"], Message=prehash, MessageType="DIGEST",
                      SigningAlgorithm="ED25519_PH_SHA_512")["Signature"]
    raw_public = public_der[-32:]
    assert ed25519ph.verify(raw_public, prehash, sig)
    assert client.verify(KeyId=md["KeyId"], Message=prehash, MessageType="DIGEST", Signature=sig,
                         SigningAlgorithm="ED25519_PH_SHA_512")["SignatureValid"]
    # a pure-Ed25519 signature over the digest is a different thing and must not verify
    pure = client.sign(KeyId=md["KeyId"], Message=prehash, SigningAlgorithm="ED25519_SHA_512")["Signature"]
    expect_error(client.verify, "KMSInvalidSignatureException", KeyId=md["KeyId"], Message=prehash,
                 MessageType="DIGEST", Signature=pure, SigningAlgorithm="ED25519_PH_SHA_512")


@pytest.mark.parametrize(("spec", "signature_len", "public_len"),
                         [("ML_DSA_44", 2420, 1312), ("ML_DSA_65", 3309, 1952), ("ML_DSA_87", 4627, 2592)])
def test_ml_dsa_raw_and_external_mu(client, signing_keys, spec, signature_len, public_len):
    from cryptography.hazmat.primitives.asymmetric import mldsa

    md, public_der = signing_keys[spec]
    public = load_public(public_der)
    assert len(public.public_bytes_raw()) == public_len
    sig = client.sign(KeyId=md["KeyId"], Message=MESSAGE, SigningAlgorithm="ML_DSA_SHAKE_256")["Signature"]
    assert len(sig) == signature_len
    public.verify(sig, MESSAGE)  # pure ML-DSA, empty context (FIPS 204)
    # EXTERNAL_MU: mu = SHAKE256(SHAKE256(pk, 64) || 0x00 || 0x00 || M, 64) (spec §3.3)
    tr = hashlib.shake_256(public.public_bytes_raw()).digest(64)
    mu = hashlib.shake_256(tr + b"\x00\x00" + MESSAGE).digest(64)
    sig_mu = client.sign(KeyId=md["KeyId"], Message=mu, MessageType="EXTERNAL_MU",
                         SigningAlgorithm="ML_DSA_SHAKE_256")["Signature"]
    public.verify(sig_mu, MESSAGE)  # a signature over mu is a signature over the message
    assert client.verify(KeyId=md["KeyId"], Message=MESSAGE, Signature=sig_mu,
                         SigningAlgorithm="ML_DSA_SHAKE_256")["SignatureValid"]
    assert client.verify(KeyId=md["KeyId"], Message=mu, MessageType="EXTERNAL_MU", Signature=sig,
                         SigningAlgorithm="ML_DSA_SHAKE_256")["SignatureValid"]
    assert isinstance(public, (mldsa.MLDSA44PublicKey, mldsa.MLDSA65PublicKey, mldsa.MLDSA87PublicKey))


# --- errors ---------------------------------------------------------------------------


@pytest.mark.parametrize(("spec", "algorithm", "bad_len"), [
    ("RSA_2048", "RSASSA_PSS_SHA_256", 31), ("RSA_2048", "RSASSA_PKCS1_V1_5_SHA_384", 32),
    ("ECC_NIST_P256", "ECDSA_SHA_256", 33), ("ECC_NIST_P521", "ECDSA_SHA_512", 48),
    ("ECC_NIST_EDWARDS25519", "ED25519_PH_SHA_512", 32), ("ML_DSA_44", "ML_DSA_SHAKE_256", 32),
])
def test_digest_length_checked_on_sign_and_verify(client, signing_keys, spec, algorithm, bad_len):
    md, _ = signing_keys[spec]
    message_type = "EXTERNAL_MU" if spec.startswith("ML_DSA") else "DIGEST"
    text = f"Digest is invalid length for algorithm {algorithm}."
    expect_error(client.sign, "ValidationException", text, KeyId=md["KeyId"], Message=b"d" * bad_len,
                 MessageType=message_type, SigningAlgorithm=algorithm)
    expect_error(client.verify, "ValidationException", text, KeyId=md["KeyId"], Message=b"d" * bad_len,
                 MessageType=message_type, Signature=b"s" * 64, SigningAlgorithm=algorithm)


@pytest.mark.parametrize(("spec", "algorithm", "message_type"), [
    ("ECC_NIST_EDWARDS25519", "ED25519_SHA_512", "DIGEST"),
    ("ECC_NIST_EDWARDS25519", "ED25519_PH_SHA_512", "RAW"),
    ("ML_DSA_65", "ML_DSA_SHAKE_256", "DIGEST"),
    ("ECC_NIST_P256", "ECDSA_SHA_256", "EXTERNAL_MU"),
    ("RSA_2048", "RSASSA_PSS_SHA_256", "EXTERNAL_MU"),
])
def test_message_type_not_valid_for_algorithm(client, signing_keys, spec, algorithm, message_type):
    md, _ = signing_keys[spec]
    expect_error(client.sign, "ValidationException",
                 f"MessageType {message_type} is not valid for signing algorithm {algorithm}.",
                 KeyId=md["KeyId"], Message=b"m" * 64, MessageType=message_type, SigningAlgorithm=algorithm)


@pytest.mark.parametrize(("spec", "algorithm"), [
    ("ECC_NIST_P256", "ECDSA_SHA_384"), ("ECC_NIST_P384", "RSASSA_PSS_SHA_256"),
    ("RSA_2048", "ECDSA_SHA_256"), ("ECC_NIST_EDWARDS25519", "ML_DSA_SHAKE_256"),
    ("ML_DSA_44", "ED25519_SHA_512"),
])
def test_algorithm_not_in_key_spec(client, signing_keys, spec, algorithm):
    md, _ = signing_keys[spec]
    for call, extra in ((client.sign, {}), (client.verify, {"Signature": b"s" * 64})):
        expect_error(call, "InvalidKeyUsageException", f"Algorithm {algorithm} is incompatible with key spec {spec}.",
                     KeyId=md["KeyId"], Message=MESSAGE, SigningAlgorithm=algorithm, **extra)


def test_bad_signature_is_an_exception_not_false(client, signing_keys):
    md, _ = signing_keys["ECC_NIST_P256"]
    sig = bytearray(client.sign(KeyId=md["KeyId"], Message=MESSAGE, SigningAlgorithm="ECDSA_SHA_256")["Signature"])
    for bad, message in ((b"junk", MESSAGE), (bytes(sig[:-1]) + bytes([sig[-1] ^ 1]), MESSAGE),
                         (bytes(sig), MESSAGE + b"!")):
        err = expect_error(client.verify, "KMSInvalidSignatureException", KeyId=md["KeyId"], Message=message,
                           Signature=bad, SigningAlgorithm="ECDSA_SHA_256")
        assert err["message"] == ""  # spec §1.3: no message


def test_wrong_usage(client, signing_keys):
    sym = client.create_key()["KeyMetadata"]
    for call, extra in ((client.sign, {}), (client.verify, {"Signature": b"s"})):
        op = "Sign" if call == client.sign else "Verify"
        expect_error(call, "InvalidKeyUsageException",
                     f"{sym['Arn']} key usage is ENCRYPT_DECRYPT which is not valid for {op}.",
                     KeyId=sym["KeyId"], Message=MESSAGE, SigningAlgorithm="ECDSA_SHA_256", **extra)
    agree = client.create_key(KeySpec="ECC_NIST_P256", KeyUsage="KEY_AGREEMENT")["KeyMetadata"]
    expect_error(client.sign, "InvalidKeyUsageException",
                 f"{agree['Arn']} key usage is KEY_AGREEMENT which is not valid for Sign.",
                 KeyId=agree["KeyId"], Message=MESSAGE, SigningAlgorithm="ECDSA_SHA_256")


def test_signing_key_states_and_dry_run(client):
    md = client.create_key(KeySpec="ECC_NIST_P256", KeyUsage="SIGN_VERIFY")["KeyMetadata"]
    expect_error(client.sign, "DryRunOperationException",
                 "The request would have succeeded, but the DryRun option is set.",
                 KeyId=md["KeyId"], Message=MESSAGE, SigningAlgorithm="ECDSA_SHA_256", DryRun=True)
    client.disable_key(KeyId=md["KeyId"])
    expect_error(client.sign, "DisabledException", f"{md['Arn']} is disabled.",
                 KeyId=md["KeyId"], Message=MESSAGE, SigningAlgorithm="ECDSA_SHA_256")
    expect_error(client.get_public_key, "DisabledException", f"{md['Arn']} is disabled.", KeyId=md["KeyId"])
    client.schedule_key_deletion(KeyId=md["KeyId"], PendingWindowInDays=7)
    expect_error(client.verify, "KMSInvalidStateException", f"{md['Arn']} is pending deletion.",
                 KeyId=md["KeyId"], Message=MESSAGE, Signature=b"s", SigningAlgorithm="ECDSA_SHA_256")


def test_sign_by_alias(client, signing_keys):
    md, public_der = signing_keys["ECC_SECG_P256K1"]
    client.create_alias(AliasName="alias/signing-k1", TargetKeyId=md["KeyId"])
    out = client.sign(KeyId="alias/signing-k1", Message=MESSAGE, SigningAlgorithm="ECDSA_SHA_256")
    assert out["KeyId"] == md["Arn"]
    _offline_verify(public_der, "ECDSA_SHA_256", MESSAGE, out["Signature"])
