"""Kill a node under load (issue 20): three nodes on one throwaway PostgreSQL, clients
spreading calls over them the way a TCP load balancer would, one node SIGKILLed mid-run.

What must hold: every write a client got an answer for is there afterwards (keys it
created, deletions it scheduled); a call that failed because its node died succeeds
when retried on another node; the survivors keep serving, and the background jobs
(tests/wire/test_background_jobs.py covers the lease handover itself) go on.
"""

from __future__ import annotations

import itertools
import os
import signal
import threading
import time

import pytest
from botocore.exceptions import BotoCoreError, ClientError

from tests.fixtures.trent_cluster import postgres_nodes

pytestmark = pytest.mark.postgres


def test_kill_9_one_of_three_nodes_under_load(postgres_server) -> None:
    url = postgres_server.create_database("trent_faults")
    with postgres_nodes(url, 3, env={"TRENT_SWEEP_INTERVAL": "0.5"}) as cluster:
        victim = cluster.servers[1]
        seed = cluster.client(0).create_key()["KeyMetadata"]["KeyId"]
        created: list[str] = []  # keys whose CreateKey was answered 200
        ciphertexts: list[tuple[bytes, bytes]] = []
        retried = [0]
        lock = threading.Lock()
        stop = threading.Event()
        errors: list[BaseException] = []

        def worker(n: int) -> None:
            # One client per node; a call that fails on a dead node is retried on the next
            # node, as a load balancer's health check or the SDK's retry would route it.
            clients = [s.client() for s in cluster.servers]
            turn = itertools.count(n)
            try:
                for i in itertools.count():
                    if stop.is_set():
                        return
                    for attempt in range(len(clients)):
                        kms = clients[next(turn) % len(clients)]
                        try:
                            if i % 3 == 0:
                                key_id = kms.create_key(Description=f"w{n}-{i}")["KeyMetadata"]["KeyId"]
                                with lock:
                                    created.append(key_id)
                            else:
                                plaintext = f"w{n}-{i}".encode()
                                blob = kms.encrypt(KeyId=seed, Plaintext=plaintext)["CiphertextBlob"]
                                with lock:
                                    ciphertexts.append((plaintext, blob))
                            break
                        except (BotoCoreError, ClientError) as exc:
                            if isinstance(exc, ClientError) and exc.response["ResponseMetadata"]["HTTPStatusCode"] < 500:
                                raise
                            with lock:
                                retried[0] += 1
                    else:
                        raise AssertionError("a call failed on every node")
            except BaseException as exc:  # noqa: BLE001 - reported below
                errors.append(exc)

        threads = [threading.Thread(target=worker, args=(n,)) for n in range(6)]
        for t in threads:
            t.start()
        time.sleep(2.0)
        os.kill(victim.process.pid, signal.SIGKILL)
        victim.process.wait(10)
        killed_at = len(created)
        time.sleep(2.0)
        stop.set()
        for t in threads:
            t.join(60)
        assert not errors, errors
        assert killed_at > 0 and len(created) > killed_at  # writes went on after the kill
        assert retried[0] > 0  # some calls did hit the dead node, and succeeded elsewhere

        survivors = [s for s in cluster.servers if s is not victim]
        kms = survivors[0].client()
        listed = set()
        marker = None
        while True:
            page = kms.list_keys(Limit=1000, **({"Marker": marker} if marker else {}))
            listed |= {k["KeyId"] for k in page["Keys"]}
            if not page.get("Truncated"):
                break
            marker = page["NextMarker"]
        assert set(created) <= listed  # no acknowledged CreateKey lost
        for plaintext, blob in ciphertexts[:: max(1, len(ciphertexts) // 50)]:
            assert survivors[1].client().decrypt(CiphertextBlob=blob)["Plaintext"] == plaintext

        # The survivors carry on with the background work: a deletion falls due and is done.
        doomed = kms.create_key()["KeyMetadata"]["Arn"]
        kms.schedule_key_deletion(KeyId=doomed, PendingWindowInDays=7)
        for server in survivors:
            server.admin("/_trent/clock", {"advance": "8d", "sweep": False})
        deadline = time.monotonic() + 15
        while True:
            try:
                kms.describe_key(KeyId=doomed)
            except ClientError as exc:
                assert exc.response["Error"]["Code"] == "NotFoundException"
                break
            assert time.monotonic() < deadline, "the survivors did not carry out the due deletion"
            time.sleep(0.2)
