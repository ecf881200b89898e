"""Pins the v1 symmetric blob byte-for-byte (tests/vectors/ciphertext/README.md)."""

import json
from pathlib import Path

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from trent.domain import ciphertext, encryption_context
from trent.domain.keys import KeyMaterial, MaterialState
from trent.keystores.root_key import AesRootKey
from trent.keystores.software import SoftwareKeyStore

VECTOR = json.loads((Path(__file__).parents[2] / "vectors" / "ciphertext" / "symmetric_v1.json").read_text())


def test_layout_recomputed_independently():
    blob = bytes.fromhex(VECTOR["blob_hex"])
    material = bytes.fromhex(VECTOR["material_hex"])
    header = blob[:50]
    assert header[0] == 1 and header[1] == 1
    assert header[2:18] == bytes.fromhex(VECTOR["key_id"].replace("-", ""))
    assert header[18:50] == bytes.fromhex(VECTOR["material_id"])
    salt, nonce, body = blob[50:66], blob[66:78], blob[78:]
    data_key = HKDF(hashes.SHA256(), 32, salt, b"trent/kms/v1/data-key").derive(material)
    aad = header + encryption_context.encode(VECTOR["encryption_context"])
    assert AESGCM(data_key).decrypt(nonce, body, aad) == bytes.fromhex(VECTOR["plaintext_hex"])


def test_trent_opens_the_vector():
    store = SoftwareKeyStore(AesRootKey(bytes(32)))
    material_id, wrapped = store.wrap_material(VECTOR["key_id"], bytes.fromhex(VECTOR["material_hex"]))
    assert material_id == VECTOR["material_id"]
    material = KeyMaterial(VECTOR["key_id"], material_id, wrapped, MaterialState.CURRENT, 0.0)
    header, payload = ciphertext.split(bytes.fromhex(VECTOR["blob_hex"]))
    aad = header.raw + encryption_context.encode(VECTOR["encryption_context"])
    assert store.open(material, bytes(payload), aad) == bytes.fromhex(VECTOR["plaintext_hex"])


def test_trent_still_writes_exactly_the_vector():
    import importlib.util

    spec = importlib.util.spec_from_file_location(
        "make_vector", Path(__file__).parents[2] / "vectors" / "ciphertext" / "make_vector.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert module.build() == VECTOR
