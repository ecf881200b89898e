"""A change on one node is enforced by every node within 100 ms (issue 20).

Each process caches keys, policies, grants and identities (storage/cache.py); every
write announces what it changed on the invalidation feed (PostgreSQL LISTEN/NOTIFY
between nodes, a polled change log between SQLite workers; storage/change_feed.py).
Here observers on the *other* node (or, with one SQLite server, on other connections,
spread over both workers) use a key until a change made elsewhere refuses them; the
time from the writer's response to each observer's first refusal is recorded, and the
distribution printed (run with ``-s`` to see it).
"""

from __future__ import annotations

import json
import os
import statistics
import threading
import time
import uuid
from collections.abc import Callable

import pytest
from botocore.exceptions import ClientError

from tests.fixtures.trent_cluster import TrentCluster

ACCOUNT = "123456789012"
DEV = f"arn:aws:iam::{ACCOUNT}:user/dev"
BOUND_SECONDS = 0.100
OVERLOADED_BOUND_SECONDS = 0.250
INVALID_STATE = frozenset({"KMSInvalidStateException"})
DENIED = frozenset({"AccessDeniedException"})
TRIALS = 5
OBSERVERS = 4


def _observers(cluster: TrentCluster, service: str = "kms", **overrides) -> list:
    """Clients on the node the writer is not on (postgres-nodes), or on several
    connections of the one server (sqlite-workers: the kernel spreads them over workers)."""
    other = 1 if len(cluster.servers) > 1 else 0
    return [cluster.servers[other].client(service, **overrides) for _ in range(OBSERVERS)]


def _time_until_refused(observers: list, use: Callable, change: Callable, refusals: frozenset[str]) -> float:
    """Warm every observer's cache, make the change, return the slowest observer's delay:
    from the writer's response to the *start* of that observer's first refused call (each
    observer polls on its own thread, so one's round trips do not delay another's)."""
    for client in observers:
        use(client)
        use(client)
    change()
    changed_at = time.monotonic()
    delays: list[float] = []
    failures: list[BaseException] = []

    def poll(client) -> None:
        try:
            while True:
                started = time.monotonic()
                try:
                    use(client)
                except ClientError as exc:
                    assert exc.response["Error"]["Code"] in refusals, exc.response["Error"]
                    delays.append(started - changed_at)
                    return
                assert started - changed_at < 5, "an observer still uses the old state after 5 s"
        except BaseException as exc:  # noqa: BLE001 - reported below
            failures.append(exc)

    threads = [threading.Thread(target=poll, args=(c,)) for c in observers]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    if failures:
        raise failures[0]
    assert len(delays) == len(observers)
    return max(0.0, max(delays))


def _report(name: str, cluster: TrentCluster, delays: list[float]) -> None:
    ms = sorted(d * 1000 for d in delays)
    load = os.getloadavg()[0]
    print(f"\n[{cluster.name}] {name}: n={len(ms)} min={ms[0]:.1f} median={statistics.median(ms):.1f} "
          f"max={ms[-1]:.1f} ms (load average {load:.1f})")
    assert statistics.median(ms) <= BOUND_SECONDS * 1000, ms
    # The bound is for a host that is not starved of CPU; on an overloaded test machine
    # (other suites running on the same cores) a poll may wait for a core: allow that.
    cores = len(os.sched_getaffinity(0))
    bound = BOUND_SECONDS if load <= cores else OVERLOADED_BOUND_SECONDS
    assert ms[-1] <= bound * 1000, (ms, f"load average {load:.1f} on {cores} cores")


def _encrypt(key_id: str) -> Callable:
    return lambda kms: kms.encrypt(KeyId=key_id, Plaintext=b"x")


def test_disable_key_reaches_every_node(trent_cluster: TrentCluster) -> None:
    writer, observers = trent_cluster.client(0), _observers(trent_cluster)
    delays = []
    for _ in range(TRIALS):
        key_id = writer.create_key()["KeyMetadata"]["KeyId"]
        delays.append(_time_until_refused(observers, _encrypt(key_id), lambda: writer.disable_key(KeyId=key_id),
                                          frozenset({"DisabledException"})))
    _report("DisableKey", trent_cluster, delays)


def test_schedule_key_deletion_reaches_every_node(trent_cluster: TrentCluster) -> None:
    writer, observers = trent_cluster.client(0), _observers(trent_cluster)
    delays = []
    for _ in range(TRIALS):
        key_id = writer.create_key()["KeyMetadata"]["KeyId"]
        delays.append(_time_until_refused(
            observers, _encrypt(key_id), lambda: writer.schedule_key_deletion(KeyId=key_id, PendingWindowInDays=7),
            INVALID_STATE))
    _report("ScheduleKeyDeletion", trent_cluster, delays)


def test_put_key_policy_reaches_every_node(trent_cluster: TrentCluster) -> None:
    writer, observers = trent_cluster.client(0), _observers(trent_cluster)
    deny_encrypt = json.dumps({"Version": "2012-10-17", "Statement": [
        {"Sid": "Admin", "Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"}, "Action": "kms:*",
         "Resource": "*"},
        {"Sid": "NoEncrypt", "Effect": "Deny", "Principal": {"AWS": DEV}, "Action": "kms:Encrypt", "Resource": "*"},
    ]})
    delays = []
    for _ in range(TRIALS):
        key_id = writer.create_key()["KeyMetadata"]["KeyId"]
        delays.append(_time_until_refused(observers, _encrypt(key_id), lambda: writer.put_key_policy(
            KeyId=key_id, PolicyName="default", Policy=deny_encrypt), DENIED))
    _report("PutKeyPolicy", trent_cluster, delays)


