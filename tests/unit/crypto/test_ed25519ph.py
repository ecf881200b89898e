"""Ed25519ph against RFC 8032 §7.3 (the one published Ed25519ph test vector)."""

from __future__ import annotations

import hashlib

from trent.crypto import ed25519ph

SECRET = bytes.fromhex("833fe62409237b9d62ec77587520911e9a759cec1d19755b7da901b96dca3d42")
PUBLIC = bytes.fromhex("ec172b93ad5e563bf4932c70e1245034c35467ef2efd4d64ebf819683467e2bf")
SIGNATURE = bytes.fromhex(
    "98a70222f0b8121aa9d30f813d683f809e462b469c7ff87639499bb94e6dae41"
    "31f85042463c2a355a2003d062adf5aaa10b8c61e636062aaad11c2a26083406"
)


def test_rfc8032_vector():
    prehash = hashlib.sha512(b"abc").digest()
    assert ed25519ph.sign(SECRET, prehash) == SIGNATURE
    assert ed25519ph.verify(PUBLIC, prehash, SIGNATURE)


def test_rejects_other_messages_and_mangled_signatures():
    prehash = hashlib.sha512(b"abc").digest()
    assert not ed25519ph.verify(PUBLIC, hashlib.sha512(b"abd").digest(), SIGNATURE)
    for i in (0, 31, 32, 63):
        bad = bytearray(SIGNATURE)
        bad[i] ^= 1
        assert not ed25519ph.verify(PUBLIC, prehash, bytes(bad))
    assert not ed25519ph.verify(PUBLIC, prehash, SIGNATURE[:-1])
    assert not ed25519ph.verify(b"\xff" * 32, prehash, SIGNATURE)
    # s >= L is rejected (malleability, RFC 8032 §5.1.7)
    assert not ed25519ph.verify(PUBLIC, prehash, SIGNATURE[:32] + b"\xff" * 32)
