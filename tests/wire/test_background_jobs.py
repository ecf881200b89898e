"""Background work runs once across the cluster and survives the death of its runner
(issue 20; storage/leases.py, bootstrap.Sweeper).

Two nodes on one PostgreSQL (or two workers on one SQLite file) sweep every 0.3 s; the
``sweeper`` lease (three intervals) picks one. Deletions fall due by moving each node's
--dev clock *without* sweeping, so only the background timer carries them out. The
node holding the lease is then killed with SIGKILL: the other takes over.
"""

from __future__ import annotations

import os
import signal
import time
from collections import Counter

import pytest

from tests.fixtures.trent_cluster import TrentCluster, postgres_nodes, sqlite_workers

SWEEP = {"TRENT_SWEEP_INTERVAL": "0.3"}


def _schedule(cluster: TrentCluster, count: int) -> list[str]:
    kms = cluster.client(0 if len(cluster.servers) == 1 else -1)
    keys = [kms.create_key()["KeyMetadata"]["Arn"] for _ in range(count)]
    for arn in keys:
        kms.schedule_key_deletion(KeyId=arn, PendingWindowInDays=7)
    return keys


def _database_url(cluster: TrentCluster) -> str:
    args = list(cluster.store_args)
    return args[args.index("--database-url") + 1] if "--database-url" in args else \
        f"sqlite:///{cluster.servers[0].data_dir / 'trent.db'}"


def _trail_events(cluster: TrentCluster) -> list[dict]:
    """Every event of the cluster's one trail (issue 16: shared by its nodes, in the database)."""
    import json

    import sqlalchemy as sa

    engine = sa.create_engine(_database_url(cluster))
    try:
        with engine.connect() as conn:
            rows = conn.execute(sa.text("SELECT bodies FROM audit_segments")).all()
    finally:
        engine.dispose()
    return [json.loads(body) for row in rows for body in bytes(row[0]).split(b"\n")]


def _deleters(cluster: TrentCluster, arns: list[str], within: float = 15.0) -> Counter:
    """How many DeleteKey events the trail holds for each key, once all are there."""
    deadline = time.monotonic() + within
    while True:
        found: Counter = Counter(
            event["resources"][0]["ARN"] for event in _trail_events(cluster)
            if event["eventName"] == "DeleteKey" and event["resources"][0]["ARN"] in arns
        )
        if len(found) == len(arns) or time.monotonic() > deadline:
            return found
        time.sleep(0.1)


def _lease_holder_pid(cluster: TrentCluster) -> int:
    import sqlalchemy as sa

    engine = sa.create_engine(_database_url(cluster))
    try:
        with engine.connect() as conn:
            holder = conn.execute(sa.text("SELECT holder FROM leases WHERE name = 'sweeper'")).scalar_one()
    finally:
        engine.dispose()
    return int(holder.split(":")[1])


def _advance_without_sweeping(cluster: TrentCluster, duration: str) -> None:
    cluster.admin_all("/_trent/clock", {"advance": duration, "sweep": False})


@pytest.mark.postgres
def test_due_deletions_run_once_and_resume_after_kill_9(postgres_server) -> None:
    url = postgres_server.create_database("trent_background_jobs")
    with postgres_nodes(url, 2, env=SWEEP) as cluster:
        keys = _schedule(cluster, 6)
        _advance_without_sweeping(cluster, "8d")
        deleted = _deleters(cluster, keys)
        assert set(deleted.values()) == {1} and len(deleted) == 6  # each key deleted, and audited, once

        holder_pid = _lease_holder_pid(cluster)
        victim = next(i for i, s in enumerate(cluster.servers) if s.process.pid == holder_pid)
        os.kill(holder_pid, signal.SIGKILL)
        cluster.servers[victim].process.wait(10)
        survivor = TrentCluster(cluster.name, [s for i, s in enumerate(cluster.servers) if i != victim],
                                cluster.store_args)
        more = _schedule(survivor, 4)
        _advance_without_sweeping(survivor, "8d")
        started = time.monotonic()
        deleted = _deleters(survivor, more)
        assert len(deleted) == 4 and set(deleted.values()) == {1}
        # The dead holder's lease (0.9 s) ran out and the survivor took over.
        assert time.monotonic() - started < 10
        assert _lease_holder_pid(survivor) == survivor.servers[0].process.pid


def test_workers_share_the_sweep_and_a_killed_worker_is_replaced() -> None:
    with sqlite_workers(2, env=SWEEP) as cluster:
        keys = _schedule(cluster, 4)
        _advance_without_sweeping(cluster, "8d")  # the clock offset is shared by the workers
        deleted = _deleters(cluster, keys)
        assert len(deleted) == 4 and set(deleted.values()) == {1}

        holder_pid = _lease_holder_pid(cluster)
        os.kill(holder_pid, signal.SIGKILL)
        more = _schedule(cluster, 3)
        cluster.admin_all("/_trent/clock", {"advance": "8d", "sweep": False})
        deleted = _deleters(cluster, more)
        assert len(deleted) == 3 and set(deleted.values()) == {1}
        assert _lease_holder_pid(cluster) != holder_pid
        # The supervisor started a new worker in place of the killed one.
        from tests.fixtures.trent_cluster import worker_pids

        deadline = time.monotonic() + 15
        while len(pids := worker_pids(cluster.endpoints[0], 16)) < 2 or holder_pid in pids:
            assert time.monotonic() < deadline, pids
