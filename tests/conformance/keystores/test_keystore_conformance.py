"""ONE key-store conformance suite (habits §9), run on the memory fake, the software
store and a PKCS#11 store on SoftHSM2. Behaviour that differs is read from the
store's capabilities, never from its type."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from trent.domain.keys import KeyMaterial, MaterialState
from trent.errors import InvalidCiphertext
from trent.keystores.base import KeyStore, KeyStoreError
from trent.keystores.memory import MemoryKeyStore
from trent.keystores.pkcs11 import Pkcs11KeyStore, TokenConfig
from trent.keystores.root_key import AesRootKey
from trent.keystores.software import SoftwareKeyStore

KEY_ID = "1234abcd-12ab-34cd-56ef-1234567890ab"
AAD = b"header|context"


@pytest.fixture(params=["memory", "software", "softhsm"])
def store(request) -> Iterator[KeyStore]:
    if request.param == "memory":
        yield MemoryKeyStore()
    elif request.param == "software":
        yield SoftwareKeyStore(AesRootKey(os.urandom(32)))
    else:
        hsm = request.getfixturevalue("softhsm")
        s = Pkcs11KeyStore(TokenConfig(hsm.module, token_label="conformance"), hsm.user_pin, "cks-conformance")
        yield s
        s.close()


def _material(store: KeyStore, key_id: str = KEY_ID) -> KeyMaterial:
    material_id, wrapped = store.new_symmetric_material(key_id)
    return KeyMaterial(key_id, material_id, wrapped, MaterialState.CURRENT, 0.0)


def test_capabilities_are_data(store):
    caps = store.capabilities
    assert isinstance(caps.name, str) and caps.name
    assert caps.hardware_backed is (caps.name == "pkcs11")


@pytest.mark.parametrize("size", [0, 1, 4096, 65536])
def test_seal_open_round_trip(store, size):
    m = _material(store)
    plaintext = os.urandom(size)
    payload = store.seal(m, plaintext, AAD)
    assert plaintext not in payload or size < 16
    assert store.open(m, payload, AAD) == plaintext


def test_material_ids_are_64_hex_and_distinct(store):
    a, b = _material(store), _material(store)
    for m in (a, b):
        assert len(m.material_id) == 64 and int(m.material_id, 16) >= 0
    assert a.material_id != b.material_id and a.wrapped != b.wrapped


def test_seal_is_randomized(store):
    m = _material(store)
    assert store.seal(m, b"same", AAD) != store.seal(m, b"same", AAD)


def test_wrong_aad_is_opaque_invalid_ciphertext(store):
    m = _material(store)
    payload = store.seal(m, b"secret", AAD)
    with pytest.raises(InvalidCiphertext) as e:
        store.open(m, payload, AAD + b"x")
    assert "secret" not in str(e.value)


def test_every_bit_flip_is_rejected(store):
    m = _material(store)
    payload = store.seal(m, b"sixteen byte msg", AAD)
    for i in range(len(payload)):
        tampered = bytearray(payload)
        tampered[i] ^= 0x01
        with pytest.raises(InvalidCiphertext):
            store.open(m, bytes(tampered), AAD)


@pytest.mark.parametrize("cut", [0, 1, 12, 27])
def test_truncated_payloads_are_rejected(store, cut):
    m = _material(store)
    payload = store.seal(m, b"x" * 32, AAD)
    with pytest.raises(InvalidCiphertext):
        store.open(m, payload[:cut], AAD)


def test_other_material_does_not_open(store):
    a, b = _material(store), _material(store)
    payload = store.seal(a, b"secret", AAD)
    with pytest.raises((InvalidCiphertext, KeyStoreError)):
        store.open(b, payload, AAD)


def test_random_bytes(store):
    assert store.random_bytes(0) == b""
    r = store.random_bytes(1024)
    assert len(r) == 1024 and r != store.random_bytes(1024)


def test_extractability_follows_capabilities(store):
    m = _material(store)
    if store.capabilities.material_extractable:
        assert len(store.unwrap_material(m)) == 32
    else:
        with pytest.raises(KeyStoreError):
            store.unwrap_material(m)


def test_external_material_follows_capabilities(store):
    raw = os.urandom(32)
    if store.capabilities.accepts_external_material:
        material_id, wrapped = store.wrap_material(KEY_ID, raw)
        assert raw not in wrapped
        m = KeyMaterial(KEY_ID, material_id, wrapped, MaterialState.CURRENT, 0.0)
        assert store.open(m, store.seal(m, b"imported", AAD), AAD) == b"imported"
    else:
        with pytest.raises(KeyStoreError):
            store.wrap_material(KEY_ID, raw)


def test_repr_and_pickle_reveal_nothing(store):
    import pickle

    m = _material(store)
    assert m.wrapped.hex() not in repr(store)
    with pytest.raises(TypeError):
        pickle.dumps(store)


def test_concurrent_use(store):
    from concurrent.futures import ThreadPoolExecutor

    m = _material(store)

    def work(i: int) -> bool:
        data = i.to_bytes(4, "big") * 10
        return store.open(m, store.seal(m, data, AAD), AAD) == data

    with ThreadPoolExecutor(8) as pool:
        assert all(pool.map(work, range(200)))
