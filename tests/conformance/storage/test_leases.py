"""storage/leases.py on SQLite (file) and PostgreSQL: one holder at a time, renewals keep
the fencing token, an expired or released lease is taken over with a new token."""

from __future__ import annotations

import threading
import time

import pytest

from trent.storage.leases import SqlLeases, new_holder_id
from trent.storage.sql import SqlStorage


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def leases(request: pytest.FixtureRequest, tmp_path) -> SqlLeases:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'leases.db'}"
    else:
        url = request.getfixturevalue("postgres_database_url")
    storage = SqlStorage(url, upgrade=True)
    request.addfinalizer(storage.close)
    return SqlLeases(storage.engine)


def test_one_holder_renews_others_wait(leases: SqlLeases) -> None:
    first = leases.try_acquire("sweeper", "a", 30)
    assert first is not None and first.holder == "a" and first.token == 1
    assert leases.try_acquire("sweeper", "b", 30) is None
    renewed = leases.try_acquire("sweeper", "a", 30)
    assert renewed is not None and renewed.token == 1 and renewed.expires_at >= first.expires_at
    assert leases.current("sweeper").holder == "a"
    assert leases.try_acquire("other-job", "b", 30) is not None  # names are independent


def test_an_expired_lease_changes_hands_with_a_new_token(leases: SqlLeases) -> None:
    assert leases.try_acquire("sweeper", "a", 0.2).token == 1
    assert leases.try_acquire("sweeper", "b", 30) is None
    time.sleep(0.4)
    taken = leases.try_acquire("sweeper", "b", 30)
    assert taken is not None and taken.holder == "b" and taken.token == 2
    assert leases.try_acquire("sweeper", "a", 30) is None  # the old holder woke up too late


def test_release_hands_over_at_once(leases: SqlLeases) -> None:
    leases.try_acquire("sweeper", "a", 30)
    leases.release("sweeper", "b")  # not the holder: no effect
    assert leases.try_acquire("sweeper", "b", 30) is None
    leases.release("sweeper", "a")
    assert leases.try_acquire("sweeper", "b", 30).token == 2


def test_racing_processes_get_one_holder(leases: SqlLeases) -> None:
    holders = [new_holder_id() + f"-{i}" for i in range(32)]
    won: list[str] = []
    barrier = threading.Barrier(len(holders))

    def contend(holder: str) -> None:
        barrier.wait()
        if leases.try_acquire("sweeper", holder, 30) is not None:
            won.append(holder)

    threads = [threading.Thread(target=contend, args=(h,)) for h in holders]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert len(won) == 1 and leases.current("sweeper").holder == won[0]


def test_ttl_must_be_positive(leases: SqlLeases) -> None:
    with pytest.raises(ValueError):
        leases.try_acquire("sweeper", "a", 0)
