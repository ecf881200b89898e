"""Request quotas over the wire (issue 20; service/quotas.py).

Servers get small quotas from a file (``--request-quotas``); bursts of real boto3 calls
go over them. Without retries the SDK sees AWS's ThrottlingException (HTTP 400); with
botocore's *standard* retry mode (which treats it as throttling: backoff and retry)
every call completes.
"""

from __future__ import annotations

import json
import threading
import time
from collections import Counter

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from tests.fixtures.trent_cluster import race, sqlite_workers
from tests.fixtures.trent_server import start_trent, stop_trent

SYMMETRIC_QUOTA = 10  # per second; Python clients cannot burst much faster than ~500 calls/s
THROTTLED = "You have exceeded the rate at which you may call KMS. Reduce the frequency of your calls."


@pytest.fixture(scope="module")
def quota_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("quotas") / "quotas.json"
    path.write_text(json.dumps({"symmetric": SYMMETRIC_QUOTA, "CreateKey": 3}))
    return path


@pytest.fixture(scope="module")
def throttled_server(quota_file, tmp_path_factory):
    server = start_trent(tmp_path_factory.mktemp("throttled") / "data", "--request-quotas", str(quota_file))
    yield server
    stop_trent(server)


def _burst(clients, call) -> Counter:
    outcomes: Counter = Counter()
    barrier = threading.Barrier(len(clients))
    lock = threading.Lock()

    def run(client):
        barrier.wait()
        try:
            call(client)
            code = "ok"
        except ClientError as exc:
            assert exc.response["ResponseMetadata"]["HTTPStatusCode"] == 400
            assert exc.response["Error"]["Message"] == THROTTLED
            code = exc.response["Error"]["Code"]
        with lock:
            outcomes[code] += 1

    threads = [threading.Thread(target=run, args=(c,)) for c in clients]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    return outcomes


def test_a_burst_over_the_quota_is_throttled_and_audited(throttled_server):
    clients = [throttled_server.client() for _ in range(60)]
    outcomes = _burst(clients, lambda kms: kms.generate_random(NumberOfBytes=8))
    assert outcomes["ThrottlingException"] >= 20 and outcomes["ok"] >= SYMMETRIC_QUOTA
    throttled = [e for e in throttled_server.audit_events() if e.get("errorCode") == "ThrottlingException"]
    assert len(throttled) >= outcomes["ThrottlingException"]
    assert throttled[-1]["eventName"] == "GenerateRandom" and throttled[-1]["errorMessage"] == THROTTLED


def test_management_calls_have_their_own_quota(throttled_server):
    kms = throttled_server.client()
    clients = [throttled_server.client() for _ in range(12)]
    started = time.monotonic()
    outcomes = _burst(clients, lambda c: c.create_key())
    took = time.monotonic() - started
    assert 3 <= outcomes["ok"] <= 3 * (1 + took) + 1 and outcomes["ThrottlingException"] >= 4, (outcomes, took)
    assert kms.generate_random(NumberOfBytes=8)  # the crypto family is not affected


def test_boto3_standard_retry_mode_completes_every_call(throttled_server):
    config = Config(retries={"mode": "standard", "max_attempts": 10})
    clients = [boto3.client("kms", endpoint_url=throttled_server.endpoint_url, region_name="us-east-1",
                            aws_access_key_id="test", aws_secret_access_key="test", config=config) for _ in range(20)]
    before = sum(1 for e in throttled_server.audit_events() if e.get("errorCode") == "ThrottlingException")
    outcomes = _burst(clients, lambda kms: [kms.generate_random(NumberOfBytes=8) for _ in range(5)])
    assert outcomes == Counter({"ok": 20})  # 100 calls at 10/s: throttled on the way, all completed
    after = sum(1 for e in throttled_server.audit_events() if e.get("errorCode") == "ThrottlingException")
    assert after > before  # ...and they really were throttled and retried


def test_the_quota_is_shared_by_the_workers(quota_file):
    """Two workers each enforce half the quota: a burst gets through about what one process
    with the whole quota would let through, not twice that."""
    with sqlite_workers(2, "--request-quotas", str(quota_file)) as cluster:
        time.sleep(2.5)  # both workers have counted each other (membership heartbeat: 1 s)
        started = time.monotonic()
        outcomes = Counter(o.code for o in race(cluster, 80, lambda kms, i: kms.generate_random(NumberOfBytes=8)))
        took = time.monotonic() - started
        assert outcomes["ok"] + outcomes["ThrottlingException"] == 80
        # The cluster's bucket: a second's burst plus the refill while the burst lasted.
        # Unshared, each worker would allow that much: about twice as many.
        allowed = SYMMETRIC_QUOTA * (1 + took)
        assert SYMMETRIC_QUOTA / 2 <= outcomes["ok"] <= allowed * 1.2 + 2, (outcomes, took)
