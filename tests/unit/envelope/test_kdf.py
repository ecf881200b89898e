"""Key derivation and commitment (client-wire-formats.md §4.1 "Key derivation")."""

from __future__ import annotations

import hashlib

import pytest
from aws_encryption_sdk.identifiers import Algorithm
from aws_encryption_sdk.internal.crypto.data_keys import calculate_commitment_key, derive_data_encryption_key

from trent.envelope.kdf import derive, hkdf_expand, hkdf_extract
from trent.envelope.suites import SUITES


def test_rfc5869_case_1() -> None:
    ikm = bytes.fromhex("0b" * 22)
    salt = bytes.fromhex("000102030405060708090a0b0c")
    info = bytes.fromhex("f0f1f2f3f4f5f6f7f8f9")
    prk = hkdf_extract("sha256", salt, ikm)
    assert prk.hex() == "077709362c2e32df0ddc3f0dc47bba6390b6c73bb50f9c3122ec844ad7c2b3e5"
    okm = hkdf_expand("sha256", prk, info, 42)
    assert okm.hex() == ("3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf"
                         "34007208d5b887185865")


@pytest.mark.parametrize("suite_id", sorted(SUITES))
def test_matches_the_sdk(suite_id: int) -> None:
    suite = SUITES[suite_id]
    alg = Algorithm.get_by_id(suite_id)
    data_key = hashlib.sha256(b"data key").digest()[: suite.key_len]
    message_id = bytes(range(suite.message_id_len))
    keys = derive(suite, data_key, message_id)
    assert keys.data_encryption_key == derive_data_encryption_key(data_key, alg, message_id)
    if suite.committing:
        assert keys.commit_key == calculate_commitment_key(data_key, alg, message_id)
    else:
        assert keys.commit_key is None


def test_keys_hidden() -> None:
    keys = derive(SUITES[0x0478], bytes(32), bytes(32))
    assert keys.data_encryption_key.hex() not in repr(keys)
    import pickle

    with pytest.raises(TypeError):
        pickle.dumps(keys)
