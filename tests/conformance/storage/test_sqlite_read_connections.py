"""The one-row readers' own SQLite connections (storage/sqlite_row_read.py, issue 17): kept
and reused outside SQLAlchemy's pool, one per concurrent reader, each read a fresh
snapshot of what committed, a failing one dropped, all closed with the engine."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from trent.storage.engine import create_engine
from trent.storage.repositories import StorageError
from trent.storage.sqlite_row_read import ReadConnections, RowRead

ROWS = sa.Table("rows", sa.MetaData(), sa.Column("id", sa.Integer, primary_key=True), sa.Column("flag", sa.Boolean))
BY_ID = sa.select(ROWS).where(ROWS.c.id == sa.bindparam("id"))


@pytest.fixture()
def engine(tmp_path: Path) -> Iterator[Engine]:
    engine = create_engine(f"sqlite:///{tmp_path / 'db.sqlite'}")
    ROWS.metadata.create_all(engine)
    yield engine
    engine.dispose()


def test_a_reader_reuses_its_connection_and_sees_each_commit(engine: Engine) -> None:
    readers = ReadConnections(engine)
    read = RowRead(engine, BY_ID, readers)
    assert read({"id": 1}) is None
    with engine.begin() as conn:
        conn.execute(ROWS.insert().values(id=1, flag=True))
    assert read({"id": 1}) == {"id": 1, "flag": True}  # SQLite's 1, as a bool
    with engine.begin() as conn:
        conn.execute(ROWS.update().values(flag=False))
    assert read({"id": 1}) == {"id": 1, "flag": False}  # no snapshot held between reads
    assert len(readers._made) == 1  # noqa: SLF001 - one reader, one connection
    conn = readers.take()
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"  # the engine's connect pragmas
    assert conn.execute("PRAGMA foreign_keys").fetchone()[0] == 1


def test_concurrent_readers_get_a_connection_each_and_keep_them(engine: Engine) -> None:
    readers = ReadConnections(engine)
    read = RowRead(engine, BY_ID, readers)
    with engine.begin() as conn:
        conn.execute(ROWS.insert().values(id=1, flag=True))
    barrier = threading.Barrier(4)
    answers: list[object] = []

    def reader() -> None:
        barrier.wait()
        for _ in range(200):
            answers.append(read({"id": 1}))

    threads = [threading.Thread(target=reader) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert answers == [{"id": 1, "flag": True}] * 800
    assert 1 <= len(readers._made) <= 4  # noqa: SLF001 - at most one per reader at once, never one per read


def test_a_failing_read_is_a_storage_error_and_its_connection_is_dropped(engine: Engine) -> None:
    readers = ReadConnections(engine)
    read = RowRead(engine, BY_ID, readers)
    assert read({"id": 1}) is None
    (conn,) = readers._made  # noqa: SLF001
    ROWS.metadata.drop_all(engine)
    with pytest.raises(StorageError):
        read({"id": 1})
    assert conn not in readers._made  # noqa: SLF001
    with pytest.raises(sqlite3.ProgrammingError):
        conn.execute("SELECT 1")  # closed, not given back


def test_disposing_the_engine_closes_every_reader(engine: Engine) -> None:
    readers = ReadConnections(engine)
    read = RowRead(engine, BY_ID, readers)
    read({"id": 1})
    (conn,) = readers._made  # noqa: SLF001
    engine.dispose()
    with pytest.raises(sqlite3.ProgrammingError):
        conn.execute("SELECT 1")
    assert read({"id": 1}) is None  # a later read opens a fresh one
