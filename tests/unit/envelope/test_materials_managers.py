"""CMMs: commitment policies, required context, caching limits; keyrings' secrets hygiene."""

from __future__ import annotations

import io
import pickle

import pytest

from trent import envelope as ev
from trent.envelope.materials import EncryptionMaterialsRequest
from trent.envelope.suites import CommitmentPolicy


class CountingKeyring:
    def __init__(self, inner: ev.RawAesKeyring) -> None:
        self.inner, self.enc, self.dec = inner, 0, 0

    def on_encrypt(self, m):  # type: ignore[no-untyped-def]
        self.enc += 1
        return self.inner.on_encrypt(m)

    def on_decrypt(self, m, edks):  # type: ignore[no-untyped-def]
        self.dec += 1
        return self.inner.on_decrypt(m, edks)


class Clock:
    def __init__(self) -> None:
        self.t = 0.0

    def __call__(self) -> float:
        return self.t


def test_policy_forbid_cannot_write_v2(keyring: ev.RawAesKeyring) -> None:
    with pytest.raises(ev.ConfigurationError):
        ev.encrypt(b"x", keyring=keyring, commitment_policy=CommitmentPolicy.FORBID_ENCRYPT_ALLOW_DECRYPT)
    with pytest.raises(ev.ConfigurationError):
        ev.encrypt(b"x", keyring=keyring, suite=ev.suite_by_id(0x0378))


def test_required_context_is_authenticated_not_stored(keyring: ev.RawAesKeyring) -> None:
    ctx = {"tenant": "a", "public": "p"}
    e = ev.encrypt(b"secret", keyring=keyring, encryption_context=ctx, required_context_keys=["tenant"])
    assert "tenant" not in e.header.stored_context and e.header.stored_context["public"] == "p"
    assert b"tenant" not in e.ciphertext
    assert ev.decrypt(e.ciphertext, keyring=keyring, encryption_context={"tenant": "a"}).plaintext == b"secret"
    with pytest.raises(ev.DecryptionFailed):
        ev.decrypt(e.ciphertext, keyring=keyring)
    with pytest.raises(ev.DecryptionFailed):
        ev.decrypt(e.ciphertext, keyring=keyring, encryption_context={"tenant": "b"})
    with pytest.raises(ev.DecryptionFailed):
        ev.decrypt(e.ciphertext, keyring=keyring, required_context_keys=["tenant"])
    with pytest.raises(ev.ConfigurationError):
        ev.encrypt(b"x", keyring=keyring, required_context_keys=["tenant"])


def test_reproduced_context_must_match(keyring: ev.RawAesKeyring) -> None:
    ct = ev.encrypt(b"x", keyring=keyring, encryption_context={"a": "1"}).ciphertext
    assert ev.decrypt(ct, keyring=keyring, encryption_context={"a": "1"}).plaintext == b"x"
    with pytest.raises(ev.ContextMismatch) as info:
        ev.decrypt(ct, keyring=keyring, encryption_context={"a": "2"})
    assert "2" not in str(info.value).replace("'a'", "")


def test_caching_limits(keyring: ev.RawAesKeyring) -> None:
    counting = CountingKeyring(keyring)
    clock = Clock()
    cmm = ev.CachingMaterialsManager(counting, ev.LocalMaterialsCache(10), max_age=60, max_messages=3,
                                     max_bytes=100, clock=clock)
    for _ in range(3):
        ev.encrypt(b"x" * 10, materials_manager=cmm)
    assert counting.enc == 1  # reused for 3 messages
    ev.encrypt(b"x" * 10, materials_manager=cmm)
    assert counting.enc == 2  # max_messages reached -> fresh
    ev.encrypt(b"x" * 95, materials_manager=cmm)
    assert counting.enc == 3  # max_bytes would be exceeded
    clock.t = 61
    ev.encrypt(b"x", materials_manager=cmm)
    assert counting.enc == 4  # max_age
    # unknown plaintext length: bypass
    class Pipe(io.RawIOBase):
        def readable(self) -> bool:
            return True

        def readinto(self, b):  # type: ignore[no-untyped-def]
            return 0
    ev.encrypt_stream(Pipe(), io.BytesIO(), materials_manager=cmm)
    assert counting.enc == 5
    # a different context is a different entry
    ev.encrypt(b"x", materials_manager=cmm, encryption_context={"a": "b"})
    assert counting.enc == 6


def test_caching_decrypt(keyring: ev.RawAesKeyring) -> None:
    counting = CountingKeyring(keyring)
    clock = Clock()
    cmm = ev.CachingMaterialsManager(counting, ev.LocalMaterialsCache(10), max_age=10, clock=clock)
    ct = ev.encrypt(b"abc", keyring=keyring).ciphertext
    for _ in range(3):
        assert ev.decrypt(ct, materials_manager=cmm).plaintext == b"abc"
    assert counting.dec == 1
    clock.t = 11
    ev.decrypt(ct, materials_manager=cmm)
    assert counting.dec == 2


def test_cache_capacity_and_hygiene(keyring: ev.RawAesKeyring) -> None:
    cache = ev.LocalMaterialsCache(2)
    cmm = ev.CachingMaterialsManager(keyring, cache, max_age=60)
    for i in range(5):
        ev.encrypt(b"x", materials_manager=cmm, encryption_context={"i": str(i)})
    assert len(cache) == 2
    with pytest.raises(TypeError):
        pickle.dumps(cache)
    with pytest.raises(ev.ConfigurationError):
        ev.CachingMaterialsManager(keyring, cache, max_age=0)


def test_materials_and_keyrings_hide_keys(keyring: ev.RawAesKeyring) -> None:
    cmm = ev.DefaultMaterialsManager(keyring)
    m = cmm.get_encryption_materials(EncryptionMaterialsRequest({}, CommitmentPolicy.REQUIRE_ENCRYPT_REQUIRE_DECRYPT))
    assert m.plaintext_data_key is not None
    assert m.plaintext_data_key.hex() not in repr(m) and repr(m.plaintext_data_key) not in repr(m)
    assert "signing_key" not in repr(m)
    for obj in (m, keyring):
        with pytest.raises(TypeError):
            pickle.dumps(obj)
    assert bytes(range(32)).hex() not in repr(keyring)


def test_max_encrypted_data_keys(keyring: ev.RawAesKeyring) -> None:
    multi = ev.MultiKeyring(keyring, [keyring, keyring])
    ct = ev.encrypt(b"x", keyring=multi).ciphertext
    assert ev.decrypt(ct, keyring=keyring, max_encrypted_data_keys=3).plaintext == b"x"
    with pytest.raises(ev.DecryptionFailed):
        ev.decrypt(ct, keyring=keyring, max_encrypted_data_keys=2)


def test_public_surface() -> None:
    for name in ev.__all__:
        assert hasattr(ev, name), name
