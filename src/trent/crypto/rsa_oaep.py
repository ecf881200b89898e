"""RSAES-OAEP with the same hash for digest and MGF1, empty label (spec §3.2).

The ciphertext is the raw OAEP output, modulus-length, so ciphertext made offline
with the downloaded public key decrypts here. Decryption failures are opaque.
"""

from __future__ import annotations

from types import MappingProxyType

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from trent.crypto.private_keys import PrivateKey

_HASHES: MappingProxyType[str, type[hashes.HashAlgorithm]] = MappingProxyType(
    {"RSAES_OAEP_SHA_1": hashes.SHA1, "RSAES_OAEP_SHA_256": hashes.SHA256}
)
_HASH_BYTES: MappingProxyType[str, int] = MappingProxyType({"RSAES_OAEP_SHA_1": 20, "RSAES_OAEP_SHA_256": 32})


class OaepError(Exception):
    """Decryption failed. Deliberately carries no reason."""


def _padding(algorithm: str) -> padding.OAEP:
    h = _HASHES[algorithm]
    return padding.OAEP(mgf=padding.MGF1(h()), algorithm=h(), label=None)


def max_plaintext(modulus_bytes: int, algorithm: str) -> int:
    """modulus_bytes - 2*hash_bytes - 2 (RFC 8017 §7.1.1): 214/190 for RSA_2048 etc."""
    return modulus_bytes - 2 * _HASH_BYTES[algorithm] - 2


def encrypt(private: PrivateKey, algorithm: str, plaintext: bytes) -> bytes:
    return bytes(private.public_key().encrypt(plaintext, _padding(algorithm)))


def decrypt(private: PrivateKey, algorithm: str, ciphertext: bytes) -> bytes:
    if not isinstance(private, rsa.RSAPrivateKey):
        raise OaepError()
    try:
        return private.decrypt(ciphertext, _padding(algorithm))
    except (ValueError, TypeError):
        raise OaepError() from None
