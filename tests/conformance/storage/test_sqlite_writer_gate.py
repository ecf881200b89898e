"""The in-process writer gate of file SQLite (storage/engine.py, issue 17), on a real
database file with real threads: one gate per file whatever the engine or unit of work,
held from before BEGIN IMMEDIATE until the write's connection is released (in a unit of
its own and in an ``atomic`` scope), re-entrant on one thread, and a writer that cannot
get it within SQLite's busy timeout fails with StorageError as SQLite's own wait did."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
import sqlalchemy as sa

from trent.storage import engine as engine_module
from trent.storage.engine import UnitOfWork, create_engine
from trent.storage.repositories import StorageError


def _units(path: Path) -> tuple[UnitOfWork, UnitOfWork]:
    first, second = create_engine(f"sqlite:///{path}"), create_engine(f"sqlite:///{path}")
    with first.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE t (v INTEGER)")
    return UnitOfWork(first), UnitOfWork(second)


def test_one_gate_per_file_held_until_the_write_is_released(tmp_path: Path) -> None:
    a, b = _units(tmp_path / "one.db")
    other, _ = _units(tmp_path / "other.db")
    assert a._gate is not None and a._gate is b._gate and other._gate is not a._gate
    order: list[str] = []
    inside = threading.Event()
    go_on = threading.Event()

    def slow_writer() -> None:
        with a(write=True) as conn:
            conn.exec_driver_sql("INSERT INTO t VALUES (1)")
            inside.set()
            go_on.wait(5)
            order.append("first commits")

    def second_writer() -> None:
        with b(write=True) as conn:
            order.append("second begins")
            conn.exec_driver_sql("INSERT INTO t VALUES (2)")

    first = threading.Thread(target=slow_writer)
    first.start()
    assert inside.wait(5)
    second = threading.Thread(target=second_writer)
    second.start()
    second.join(0.3)
    assert second.is_alive() and order == []  # queued on the gate, not inside SQLite
    with a(write=False) as conn:  # readers are never gated (WAL)
        assert conn.exec_driver_sql("SELECT count(*) FROM t").scalar_one() == 0
    go_on.set()
    first.join(5)
    second.join(5)
    assert order == ["first commits", "second begins"]
    with b(write=False) as conn:
        assert sorted(r[0] for r in conn.exec_driver_sql("SELECT v FROM t")) == [1, 2]


def test_an_atomic_scope_holds_the_gate_from_its_first_write_to_its_end(tmp_path: Path) -> None:
    a, b = _units(tmp_path / "scope.db")
    gate = a._gate
    assert gate is not None
    with a.atomic() as scope:
        with a(write=False) as conn:
            conn.exec_driver_sql("SELECT 1")
        assert _free_elsewhere(gate)  # reads before the first write take nothing
        with a(write=True) as conn:
            conn.exec_driver_sql("INSERT INTO t VALUES (1)")
        assert not _free_elsewhere(gate)
        scope.commit_so_far()
        assert _free_elsewhere(gate)
        with a(write=True) as conn:
            conn.exec_driver_sql("INSERT INTO t VALUES (2)")
        assert not _free_elsewhere(gate)
    assert _free_elsewhere(gate)
    with b(write=False) as conn:
        assert conn.exec_driver_sql("SELECT count(*) FROM t").scalar_one() == 2


def test_a_writer_that_cannot_get_the_gate_fails_like_sqlite_busy(tmp_path: Path, monkeypatch: pytest.MonkeyPatch
                                                                  ) -> None:
    monkeypatch.setattr(engine_module, "SQLITE_BUSY_TIMEOUT_MS", 200)
    a, b = _units(tmp_path / "busy.db")
    holding = threading.Event()
    release = threading.Event()

    def holder() -> None:
        with a(write=True) as conn:
            conn.exec_driver_sql("INSERT INTO t VALUES (1)")
            holding.set()
            release.wait(5)

    thread = threading.Thread(target=holder)
    thread.start()
    try:
        assert holding.wait(5)
        with pytest.raises(StorageError), b(write=True) as conn:
            conn.exec_driver_sql("INSERT INTO t VALUES (2)")
    finally:
        release.set()
        thread.join(5)
    with b(write=True) as conn:  # free again once the holder committed
        conn.exec_driver_sql("INSERT INTO t VALUES (3)")
        assert conn.execute(sa.text("SELECT count(*) FROM t")).scalar_one() == 2


def _free_elsewhere(gate: threading.RLock) -> bool:
    """Whether another thread could take the gate now (an RLock is re-entrant here)."""
    result: list[bool] = []

    def probe() -> None:
        got = gate.acquire(timeout=0.05)
        if got:
            gate.release()
        result.append(got)

    thread = threading.Thread(target=probe)
    thread.start()
    thread.join(5)
    return result == [True]


def test_a_begin_refused_by_another_process_is_a_storage_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch
                                                               ) -> None:
    """Another process's write lock (here a plain sqlite3 connection, which the in-process
    gate does not see) makes BEGIN IMMEDIATE wait SQLite's busy timeout, then fail: the
    BEGIN runs on the sqlite3 connection itself (engine._sqlite_on_begin), and its
    refusal is still a StorageError naming only the driver's error type, in a unit of
    its own and in an ``atomic`` scope; the connection is usable again afterwards."""
    import sqlite3

    from trent.storage import transaction

    monkeypatch.setattr(engine_module, "SQLITE_BUSY_TIMEOUT_MS", 100)
    path = tmp_path / "elsewhere.db"
    a, _ = _units(path)
    other = sqlite3.connect(path, isolation_level=None)
    try:
        other.execute("BEGIN IMMEDIATE")
        with pytest.raises(StorageError, match=r"^storage operation failed \(OperationalError\)$"), \
                a(write=True) as conn:
            conn.exec_driver_sql("INSERT INTO t VALUES (1)")
        with pytest.raises(StorageError, match=r"\(OperationalError\)"), a.atomic():
            scope = transaction.current(a)
            assert scope is not None
            scope.begin()
        with a(write=False) as conn:  # reads go on: WAL readers do not wait for the writer
            assert conn.exec_driver_sql("SELECT count(*) FROM t").scalar_one() == 0
        other.execute("INSERT INTO t VALUES (9)")
    finally:
        other.execute("COMMIT")
        other.close()
    with a(write=True) as conn:
        conn.exec_driver_sql("INSERT INTO t VALUES (2)")
    with a(write=False) as conn:
        assert sorted(r[0] for r in conn.exec_driver_sql("SELECT v FROM t")) == [2, 9]
