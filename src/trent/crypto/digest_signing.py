"""SHA256withRSA for CloudTrail digest files (issue 16, spec cloudtrail.md §2-§3).

CloudTrail signs digests with RSA 2048, RSASSA-PKCS1-v1_5 over SHA-256 ("SHA256withRSA"),
and publishes the public key as a DER PKCS#1 ``RSAPublicKey`` identified by a 32 hex
digit fingerprint. Trent's fingerprint is the first 16 bytes of SHA-256 of that DER.
"""

from __future__ import annotations

import base64
import hashlib

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from trent.crypto import private_keys

KEY_SPEC = "RSA_2048"
ALGORITHM = "SHA256withRSA"


def fingerprint(public_pkcs1_der: bytes) -> str:
    return hashlib.sha256(public_pkcs1_der).digest()[:16].hex()


def generate() -> tuple[bytes, bytes]:
    """A new key pair: (PKCS#8 DER private key, PKCS#1 DER public key)."""
    pkcs8 = private_keys.generate(KEY_SPEC)
    return pkcs8, public_pkcs1(private_keys.load(pkcs8))


def public_pkcs1(private: private_keys.PrivateKey) -> bytes:
    return bytes(private.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.PKCS1))


def public_pkcs1_from_numbers(modulus: int, exponent: int) -> bytes:
    """PKCS#1 DER from the modulus and exponent an HSM reports for a public key object."""
    public = rsa.RSAPublicNumbers(exponent, modulus).public_key()
    return bytes(public.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.PKCS1))


def sign(private: private_keys.PrivateKey, message: bytes) -> bytes:
    return bytes(private.sign(message, padding.PKCS1v15(), hashes.SHA256()))


def verify(public_pkcs1_der: bytes, message: bytes, signature: bytes) -> bool:
    """True iff ``signature`` is SHA256withRSA over ``message``; malformed input is False."""
    try:
        public = serialization.load_der_public_key(_spki_of(public_pkcs1_der))
        assert isinstance(public, rsa.RSAPublicKey)
        public.verify(signature, message, padding.PKCS1v15(), hashes.SHA256())
    except (InvalidSignature, ValueError, AssertionError, TypeError):
        return False
    return True


def _spki_of(pkcs1_der: bytes) -> bytes:
    # pyca loads PKCS#1 public keys only from PEM ("RSA PUBLIC KEY"); wrap the DER so.
    body = base64.encodebytes(pkcs1_der).decode("ascii")
    pem = f"-----BEGIN RSA PUBLIC KEY-----\n{body}-----END RSA PUBLIC KEY-----\n".encode()
    public = serialization.load_pem_public_key(pem)
    return bytes(public.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo))
