"""32 PutObjects at once (issue 17 performance work: the object upsert's statements are
built once per dialect, and on SQLite the writers of one process queue on an in-process
gate before BEGIN IMMEDIATE instead of polling SQLite's lock). Whatever the
interleaving, every acknowledged PUT is durable with exactly one PutObject event, the
object left under a contended key is one of the bodies written to it, and every
replaced blob was recorded as garbage (none leaked, none still referenced).

Real boto3 over HTTP against a running Trent, on SQLite and PostgreSQL."""

from __future__ import annotations

from collections import Counter
from concurrent.futures import ThreadPoolExecutor

from tests.fixtures.trent_server import TrentServer
from tests.wire.s3_helpers import body, s3_client
from tests.wire.test_audit_outbox import Backend, assert_chain_whole
from tests.wire.test_s3_atomic_audit import events, server_and_db

__all__ = ["server_and_db"]  # the fixture, parametrized over SQLite and PostgreSQL

CONCURRENT = 32
ROUNDS = 3


def test_concurrent_puts_to_distinct_and_shared_keys(server_and_db: tuple[TrentServer, Backend]) -> None:
    server, db = server_and_db
    s3 = s3_client(server, "alice", max_pool_connections=CONCURRENT)
    s3.create_bucket(Bucket="crowd")
    # distinct keys: small objects, kept in their rows; the shared key: objects above
    # TRENT_S3_INLINE_MAX, in the object store, so every overwrite discards a blob
    distinct = {f"own/{i}/{r}": body(1024) for i in range(CONCURRENT) for r in range(ROUNDS)}
    shared = [body(5000) for _ in range(CONCURRENT * ROUNDS)]

    def put(job: tuple[str, bytes]) -> str:
        key, data = job
        out = s3.put_object(Bucket="crowd", Key=key, Body=data)
        return str(out["ResponseMetadata"]["RequestId"])

    jobs = [job for pair in zip(distinct.items(), (("same", b) for b in shared), strict=True) for job in pair]
    with ThreadPoolExecutor(CONCURRENT) as pool:
        request_ids = list(pool.map(put, jobs))
    assert len(set(request_ids)) == len(jobs)

    for key, data in distinct.items():
        assert s3.get_object(Bucket="crowd", Key=key)["Body"].read() == data
    assert s3.get_object(Bucket="crowd", Key="same")["Body"].read() in shared

    puts = Counter(e["requestID"] for e in events(db)
                   if e.get("eventName") == "PutObject" and e["requestParameters"].get("bucketName") == "crowd")
    assert {rid: puts[rid] for rid in request_ids} == dict.fromkeys(request_ids, 1)
    assert sum(puts.values()) == len(jobs)

    with db.engine.connect() as conn:
        garbage = conn.exec_driver_sql("SELECT count(*) FROM s3_blob_garbage").scalar_one()
        live = conn.exec_driver_sql("SELECT count(*) FROM s3_objects WHERE bucket = 'crowd'").scalar_one()
    assert live == len(distinct) + 1
    assert garbage == len(shared) - 1  # each overwrite of "same" discarded exactly the blob it replaced
    assert_chain_whole(db.url, server.account_id, server.region)
