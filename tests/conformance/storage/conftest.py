"""Backends for the storage conformance suite (habits §9: one suite, every implementation).

``storage`` is parametrized over SQLite (temporary file), SQLite in memory, PostgreSQL
(the session's throwaway cluster, see tests/fixtures/postgres.py) and ``CachedStorage``
over SQLite. Each backend is created and migrated once per session; each test starts
from ``reset()``, which keeps the suite fast.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from trent.domain.clock import FixedClock
from trent.storage.cache import CachedStorage
from trent.storage.migrate import migrate
from trent.storage.repositories import Storage
from trent.storage.sql import SqlStorage

from .builders import T0

BACKENDS = [
    "sqlite",
    "sqlite-memory",
    pytest.param("postgres", marks=pytest.mark.postgres),
    "cached-sqlite",
]


@pytest.fixture(scope="session")
def sqlite_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    path: Path = tmp_path_factory.mktemp("storage") / "trent.db"
    url = f"sqlite:///{path}"
    migrate(url)
    return url


@pytest.fixture(scope="session")
def sqlite_storage(sqlite_url: str) -> Iterator[SqlStorage]:
    storage = SqlStorage(sqlite_url)
    yield storage
    storage.close()


@pytest.fixture(scope="session")
def sqlite_memory_storage() -> Iterator[SqlStorage]:
    storage = SqlStorage("sqlite://", upgrade=True)
    yield storage
    storage.close()


@pytest.fixture(scope="session")
def postgres_storage(postgres_url: str) -> Iterator[SqlStorage]:
    migrate(postgres_url)
    storage = SqlStorage(postgres_url)
    yield storage
    storage.close()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def migrated_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A database of this test's own, migrated: a new SQLite file, or a new PostgreSQL
    database on the session's cluster (for tests that open several engines on it, as
    several processes would)."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'trent.db'}"
    else:
        url = request.getfixturevalue("postgres_database_url")
    SqlStorage(url, upgrade=True).close()
    return url


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(T0)


@pytest.fixture(params=BACKENDS)
def storage(request: pytest.FixtureRequest, clock: FixedClock) -> Storage:
    name: str = request.param
    backend: Storage
    if name == "sqlite":
        backend = request.getfixturevalue("sqlite_storage")
    elif name == "sqlite-memory":
        backend = request.getfixturevalue("sqlite_memory_storage")
    elif name == "postgres":
        backend = request.getfixturevalue("postgres_storage")
    elif name == "cached-sqlite":
        backend = CachedStorage(request.getfixturevalue("sqlite_storage"), clock, ttl_seconds=1.0)
    else:  # pragma: no cover
        raise AssertionError(name)
    backend.reset()
    return backend
