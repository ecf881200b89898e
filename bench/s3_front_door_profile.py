"""CPU of one small S3 request in process: ``S3FrontDoor.handle`` called in a loop on one
thread, no HTTP, no contention (issue 17; bench/S3_SSE.md, 2026-12-05/06).

The server bench (s3_sse_http.py) runs 32 worker threads on one core, where sampling
profilers mostly see threads waiting for the GIL; this loop shows what a request itself
costs. A ``trent serve --dev`` runtime is built in a fresh data dir (file SQLite, file
object store), a bucket created, then N PUTs (or GETs) of a 1 KiB object replayed with one
SigV4 signature (valid for 5 minutes), as wrk replays them. Prints the mean wall and CPU
time per request, then (``--profile``) cProfile's top functions.

    PYTHONPATH=$PWD/src .venv/bin/python bench/s3_front_door_profile.py --op put --mode aws:kms --profile
"""

from __future__ import annotations

import argparse
import cProfile
import dataclasses
import hashlib
import pstats
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from botocore.auth import S3SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from trent import bootstrap
from trent.config import DEV_ACCESS_KEY_ID, DEV_SECRET_ACCESS_KEY, Settings, env_defaults

HOST = "127.0.0.1:4566"


def signed(method: str, path: str, body: bytes, headers: dict[str, str]) -> list[tuple[bytes, bytes]]:
    request = AWSRequest(method, f"http://{HOST}{path}", data=body,
                         headers={**headers, "x-amz-content-sha256": hashlib.sha256(body).hexdigest()})
    S3SigV4Auth(Credentials(DEV_ACCESS_KEY_ID, DEV_SECRET_ACCESS_KEY), "s3", "us-east-1").add_auth(request)
    out = [(b"host", HOST.encode()), (b"content-length", str(len(body)).encode())]
    out += [(k.lower().encode(), v.encode()) for k, v in request.headers.items() if k.lower() != "host"]
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--op", choices=("put", "get"), default="put")
    parser.add_argument("--mode", choices=("AES256", "aws:kms"), default="AES256")
    parser.add_argument("--count", type=int, default=2000)
    parser.add_argument("--size", type=int, default=1024)
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--top", type=int, default=40)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="trent-s3-profile-") as tmp:
        settings = dataclasses.replace(Settings(**env_defaults()), data_dir=Path(tmp), dev=True)  # type: ignore[arg-type]
        bootstrap.prepare(settings)
        runtime = bootstrap.build(settings)
        front = runtime.http.s3
        assert front is not None
        outbox = runtime.audit

        storage = runtime.deps.storage

        def call(method: str, path: str, body: bytes, headers: list[tuple[bytes, bytes]]) -> Any:
            # as the server does: a GET and a small PUT on the loop (S3FrontDoor.on_loop)
            concluded = front.handle(method, path, "", headers, body, "127.0.0.1",
                                     parsed=front.on_loop(method, path, "", headers))
            if concluded.change is not None:  # the audit batcher's transaction, one call at a time here
                with storage.atomic():
                    assert concluded.change.apply() is None
                    outbox.record([*concluded.companions, concluded.entry])
                concluded.change.settle(True)
            elif not concluded.recorded:  # what the server's group commit does
                outbox.record([*concluded.companions, concluded.entry])
            assert concluded.response.status < 300, concluded.response
            return concluded.response

        call("PUT", "/profile", b"", signed("PUT", "/profile", b"", {}))
        data = b"x" * args.size
        put = signed("PUT", "/profile/k", data, {"x-amz-server-side-encryption": args.mode})
        get = signed("GET", "/profile/k", b"", {})
        call("PUT", "/profile/k", data, put)
        method, body, headers = ("PUT", data, put) if args.op == "put" else ("GET", b"", get)
        for _ in range(50):  # warm the caches
            call(method, "/profile/k", body, headers)
        profile = cProfile.Profile() if args.profile else None
        wall, cpu = time.perf_counter(), time.process_time()
        if profile is not None:
            profile.enable()
        for _ in range(args.count):
            call(method, "/profile/k", body, headers)
        if profile is not None:
            profile.disable()
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        print(f"{args.op} {args.mode} {args.size} B x {args.count}: {wall / args.count * 1e6:.0f} us wall, "
              f"{cpu / args.count * 1e6:.0f} us CPU per request{' (under cProfile)' if profile else ''}")
        if profile is not None:
            stats = pstats.Stats(profile, stream=sys.stdout)
            stats.sort_stats("tottime").print_stats(args.top)
            stats.sort_stats("cumulative").print_stats(args.top)
        runtime.deps.storage.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
