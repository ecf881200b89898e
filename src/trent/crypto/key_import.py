"""BYOK import crypto (spec §9): the RSA wrapping key pair, unwrapping the caller's
material, and recognising an imported PKCS#8 private key's spec.

Specs and algorithms are their KMS strings, so this layer-0 module needs nothing from
``trent.domain``. Every unwrap failure is one opaque :class:`UnwrapError`.
"""

from __future__ import annotations

from types import MappingProxyType

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa
from cryptography.hazmat.primitives.keywrap import InvalidUnwrap, aes_key_unwrap_with_padding

WRAPPING_KEY_BITS: MappingProxyType[str, int] = MappingProxyType(
    {"RSA_2048": 2048, "RSA_3072": 3072, "RSA_4096": 4096}
)
# Algorithm -> (OAEP hash, whether the material is AES-KWP-wrapped under an RSA-wrapped AES key).
WRAPPING_ALGORITHMS: MappingProxyType[str, tuple[type[hashes.HashAlgorithm], bool]] = MappingProxyType(
    {
        "RSAES_OAEP_SHA_1": (hashes.SHA1, False),
        "RSAES_OAEP_SHA_256": (hashes.SHA256, False),
        "RSA_AES_KEY_WRAP_SHA_1": (hashes.SHA1, True),
        "RSA_AES_KEY_WRAP_SHA_256": (hashes.SHA256, True),
    }
)
_CURVES = MappingProxyType(
    {"secp256r1": "ECC_NIST_P256", "secp384r1": "ECC_NIST_P384", "secp521r1": "ECC_NIST_P521",
     "secp256k1": "ECC_SECG_P256K1"}
)


class UnwrapError(Exception):
    """The wrapped material could not be unwrapped (opaque on purpose)."""


def new_wrapping_key(spec: str) -> tuple[bytes, bytes]:
    """A fresh RSA wrapping key pair: (PKCS#8 DER private key, SPKI DER public key)."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=WRAPPING_KEY_BITS[spec])
    private = key.private_bytes(
        serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    public = key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return private, public


def unwrap(private_der: bytes, algorithm: str, wrapped: bytes) -> bytes:
    """Undo the caller's wrapping (spec §9 wrapping algorithms)."""
    hash_type, key_wrap = WRAPPING_ALGORITHMS[algorithm]
    try:
        key = serialization.load_der_private_key(private_der, password=None)
        assert isinstance(key, rsa.RSAPrivateKey)
        oaep = padding.OAEP(mgf=padding.MGF1(hash_type()), algorithm=hash_type(), label=None)
        if not key_wrap:
            return key.decrypt(wrapped, oaep)
        # RSA-OAEP(ephemeral AES key) || AES-KWP(material), RSA part first (spec §9).
        size = key.key_size // 8
        aes_key = key.decrypt(wrapped[:size], oaep)
        if len(aes_key) not in (16, 24, 32):
            raise UnwrapError
        return aes_key_unwrap_with_padding(aes_key, wrapped[size:])
    except (ValueError, InvalidUnwrap, UnwrapError):
        raise UnwrapError from None


def private_key_spec(der: bytes) -> str | None:
    """The KMS key spec of a PKCS#8 DER private key, or None if it is not one KMS imports."""
    try:
        key = serialization.load_der_private_key(der, password=None)
    except (ValueError, TypeError):
        return None
    if isinstance(key, rsa.RSAPrivateKey):
        return f"RSA_{key.key_size}" if key.key_size in (2048, 3072, 4096) else None
    if isinstance(key, ec.EllipticCurvePrivateKey):
        return _CURVES.get(key.curve.name)
    if isinstance(key, ed25519.Ed25519PrivateKey):
        return "ECC_NIST_EDWARDS25519"
    return None
