"""A GET racing overwrites of the same key (issue 17): S3 answers the old object or the new
one, never an error. Trent once unlinked the replaced blob right after the overwrite
committed, so a GET that had read the old row found no blob and answered 500
InternalError; replaced blobs now wait out a grace period (service/s3/blob_reaper.py).

Real boto3 over HTTP against a running Trent; every body read back is compared
byte-for-byte with the bodies written."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from botocore.config import Config

from tests.fixtures.trent_server import TrentServer, start_trent, stop_trent
from tests.wire.s3_helpers import body

WRITERS = 16
READERS = 16
WRITES_PER_WRITER = 25


@pytest.fixture()
def server(tmp_path: Path) -> Iterator[TrentServer]:
    started = start_trent(tmp_path / "data")
    try:
        yield started
    finally:
        stop_trent(started)


def test_gets_racing_overwrites_answer_an_old_or_new_body(server: TrentServer) -> None:
    config = Config(retries={"max_attempts": 1}, max_pool_connections=WRITERS + READERS)
    s3 = server.client("s3", config=config)
    s3.create_bucket(Bucket="race")
    first = body(1024)
    s3.put_object(Bucket="race", Key="k", Body=first)
    bodies = [[body(1024) for _ in range(WRITES_PER_WRITER)] for _ in range(WRITERS)]
    written = {first} | {b for mine in bodies for b in mine}
    done = threading.Event()

    def write(mine: list[bytes]) -> int:
        for data in mine:
            s3.put_object(Bucket="race", Key="k", Body=data)
        return len(mine)

    def read() -> tuple[int, list[str]]:
        reads, failures = 0, []
        while not done.is_set() or reads == 0:
            try:
                got = s3.get_object(Bucket="race", Key="k")["Body"].read()
            except Exception as exc:  # noqa: BLE001 - every failure is reported below
                failures.append(repr(exc))
                continue
            finally:
                reads += 1
            if got not in written:
                failures.append(f"a body that was never written ({len(got)} bytes)")
        return reads, failures

    with ThreadPoolExecutor(WRITERS + READERS) as pool:
        readers = [pool.submit(read) for _ in range(READERS)]
        writers = [pool.submit(write, mine) for mine in bodies]
        try:
            assert sum(w.result() for w in writers) == WRITERS * WRITES_PER_WRITER
        finally:
            done.set()
        results = [r.result() for r in readers]
    failures = [f for _, fs in results for f in fs]
    total = sum(n for n, _ in results)
    assert total >= READERS
    assert failures == [], f"{len(failures)} of {total} GETs failed: {failures[:5]}"
    final = s3.get_object(Bucket="race", Key="k")["Body"].read()
    assert final in {mine[-1] for mine in bodies}


def test_the_background_sweep_unlinks_replaced_blobs_after_the_grace(tmp_path: Path) -> None:
    """TRENT_S3_BLOB_GRACE, on real timers: the replaced and the deleted blob stay at
    least the grace, then the sweeper (under its lease) unlinks them; the live one stays."""
    import time

    server = start_trent(tmp_path / "data", env={"TRENT_SWEEP_INTERVAL": "0.2", "TRENT_S3_BLOB_GRACE": "1.5"})
    try:
        s3 = server.client("s3", config=Config(retries={"max_attempts": 1}))
        root = tmp_path / "data" / "objects"

        def blobs() -> set[Path]:
            return {p for p in root.rglob("*") if p.is_file() and not p.name.startswith(".put-")}

        s3.create_bucket(Bucket="grace")
        # above TRENT_S3_INLINE_MAX: in the object store
        s3.put_object(Bucket="grace", Key="a", Body=body(5000))
        s3.put_object(Bucket="grace", Key="gone", Body=body(5000))
        live = blobs()
        changed = time.monotonic()  # before the first commit that drops a reference
        new = body(6000)
        s3.put_object(Bucket="grace", Key="a", Body=new)  # replaces one of ``live``
        s3.delete_object(Bucket="grace", Key="gone")
        everything = blobs()
        assert len(everything) == 3
        while len(blobs()) > 1 and time.monotonic() - changed < 15:
            assert time.monotonic() - changed >= 1.5 or blobs() == everything  # never before the grace
            time.sleep(0.05)
        assert len(blobs()) == 1 and blobs() - live == blobs()  # only the new "a" is left
        assert s3.get_object(Bucket="grace", Key="a")["Body"].read() == new
    finally:
        stop_trent(server)
