"""crypto/aead.py: the one-shot functions and AeadKey (a prepared key shared by threads)."""

import os
import pickle
from concurrent.futures import ThreadPoolExecutor

import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from trent.crypto import aead


def test_aead_key_matches_the_one_shot_functions_both_ways():
    key, nonce = os.urandom(32), os.urandom(12)
    prepared = aead.AeadKey(key)
    sealed = prepared.seal(nonce, b"plaintext", b"aad")
    assert sealed == aead.seal(key, nonce, b"plaintext", b"aad") == AESGCM(key).encrypt(nonce, b"plaintext", b"aad")
    assert prepared.open(nonce, sealed, b"aad") == b"plaintext"


@pytest.mark.parametrize("change", ["tag", "aad", "nonce", "short"])
def test_aead_key_failures_are_opaque(change):
    key, nonce = os.urandom(32), os.urandom(12)
    prepared = aead.AeadKey(key)
    sealed = bytearray(prepared.seal(nonce, b"plaintext", b"aad"))
    aad = b"aad"
    if change == "tag":
        sealed[-1] ^= 1
    elif change == "aad":
        aad = b"other"
    elif change == "nonce":
        nonce = bytes(12)
    else:
        sealed = sealed[:5]
    with pytest.raises(aead.AeadError) as info:
        prepared.open(nonce, bytes(sealed), aad)
    assert str(info.value) == ""


def test_aead_key_hides_itself():
    prepared = aead.AeadKey(b"k" * 32)
    assert "k" * 8 not in repr(prepared)
    with pytest.raises(TypeError):
        pickle.dumps(prepared)


def test_one_aead_key_serves_racing_threads():
    """The software key store shares a derived key between the loop and worker threads."""
    key = os.urandom(32)
    prepared = aead.AeadKey(key)

    def work(t):
        out = []
        for i in range(2000):
            nonce = os.urandom(12)
            message = b"%d-%d" % (t, i) * (1 + i % 50)
            out.append((nonce, message, prepared.seal(nonce, message, b"%d" % t), t))
        return out

    with ThreadPoolExecutor(8) as pool:
        results = [r for batch in pool.map(work, range(8)) for r in batch]
    reference = AESGCM(key)
    for nonce, message, sealed, t in results:
        assert reference.encrypt(nonce, message, b"%d" % t) == sealed
        assert prepared.open(nonce, sealed, b"%d" % t) == message
