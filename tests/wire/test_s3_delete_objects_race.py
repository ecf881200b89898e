"""DeleteObjects racing DeleteObjects over the same keys in other orders (issue 17).

One DeleteObjects deletes its keys in one write transaction, locking each object row
(PostgreSQL ``FOR UPDATE``). It once locked them in the request's order, so two calls
with keys [a, b] and [b, a] could each hold one row and wait for the other's: PostgreSQL
broke the deadlock by aborting one, and that client got 500 InternalError. The rows are
now locked in key order, whatever order the request lists them in.

Real boto3 over HTTP against a running Trent, on SQLite and PostgreSQL: every call must
answer 200 with every key Deleted, in the order it asked (S3 reports a key that was
already gone as Deleted too), and no Error."""

from __future__ import annotations

import random
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from tests.fixtures.trent_server import TrentServer
from tests.racing import race
from tests.wire.s3_helpers import body, s3_client
from tests.wire.test_audit_outbox import Backend
from tests.wire.test_s3_atomic_audit import server_and_db

__all__ = ["server_and_db"]  # the fixture, parametrized over SQLite and PostgreSQL

CLIENTS = 4
ROUNDS = 12
# half kept inline in their rows, half above TRENT_S3_INLINE_MAX (a blob to discard)
KEYS = [f"k{i:02d}" for i in range(16)]


def _orders(round_: int) -> list[list[str]]:
    """One key order per client: ascending, descending, and shuffles (with a duplicate:
    a key named twice in one request is Deleted twice)."""
    rng = random.Random(round_)
    orders = [list(KEYS), list(reversed(KEYS))]
    while len(orders) < CLIENTS:
        shuffled = rng.sample(KEYS, len(KEYS))
        orders.append([*shuffled, shuffled[0]])
    return orders


def test_racing_delete_objects_in_different_key_orders_all_succeed(
    server_and_db: tuple[TrentServer, Backend],
) -> None:
    server, db = server_and_db
    clients = [s3_client(server, "alice") for _ in range(CLIENTS)]
    s3 = clients[0]
    s3.create_bucket(Bucket="deletes")
    contents = {key: body(1024 if i % 2 else 5000) for i, key in enumerate(KEYS)}
    failures: list[str] = []

    def put(key: str) -> None:
        s3.put_object(Bucket="deletes", Key=key, Body=contents[key])

    with ThreadPoolExecutor(8) as pool:
        for round_ in range(ROUNDS):
            list(pool.map(put, KEYS))  # (re)created before every round
            orders = _orders(round_)

            def delete(i: int, orders: list[list[str]] = orders) -> Any:
                return clients[i].delete_objects(
                    Bucket="deletes", Delete={"Objects": [{"Key": k} for k in orders[i]]}
                )

            for i, out in enumerate(race(CLIENTS, delete)):
                if isinstance(out, Exception):
                    failures.append(f"round {round_} client {i}: {out!r}")
                    continue
                deleted = [d["Key"] for d in out.get("Deleted", [])]
                if out.get("Errors") or deleted != orders[i]:
                    failures.append(f"round {round_} client {i}: {out.get('Errors')} deleted {deleted}")
    assert failures == [], f"{len(failures)} of {ROUNDS * CLIENTS} DeleteObjects failed: {failures[:3]}"

    assert s3.list_objects_v2(Bucket="deletes")["KeyCount"] == 0
    with db.engine.connect() as conn:
        garbage = conn.exec_driver_sql("SELECT count(*) FROM s3_blob_garbage").scalar_one()
    assert garbage == ROUNDS * len(KEYS) // 2  # each stored blob discarded once, by its one deleter
