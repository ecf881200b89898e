"""ECDSA message signatures for the signed suites (client-wire-formats.md §4.1 "Footer").

The signature is over the digest (SHA-256 for P-256, SHA-384 for P-384) of every message byte
before the footer; callers hash in big chunks themselves and hand the digest here (the library
signs it "prehashed"). The verification key travels in the encryption context under
``aws-crypto-public-key`` as base64 of the SEC1 *compressed* point.

Like the Encryption SDK, signatures are produced at a static DER length (71 / 103 bytes),
re-signing or negating ``s`` (both valid) when the DER integer encoding comes out shorter.
"""

from __future__ import annotations

import base64
import binascii

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import (
    Prehashed,
    decode_dss_signature,
    encode_dss_signature,
)

from .errors import DecryptionFailed
from .suites import AlgorithmSuite

_CURVES: dict[str, ec.EllipticCurve] = {"secp256r1": ec.SECP256R1(), "secp384r1": ec.SECP384R1()}
_HASHES: dict[str, hashes.HashAlgorithm] = {"sha256": hashes.SHA256(), "sha384": hashes.SHA384()}
_ORDERS = {
    "secp256r1": 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551,
    "secp384r1": int(
        "FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFC7634D81F4372DDF581A0DB248B0A77AECEC196ACCC52973",
        16,
    ),
}


def _curve(suite: AlgorithmSuite) -> ec.EllipticCurve:
    assert suite.curve is not None
    return _CURVES[suite.curve]


def _algo(suite: AlgorithmSuite) -> ec.ECDSA:
    assert suite.sig_hash is not None
    return ec.ECDSA(Prehashed(_HASHES[suite.sig_hash]))


def generate_signing_key(suite: AlgorithmSuite) -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(_curve(suite))


def encode_public_key(key: ec.EllipticCurvePrivateKey | ec.EllipticCurvePublicKey) -> str:
    pub = key.public_key() if isinstance(key, ec.EllipticCurvePrivateKey) else key
    point = pub.public_bytes(serialization.Encoding.X962, serialization.PublicFormat.CompressedPoint)
    return base64.b64encode(point).decode("ascii")


def decode_public_key(suite: AlgorithmSuite, text: str) -> ec.EllipticCurvePublicKey:
    try:
        point = base64.b64decode(text.encode("ascii"), validate=True)
        return ec.EllipticCurvePublicKey.from_encoded_point(_curve(suite), point)
    except (ValueError, binascii.Error, UnicodeEncodeError):
        raise DecryptionFailed() from None


def sign_digest(suite: AlgorithmSuite, key: ec.EllipticCurvePrivateKey, digest: bytes) -> bytes:
    assert suite.curve is not None
    while True:
        sig = key.sign(digest, _algo(suite))
        if len(sig) == suite.signature_len:
            return sig
        r, s = decode_dss_signature(sig)
        sig = encode_dss_signature(r, _ORDERS[suite.curve] - s)
        if len(sig) == suite.signature_len:
            return sig


def verify_digest(suite: AlgorithmSuite, key: ec.EllipticCurvePublicKey, digest: bytes, sig: bytes) -> None:
    try:
        key.verify(sig, digest, _algo(suite))
    except (InvalidSignature, ValueError):
        raise DecryptionFailed() from None
