"""File SQLite's WAL stays bounded under sustained concurrent reads and writes.

Why: a WAL file only restarts from its beginning when a writer finds every frame
checkpointed *and* no reader still inside a WAL snapshot (sqlite.org/wal.html, "Avoiding
Excessively Large WAL Files"). Under continuous commits the checkpointer's PASSIVE
checkpoints never catch up, so the file kept growing (461 MB after a minute of Encrypt
load on ``trent serve --dev``) and, without ``journal_size_limit``, never shrank. The
storage layer must restart it now and then, without making the audit appender wait long.
"""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

from trent.storage.audit_append import _Checkpointer
from trent.storage.engine import SQLITE_JOURNAL_SIZE_LIMIT, SQLITE_WAL_BOUND_BYTES, writer_gate
from trent.storage.migrate import migrate
from trent.storage.sql import SqlStorage

from .test_audit_storage import fresh_account, record

WAL_BOUND = 32 * 1024 * 1024  # bytes; main grows linearly (~80 MB in the run)
RUN_SECONDS = 6.0
READERS = 4


def file_storage(tmp_path: Path) -> tuple[SqlStorage, Path]:
    """Migrated file SQLite storage and the path of its WAL."""
    path = tmp_path / "trent.db"
    url = f"sqlite:///{path}"
    migrate(url)
    return SqlStorage(url), path.with_name(path.name + "-wal")


def test_wal_stays_bounded_while_readers_always_overlap(tmp_path: Path) -> None:
    storage, wal = file_storage(tmp_path)
    engine = storage._engine  # readers on the storage's own pool, as request threads use it
    stop = threading.Event()
    errors: list[BaseException] = []
    largest = 0
    previous = 0
    drops = 0

    def reader(offset: float) -> None:
        # Short read transactions back to back on several threads: nearly always some
        # reader holds a snapshot, as under sustained request load (each one a request's read).
        time.sleep(offset)
        try:
            while not stop.is_set():
                with engine.connect() as conn:
                    conn.exec_driver_sql("SELECT count(*) FROM audit_trails").fetchall()
                    time.sleep(0.001)
                    conn.commit()
        except BaseException as exc:  # noqa: BLE001 - reported by the main thread
            errors.append(exc)

    readers = [threading.Thread(target=reader, args=(i * 0.0003,)) for i in range(READERS)]
    for thread in readers:
        thread.start()
    try:
        account = fresh_account()
        deadline = time.monotonic() + RUN_SECONDS
        appended = 0
        while time.monotonic() < deadline:
            # a group commit per event-loop tick, as the server's audit writer does
            storage.append_audit_events([record(account) for _ in range(20)])
            appended += 20
            time.sleep(0.002)
            if wal.exists():
                size = os.path.getsize(wal)
                drops += size < previous
                previous = size
                largest = max(largest, size)
    finally:
        stop.set()
        for thread in readers:
            thread.join()
        storage.close()
    assert not errors, errors
    assert appended > 1000  # the load really ran
    assert largest < WAL_BOUND, f"WAL reached {largest} bytes after {appended} events, {drops} drops"


def test_wal_is_cut_back_on_disk_after_a_spike(tmp_path: Path) -> None:
    # A reader held inside one snapshot stops any restart, so the WAL grows past the
    # journal size limit; once it is gone the checkpointer restarts the WAL and the next
    # commit must cut the file back (main kept the high-water mark forever).
    storage, wal = file_storage(tmp_path)
    account = fresh_account()
    try:
        storage.append_audit_events([record(account)])
        with storage._engine.connect() as reader:
            reader.exec_driver_sql("SELECT count(*) FROM audit_trails").fetchall()  # holds its snapshot
            while os.path.getsize(wal) <= SQLITE_JOURNAL_SIZE_LIMIT + SQLITE_WAL_BOUND_BYTES:
                storage.append_audit_events([record(account) for _ in range(200)])
            reader.commit()
        spike = os.path.getsize(wal)
        deadline = time.monotonic() + 10
        while os.path.getsize(wal) > SQLITE_JOURNAL_SIZE_LIMIT and time.monotonic() < deadline:
            storage.append_audit_events([record(account)])
            time.sleep(0.05)
        assert os.path.getsize(wal) <= SQLITE_JOURNAL_SIZE_LIMIT, f"WAL still {os.path.getsize(wal)} (spike {spike})"
        assert storage.append_audit_events([record(account)])[0][0] > 1  # still appending, same trail
    finally:
        storage.close()


def _file_storage(tmp_path: Path) -> SqlStorage:
    url = f"sqlite:///{tmp_path / 'trent.db'}"
    migrate(url)
    return SqlStorage(url)


def test_a_restart_in_the_way_gives_up_at_once(tmp_path: Path) -> None:
    # The checkpointer never waits: with a reader inside a WAL snapshot, or an in-process
    # writer holding the gate, a round past the bound reports "not restarted" promptly.
    storage = _file_storage(tmp_path)
    engine = storage._engine
    checkpointer = _Checkpointer(engine, interval=3600, bound=0)  # its thread stays idle
    account = fresh_account()
    raw = engine.raw_connection()
    try:
        raw.cursor().execute("PRAGMA busy_timeout=0")
        storage.append_audit_events([record(account) for _ in range(50)])
        with engine.connect() as reader:
            reader.exec_driver_sql("SELECT count(*) FROM audit_trails").fetchall()
            storage.append_audit_events([record(account) for _ in range(50)])
            started = time.monotonic()
            assert checkpointer._checkpoint(raw) is False
            assert time.monotonic() - started < 1.0
            reader.commit()
        with writer_gate(engine.url):
            ready = threading.Event()
            result: list[bool] = []

            def other_thread() -> None:  # the gate is re-entrant: try it from elsewhere
                result.append(checkpointer._checkpoint(raw))
                ready.set()

            threading.Thread(target=other_thread).start()
            assert ready.wait(1.0) and result == [False]
        assert checkpointer._checkpoint(raw) is True  # nothing in the way: restarted
    finally:
        raw.close()
        checkpointer.stop()
        storage.close()
