"""SqlStorage specifics the shared contract does not cover: engine tuning, the error
edge (no SQLAlchemy exception or bound value escapes), and concurrent use."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from trent.domain.keys import Tag
from trent.storage.engine import normalize_url
from trent.storage.repositories import Duplicate, StorageError
from trent.storage.sql import SqlStorage

from . import builders as b
from .builders import REGION

SECRET = b"\x13\x37-very-secret-wrapped-bytes-\x42"


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def sql_storage(request: pytest.FixtureRequest) -> SqlStorage:
    fixture = "sqlite_storage" if request.param == "sqlite" else "postgres_storage"
    storage: SqlStorage = request.getfixturevalue(fixture)
    storage.reset()
    return storage


def _chain(exc: BaseException | None) -> Iterator[BaseException]:
    while exc is not None:
        yield exc
        exc = exc.__cause__ or exc.__context__


def _assert_no_leak(exc: BaseException) -> None:
    for link in _chain(exc):
        text = str(link) + repr(link)
        assert "very-secret" not in text and SECRET.hex() not in text


def test_sqlite_pragmas(sqlite_storage: SqlStorage) -> None:
    with sqlite_storage.engine.connect() as conn:
        pragma: Callable[[str], object] = lambda name: conn.exec_driver_sql(  # noqa: E731
            f"PRAGMA {name}"
        ).scalar()
        assert pragma("journal_mode") == "wal"
        assert pragma("synchronous") == 2  # FULL: an answered commit survives a power failure
        assert pragma("foreign_keys") == 1
        assert int(pragma("busy_timeout")) >= 1000  # type: ignore[call-overload]


def test_duplicate_does_not_leak_bound_values(sql_storage: SqlStorage) -> None:
    sql_storage.create_account(b.account())
    p = b.principal()
    sql_storage.create_principal(p)
    ak = b.access_key(p, wrapped_secret=SECRET)
    sql_storage.create_access_key(ak)
    with pytest.raises(Duplicate) as caught:
        sql_storage.create_access_key(ak)
    _assert_no_leak(caught.value)
    assert not isinstance(caught.value, sa.exc.SQLAlchemyError)


def test_integrity_failures_other_than_uniqueness_are_storage_errors(
    sql_storage: SqlStorage,
) -> None:
    with pytest.raises(StorageError) as caught:
        sql_storage.put_tags(REGION, b.key_id(), [Tag("a", "b")])  # no such key (FK)
    assert not isinstance(caught.value, Duplicate)
    with pytest.raises(StorageError) as caught:
        sql_storage.create_access_key(b.access_key(b.principal(), wrapped_secret=SECRET))
    assert not isinstance(caught.value, Duplicate)
    _assert_no_leak(caught.value)


def test_unreachable_database_is_a_storage_error() -> None:
    storage = SqlStorage("postgresql+psycopg://nobody@127.0.0.1:9/none?connect_timeout=2")
    try:
        with pytest.raises(StorageError):
            storage.get_key(REGION, b.key_id())
    finally:
        storage.close()


def test_urls() -> None:
    assert normalize_url("postgresql://u@h/db").drivername == "postgresql+psycopg"
    with pytest.raises(ValueError):
        normalize_url("mysql://u@h/db")
    storage = SqlStorage("postgresql://user:hunter2@127.0.0.1:9/db")
    try:
        assert "hunter2" not in repr(storage)
    finally:
        storage.close()


def test_memory_database_is_shared_between_threads() -> None:
    storage = SqlStorage("sqlite://", upgrade=True)
    try:
        key = b.key()
        thread = threading.Thread(target=storage.create_key, args=(key, None))
        thread.start()
        thread.join()
        assert storage.get_key(REGION, key.key_id) == key
    finally:
        storage.close()


def test_concurrent_units_of_work(sql_storage: SqlStorage) -> None:
    shared = b.key()
    sql_storage.create_key(shared, None)
    errors: list[BaseException] = []
    created: list[str] = []
    lock = threading.Lock()

    def worker(n: int) -> None:
        try:
            for i in range(15):
                key = b.key()
                sql_storage.create_key(key, b.material(key))
                sql_storage.put_tags(REGION, shared.key_id, [Tag(f"t{i}", str(n))])
                sql_storage.update_key(key.with_changes(description=str(i)))
                assert sql_storage.get_key(REGION, key.key_id) is not None
                with lock:
                    created.append(key.key_id)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    listed = {k.key_id for k in sql_storage.list_keys(shared.account_id, REGION, 1000, None).items}
    assert set(created) <= listed and len(created) == 8 * 15
    assert [t.key for t in sql_storage.get_tags(REGION, shared.key_id)] == sorted(
        f"t{i}" for i in range(15)
    )


def test_sqlite_commits_are_power_safe_except_in_dev(tmp_path: Path) -> None:
    """engine.py: synchronous=FULL (each commit syncs the WAL) unless the storage is built
    for --dev, whose data ``reset`` throws away; bootstrap picks by mode."""
    from trent.bootstrap import build_deps
    from trent.config import Settings

    def synchronous(storage: SqlStorage) -> object:
        with storage.engine.connect() as conn:
            return conn.exec_driver_sql("PRAGMA synchronous").scalar()

    dev_only = SqlStorage(f"sqlite:///{tmp_path / 'dev.db'}", upgrade=True, power_safe=False)
    try:
        assert synchronous(dev_only) == 1  # NORMAL
    finally:
        dev_only.close()
    for dev, expected in ((True, 1), (False, 2)):
        deps = build_deps(Settings(dev=dev, data_dir=tmp_path / f"dev-{dev}"))
        try:
            assert synchronous(deps.storage.inner) == expected  # type: ignore[attr-defined, arg-type]
        finally:
            deps.storage.close()
