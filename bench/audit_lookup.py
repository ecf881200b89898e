#!/usr/bin/env python3
"""LookupEvents over a big trail (issue 16; goal: a one-hour window filtered by EventName
answers in ≤ 100 ms over 10 M events).

1. A ``trent serve --dev`` creates a fresh data dir (SQLite) and stops.
2. N events (default 10 M) are appended to the dev account's trail through the storage
   API, in segments of 50 (what a busy server's group commit writes), spread evenly over
   the last 90 days: ~400-byte CloudTrail-shaped events, names drawn like a real mix
   (Encrypt 55 %, Decrypt 25 %, GenerateDataKey 12 %, DescribeKey 5 %, CreateKey 1 %,
   ScheduleKeyDeletion / TagResource / ... the rest), 20 users, 500 keys.
3. The server is started again on that data and LookupEvents is called with boto3 (real
   HTTP and SigV4): a one-hour window at several points of the 90 days, filtered by a
   common, a medium and a rare EventName; each query ``--repeat`` times. Reported:
   median and worst wall time per query as the client sees it, results per page.

    bench/audit_lookup.py --events 10000000 --repeat 10
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "src"))

from trent.domain.audit_chain import AuditRecord, TrailKey  # noqa: E402
from trent.storage.sql import SqlStorage  # noqa: E402

ACCOUNT, REGION = "123456789012", "us-east-1"
DAY = 86_400
NAMES = [("Encrypt", 55), ("Decrypt", 25), ("GenerateDataKey", 12), ("DescribeKey", 5), ("CreateKey", 1),
         ("ScheduleKeyDeletion", 0.5), ("TagResource", 0.5), ("ListKeys", 0.5), ("PutKeyPolicy", 0.5)]
READ_ONLY = {"Encrypt", "Decrypt", "GenerateDataKey", "DescribeKey", "ListKeys"}
TEMPLATE = (
    '{"eventVersion":"1.11","userIdentity":{"type":"IAMUser","principalId":"AIDA%(user)s","arn":'
    '"arn:aws:iam::123456789012:user/%(user)s","accountId":"123456789012","accessKeyId":"AKIA%(user)s",'
    '"userName":"%(user)s"},"eventTime":"%(time)s","eventSource":"kms.amazonaws.com","eventName":"%(name)s",'
    '"awsRegion":"us-east-1","sourceIPAddress":"10.1.2.3","userAgent":"aws-sdk-java/2.25","requestParameters":'
    '{"keyId":"%(key)s"},"responseElements":null,"requestID":"%(rid)s","eventID":"%(eid)s","readOnly":%(ro)s,'
    '"resources":[{"accountId":"123456789012","type":"AWS::KMS::Key","ARN":"%(key)s"}],"eventType":"AwsApiCall",'
    '"managementEvent":true,"recipientAccountId":"123456789012","eventCategory":"Management"}'
)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def serve(data_dir: Path, pin: str) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    cmd = [sys.executable, "-m", "trent.cli.main", "serve", "--dev", "--host", "127.0.0.1", "--port", str(port),
           "--data-dir", str(data_dir), "--audit-lookup-rate", "0"]
    if pin:
        cmd = ["taskset", "-c", pin, *cmd]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    for _ in range(600):
        try:
            with urllib.request.urlopen(url + "/_trent/health", timeout=1):
                return proc, url
        except OSError:
            time.sleep(0.1)
    raise RuntimeError("server did not start")


def stop(proc: subprocess.Popen[bytes]) -> None:
    proc.send_signal(signal.SIGINT)
    try:
        proc.wait(30)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)


def fill(db: Path, events: int, end: float, seed: int) -> None:
    rng = random.Random(seed)
    names = [n for n, _ in NAMES]
    weights = [w for _, w in NAMES]
    users = [f"user{i:02d}" for i in range(20)]
    keys = [f"arn:aws:kms:{REGION}:{ACCOUNT}:key/{rng.getrandbits(128):032x}" for _ in range(500)]
    storage = SqlStorage(f"sqlite:///{db}")
    trail = TrailKey(ACCOUNT, REGION)
    start = end - 90 * DAY
    step = (90 * DAY) / events
    t0 = time.perf_counter()
    batch: list[AuditRecord] = []
    for n in range(events):
        at = start + n * step
        name = rng.choices(names, weights)[0]
        user, key = rng.choice(users), rng.choice(keys)
        eid = f"{rng.getrandbits(128):032x}"
        eid = f"{eid[:8]}-{eid[8:12]}-4{eid[13:16]}-8{eid[17:20]}-{eid[20:]}"
        ro = name in READ_ONLY
        body = TEMPLATE % {"user": user, "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(int(at))),
                           "name": name, "key": key, "rid": eid[::-1], "eid": eid, "ro": "true" if ro else "false"}
        tokens = (f"i:{eid}", f"n:{name}", "o:true" if ro else "o:false", "s:kms.amazonaws.com", f"u:{user}",
                  f"k:AKIA{user}", "t:AWS::KMS::Key", f"r:{key}")
        batch.append(AuditRecord(trail, float(int(at)), tokens, body.encode()))
        if len(batch) == 50:
            storage.append_audit_events(batch)
            batch = []
        if n and n % 1_000_000 == 0:
            rate = n / (time.perf_counter() - t0)
            print(f"  {n:,} events ({rate:,.0f}/s)", flush=True)
    if batch:
        storage.append_audit_events(batch)
    storage.close()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--events", type=int, default=10_000_000)
    ap.add_argument("--repeat", type=int, default=10)
    ap.add_argument("--server-cpus", default="0")
    ap.add_argument("--keep", default=None, help="keep the data dir here (and reuse it if it exists)")
    args = ap.parse_args()
    import boto3
    from botocore.config import Config

    tmp = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="trent-lookup-bench-"))
    data = tmp / "data"
    try:
        if not (data / "trent.db").exists():
            proc, _ = serve(data, "")
            stop(proc)
            end = time.time()
            t0 = time.perf_counter()
            print(f"filling {args.events:,} events ...", flush=True)
            fill(data / "trent.db", args.events, end, seed=7)
            print(f"filled in {time.perf_counter() - t0:.0f} s; database {(data / 'trent.db').stat().st_size / 1e9:.2f} GB",
                  flush=True)
        proc, url = serve(data, args.server_cpus)
        try:
            client = boto3.client("cloudtrail", endpoint_url=url, region_name=REGION, aws_access_key_id="test",
                                  aws_secret_access_key="test", config=Config(retries={"max_attempts": 1}))
            now = time.time()
            print(f"\nLookupEvents, one-hour windows, EventName filter, MaxResults 50; load {os.getloadavg()[0]:.2f}")
            print(f"{'window starts':>16} {'EventName':>16} {'events':>7} {'median ms':>10} {'max ms':>8}")
            for ago_days in (0.1, 30, 60, 89):
                start = now - ago_days * DAY - 3600
                for name in ("Encrypt", "DescribeKey", "CreateKey"):
                    times, count = [], 0
                    for _ in range(args.repeat):
                        t0 = time.perf_counter()
                        page = client.lookup_events(
                            StartTime=start, EndTime=start + 3600, MaxResults=50,
                            LookupAttributes=[{"AttributeKey": "EventName", "AttributeValue": name}],
                        )
                        times.append(1000 * (time.perf_counter() - t0))
                        count = len(page["Events"])
                        assert all(e["EventName"] == name for e in page["Events"])
                    print(f"{f'{ago_days:g} days ago':>16} {name:>16} {count:>7} {statistics.median(times):>10.1f} "
                          f"{max(times):>8.1f}", flush=True)
            for attribute, value in (("Username", "user07"), ("EventName", "PutKeyPolicy")):
                t0 = time.perf_counter()
                page = client.lookup_events(LookupAttributes=[{"AttributeKey": attribute, "AttributeValue": value}])
                print(f"default 90-day window, {attribute}={value}: {len(page['Events'])} events in "
                      f"{1000 * (time.perf_counter() - t0):.0f} ms")
        finally:
            stop(proc)
    finally:
        if not args.keep:
            shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
