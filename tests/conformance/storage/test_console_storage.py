"""The console's storage (issue 21) on every backend: sessions by token digest, and the
sign-in attempt counter whose limit must hold when many requests race on several nodes."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace

import pytest

from trent.domain.console import ConsoleSession
from trent.storage.repositories import Duplicate, Storage
from trent.storage.migrate import migrate
from trent.storage.sql import SqlStorage

from .builders import T0

ARN = "arn:aws:iam::111122223333:user/alice"


def _session(digest: str = "a" * 64, **changes) -> ConsoleSession:
    base = ConsoleSession(digest, ARN, "AKIAALICE00000000001", "us-east-1", T0, T0 + 3600, T0)
    return replace(base, **changes)


def test_session_round_trip_update_delete(storage: Storage) -> None:
    session = _session()
    storage.create_console_session(session)
    assert storage.get_console_session(session.token_sha256) == session
    with pytest.raises(Duplicate):
        storage.create_console_session(session)
    moved = replace(session, region="eu-west-1", last_seen_at=T0 + 60)
    storage.update_console_session(moved)
    assert storage.get_console_session(session.token_sha256) == moved
    assert storage.list_console_sessions(ARN) == [moved]
    storage.delete_console_session(session.token_sha256)
    assert storage.get_console_session(session.token_sha256) is None
    storage.delete_console_session(session.token_sha256)  # missing: a no-op
    storage.update_console_session(moved)  # never creates a row
    assert storage.get_console_session(session.token_sha256) is None


def test_sessions_ending_are_removed(storage: Storage) -> None:
    storage.create_console_session(_session("1" * 64, expires_at=T0 + 10))
    storage.create_console_session(_session("2" * 64, expires_at=T0 + 20))
    assert storage.delete_console_sessions_ending(T0 + 10) == 1
    assert storage.get_console_session("1" * 64) is None
    assert storage.get_console_session("2" * 64) is not None


def test_attempts_are_limited_per_window(storage: Storage) -> None:
    take = storage.take_sign_in_attempt
    assert [take("key:A", T0, 300, 3) for _ in range(4)] == [True, True, True, False]
    assert take("key:B", T0, 300, 3)  # another subject has its own count
    assert not take("key:A", T0 + 299, 300, 3)  # still the same window
    assert take("key:A", T0 + 300, 300, 3)  # a new window starts with this attempt
    assert [take("key:A", T0 + 301, 300, 3) for _ in range(3)] == [True, True, False]


def test_giving_back_and_clearing(storage: Storage) -> None:
    take = storage.take_sign_in_attempt
    assert take("ip:1", T0, 300, 2) and take("ip:1", T0, 300, 2)
    assert not take("ip:1", T0, 300, 2)
    storage.give_back_sign_in_attempt("ip:1")
    assert take("ip:1", T0, 300, 2)
    storage.clear_sign_in_attempts("ip:1")
    assert take("ip:1", T0, 300, 2) and take("ip:1", T0, 300, 2)
    storage.give_back_sign_in_attempt("ip:never-seen")  # no-op


@pytest.mark.parametrize("backend", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def test_racing_attempts_from_two_nodes_never_exceed_the_limit(backend: str, request: pytest.FixtureRequest) -> None:
    """Two storage instances (two connection pools, as two nodes have) and 16 threads take
    attempts for one subject at once: exactly ``limit`` are admitted, whatever the race."""
    url = request.getfixturevalue("sqlite_url" if backend == "sqlite" else "postgres_url")
    migrate(url)  # idempotent
    nodes = [SqlStorage(url), SqlStorage(url)]
    try:
        nodes[0].clear_sign_in_attempts("key:race")
        start = threading.Barrier(16)

        def attempt(i: int) -> bool:
            start.wait()
            return nodes[i % 2].take_sign_in_attempt("key:race", T0, 300, 5)

        with ThreadPoolExecutor(16) as pool:
            admitted = list(pool.map(attempt, range(16)))
        assert sum(admitted) == 5
    finally:
        for node in nodes:
            node.clear_sign_in_attempts("key:race")
            node.close()
