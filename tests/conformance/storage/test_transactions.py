"""``Storage.transaction()`` and the ``lock_*`` reads (issue 20; storage/repositories.py
``Transactions``), on every backend: what the service's check-then-act rules stand on.

Threads here race on one store (each thread its own pooled connection); the wire
suite (tests/wire/test_concurrency.py) races real requests across processes and nodes.
"""

from __future__ import annotations

import threading

import pytest

from trent.domain.keys import KeyState
from trent.storage.repositories import Duplicate, Storage

from . import builders as b
from .builders import REGION

THREADS = 32


def _run_all(n: int, body) -> list[BaseException | None]:
    barrier = threading.Barrier(n)
    errors: list[BaseException | None] = [None] * n

    def run(i: int) -> None:
        barrier.wait()
        try:
            body(i)
        except BaseException as exc:  # noqa: BLE001 - reported to the test
            errors[i] = exc

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    return errors


def test_locked_read_modify_write_loses_no_update(storage: Storage) -> None:
    """32 threads each add one to a counter kept in the key row: with the row locked
    between read and write, none of the increments is lost."""
    key = b.key(description="0")
    storage.create_key(key, None)

    def increment(_: int) -> None:
        with storage.transaction():
            current = storage.lock_key(REGION, key.key_id)
            assert current is not None
            storage.update_key(current.with_changes(description=str(int(current.description) + 1)))

    assert _run_all(THREADS, increment) == [None] * THREADS
    assert storage.get_key(REGION, key.key_id).description == str(THREADS)


def test_only_one_transition_wins(storage: Storage) -> None:
    key = b.key()
    storage.create_key(key, None)
    won: list[int] = []

    def schedule(i: int) -> None:
        with storage.transaction():
            current = storage.lock_key(REGION, key.key_id)
            assert current is not None
            if current.state is KeyState.PENDING_DELETION:
                return
            storage.update_key(current.with_changes(state=KeyState.PENDING_DELETION, deletion_date=float(i)))
            won.append(i)

    assert _run_all(THREADS, schedule) == [None] * THREADS
    assert len(won) == 1
    assert storage.get_key(REGION, key.key_id).deletion_date == float(won[0])


def test_a_failed_transaction_leaves_nothing(storage: Storage) -> None:
    key = b.key()
    with pytest.raises(RuntimeError), storage.transaction():
        storage.create_key(key, None)
        assert storage.get_key(REGION, key.key_id) == key  # visible inside the transaction
        raise RuntimeError("changed my mind")
    assert storage.get_key(REGION, key.key_id) is None


def test_a_duplicate_inside_a_transaction_undoes_only_itself(storage: Storage) -> None:
    """Each method is a unit of work (a SAVEPOINT inside the transaction): a caller may
    catch Duplicate and carry on, and its other writes still commit."""
    first, other = b.key(), b.key()
    storage.create_key(first, None)
    with storage.transaction():
        with pytest.raises(Duplicate):
            storage.create_key(first, None)
        storage.create_key(other, None)
    assert storage.get_key(REGION, other.key_id) == other


def test_locks_are_taken_inside_a_transaction_only(storage: Storage) -> None:
    key = b.key()
    storage.create_key(key, None)
    with pytest.raises(RuntimeError):
        storage.lock_key(REGION, key.key_id)


def test_lock_reads_the_row_as_stored_now(storage: Storage) -> None:
    key = b.key()
    storage.create_key(key, None)
    assert storage.get_key(REGION, key.key_id) == key  # cached, where there is a cache
    inner = getattr(storage, "inner", storage)
    inner.update_key(key.with_changes(description="written behind the cache's back"))
    with storage.transaction():
        locked = storage.lock_key(REGION, key.key_id)
        assert locked is not None and locked.description == "written behind the cache's back"
        assert storage.get_key(REGION, key.key_id).description == "written behind the cache's back"


def test_account_and_principal_locks(storage: Storage) -> None:
    account = b.account()
    storage.create_account(account)
    user = b.principal(account.account_id)
    storage.create_principal(user)
    with storage.transaction():
        assert storage.lock_account(account.account_id) == account
        assert storage.lock_principal(user.arn) == user
        assert storage.lock_account("999999999999") is None
