"""kill -9 at random points while mutating (issue 16 §1 tests), on SQLite and PostgreSQL.

A real server is started, two clients mutate as fast as they can (CreateKey with a tag,
TagResource, Encrypt), and the server is killed with SIGKILL after a random delay —
mid-request, mid-transaction, mid-commit, mid-group-commit — then started again on the
same data, 25 times per backend. Afterwards:

- the trail's chain is whole and its sequence gapless;
- every key and every tag in the database has its event, and every successful event's
  change is in the database (no change without its event, no event without its change);
- every call whose response a client received has its event.
"""

from __future__ import annotations

import itertools
import json
import os
import random
import signal
import threading
import time
from pathlib import Path

import pytest
import sqlalchemy as sa
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from tests.fixtures.trent_server import start_trent, stop_trent
from trent.domain.audit_chain import GENESIS_HASH, TrailKey, chain_hash
from trent.storage.sql import SqlStorage

KILLS_PER_BACKEND = 25
ACCOUNT, REGION = "123456789012", "us-east-1"


@pytest.mark.parametrize("backend", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def test_kill_9_while_mutating(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> None:
    data_dir = tmp_path / "data"
    extra: tuple[str, ...] = ()
    if backend == "postgres":
        url = request.getfixturevalue("postgres_database_url")
        extra = ("--database-url", url)
    else:
        url = f"sqlite:///{data_dir / 'trent.db'}"
    rng = random.Random(int.from_bytes(os.urandom(4), "big"))
    counter = itertools.count()
    confirmed: list[tuple[str, str]] = []  # (operation, request id) answered 200
    key_ids: list[str] = []
    lock = threading.Lock()

    def mutate(server, stop: threading.Event) -> None:  # noqa: ANN001
        kms = server.client(config=Config(retries={"max_attempts": 1}, connect_timeout=2, read_timeout=10))
        while not stop.is_set():
            n = next(counter)
            try:
                if n % 3 == 0 or not key_ids:
                    out = kms.create_key(Description=f"crash-{n}", Tags=[{"TagKey": f"t{n}", "TagValue": str(n)}])
                    with lock:
                        key_ids.append(out["KeyMetadata"]["KeyId"])
                        confirmed.append(("CreateKey", out["ResponseMetadata"]["RequestId"]))
                elif n % 3 == 1:
                    out = kms.tag_resource(KeyId=rng.choice(key_ids), Tags=[{"TagKey": f"t{n}", "TagValue": str(n)}])
                    with lock:
                        confirmed.append(("TagResource", out["ResponseMetadata"]["RequestId"]))
                else:
                    out = kms.encrypt(KeyId=rng.choice(key_ids), Plaintext=b"crash")
                    with lock:
                        confirmed.append(("Encrypt", out["ResponseMetadata"]["RequestId"]))
            except (BotoCoreError, ClientError):
                if stop.is_set():
                    return
                time.sleep(0.01)

    for _ in range(KILLS_PER_BACKEND):
        server = start_trent(data_dir, *extra)
        stop = threading.Event()
        workers = [threading.Thread(target=mutate, args=(server, stop)) for _ in range(2)]
        for w in workers:
            w.start()
        time.sleep(rng.uniform(0.05, 0.5))
        os.kill(server.process.pid, signal.SIGKILL)
        server.process.wait(10)
        stop.set()
        for w in workers:
            w.join(30)
    # one clean start and stop: recovery happens, then the database is read directly
    stop_trent(start_trent(data_dir, *extra))
    assert len(confirmed) > KILLS_PER_BACKEND, "the clients barely got through: the test proved nothing"

    storage = SqlStorage(url)
    try:
        events = storage.read_audit_events(TrailKey(ACCOUNT, REGION), 0, 10_000_000)
        tip = GENESIS_HASH
        for number, event in enumerate(events, start=1):
            assert event.sequence == number  # gapless
            tip = chain_hash(tip, event.body)
            assert event.chain_hash == tip  # chained
        head = storage.get_trail_head(TrailKey(ACCOUNT, REGION))
        assert head is not None and head.last_sequence == len(events) and head.last_hash == tip
        parsed = [json.loads(e.body) for e in events]
        with storage.engine.connect() as conn:
            keys_in_db = {r[0] for r in conn.execute(
                sa.text("SELECT key_id FROM keys WHERE description LIKE :p"), {"p": "crash-%"})}
            tags_in_db = {(r[0], r[1]) for r in conn.exec_driver_sql("SELECT key_id, tag_key FROM tags")}
    finally:
        storage.close()

    ok = [e for e in parsed if "errorCode" not in e]
    created = {e["responseElements"]["keyMetadata"]["keyId"] for e in ok if e["eventName"] == "CreateKey"}
    assert created == keys_in_db, "a key without its CreateKey event, or an event without its key"
    tagged = {(e["resources"][0]["ARN"].rsplit("/", 1)[1], t["tagKey"])
              for e in ok if e["eventName"] in ("CreateKey", "TagResource")
              for t in (e["requestParameters"] or {}).get("tags", ())}
    assert tagged == tags_in_db, "a tag without its event, or an event without its tag"
    recorded = {e.get("requestID") for e in parsed}
    missing = [c for c in confirmed if c[1] not in recorded]
    assert not missing, f"answered calls without an event: {missing[:5]}"
