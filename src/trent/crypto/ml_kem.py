"""ML-KEM (FIPS 203) encapsulation and decapsulation through pyca cryptography (OpenSSL);
no lattice arithmetic of our own.

Decapsulation uses FIPS 203's implicit rejection: a ciphertext of the right length that
was altered or made for another key yields a pseudo-random secret, never an error. Only a
wrong *length* is refused (AWS: InvalidCiphertextException, model Decapsulate docs).
"""

from __future__ import annotations

from types import MappingProxyType

from cryptography.hazmat.primitives.asymmetric import mlkem

#: Ciphertext sizes by key spec (FIPS 203 Table 3; model EncapsulateResponse docs).
CIPHERTEXT_BYTES: MappingProxyType[str, int] = MappingProxyType(
    {"ML_KEM_512": 768, "ML_KEM_768": 1088, "ML_KEM_1024": 1568}
)
SHARED_SECRET_BYTES = 32

_PRIVATE = (mlkem.MLKEM768PrivateKey, mlkem.MLKEM1024PrivateKey)


class CiphertextLengthError(ValueError):
    """The ciphertext does not have the key spec's length."""


def encapsulate(private: mlkem.MLKEM768PrivateKey | mlkem.MLKEM1024PrivateKey) -> tuple[bytes, bytes]:
    """(shared secret, ciphertext) under the key pair's public key."""
    if not isinstance(private, _PRIVATE):
        raise TypeError("not an ML-KEM key")
    secret, ciphertext = private.public_key().encapsulate()
    return bytes(secret), bytes(ciphertext)


def decapsulate(private: mlkem.MLKEM768PrivateKey | mlkem.MLKEM1024PrivateKey, spec: str, ciphertext: bytes) -> bytes:
    if len(ciphertext) != CIPHERTEXT_BYTES[spec]:
        raise CiphertextLengthError()
    return bytes(private.decapsulate(ciphertext))
