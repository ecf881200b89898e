"""Which S3 requests the server serves on its event loop (protocol/s3/front_door.py,
``on_loop``): GetObject and HeadObject of an SSE bucket, and PutObject of an object kept
inline in its row, and only when every read is local (file SQLite and a file object
store); everything else keeps a worker thread."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from trent import bootstrap
from trent.config import Settings, env_defaults

HOST = [(b"host", b"127.0.0.1:8080")]


def _runtime(tmp_path: Path, **changes: Any) -> Any:
    settings = dataclasses.replace(Settings(**env_defaults()), data_dir=tmp_path, dev=True, **changes)  # type: ignore[arg-type]
    bootstrap.prepare(settings)
    return bootstrap.build(settings)


@pytest.fixture()
def front(tmp_path: Path) -> Iterator[Any]:
    runtime = _runtime(tmp_path)
    try:
        yield runtime.http.s3
    finally:
        runtime.deps.storage.close()


@pytest.mark.parametrize(("method", "path", "query", "on_loop"), [
    ("GET", "/bucket/key", "", True),
    ("HEAD", "/bucket/dir/key.txt", "", True),
    ("GET", "/bucket/key", "partNumber=1", True),
    ("GET", "/bucket/key", "response-content-type=text%2Fplain", True),
    ("GET", "/bucket/key", "uploadId=abc", False),  # ListParts: up to 1,000 rows
    ("GET", "/bucket", "", False),  # ListObjects
    ("GET", "/bucket", "list-type=2", False),
    ("GET", "/", "", False),  # ListBuckets
    ("GET", "/bucket", "encryption", False),
    ("PUT", "/bucket/key", "", False),  # no declared length: maybe a blob
    ("DELETE", "/bucket/key", "", False),
])
def test_object_reads_run_on_the_loop(front: Any, method: str, path: str, query: str, on_loop: bool) -> None:
    assert front.reads_on_loop
    parsed = front.on_loop(method, path, query, HOST)
    assert (parsed is not None) is on_loop
    if parsed is not None:
        assert parsed.request.bucket == "bucket" and parsed.request.key == path.split("/", 2)[2]
        assert parsed.operation == {"GET": "GetObject", "HEAD": "HeadObject"}[method]


INLINE = 4096  # Settings.s3_inline_max_bytes' default


@pytest.mark.parametrize(("query", "headers", "on_loop"), [
    ("", [(b"content-length", b"1024")], True),
    ("", [(b"content-length", b"0")], True),
    ("", [(b"content-length", str(INLINE).encode())], True),
    ("", [(b"content-length", str(INLINE + 1).encode())], False),  # a blob, written and fsynced: a thread's work
    ("", [(b"content-length", b"1200"), (b"x-amz-decoded-content-length", b"1024")], True),  # aws-chunked
    ("", [(b"content-length", b"1200"), (b"x-amz-decoded-content-length", b"5000")], False),
    ("", [(b"content-length", b"-1")], False),
    ("", [(b"content-length", b"1024"), (b"x-amz-copy-source", b"/other/key")], False),  # CopyObject
    ("partNumber=1&uploadId=abc", [(b"content-length", b"1024")], False),  # UploadPart
])
def test_a_put_of_an_inline_object_runs_on_the_loop(front: Any, query: str, headers: list[tuple[bytes, bytes]],
                                                     on_loop: bool) -> None:
    """Its row is committed by the server's audit group commit (audit_batcher.py): no blob,
    no disk wait, no worker thread."""
    assert front.sse.settings.inline_max_bytes == INLINE
    parsed = front.on_loop("PUT", "/bucket/key", query, HOST + headers)
    assert (parsed is not None) is on_loop
    if parsed is not None:
        assert parsed.operation == "PutObject" and parsed.request.key == "key"


def test_puts_keep_their_thread_without_an_embedded_database(tmp_path: Path) -> None:
    """On PostgreSQL PutObject commits its own transaction on a worker thread (front_door.py):
    no held rows, so no PUT on the loop. Here: a front door without HeldRows."""
    runtime = _runtime(tmp_path)
    try:
        front = runtime.http.s3
        assert front.on_loop("PUT", "/bucket/key", "", HOST + [(b"content-length", b"10")]) is not None
        front.held = None
        assert front.on_loop("PUT", "/bucket/key", "", HOST + [(b"content-length", b"10")]) is None
        assert front.on_loop("GET", "/bucket/key", "", HOST) is not None
    finally:
        runtime.deps.storage.close()


def test_the_trail_bucket_keeps_its_thread(front: Any) -> None:
    """The read-only audit bucket is served from the trail's own store (issue 16)."""
    (trail,) = front._trail_names  # noqa: SLF001
    assert front.on_loop("GET", f"/{trail}/AWSLogs/x.json.gz", "", HOST) is None


def test_virtual_hosted_requests_are_recognised(tmp_path: Path) -> None:
    runtime = _runtime(tmp_path, s3_domain="s3.trent.test")
    try:
        front = runtime.http.s3
        parsed = front.on_loop("GET", "/some/key", "", [(b"host", b"photos.s3.trent.test:8080")])
        assert parsed is not None and (parsed.request.bucket, parsed.request.key) == ("photos", "some/key")
        assert front.on_loop("GET", "/", "", [(b"host", b"photos.s3.trent.test:8080")]) is None  # a listing
    finally:
        runtime.deps.storage.close()


@pytest.mark.parametrize(("database", "object_store", "local"), [
    ("file", None, True),  # the default: file SQLite, file:// in the data dir
    ("file", "file:///srv/objects", True),
    ("file", "s3+http://127.0.0.1:9/trent-content/objects", False),  # a network round trip per read
    ("memory", None, False),  # one shared connection under a lock
])
def test_reads_that_may_wait_keep_the_thread(tmp_path: Path, database: str, object_store: str | None,
                                             local: bool) -> None:
    from trent.bootstrap_audit import reads_are_local
    from trent.storage.engine import create_engine
    from trent.storage.sql_s3 import SqlS3Repository

    engine = create_engine(f"sqlite:///{tmp_path / 'db.sqlite'}" if database == "file" else "sqlite://")
    try:
        settings = dataclasses.replace(Settings(**env_defaults()), data_dir=tmp_path, dev=True,  # type: ignore[arg-type]
                                       object_store=object_store)
        assert reads_are_local(SqlS3Repository(engine), settings) is local
        assert reads_are_local(object(), settings) is False  # any other repository
    finally:
        engine.dispose()
