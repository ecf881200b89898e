"""ML-KEM known answers (FIPS 203 KATs, tests/vectors/ml_kem/README.md) through Trent's
crypto layer and the PKCS#8 seed format Trent stores and GenerateDataKeyPair returns."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import mlkem

from trent.crypto import ml_kem, private_keys

VECTORS = json.loads((Path(__file__).parents[2] / "vectors" / "ml_kem" / "kat_first4.json").read_text())
FROM_SEED = {"ML_KEM_768": mlkem.MLKEM768PrivateKey.from_seed_bytes, "ML_KEM_1024": mlkem.MLKEM1024PrivateKey.from_seed_bytes}
CASES = [(spec, v) for spec, vs in VECTORS.items() for v in vs]


@pytest.mark.parametrize(("spec", "v"), CASES, ids=[f"{s}-{v['count']}" for s, v in CASES])
def test_kat_keygen_decapsulation_and_implicit_rejection(spec: str, v: dict[str, str]) -> None:
    seed = bytes.fromhex(v["d"] + v["z"])
    key = FROM_SEED[spec](seed)
    # Trent's stored form: PKCS#8 in seed format, 64 bytes of key whatever the spec.
    der = key.private_bytes(serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    assert der.endswith(b"\x80\x40" + seed)
    loaded = private_keys.load(der)
    assert loaded.public_key().public_bytes_raw().hex() == v["pk"]
    assert ml_kem.decapsulate(loaded, spec, bytes.fromhex(v["ct"])).hex() == v["ss"]
    assert ml_kem.decapsulate(loaded, spec, bytes.fromhex(v["ct_n"])).hex() == v["ss_n"]


@pytest.mark.parametrize("spec", ["ML_KEM_768", "ML_KEM_1024"])
def test_encapsulation_round_trip_and_lengths(spec: str) -> None:
    key = private_keys.load(private_keys.generate(spec))
    secret, ciphertext = ml_kem.encapsulate(key)
    assert len(secret) == 32 and len(ciphertext) == ml_kem.CIPHERTEXT_BYTES[spec]
    assert ml_kem.decapsulate(key, spec, ciphertext) == secret
    with pytest.raises(ml_kem.CiphertextLengthError):
        ml_kem.decapsulate(key, spec, ciphertext[:-1])
