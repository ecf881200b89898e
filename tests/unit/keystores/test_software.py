import os
import pickle
import stat

import pytest

from trent.domain.keys import KeyMaterial, MaterialState
from trent.errors import InvalidCiphertext
from trent.keystores.base import KeyStoreError
from trent.keystores.root_key import AesRootKey, load_or_create_file_root_key
from trent.keystores.software import SoftwareKeyStore

KEY_ID = "1234abcd-12ab-34cd-56ef-1234567890ab"


@pytest.fixture()
def store():
    return SoftwareKeyStore(AesRootKey(os.urandom(32)))


def material(store, key_id=KEY_ID):
    material_id, wrapped = store.new_symmetric_material(key_id)
    return KeyMaterial(key_id, material_id, wrapped, MaterialState.CURRENT, 0.0)


def test_seal_open_round_trip(store):
    m = material(store)
    payload = store.seal(m, b"secret", b"aad")
    assert store.open(m, payload, b"aad") == b"secret"


def test_each_message_gets_fresh_salt_and_nonce(store):
    m = material(store)
    assert store.seal(m, b"x", b"") != store.seal(m, b"x", b"")


@pytest.mark.parametrize("position", [0, 15, 16, 27, 28, -1])
def test_any_flipped_byte_is_rejected_opaquely(store, position):
    m = material(store)
    payload = bytearray(store.seal(m, b"secret data", b"aad"))
    payload[position] ^= 1
    with pytest.raises(InvalidCiphertext) as info:
        store.open(m, bytes(payload), b"aad")
    assert info.value.message is None


def test_wrong_aad_is_rejected(store):
    m = material(store)
    with pytest.raises(InvalidCiphertext):
        store.open(m, store.seal(m, b"x", b"context-a"), b"context-b")


def test_wrapped_material_is_bound_to_its_key(store):
    m = material(store)
    moved = KeyMaterial("ffffffff-12ab-34cd-56ef-1234567890ab", m.material_id, m.wrapped, m.state, 0.0)
    with pytest.raises(KeyStoreError):
        store.unwrap_material(moved)


def test_material_id_is_64_hex_and_deterministic_per_key(store):
    raw = os.urandom(32)
    a, _ = store.wrap_material(KEY_ID, raw)
    b, _ = store.wrap_material(KEY_ID, raw)
    c, _ = store.wrap_material("ffffffff-12ab-34cd-56ef-1234567890ab", raw)
    assert a == b != c and len(a) == 64 and int(a, 16) >= 0


def test_secrets_refuse_pickling_and_repr(store):
    with pytest.raises(TypeError):
        pickle.dumps(store)
    assert "AesRootKey(<sealed>)" == repr(AesRootKey(os.urandom(32)))


def test_dev_root_key_file_is_0600_and_stable(tmp_path):
    path = tmp_path / "root.key"
    first = load_or_create_file_root_key(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    blob = first.wrap(b"x", b"aad")
    assert load_or_create_file_root_key(path).unwrap(blob, b"aad") == b"x"


def test_root_key_file_readable_by_others_is_refused(tmp_path):
    path = tmp_path / "root.key"
    load_or_create_file_root_key(path)
    path.chmod(0o644)
    with pytest.raises(KeyStoreError):
        load_or_create_file_root_key(path)


def test_salt_and_nonce_come_from_the_pool_and_material_from_urandom(monkeypatch):
    """Issue 16: public per-message values from the pooled OS randomness, key material
    never (it keeps calling os.urandom, so no future material waits in a buffer)."""
    import trent.keystores.software as software

    pooled: list[int] = []
    monkeypatch.setattr(software, "pooled_random", lambda n: pooled.append(n) or bytes(n))
    store = SoftwareKeyStore(AesRootKey(os.urandom(32)))
    m = material(store)
    assert pooled == []  # the material did not come from the pool
    payload = store.seal(m, b"secret", b"aad")
    assert pooled == [28]
    assert payload[:28] == bytes(28)  # salt 16 | nonce 12 from the pool
    assert store.open(m, payload, b"aad") == b"secret"


def test_an_injected_rng_serves_salts_and_nonces_too():
    from itertools import count

    counter = count()
    store = SoftwareKeyStore(AesRootKey(bytes(32)), rng=lambda n: bytes((next(counter) % 256,)) * n)
    m = material(store)
    payload = store.seal(m, b"x", b"")
    assert payload[:28] == bytes((1,)) * 28  # the next value of the injected rng after the material