def test_put_bucket_policy_reaches_every_node(trent_cluster: TrentCluster) -> None:
    """Bucket rows (owner, policy, default encryption) are cached like keys (issue 17,
    storage/cached_buckets.py): a bucket policy put on one node is enforced by the others."""
    writer, observers = trent_cluster.client(0, service="s3"), _observers(trent_cluster, "s3")
    delays = []
    for _ in range(TRIALS):
        bucket = f"coherence-{uuid.uuid4().hex[:12]}"
        writer.create_bucket(Bucket=bucket)
        deny_listing = json.dumps({"Version": "2012-10-17", "Statement": [
            {"Effect": "Deny", "Principal": {"AWS": DEV}, "Action": "s3:ListBucket",
             "Resource": f"arn:aws:s3:::{bucket}"}]})
        use = lambda s3, bucket=bucket: s3.head_bucket(Bucket=bucket)  # noqa: E731 - s3:ListBucket
        delays.append(_time_until_refused(observers, use, lambda bucket=bucket, policy=deny_listing:
                                          writer.put_bucket_policy(Bucket=bucket, Policy=policy),
                                          frozenset({"403"})))
    _report("PutBucketPolicy", trent_cluster, delays)


@pytest.fixture
def grantee(trent_cluster: TrentCluster) -> dict:
    """A user with no permissions of its own: only grants let it use the dev account's keys."""
    name = f"grantee-{uuid.uuid4().hex[:8]}"
    trent_cluster.admin_cli("create-user", ACCOUNT, name)
    creds = trent_cluster.admin_cli("create-access-key", ACCOUNT, name)
    return {"arn": f"arn:aws:iam::{ACCOUNT}:user/{name}", "aws_access_key_id": creds["AccessKeyId"],
            "aws_secret_access_key": creds["SecretAccessKey"]}


def test_revoke_grant_reaches_every_node(trent_cluster: TrentCluster, grantee: dict) -> None:
    writer = trent_cluster.client(0)
    observers = _observers(trent_cluster, aws_access_key_id=grantee["aws_access_key_id"],
                           aws_secret_access_key=grantee["aws_secret_access_key"])
    delays = []
    for _ in range(TRIALS):
        key_id = writer.create_key()["KeyMetadata"]["KeyId"]
        grant_id = writer.create_grant(KeyId=key_id, GranteePrincipal=grantee["arn"], Operations=["Encrypt"])["GrantId"]
        use = _encrypt(f"arn:aws:kms:us-east-1:{ACCOUNT}:key/{key_id}")
        deadline = time.monotonic() + 1  # the grant itself reaches the observers' node first
        while True:
            try:
                for client in observers:
                    use(client)
                break
            except ClientError:
                assert time.monotonic() < deadline, "the new grant never took effect"
        delays.append(_time_until_refused(observers, use, lambda: writer.revoke_grant(KeyId=key_id, GrantId=grant_id),
                                          DENIED))
    _report("RevokeGrant", trent_cluster, delays)


def test_deleted_access_key_reaches_every_node(trent_cluster: TrentCluster, grantee: dict) -> None:
    """The key is deleted by `trent admin` in a process of its own (the CLI is a writer
    like any other): every server stops accepting the key."""
    delays = []
    for _ in range(2):  # each trial creates and deletes an access key with the CLI (~1 s)
        name = grantee["arn"].rsplit("/", 1)[1]
        creds = trent_cluster.admin_cli("create-access-key", ACCOUNT, name)
        observers = _observers(trent_cluster, "sts", aws_access_key_id=creds["AccessKeyId"],
                               aws_secret_access_key=creds["SecretAccessKey"])
        use = lambda sts: sts.get_caller_identity()  # noqa: E731 - any authenticated call
        # The CLI's process start-up is not part of the delay: time from its exit.
        delays.append(_time_until_refused(
            observers, use, lambda: trent_cluster.admin_cli("delete-access-key", creds["AccessKeyId"]),
            frozenset({"InvalidClientTokenId"})))
    _report("deleted access key", trent_cluster, delays)


@pytest.mark.postgres
def test_a_dropped_channel_falls_back_to_the_ttl_then_reconnects(postgres_nodes_cluster: TrentCluster,
                                                                 postgres_server) -> None:
    """The listening sessions are killed on the server: each node forgets what it cached and
    keeps entries only for the short TTL until it listens again; then changes arrive in
    milliseconds once more."""
    import psycopg

    cluster = postgres_nodes_cluster
    writer, observers = cluster.client(0), _observers(cluster)

    def kill_listeners() -> int:
        with psycopg.connect(postgres_server.conninfo(), autocommit=True) as conn:
            return conn.execute("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                                "WHERE application_name = 'trent-feed'").fetchone()[0]

    assert kill_listeners() == len(cluster.servers)
    key_id = writer.create_key()["KeyMetadata"]["KeyId"]
    # Whether or not a node has listened again yet, it never serves the old state longer than
    # the fallback TTL (1 s).
    assert _time_until_refused(observers, _encrypt(key_id), lambda: writer.disable_key(KeyId=key_id),
                               frozenset({"DisabledException"})) <= 1.5
    deadline = time.monotonic() + 10
    with psycopg.connect(postgres_server.conninfo(), autocommit=True) as conn:
        while conn.execute("SELECT count(*) FROM pg_stat_activity WHERE application_name = 'trent-feed'"
                           ).fetchone()[0] < len(cluster.servers):
            assert time.monotonic() < deadline, "the nodes did not listen again"
            time.sleep(0.05)
    delays = []
    for _ in range(TRIALS):
        key_id = writer.create_key()["KeyMetadata"]["KeyId"]
        delays.append(_time_until_refused(observers, _encrypt(key_id), lambda: writer.disable_key(KeyId=key_id),
                                          frozenset({"DisabledException"})))
    _report("DisableKey after reconnecting", cluster, delays)
