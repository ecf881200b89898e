"""service.key_generation: which store can make which material (issue 3)."""

from __future__ import annotations

import os

import pytest
from cryptography.hazmat.primitives import serialization

from trent.domain.keys import KeySpec
from trent.errors import UnsupportedOperation
from trent.keystores.base import KeyStoreCapabilities
from trent.service.deps import ServiceDeps
from trent.service.key_generation import new_material


class _Store:
    def __init__(self, extractable: bool) -> None:
        self.capabilities = KeyStoreCapabilities("stub", extractable, extractable, not extractable)
        self.wrapped: list[bytes] = []

    def new_symmetric_material(self, key_id: str) -> tuple[str, bytes]:
        return "sym", b"w"

    def wrap_material(self, key_id: str, raw: bytes) -> tuple[str, bytes]:
        self.wrapped.append(raw)
        return "m", b"w"

    def random_bytes(self, n: int) -> bytes:
        return os.urandom(n)


def _deps(store: _Store) -> ServiceDeps:
    return ServiceDeps(storage=None, keystore=store, clock=None, root_key=None)  # type: ignore[arg-type]


@pytest.mark.parametrize(("spec", "length"), [(KeySpec.HMAC_224, 28), (KeySpec.HMAC_512, 64)])
def test_hmac_material_is_the_hash_length(spec, length):
    store = _Store(True)
    new_material(_deps(store), "k", spec)
    assert len(store.wrapped[0]) == length


def test_asymmetric_material_is_pkcs8():
    store = _Store(True)
    new_material(_deps(store), "k", KeySpec.ECC_SECG_P256K1)
    key = serialization.load_der_private_key(store.wrapped[0], password=None)
    assert key.curve.name == "secp256k1"


def test_a_store_that_cannot_take_material_refuses_non_symmetric_specs():
    store = _Store(False)
    assert new_material(_deps(store), "k", KeySpec.SYMMETRIC_DEFAULT) == ("sym", b"w")
    for spec in (KeySpec.RSA_2048, KeySpec.HMAC_256, KeySpec.ML_DSA_44):
        with pytest.raises(UnsupportedOperation):
            new_material(_deps(store), "k", spec)
    assert store.wrapped == []
