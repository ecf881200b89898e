#!/usr/bin/env python3
"""How fast ``trent audit verify`` checks a trail (issue 16; goal ≥ 200,000 events/s).

Builds a trail of N realistic events (~1 KB Encrypt events with boto3's user agent,
distinct ids) in a temporary SQLite database — appended in group-commit batches of 50,
the way the server appends them — delivers it with the real delivery code into a file
bucket (log files of 10,000 events, then a signed digest), and times the verifier on:

- ``files``: the bucket alone (digest signature and chain, every log file's SHA-256 after
  inflating it, every record re-serialized and re-hashed into the event chain);
- ``database``: the event table alone (every segment re-hashed, sequence checked);
- ``both``: what ``trent audit verify --data-dir`` does (files, database, cross-checks).

Reported: events per second per mode (events checked / wall seconds, median of
``--repeat`` runs), with the load average; and events per CPU second (this process and
its reaped worker processes, ``os.times``): on a shared, loaded machine the wall figure
drifts with other work, the CPU figure much less, so compare code changes by it.

    bench/audit_verify.py --events 500000 --repeat 3
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "src"))

from trent.audit.events import Caller, api_call_event  # noqa: E402
from trent.audit.records import TrailPlacement, to_record  # noqa: E402
from trent.domain.clock import FixedClock  # noqa: E402
from trent.keystores.audit_signing import RootWrappedDigestSigner  # noqa: E402
from trent.keystores.root_key import AesRootKey  # noqa: E402
from trent.objectstore.file import FileObjectStore  # noqa: E402
from trent.service.audit_delivery import DeliverySettings, TrailDelivery  # noqa: E402
from trent.service.audit_verify import VerifyScope, verify, verify_database  # noqa: E402
from trent.storage.sql import SqlStorage  # noqa: E402

ACCOUNT, REGION = "123456789012", "us-east-1"
USER_AGENT = ("Boto3/1.44.8 md/Botocore#1.44.8 ua/2.1 os/linux#6.18.44 md/arch#x86_64 lang/python#3.11.7 "
              "md/pyimpl#CPython m/Z,N,e,E,b cfg/retry-mode#standard Botocore/1.44.8")


def build_trail(storage: SqlStorage, events: int, start: float) -> None:
    caller = Caller("IAMUser", "AIDAEXAMPLE00000000", f"arn:aws:iam::{ACCOUNT}:user/dev", ACCOUNT, "test", "dev")
    placement = TrailPlacement(ACCOUNT, REGION)
    key = f"arn:aws:kms:{REGION}:{ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab"
    batch = []
    for n in range(events):
        at = start + n * 0.001
        event = api_call_event(
            event_id=str(uuid.uuid4()), request_id=str(uuid.uuid4()), event_time=at, operation="Encrypt",
            region=REGION, caller=caller, source_ip="10.0.0.7", user_agent=USER_AGENT,
            request_parameters={"keyId": key, "encryptionContext": {"tenant": f"t{n % 97}"}},
            response_elements=None, error_code=None, error_message=None, resources=[(ACCOUNT, key)],
            recipient_account_id=ACCOUNT,
        )
        batch.append(to_record(event, at, placement))
        if len(batch) == 50:
            storage.append_audit_events(batch)
            batch = []
    if batch:
        storage.append_audit_events(batch)


def _cpu_seconds() -> float:
    t = os.times()  # children: worker processes, counted once the pool has reaped them
    return t.user + t.system + t.children_user + t.children_system


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--events", type=int, default=500_000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--jobs", type=int, default=os.cpu_count() or 1, help="as trent audit verify --jobs")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="trent-verify-bench-") as tmp:
        storage = SqlStorage(f"sqlite:///{tmp}/trent.db", upgrade=True)
        start = 1_767_225_600.0
        clock = FixedClock(start)
        t0 = time.perf_counter()
        build_trail(storage, args.events, start)
        built = time.perf_counter() - t0
        clock.advance(args.events * 0.001 + 60)
        store = FileObjectStore(Path(tmp) / "bucket", durable=False)
        signer = RootWrappedDigestSigner(AesRootKey(os.urandom(32)))
        delivery = TrailDelivery(storage, store, signer, clock,
                                 DeliverySettings(bucket="bench-bucket", node_id="bench"), os.urandom)
        t0 = time.perf_counter()
        report = delivery.run(force_digest=True)
        delivered = time.perf_counter() - t0
        assert not report.errors, report.errors
        print(f"built {args.events} events in {built:.1f} s ({args.events / built:,.0f}/s appended), delivered "
              f"{len(report.log_files)} log files in {delivered:.1f} s; load {os.getloadavg()[0]:.2f}")
        keys = {k.fingerprint: k.public_der for k in storage.signing_keys()}
        scope = VerifyScope("bench-bucket")
        for mode in ("files", "database", "both"):
            rates, cpu_rates = [], []
            for _ in range(args.repeat):
                c0 = _cpu_seconds()
                t0 = time.perf_counter()
                if mode == "database":
                    result = verify_database(storage)
                    checked = result.database_events
                else:
                    result = verify(store, scope, keys, storage if mode == "both" else None, jobs=args.jobs)
                    checked = result.file_events + result.database_events
                elapsed = time.perf_counter() - t0
                cpu_rates.append(args.events / max(_cpu_seconds() - c0, 1e-9))
                assert result.ok and checked >= args.events, (result.problems[:3], checked)
                rates.append(args.events / elapsed)
            print(f"verify {mode:9}: {statistics.median(rates):>10,.0f} events/s (median of {args.repeat}; "
                  f"{min(rates):,.0f}-{max(rates):,.0f}); {statistics.median(cpu_rates):>10,.0f} events/CPU-s; "
                  f"load {os.getloadavg()[0]:.2f}", flush=True)
        storage.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
