"""Custom key store rows (issue 7) on every storage backend."""

from __future__ import annotations

import pytest

from trent.domain.custom_key_stores import ConnectionErrorCode, ConnectionState, CustomKeyStore, CustomKeyStoreType
from trent.storage.repositories import Duplicate

from . import builders
from .builders import T0


def _store(n: int = 1, **changes) -> CustomKeyStore:
    base = CustomKeyStore(
        custom_key_store_id=f"cks-{n:017x}",
        account_id="111122223333",
        region="us-east-1",
        name=f"store-{n}",
        store_type=CustomKeyStoreType.AWS_CLOUDHSM,
        cloud_hsm_cluster_id="cluster-234567abcde",
        trust_anchor_certificate="-----BEGIN CERTIFICATE-----\nAA==\n-----END CERTIFICATE-----",
        wrapped_password=b"\x01wrapped-pin",
        created_at=T0 + n,
    )
    return base.with_changes(**changes)


def test_create_get_round_trip(storage):
    s = _store()
    storage.create_custom_key_store(s)
    assert storage.get_custom_key_store(s.custom_key_store_id) == s
    assert storage.get_custom_key_store("cks-00000000000000000") is None


def test_names_are_unique_per_account_and_region(storage):
    storage.create_custom_key_store(_store(1))
    with pytest.raises(Duplicate):
        storage.create_custom_key_store(_store(2, name="store-1"))
    storage.create_custom_key_store(_store(3, name="store-1", region="eu-west-1"))
    storage.create_custom_key_store(_store(4, name="store-1", account_id="444455556666"))


def test_list_filters_and_orders(storage):
    for n in (3, 1, 2):
        storage.create_custom_key_store(_store(n))
    storage.create_custom_key_store(_store(9, region="eu-west-1"))
    listed = storage.list_custom_key_stores("111122223333", "us-east-1")
    assert [s.name for s in listed] == ["store-1", "store-2", "store-3"]
    assert len(storage.list_custom_key_stores()) == 4


def test_update_and_delete(storage):
    s = _store()
    storage.create_custom_key_store(s)
    failed = s.with_changes(connection_state=ConnectionState.FAILED, connection_error_code=ConnectionErrorCode.INVALID_CREDENTIALS)
    storage.update_custom_key_store(failed)
    assert storage.get_custom_key_store(s.custom_key_store_id) == failed
    storage.update_custom_key_store(_store(7))  # missing row: no-op
    assert storage.get_custom_key_store(_store(7).custom_key_store_id) is None
    storage.delete_custom_key_store(s.custom_key_store_id)
    assert storage.get_custom_key_store(s.custom_key_store_id) is None


def test_count_keys_in_store(storage):
    s = _store()
    storage.create_custom_key_store(s)
    assert storage.count_keys_in_custom_key_store(s.custom_key_store_id) == 0
    k = builders.key(custom_key_store_id=s.custom_key_store_id)
    storage.create_key(k, None)
    storage.create_key(builders.key(), None)
    assert storage.count_keys_in_custom_key_store(s.custom_key_store_id) == 1


def test_repr_hides_the_wrapped_pin():
    assert "wrapped-pin" not in repr(_store())
