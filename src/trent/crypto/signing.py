"""Sign/Verify for every KMS signing algorithm (spec §3.3), on parsed private keys.

MessageType semantics: RAW means "hash this message"; DIGEST means the message *is*
the hash and must not be hashed again (pyca ``Prehashed``); EXTERNAL_MU (ML-DSA only)
is the 64-byte μ of FIPS 204. Message-type/algorithm pairing and digest lengths are
checked by the caller (``trent.service.signing``) because their errors are wire errors.

* RSASSA-PSS: MGF1 with the same hash, salt length = hash length.
* RSASSA-PKCS1-v1_5: standard DigestInfo.
* ECDSA: DER Ecdsa-Sig-Value.
* ED25519_SHA_512 (RAW): pure Ed25519 (RFC 8032). ED25519_PH_SHA_512 (DIGEST):
  Ed25519ph over the caller's SHA-512 prehash, see :mod:`trent.crypto.ed25519ph`.
* ML_DSA_SHAKE_256: pure ML-DSA, empty context (RAW) or sign_mu (EXTERNAL_MU).
"""

from __future__ import annotations

from types import MappingProxyType

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, utils

from trent.crypto import ed25519ph
from trent.crypto.private_keys import PrivateKey

_HASHES: MappingProxyType[str, type[hashes.HashAlgorithm]] = MappingProxyType(
    {"SHA_256": hashes.SHA256, "SHA_384": hashes.SHA384, "SHA_512": hashes.SHA512}
)
_HASH_BYTES: MappingProxyType[str, int] = MappingProxyType({"SHA_256": 32, "SHA_384": 48, "SHA_512": 64})
# Digest length per algorithm for MessageType DIGEST (and EXTERNAL_MU for ML-DSA).
DIGEST_LENGTHS: MappingProxyType[str, int] = MappingProxyType(
    {
        **{f"RSASSA_PSS_{h}": n for h, n in _HASH_BYTES.items()},
        **{f"RSASSA_PKCS1_V1_5_{h}": n for h, n in _HASH_BYTES.items()},
        **{f"ECDSA_{h}": n for h, n in _HASH_BYTES.items()},
        "ED25519_PH_SHA_512": ed25519ph.PREHASH_LEN,
        "ML_DSA_SHAKE_256": 64,
    }
)


def _hash(algorithm: str, digest: bool) -> hashes.HashAlgorithm | utils.Prehashed:
    h = _HASHES[algorithm[-7:]]()  # every RSA/ECDSA name ends in SHA_256/384/512
    return utils.Prehashed(h) if digest else h


def _rsa_padding(algorithm: str) -> padding.AsymmetricPadding:
    if algorithm.startswith("RSASSA_PSS_"):
        name = algorithm.removeprefix("RSASSA_PSS_")
        return padding.PSS(mgf=padding.MGF1(_HASHES[name]()), salt_length=_HASH_BYTES[name])
    return padding.PKCS1v15()


def sign(private: PrivateKey, algorithm: str, message_type: str, message: bytes) -> bytes:
    digest = message_type == "DIGEST"
    if algorithm.startswith("RSASSA_"):
        return bytes(private.sign(message, _rsa_padding(algorithm), _hash(algorithm, digest)))
    if algorithm.startswith("ECDSA_"):
        return bytes(private.sign(message, ec.ECDSA(_hash(algorithm, digest))))
    if algorithm == "ED25519_SHA_512":
        return bytes(private.sign(message))
    if algorithm == "ED25519_PH_SHA_512":
        assert isinstance(private, ed25519.Ed25519PrivateKey)
        return ed25519ph.sign(private.private_bytes_raw(), message, private.public_key().public_bytes_raw())
    if algorithm == "ML_DSA_SHAKE_256":
        return bytes(private.sign_mu(message) if message_type == "EXTERNAL_MU" else private.sign(message))
    raise ValueError(algorithm)


def verify(private: PrivateKey, algorithm: str, message_type: str, message: bytes, signature: bytes) -> bool:
    """True iff ``signature`` is valid; any malformed input is simply False."""
    public = private.public_key()
    digest = message_type == "DIGEST"
    try:
        if algorithm.startswith("RSASSA_"):
            public.verify(signature, message, _rsa_padding(algorithm), _hash(algorithm, digest))
        elif algorithm.startswith("ECDSA_"):
            public.verify(signature, message, ec.ECDSA(_hash(algorithm, digest)))
        elif algorithm == "ED25519_SHA_512":
            public.verify(signature, message)
        elif algorithm == "ED25519_PH_SHA_512":
            return ed25519ph.verify(public.public_bytes_raw(), message, signature)
        elif algorithm == "ML_DSA_SHAKE_256":
            if message_type == "EXTERNAL_MU":
                public.verify_mu(signature, message)
            else:
                public.verify(signature, message)
        else:
            return False
    except (InvalidSignature, ValueError, TypeError):
        return False
    return True
