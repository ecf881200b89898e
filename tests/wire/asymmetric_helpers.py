"""Shared bits for the asymmetric wire tests: offline verification with tools Trent
did not write (pyca `cryptography` and the `openssl` command line)."""

from __future__ import annotations

import subprocess
from pathlib import Path

from cryptography.hazmat.primitives import serialization

RSA_SIGNING = ["RSASSA_PKCS1_V1_5_SHA_256", "RSASSA_PKCS1_V1_5_SHA_384", "RSASSA_PKCS1_V1_5_SHA_512",
               "RSASSA_PSS_SHA_256", "RSASSA_PSS_SHA_384", "RSASSA_PSS_SHA_512"]
SIGN_SPECS = {
    "RSA_2048": RSA_SIGNING,
    "RSA_3072": RSA_SIGNING,
    "RSA_4096": RSA_SIGNING,
    "ECC_NIST_P256": ["ECDSA_SHA_256"],
    "ECC_NIST_P384": ["ECDSA_SHA_384"],
    "ECC_NIST_P521": ["ECDSA_SHA_512"],
    "ECC_SECG_P256K1": ["ECDSA_SHA_256"],
}


def openssl(*args: str, stdin: bytes | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(["openssl", *args], input=stdin, capture_output=True, check=False)


def write_pem_public_key(tmp: Path, der: bytes) -> Path:
    """Convert GetPublicKey's DER with openssl itself (not with our code)."""
    der_path, pem_path = tmp / "pub.der", tmp / "pub.pem"
    der_path.write_bytes(der)
    done = openssl("pkey", "-pubin", "-inform", "DER", "-in", str(der_path), "-out", str(pem_path))
    assert done.returncode == 0, done.stderr
    return pem_path


def load_public(der: bytes):
    return serialization.load_der_public_key(der)


def hash_name(algorithm: str) -> str:
    return "sha" + algorithm[-3:]
