"""S3 streaming writes are atomic with their audit events (issues 16 + 17), against a real
server on SQLite and PostgreSQL driven by boto3: PutObject, UploadPart and the copies
stream their blob first, then commit the row, the S3 event and the KMS events of the
call in one short transaction. An audit store that refuses writes (a trigger injected
into the server's database) therefore leaves no object, no part, no replaced content
and no new blob; a committed write has its S3 event and its KMS GenerateDataKey event
side by side in the trail; and the upload itself never holds the database's write lock.
"""

from __future__ import annotations

import hashlib
import http.client
import json
import tempfile
import threading
from concurrent.futures import ThreadPoolExecutor
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from botocore.auth import S3SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from botocore.exceptions import ClientError

from tests.fixtures.trent_server import TrentServer, start_trent, stop_trent
from tests.wire.s3_helpers import SEED, USERS, blob_files, body, s3_client, without_expect
from tests.wire.test_audit_outbox import Backend, assert_chain_whole


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def server_and_db(request: pytest.FixtureRequest) -> Iterator[tuple[TrentServer, Backend]]:
    with tempfile.TemporaryDirectory(prefix="trent-s3-atomic-") as tmp:
        seed = Path(tmp) / "seed.json"
        seed.write_text(json.dumps(SEED))
        data = Path(tmp) / "data"
        if request.param == "sqlite":
            server = start_trent(data, "--seed", str(seed))
            url = f"sqlite:///{server.database}"
        else:
            url = request.getfixturevalue("postgres_database_url")
            server = start_trent(data, "--seed", str(seed), "--database-url", url)
        backend = Backend(url)
        try:
            yield server, backend
        finally:
            stop_trent(server)
            backend.engine.dispose()


def blobs(server: TrentServer) -> set[Path]:
    return set(blob_files(server.data_dir / "objects"))


def events(db: Backend) -> list[dict[str, Any]]:
    with db.engine.connect() as conn:
        rows = conn.exec_driver_sql("SELECT bodies FROM audit_segments ORDER BY first_seq").fetchall()
    return [json.loads(b) for r in rows for b in bytes(r[0]).split(b"\n")]


def internal_error(call: Any, **params: Any) -> None:
    with pytest.raises(ClientError) as refused:
        call(**params)
    error = refused.value.response
    assert (error["Error"]["Code"], error["ResponseMetadata"]["HTTPStatusCode"]) == ("InternalError", 500)


RACERS = 64
# boto3's uploads (Expect: 100-continue: streamed, a worker thread each) and bodies sent at
# once (``without_expect``): a small PutObject then runs on the event loop and its row is
# committed by the server's audit batch (on SQLite; front_door.py, ``on_loop``)
CLIENTS = pytest.mark.parametrize("expect", [True, False], ids=["expect-100", "at-once"])


def racers(server: TrentServer, expect: bool, count: int) -> list[Any]:
    clients = [s3_client(server, "alice") for _ in range(count)]
    return clients if expect else [without_expect(c) for c in clients]


@CLIENTS
def test_a_put_commits_with_its_s3_and_kms_events(server_and_db: tuple[TrentServer, Backend], expect: bool) -> None:
    server, db = server_and_db
    s3 = racers(server, expect, 1)[0]
    s3.create_bucket(Bucket="pairs")
    out = s3.put_object(Bucket="pairs", Key="k", Body=body(1000), ServerSideEncryption="aws:kms")
    request_id = out["ResponseMetadata"]["RequestId"]
    trail = events(db)
    mine = [i for i, e in enumerate(trail) if e.get("requestID") == request_id]
    # one append: the KMS event S3 made for the caller, then the S3 event, adjacent in the chain
    assert [trail[i]["eventName"] for i in mine] == ["GenerateDataKey", "PutObject"]
    assert mine[1] == mine[0] + 1
    generate, put = trail[mine[0]], trail[mine[1]]
    assert generate["eventSource"] == "kms.amazonaws.com"
    assert generate["userIdentity"]["invokedBy"] == "s3.amazonaws.com"
    assert put["eventSource"] == "s3.amazonaws.com" and "errorCode" not in put
    assert put["requestParameters"]["key"] == "k"
    assert_chain_whole(db.url, server.account_id, server.region)


