"""S3 client-side encryption throughput: Trent's S3EC vs Amazon's (amazon-s3-encryption-client-
python 4.0.0), upload and download of one object, one core, the same S3 server, Trent as the KMS.

    python bench/s3ec_throughput.py [--size-mib 1024] [--reps 3] [--server sink,moto]
                                    [--s3-config lean|default] [--rss-gib 5] [--dir /dev/shm/s3ec-bench]

Servers: ``sink`` (bench/s3_sink.py: stores parts as files, serves with sendfile; absorbs what
a client sends) and ``moto`` (moto_server, ~40 MB/s on multipart here: it bounds every client).
Rows: ``null`` (plain boto3, no encryption: what the server and botocore allow), ``trent``
(S3EncryptionClient.upload_file / download_file), ``amazon`` (upload_file with 8 MiB parts /
get_object().read() + write, in .venv-s3ec). Each measurement is a fresh child pinned to CPU 0
(the servers and Trent are pinned to CPU 1), timed inside the child after its clients exist;
implementations interleave rep by rep. Reported: median MB/s (10^6 bytes of plaintext per
second), the child's peak RSS (VmHWM), the load average. After timing, each implementation
decrypts what the other wrote (SHA-256 against the source), or the run fails.
``--rss-gib N``: the constant-memory check at N GiB (tests/wire/s3ec/rss_child.py) on the sink.
Results and how they were taken: bench/S3EC.md.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
AMAZON_PYTHON = ROOT / ".venv-s3ec/bin/python"
DRIVER = ROOT / "tests/wire/s3ec/amazon_driver.py"
PART = 8 << 20
CLIENT_CPU, SERVER_CPU = 0, 1


def _peak_rss() -> int:
    with open("/proc/self/status") as f:
        return next(int(line.split()[1]) * 1024 for line in f if line.startswith("VmHWM:"))


def _s3(url: str, lean: bool) -> Any:
    import boto3
    from botocore.config import Config

    cfg = Config(s3={"payload_signing_enabled": False}, request_checksum_calculation="when_required",
                 response_checksum_validation="when_required") if lean else None
    return boto3.client("s3", endpoint_url=url, region_name="us-east-1", config=cfg)


# --------------------------------------------------------------------------- children


def child(args: argparse.Namespace) -> None:
    s3 = _s3(args.s3_url, args.lean)
    if args.child.startswith("null"):
        t, cpu = time.perf_counter(), time.process_time()
        if args.child == "null-put":
            _null_put(s3, args.bucket, args.key, args.file)
        else:
            _null_get(s3, args.bucket, args.key, args.file)
    else:
        import boto3

        from trent.s3ec import KmsKeyring, S3ecConfig, S3EncryptionClient

        kms = boto3.client("kms", endpoint_url=args.kms_url, region_name="us-east-1")
        c = S3EncryptionClient(s3, KmsKeyring(args.kms_key, kms), S3ecConfig(part_size=PART))
        t, cpu = time.perf_counter(), time.process_time()
        if args.child == "trent-put":
            c.upload_file(args.file, args.bucket, args.key)
        else:
            c.download_file(args.bucket, args.key, args.file, overwrite=True)
    print(json.dumps({"ok": True, "seconds": time.perf_counter() - t, "cpu_seconds": time.process_time() - cpu,
                      "peak_rss": _peak_rss()}))


def _null_put(s3: Any, bucket: str, key: str, path: str) -> None:
    size = os.path.getsize(path)
    upload_id = s3.create_multipart_upload(Bucket=bucket, Key=key)["UploadId"]
    parts = []
    with open(path, "rb") as f:
        for number, _ in enumerate(range(0, size, PART), 1):
            r = s3.upload_part(Bucket=bucket, Key=key, UploadId=upload_id, PartNumber=number, Body=f.read(PART))
            parts.append({"PartNumber": number, "ETag": r["ETag"]})
    s3.complete_multipart_upload(Bucket=bucket, Key=key, UploadId=upload_id, MultipartUpload={"Parts": parts})


def _null_get(s3: Any, bucket: str, key: str, path: str) -> None:
    body = s3.get_object(Bucket=bucket, Key=key)["Body"]
    with open(path, "wb") as f:
        while block := body.read(1 << 20):
            f.write(block)


# --------------------------------------------------------------------------- parent


class Bench:
    def __init__(self, args: argparse.Namespace, s3_url: str, kms: Any, kms_key: str) -> None:
        self.args, self.s3_url, self.kms, self.kms_key = args, s3_url, kms, kms_key
        self.env = dict(os.environ, AWS_ACCESS_KEY_ID="test", AWS_SECRET_ACCESS_KEY="test", AWS_DEFAULT_REGION="us-east-1")
        for k in ("AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL_KMS"):
            self.env.pop(k, None)

    def ours(self, op: str, key: str, file: Path) -> dict[str, Any]:
        cmd = ["taskset", "-c", str(CLIENT_CPU), sys.executable, __file__, "--child", op, "--s3-url", self.s3_url,
               "--kms-url", self.kms.endpoint_url, "--kms-key", self.kms_key, "--bucket", self.args.bucket,
               "--key", key, "--file", str(file)] + (["--lean"] if self.args.s3_config == "lean" else [])
        r = subprocess.run(cmd, capture_output=True, text=True, env=self.env, timeout=3600)
        if r.returncode:
            raise RuntimeError(r.stderr)
        return json.loads(r.stdout)

    def amazon(self, op: str, key: str, file: Path) -> dict[str, Any]:
        plan = {"s3": {"endpoint_url": self.s3_url, "region": "us-east-1", "lean": self.args.s3_config == "lean"},
                "kms": {"endpoint_url": self.kms.endpoint_url, "region": "us-east-1"},
                "ops": [{"op": op, "bucket": self.args.bucket, "key": key, "file": str(file), "format": "v3",
                         "keyring": {"kind": "kms", "key_id": self.kms_key}, "context": {},
                         **({"chunk": PART} if op == "put" else {})}]}
        r = subprocess.run(["taskset", "-c", str(CLIENT_CPU), str(AMAZON_PYTHON), str(DRIVER)], input=json.dumps(plan),
                           capture_output=True, text=True, env=self.env, timeout=3600)
        if r.returncode:
            raise RuntimeError(r.stderr)
        [result] = json.loads(r.stdout)
        if not result["ok"]:
            raise RuntimeError(result["error"])
        return result

    def run(self, impl: str, op: str, key: str, file: Path) -> dict[str, Any]:
        if impl == "amazon":
            return self.amazon(op, key, file)
        return self.ours(f"{impl}-{op}", key, file)


def sha256_of(path: Path) -> str:
    with open(path, "rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


def generate(path: Path, size: int) -> str:
    sha = hashlib.sha256()
    with open(path, "wb") as f:
        for start in range(0, size, 1 << 24):
            block = os.urandom(min(1 << 24, size - start))
            sha.update(block)
            f.write(block)
    return sha.hexdigest()


def warm_memory(directory: Path, gib: int) -> None:
    """Write and delete ``gib`` GiB in the bench's tmpfs before timing anything.

    This host is a VM: the first write into a page the guest has never touched costs ~3 s of
    CPU per GiB (perf on the sink: 85% in copy_folio_from_iter_atomic), later writes into
    recycled pages ~0.1 s. Without this, whichever implementation ran first in rep 0 paid for
    it (2026-12-05: null put 258 vs 1003 MB/s in rep 1, trent get 327 vs 877): the objects
    the sink stores and the files the downloads write all come from the same tmpfs."""
    block = bytes(1 << 24)
    path = directory / "warm"
    with open(path, "wb") as f:
        for _ in range(gib << 6):
            f.write(block)
    path.unlink()


def loadavg() -> str:
    return " ".join(open("/proc/loadavg").read().split()[:3])


def measure(server: str, args: argparse.Namespace, kms: Any, kms_key: str, src: Path, src_sha: str) -> dict[str, Any]:
    import statistics  # parent only: the children's RSS is measured

    from tests.fixtures.moto_s3 import start_moto, stop_moto

    work = args.dir / server
    work.mkdir(parents=True, exist_ok=True)
    proc = None
    if server == "moto":
        moto = start_moto(cpu=SERVER_CPU)
        url, stop = moto.endpoint_url, lambda: stop_moto(moto)
    else:
        from tests.fixtures.moto_s3 import _free_port

        port = _free_port()
        proc = subprocess.Popen(["taskset", "-c", str(SERVER_CPU), sys.executable, str(ROOT / "bench/s3_sink.py"),
                                 "--port", str(port), "--dir", str(work / "store")])
        url, stop = f"http://127.0.0.1:{port}", proc.terminate
        time.sleep(1.0)
    try:
        _s3(url, False).create_bucket(Bucket=args.bucket)
        bench = Bench(args, url, kms, kms_key)
        rows: dict[str, dict[str, list[float]]] = {}
        loads = []
        impls = ["null", "trent", "amazon"]
        size = src.stat().st_size
        for rep in range(args.reps):
            for impl in impls:
                for op in ("put", "get"):
                    out = work / f"{impl}.out"
                    r = bench.run(impl, op, f"{impl}.bin", src if op == "put" else out)
                    row = rows.setdefault(f"{impl} {op}", {"mbps": [], "rss": [], "cpu_mbps": []})
                    row["mbps"].append(size / r["seconds"] / 1e6)
                    row["cpu_mbps"].append(size / r["cpu_seconds"] / 1e6)
                    row["rss"].append(r["peak_rss"] / 2**20)
                    loads.append(loadavg())
                    print(f"  {server} rep {rep} {impl:6} {op}: {row['mbps'][-1]:7.1f} MB/s  "
                          f"(per CPU second {row['cpu_mbps'][-1]:7.1f})  "
                          f"RSS {row['rss'][-1]:7.1f} MiB  load {loads[-1]}", flush=True)
                    if op == "get":
                        if sha256_of(out) != src_sha:
                            raise SystemExit(f"{impl} get returned different bytes")
                        out.unlink()
        # after timing: each implementation decrypts what the other wrote
        bench.run("amazon", "get", "trent.bin", work / "cross-a")
        bench.run("trent", "get", "amazon.bin", work / "cross-t")
        if sha256_of(work / "cross-a") != src_sha or sha256_of(work / "cross-t") != src_sha:
            raise SystemExit("cross-decryption returned different bytes")
        (work / "cross-a").unlink()
        (work / "cross-t").unlink()
        print(f"  {server}: Amazon's client decrypted Trent's object and Trent's decrypted Amazon's (SHA-256 ok)")
        return {k: {"median_mbps": statistics.median(v["mbps"]), "runs_mbps": [round(x, 1) for x in v["mbps"]],
                    "median_mb_per_cpu_second": statistics.median(v["cpu_mbps"]),
                    "peak_rss_mib": max(v["rss"])} for k, v in rows.items()} | {"loadavg": loads}
    finally:
        stop()
        shutil.rmtree(work, ignore_errors=True)


def rss_check(args: argparse.Namespace, kms: Any, kms_key: str) -> dict[str, Any]:
    from tests.wire.s3ec.rss_child import generate as gen

    work = args.dir / "rss"
    work.mkdir(parents=True, exist_ok=True)
    size = int(args.rss_gib * (1 << 30))
    src_sha = gen(str(work / "plain"), size)
    from tests.fixtures.moto_s3 import _free_port

    port = _free_port()
    proc = subprocess.Popen(["taskset", "-c", str(SERVER_CPU), sys.executable, str(ROOT / "bench/s3_sink.py"),
                             "--port", str(port), "--dir", str(work / "store")])
    time.sleep(1.0)
    try:
        url = f"http://127.0.0.1:{port}"
        _s3(url, False).create_bucket(Bucket=args.bucket)
        env = dict(os.environ, AWS_ACCESS_KEY_ID="test", AWS_SECRET_ACCESS_KEY="test", AWS_DEFAULT_REGION="us-east-1")
        t = time.perf_counter()
        r = subprocess.run(["taskset", "-c", str(CLIENT_CPU), sys.executable, str(ROOT / "tests/wire/s3ec/rss_child.py"),
                            url, kms.endpoint_url, kms_key, args.bucket, str(size), str(work)],
                           capture_output=True, text=True, env=env, timeout=7200)
        if r.returncode:
            raise SystemExit(r.stderr)
        res = json.loads(r.stdout)
        ok = res["download_sha256"] == src_sha
        print(f"  rss {args.rss_gib} GiB: peak {res['peak_rss'] / 2**20:.1f} MiB (clients alone "
              f"{res['rss_with_clients'] / 2**20:.1f} MiB), round trip {time.perf_counter() - t:.0f} s, sha256 {'ok' if ok else 'MISMATCH'}")
        if not ok:
            raise SystemExit("5 GiB round trip returned different bytes")
        return {"gib": args.rss_gib, "peak_rss_mib": res["peak_rss"] / 2**20,
                "rss_with_clients_mib": res["rss_with_clients"] / 2**20}
    finally:
        proc.terminate()
        shutil.rmtree(work, ignore_errors=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--size-mib", type=int, default=1024)
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--server", default="sink,moto")
    ap.add_argument("--s3-config", choices=("lean", "default"), default="lean")
    ap.add_argument("--rss-gib", type=float, default=0)
    ap.add_argument("--dir", type=Path, default=Path("/dev/shm/s3ec-bench"))
    ap.add_argument("--bucket", default="s3ec-bench")
    ap.add_argument("--child")
    for a in ("--s3-url", "--kms-url", "--kms-key", "--key", "--file"):
        ap.add_argument(a)
    ap.add_argument("--lean", action="store_true")
    args = ap.parse_args()
    if args.child:
        return child(args)
    # local servers only: moto and the sink take any credentials, Trent --dev takes test/test
    os.environ.update(AWS_ACCESS_KEY_ID="test", AWS_SECRET_ACCESS_KEY="test", AWS_DEFAULT_REGION="us-east-1")
    if not AMAZON_PYTHON.exists():
        raise SystemExit("make .venv-s3ec/.installed-stamp first (Amazon's client)")
    from tests.fixtures.trent_server import start_trent, stop_trent

    args.dir.mkdir(parents=True, exist_ok=True)
    (args.dir / "trent").mkdir(exist_ok=True)
    kms = start_trent(args.dir / "trent" / "data")
    os.sched_setaffinity(kms.process.pid, {SERVER_CPU})
    try:
        key = kms.client().create_key(Description="s3ec bench")["KeyMetadata"]["Arn"]
        results: dict[str, Any] = {"size_mib": args.size_mib, "reps": args.reps, "s3_config": args.s3_config,
                                   "started": time.strftime("%Y-%m-%d %H:%M:%S"), "loadavg_start": loadavg()}
        if args.size_mib:
            src = args.dir / "plain"
            src_sha = generate(src, args.size_mib << 20)
            # 3 stored objects + 1 download + the cross-decrypt outputs, per server
            warm_memory(args.dir, -(-args.size_mib * 6 // 1024))
            for server in args.server.split(","):
                results[server] = measure(server, args, kms, key, src, src_sha)
            src.unlink()
        if args.rss_gib:
            results["rss"] = rss_check(args, kms, key)
        results["loadavg_end"] = loadavg()
        print(json.dumps(results, indent=1))
        for server in args.server.split(",") if args.size_mib else ():
            r = results[server]
            print(f"\n{server}: median MB/s [MB per CPU second] (peak RSS MiB)")
            for op in ("put", "get"):
                cells = "  ".join(f"{i} {r[f'{i} {op}']['median_mbps']:6.1f} [{r[f'{i} {op}']['median_mb_per_cpu_second']:6.1f}]"
                                  f" ({r[f'{i} {op}']['peak_rss_mib']:.0f})" for i in ("null", "trent", "amazon"))
                ratio = r[f"trent {op}"]["median_mbps"] / r[f"amazon {op}"]["median_mbps"]
                print(f"  {op}: {cells}   trent/amazon {ratio:.2f}x")
    finally:
        stop_trent(kms)
        shutil.rmtree(args.dir / "trent", ignore_errors=True)


if __name__ == "__main__":
    main()
