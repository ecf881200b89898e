"""One suite for every object store (habits §9; issue 16): the file:// store and the
S3 adapter against a real S3-compatible server (moto's, started for the session).

Keys are listed in UTF-8 byte order with S3's Prefix / StartAfter / Delimiter rules,
ranges follow HTTP, metadata round-trips, a missing key is NoSuchKey."""

from __future__ import annotations

import contextlib
import hashlib
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from trent.objectstore import InvalidObjectKey, InvalidRange, NoSuchKey, ObjectStore
from trent.objectstore.file import FileObjectStore
from trent.objectstore.s3 import S3ObjectStore

from .fsyncs import record_fsyncs


@pytest.fixture(scope="session")
def moto_endpoint(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    log = open(tmp_path_factory.mktemp("moto") / "moto.log", "wb")  # noqa: SIM115
    process = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
                               stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError):
            urllib.request.urlopen(url + "/moto-api/", timeout=1)
            break
        time.sleep(0.1)
    else:
        process.kill()
        pytest.fail("moto server did not start")
    try:
        yield url
    finally:
        process.terminate()
        process.wait(10)
        log.close()


@pytest.fixture(params=["file", "s3"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> ObjectStore:
    if request.param == "file":
        return FileObjectStore(tmp_path / "bucket")
    import boto3

    endpoint = request.getfixturevalue("moto_endpoint")
    bucket = f"b-{uuid.uuid4().hex[:12]}"
    client = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1",
                          aws_access_key_id="test", aws_secret_access_key="test")
    client.create_bucket(Bucket=bucket)
    return S3ObjectStore(bucket, client=client)


def test_put_get_head_round_trip(store: ObjectStore) -> None:
    body = bytes(range(256)) * 40
    info = store.put("AWSLogs/1/a.json.gz", body, {"signature": "ab12", "signature-algorithm": "SHA256withRSA"})
    assert info.etag == hashlib.md5(body).hexdigest()  # noqa: S324 - S3's ETag
    got = store.get("AWSLogs/1/a.json.gz")
    assert got.body == body and got.info.size == len(body) and got.byte_range is None
    assert got.info.metadata == {"signature": "ab12", "signature-algorithm": "SHA256withRSA"}
    head = store.head("AWSLogs/1/a.json.gz")
    assert head.size == len(body) and head.etag == info.etag and head.metadata == got.info.metadata
    store.put("AWSLogs/1/a.json.gz", b"replaced")  # overwrite replaces body and metadata
    assert store.get("AWSLogs/1/a.json.gz").body == b"replaced"
    assert store.head("AWSLogs/1/a.json.gz").metadata == {}


def test_ranges_follow_http(store: ObjectStore) -> None:
    store.put("r", b"0123456789")
    assert store.get("r", (2, 4)).body == b"234"
    assert store.get("r", (2, 4)).byte_range == (2, 4)
    assert store.get("r", (7, None)).body == b"789"
    assert store.get("r", (None, 3)).body == b"789"  # the last 3 bytes
    assert store.get("r", (8, 100)).body == b"89"
    assert store.get("r", (8, 100)).info.size == 10
    with pytest.raises(InvalidRange):
        store.get("r", (10, 20))


def test_missing_keys(store: ObjectStore) -> None:
    with pytest.raises(NoSuchKey):
        store.get("nope/x")
    with pytest.raises(NoSuchKey):
        store.head("nope/x")
    store.delete("nope/x")  # not an error


def test_listing_order_prefix_start_after_delimiter(store: ObjectStore) -> None:
    keys = ["a/b", "a-c", "a/c/d", "b", "a/d", "\u00e9", "a0"]
    for k in keys:
        store.put(k, k.encode())
    everything = store.list()
    assert [o.key for o in everything.objects] == sorted(keys, key=lambda k: k.encode())
    assert not everything.truncated
    assert [o.key for o in store.list(prefix="a/").objects] == ["a/b", "a/c/d", "a/d"]
    assert [o.key for o in store.list(prefix="a/", start_after="a/b").objects] == ["a/c/d", "a/d"]
    assert list(store.list(prefix="a/", delimiter="/").common_prefixes) == ["a/c/"]
    page = store.list(limit=2)
    assert [o.key for o in page.objects] == ["a-c", "a/b"] and page.truncated
    rolled = store.list(delimiter="/")
    assert [o.key for o in rolled.objects] == ["a-c", "a0", "b", "\u00e9"]
    assert list(rolled.common_prefixes) == ["a/"]
    assert [o.key for o in store.list(prefix="zz").objects] == []
    store.delete("a/b")
    assert [o.key for o in store.list(prefix="a/").objects] == ["a/c/d", "a/d"]


def test_file_store_refuses_unsafe_keys(tmp_path: Path) -> None:
    store = FileObjectStore(tmp_path / "bucket")
    for key in ("", "../escape", "a/../b", "/abs", "a//b", ".trent-objectmeta/x", "x" * 1025):
        with pytest.raises(InvalidObjectKey):
            store.put(key, b"x")
    store.put("a/b", b"x")
    with pytest.raises(InvalidObjectKey):  # a file cannot also be a directory
        store.put("a/b/c", b"y")
    assert not (tmp_path / "escape").exists()


def test_file_store_put_makes_names_durable_metadata_first(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Each file's bytes, then the directory it was renamed into (the name), metadata
    before object; every directory a put makes is fsynced in its parent first."""
    root = tmp_path / "bucket"
    store = FileObjectStore(root)
    fsyncs = record_fsyncs(root, monkeypatch)
    store.put("logs/2026/a.json", b"{}")
    meta = ".trent-objectmeta"
    assert fsyncs.take() == [
        (f"{meta}/logs", ("2026",)), (meta, ("logs",)), (".", (meta,)),  # made: .trent-objectmeta/logs/2026
        (f"{meta}/logs/2026/a.json.json", None), (f"{meta}/logs/2026", ("a.json.json",)),
        ("logs", ("2026",)), (".", tuple(sorted([meta, "logs"]))),  # made: logs/2026
        ("logs/2026/a.json", None), ("logs/2026", ("a.json",)),
    ]
    store.put("logs/2026/b.json", b"{}")  # nothing to make
    assert fsyncs.take() == [
        (f"{meta}/logs/2026/b.json.json", None), (f"{meta}/logs/2026", ("a.json.json", "b.json.json")),
        ("logs/2026/b.json", None), ("logs/2026", ("a.json", "b.json")),
    ]
    FileObjectStore(tmp_path / "scratch", durable=False).put("logs/x", b"{}")
    assert fsyncs.take() == []


def test_file_store_object_edited_by_hand_reports_its_real_etag(tmp_path: Path) -> None:
    store = FileObjectStore(tmp_path / "bucket")
    store.put("k", b"original", {"signature": "s"})
    (tmp_path / "bucket" / "k").write_bytes(b"tampered!")
    got = store.get("k")
    assert got.body == b"tampered!" and got.info.etag == hashlib.md5(b"tampered!").hexdigest()  # noqa: S324
    assert store.head("k").etag == got.info.etag  # the size changed: recomputed