def test_a_refusing_audit_store_leaves_no_object_part_or_blob(server_and_db: tuple[TrentServer, Backend]) -> None:
    server, db = server_and_db
    s3 = s3_client(server, "alice")
    s3.create_bucket(Bucket="atomic")
    old = body(2000)
    s3.put_object(Bucket="atomic", Key="keep", Body=old, ServerSideEncryption="aws:kms")
    s3.put_object(Bucket="atomic", Key="src", Body=body(3000))
    upload = s3.create_multipart_upload(Bucket="atomic", Key="multi", ServerSideEncryption="aws:kms")["UploadId"]
    s3.upload_part(Bucket="atomic", Key="multi", UploadId=upload, PartNumber=1, Body=body(5 * 1024 * 1024))
    stored = blobs(server)
    events_before = len(events(db))

    db.refuse(True)
    internal_error(s3.put_object, Bucket="atomic", Key="new", Body=body(4000), ServerSideEncryption="aws:kms")
    internal_error(s3.put_object, Bucket="atomic", Key="keep", Body=body(4000))  # a replacement
    internal_error(s3.put_object, Bucket="atomic", Key="cond", Body=body(10), IfNoneMatch="*")
    internal_error(s3.upload_part, Bucket="atomic", Key="multi", UploadId=upload, PartNumber=2, Body=body(7000))
    internal_error(s3.upload_part, Bucket="atomic", Key="multi", UploadId=upload, PartNumber=1, Body=body(10))
    internal_error(s3.copy_object, Bucket="atomic", Key="copied", CopySource="atomic/src")
    internal_error(s3.upload_part_copy, Bucket="atomic", Key="multi", UploadId=upload, PartNumber=3,
                   CopySource="atomic/src")
    # the refused calls wrote blobs before their transaction; none is left behind
    assert blobs(server) == stored
    assert len(events(db)) == events_before

    db.refuse(False)
    for key in ("new", "cond", "copied"):
        with pytest.raises(ClientError) as missing:
            s3.get_object(Bucket="atomic", Key=key)
        assert missing.value.response["Error"]["Code"] == "NoSuchKey"
    assert s3.get_object(Bucket="atomic", Key="keep")["Body"].read() == old
    parts = s3.list_parts(Bucket="atomic", Key="multi", UploadId=upload)["Parts"]
    assert [(p["PartNumber"], p["Size"]) for p in parts] == [(1, 5 * 1024 * 1024)]
    s3.complete_multipart_upload(Bucket="atomic", Key="multi", UploadId=upload,
                                 MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": parts[0]["ETag"]}]})
    assert s3.head_object(Bucket="atomic", Key="multi")["ContentLength"] == 5 * 1024 * 1024
    assert_chain_whole(db.url, server.account_id, server.region)


def _slow_put(server: TrentServer, path: str, data: bytes, paused: threading.Event, resume: threading.Event
              ) -> tuple[int, bytes]:
    """A signed PutObject whose body arrives in two halves, with a pause in between."""
    akid, secret = USERS["alice"]
    request = AWSRequest("PUT", server.endpoint_url + path, headers={"Content-Length": str(len(data))}, data=data)
    S3SigV4Auth(Credentials(akid, secret), "s3", server.region).add_auth(request)
    assert request.headers["X-Amz-Content-SHA256"] == hashlib.sha256(data).hexdigest()
    url = urlsplit(server.endpoint_url)
    connection = http.client.HTTPConnection(url.hostname, url.port, timeout=60)
    try:
        connection.putrequest("PUT", path, skip_accept_encoding=True)
        for name, value in request.headers.items():
            connection.putheader(name, value)
        connection.endheaders()
        half = len(data) // 2
        connection.send(data[:half])
        paused.set()
        resume.wait(60)
        connection.send(data[half:])
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


def test_an_upload_in_flight_holds_no_write_lock(server_and_db: tuple[TrentServer, Backend]) -> None:
    """The first SSE-S3 put creates the S3-owned key (a write) before its stream: that write
    commits on its own, so while the body is still arriving other writers go on."""
    server, db = server_and_db
    s3 = s3_client(server, "alice")
    s3.create_bucket(Bucket="slow")
    kms = server.client("kms", aws_access_key_id=USERS["bob"][0], aws_secret_access_key=USERS["bob"][1])
    data = body(1024 * 1024)
    paused, resume = threading.Event(), threading.Event()
    result: list[tuple[int, bytes]] = []
    uploader = threading.Thread(target=lambda: result.append(_slow_put(server, "/slow/k", data, paused, resume)))
    uploader.start()
    try:
        assert paused.wait(30)
        time.sleep(0.5)  # the server is now streaming the first half into the object store
        started = time.monotonic()
        kms.create_key(Description="while an upload is in flight")
        s3.put_object(Bucket="slow", Key="other", Body=body(100))
        assert time.monotonic() - started < 5
    finally:
        resume.set()
        uploader.join(60)
    assert result and result[0][0] == 200, result
    assert s3.get_object(Bucket="slow", Key="k")["Body"].read() == data


def segments(db: Backend) -> list[list[dict[str, Any]]]:
    """The trail's appends (one segment per trail and append), in commit order."""
    with db.engine.connect() as conn:
        rows = conn.exec_driver_sql("SELECT bodies FROM audit_segments ORDER BY first_seq").fetchall()
    return [[json.loads(b) for b in bytes(r[0]).split(b"\n")] for r in rows]


def test_a_kms_read_joins_the_group_commit_with_its_kms_event(server_and_db: tuple[TrentServer, Backend]) -> None:
    """An SSE-KMS GetObject changes nothing: its Decrypt event rides with its S3 event in
    the server's group commit (several reads in one append, each Decrypt just before its
    GetObject), and if that commit fails the read is refused and neither is recorded."""
    server, db = server_and_db
    s3 = s3_client(server, "alice")
    s3.create_bucket(Bucket="reads")
    data = body(1000)
    s3.put_object(Bucket="reads", Key="k", Body=data, ServerSideEncryption="aws:kms")
    readers = [s3_client(server, "alice") for _ in range(16)]

    def read(client: Any) -> str:
        out = client.get_object(Bucket="reads", Key="k")
        assert out["Body"].read() == data
        return str(out["ResponseMetadata"]["RequestId"])

    shared = False
    ids: set[str] = set()
    with ThreadPoolExecutor(len(readers)) as pool:
        for _ in range(20):  # until two reads shared one append (they always do within a few rounds)
            ids |= set(pool.map(read, readers))
            for segment in segments(db):
                mine = [e for e in segment if e.get("requestID") in ids]
                shared = shared or len({e["requestID"] for e in mine}) > 1
            if shared:
                break
    assert shared, "every SSE-KMS read was committed on its own"
    trail = events(db)
    for request_id in ids:
        mine = [i for i, e in enumerate(trail) if e.get("requestID") == request_id]
        assert [trail[i]["eventName"] for i in mine] == ["Decrypt", "GetObject"] and mine[1] == mine[0] + 1
        decrypt = trail[mine[0]]
        assert decrypt["eventSource"] == "kms.amazonaws.com" and decrypt["userIdentity"]["invokedBy"] == "s3.amazonaws.com"
    assert_chain_whole(db.url, server.account_id, server.region)

    before = len(events(db))
    db.refuse(True)
    internal_error(s3.get_object, Bucket="reads", Key="k")
    assert len(events(db)) == before
    db.refuse(False)
    assert read(s3) and len(events(db)) == before + 2
    assert_chain_whole(db.url, server.account_id, server.region)


@CLIENTS
def test_racing_puts_share_transactions_and_each_keeps_its_own_outcome(
    server_and_db: tuple[TrentServer, Backend], expect: bool,
) -> None:
    """64 PUTs at once, half of them If-None-Match: * creates of one key. Exactly one create
    wins and its body is stored; every other create is 412 PreconditionFailed (its blob
    deleted), and nothing else is refused; every PUT has exactly one PutObject event (the
    412s with their error) and the chain is whole. On SQLite PutObject's rows are
    group-committed (protocol/s3/grouped_puts.py, or the audit batch of the loop's tick):
    the committed PUTs share appends; on PostgreSQL each PUT commits its own transaction
    (front_door.py), side by side. Sent at once, the creates are small enough to be
    kept inline (served on the loop): no blob at all."""
    server, db = server_and_db
    clients = racers(server, expect, RACERS)
    s3 = clients[0]
    s3.create_bucket(Bucket="racing")
    stored = blobs(server)
    # with Expect: above the inline limit, blobs
    creates = {f"c{i}": body(5000 if expect else 1000) for i in range(RACERS // 2)}
    plain = {f"plain/{i}": body(1024) for i in range(RACERS // 2)}
    barrier = threading.Barrier(RACERS)

    def put(job: tuple[int, str, bytes]) -> tuple[str, str, int, str | None]:
        index, name, data = job
        client = clients[index]
        conditional = name.startswith("c")
        key = "once" if conditional else name
        barrier.wait(30)
        try:
            if conditional:
                out = client.put_object(Bucket="racing", Key=key, Body=data, IfNoneMatch="*")
            else:
                out = client.put_object(Bucket="racing", Key=key, Body=data)
        except ClientError as exc:
            response = exc.response
            return (name, response["ResponseMetadata"]["RequestId"], response["ResponseMetadata"]["HTTPStatusCode"],
                    response["Error"]["Code"])
        return name, out["ResponseMetadata"]["RequestId"], 200, None

    jobs = [(i, name, data) for i, (name, data) in enumerate([*creates.items(), *plain.items()])]
    with ThreadPoolExecutor(RACERS) as pool:
        results = list(pool.map(put, jobs))

    won = [r for r in results if r[0].startswith("c") and r[2] == 200]
    lost = [r for r in results if r[0].startswith("c") and r[2] != 200]
    assert len(won) == 1, results
    assert {(r[2], r[3]) for r in lost} == {(412, "PreconditionFailed")}
    assert all(r[2] == 200 for r in results if not r[0].startswith("c")), results
    assert s3.get_object(Bucket="racing", Key="once")["Body"].read() == creates[won[0][0]]
    for key, data in plain.items():
        assert s3.get_object(Bucket="racing", Key=key)["Body"].read() == data
    assert len(blobs(server) - stored) == (1 if expect else 0)  # the winner's; every refused create's blob is gone

    trail = [e for e in events(db) if e.get("eventName") == "PutObject"]
    by_request = {e["requestID"]: e for e in trail}
    assert len(by_request) == len(trail)  # one event per PUT
    for _, request_id, status, code in results:
        assert by_request[request_id].get("errorCode") == code, (request_id, status)
    committed = {r[1] for r in results if r[2] == 200}
    if db.url.startswith("postgresql"):
        assert_chain_whole(db.url, server.account_id, server.region)
        return

    def shared() -> bool:
        return any(len({e["requestID"] for e in segment if e.get("requestID") in committed}) > 1
                   for segment in segments(db))

    for round_ in range(20):  # until two PUTs shared one transaction (at once, unless the CPU is starved)
        if shared():
            break
        barrier.reset()
        more = [(i, f"more/{round_}/{i}", body(1024)) for i in range(RACERS)]
        with ThreadPoolExecutor(RACERS) as pool:
            outcomes = list(pool.map(put, more))
        assert {r[2] for r in outcomes} == {200}
        committed |= {r[1] for r in outcomes}
    assert shared(), "every PUT was committed in a transaction of its own"
    assert_chain_whole(db.url, server.account_id, server.region)


@CLIENTS
def test_a_failed_group_commit_refuses_every_put_and_leaves_no_blob(
    server_and_db: tuple[TrentServer, Backend], expect: bool,
) -> None:
    server, db = server_and_db
    clients = racers(server, expect, 32)
    clients[0].create_bucket(Bucket="refused")
    stored = blobs(server)
    before = len(events(db))
    db.refuse(True)

    def put(index: int) -> None:
        internal_error(clients[index].put_object, Bucket="refused", Key=f"k{index % 4}",
                       Body=body(5000 if index % 2 else 1000))

    with ThreadPoolExecutor(len(clients)) as pool:
        list(pool.map(put, range(len(clients))))
    assert blobs(server) == stored
    assert len(events(db)) == before
    db.refuse(False)
    for index in range(4):
        with pytest.raises(ClientError) as missing:
            clients[0].get_object(Bucket="refused", Key=f"k{index}")
        assert missing.value.response["Error"]["Code"] == "NoSuchKey"
    clients[0].put_object(Bucket="refused", Key="k0", Body=body(10))
    assert_chain_whole(db.url, server.account_id, server.region)
