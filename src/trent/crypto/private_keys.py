"""Asymmetric key pairs as bytes: generate (PKCS#8 DER), parse, public key (SPKI DER).

Specs are named by their KMS strings (spec §3.1, §3.6 KeyPairSpec) so this layer-0
module needs nothing from ``trent.domain``. Parsed keys are opaque handles to callers
above this package: only ``trent.crypto`` touches pyca `cryptography` types.
"""

from __future__ import annotations

from types import MappingProxyType
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, mldsa, mlkem, rsa

_NO_ENCRYPTION = serialization.NoEncryption()
_PKCS8 = serialization.PrivateFormat.PKCS8
_DER = serialization.Encoding.DER
_SPKI = serialization.PublicFormat.SubjectPublicKeyInfo

RSA_BITS: MappingProxyType[str, int] = MappingProxyType({"RSA_2048": 2048, "RSA_3072": 3072, "RSA_4096": 4096})
CURVES: MappingProxyType[str, type[ec.EllipticCurve]] = MappingProxyType(
    {
        "ECC_NIST_P256": ec.SECP256R1,
        "ECC_NIST_P384": ec.SECP384R1,
        "ECC_NIST_P521": ec.SECP521R1,
        "ECC_SECG_P256K1": ec.SECP256K1,
    }
)
_ML_DSA: MappingProxyType[str, Any] = MappingProxyType(
    {"ML_DSA_44": mldsa.MLDSA44PrivateKey, "ML_DSA_65": mldsa.MLDSA65PrivateKey, "ML_DSA_87": mldsa.MLDSA87PrivateKey}
)

PrivateKey = Any  # an opaque pyca private key object


class UnsupportedSpec(Exception):
    """This build cannot generate keys of that spec."""


# FIPS 203 through pyca (OpenSSL); pyca has no ML-KEM-512. PKCS#8 is AWS's seed format
# (the 64-byte seed d||z), so every ML-KEM private key is the same length (model docs).
_ML_KEM: MappingProxyType[str, Any] = MappingProxyType(
    {"ML_KEM_768": mlkem.MLKEM768PrivateKey, "ML_KEM_1024": mlkem.MLKEM1024PrivateKey}
)


def supported_specs() -> frozenset[str]:
    return frozenset(RSA_BITS) | frozenset(CURVES) | frozenset(_ML_DSA) | frozenset(_ML_KEM) | {"ECC_NIST_EDWARDS25519"}


def generate(spec: str) -> bytes:
    """A fresh private key of ``spec`` as PKCS#8 DER (PrivateKeyInfo)."""
    key: PrivateKey
    if spec in RSA_BITS:
        key = rsa.generate_private_key(public_exponent=65537, key_size=RSA_BITS[spec])
    elif spec in CURVES:
        key = ec.generate_private_key(CURVES[spec]())
    elif spec == "ECC_NIST_EDWARDS25519":
        key = ed25519.Ed25519PrivateKey.generate()
    elif spec in _ML_DSA:
        key = _ML_DSA[spec].generate()
    elif spec in _ML_KEM:
        key = _ML_KEM[spec].generate()
    else:
        raise UnsupportedSpec(spec)
    return bytes(key.private_bytes(_DER, _PKCS8, _NO_ENCRYPTION))


def generate_pair(spec: str) -> tuple[bytes, bytes]:
    """(PKCS#8 DER private key, SPKI DER public key): GenerateDataKeyPair (spec §3.6)."""
    der = generate(spec)
    return der, public_key_der(load(der))


def load(pkcs8_der: bytes) -> PrivateKey:
    return serialization.load_der_private_key(pkcs8_der, password=None)


def public_key_der(private: PrivateKey) -> bytes:
    """DER SubjectPublicKeyInfo, what GetPublicKey returns (spec §3.7)."""
    return bytes(private.public_key().public_bytes(_DER, _SPKI))

