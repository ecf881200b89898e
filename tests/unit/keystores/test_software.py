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
    assert pooled == [16, 12]  # a new derived key's salt, then the message's nonce
    assert payload[:28] == bytes(28)  # salt 16 | nonce 12 from the pool
    assert store.open(m, payload, b"aad") == b"secret"


def test_an_injected_rng_serves_salts_and_nonces_too():
    from itertools import count

    counter = count()
    store = SoftwareKeyStore(AesRootKey(bytes(32)), rng=lambda n: bytes((next(counter) % 256,)) * n)
    m = material(store)
    payload = store.seal(m, b"x", b"")
    # the next values of the injected rng after the material: the salt, then the nonce
    assert payload[:16] == bytes((1,)) * 16 and payload[16:28] == bytes((2,)) * 12


# --- derived keys are reused for a bounded number of messages (module doc) ------------------

def _independent_open(store, m, payload, aad):
    """Open like the v1 vector test: pyca's HKDF and AESGCM, nothing of the store's caches."""
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM
    from cryptography.hazmat.primitives.kdf.hkdf import HKDF

    data_key = HKDF(hashes.SHA256(), 32, payload[:16], b"trent/kms/v1/data-key").derive(store.unwrap_material(m))
    return AESGCM(data_key).decrypt(payload[16:28], payload[28:], aad)


def test_a_derived_key_seals_at_most_its_quota_then_a_new_salt_is_drawn(store, monkeypatch):
    import trent.keystores.software as software

    monkeypatch.setattr(software, "MESSAGES_PER_DATA_KEY", 3)
    m = material(store)
    payloads = [store.seal(m, b"msg %d" % i, b"aad") for i in range(7)]
    salts = [p[:16] for p in payloads]
    assert salts[0] == salts[1] == salts[2] != salts[3]
    assert salts[3] == salts[4] == salts[5] != salts[6]
    assert len({p[16:28] for p in payloads}) == 7  # every message its own nonce
    for i, p in enumerate(payloads):
        assert _independent_open(store, m, p, b"aad") == b"msg %d" % i
        assert store.open(m, p, b"aad") == b"msg %d" % i


def test_each_material_has_its_own_derived_key(store):
    a, b = material(store), material(store, "ffffffff-12ab-34cd-56ef-1234567890ab")
    pa, pb = store.seal(a, b"x", b""), store.seal(b, b"x", b"")
    assert pa[:16] != pb[:16]
    with pytest.raises(InvalidCiphertext):
        store.open(b, pa, b"")


def test_forgetting_a_key_drops_its_derived_keys(store):
    m = material(store)
    other = material(store, "ffffffff-12ab-34cd-56ef-1234567890ab")
    first, kept = store.seal(m, b"x", b""), store.seal(other, b"x", b"")
    store.forget(m.key_id)
    assert store.seal(m, b"x", b"")[:16] != first[:16]
    assert store.seal(other, b"x", b"")[:16] == kept[:16]
    store.forget_all()
    assert store.seal(other, b"x", b"")[:16] != kept[:16]
    assert store.open(m, first, b"") == b"x"  # opening derives again


def test_a_flipped_salt_never_opens_through_a_cached_key(store):
    m = material(store)
    good = store.seal(m, b"secret", b"aad")
    assert store.open(m, good, b"aad") == b"secret"  # its derived key is now cached
    bad = bytearray(good)
    bad[0] ^= 1
    with pytest.raises(InvalidCiphertext):
        store.open(m, bytes(bad), b"aad")


def test_racing_threads_share_derived_keys_within_the_quota(store, monkeypatch):
    """Many threads sealing under one material: every (salt, nonce) pair is unique, every
    message opens independently, and no salt seals more than its quota (every use is
    counted by an atomic ``next`` before the key is used, even by threads that lose the
    race to install the next key)."""
    from collections import Counter
    from concurrent.futures import ThreadPoolExecutor

    import trent.keystores.software as software

    monkeypatch.setattr(software, "MESSAGES_PER_DATA_KEY", 50)
    m = material(store)
    threads = 8

    def work(t):
        return [(b"%d/%d" % (t, i), store.seal(m, b"%d/%d" % (t, i), b"aad")) for i in range(500)]

    with ThreadPoolExecutor(threads) as pool:
        results = [r for batch in pool.map(work, range(threads)) for r in batch]
    assert len({p[:28] for _, p in results}) == len(results)
    per_salt = Counter(p[:16] for _, p in results)
    assert len(per_salt) >= len(results) // (50 + threads)
    assert max(per_salt.values()) <= 50
    for plaintext, p in results[::37]:
        assert _independent_open(store, m, p, b"aad") == plaintext
    assert all(store.open(m, p, b"aad") == plaintext for plaintext, p in results)
