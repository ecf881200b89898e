#!/usr/bin/env python3
"""S3 server-side encryption over HTTP, end to end (issue 17, phase 2 benchmark).

Starts ``trent serve --dev`` (file object store in a fresh temp data dir), moto's S3 server
(``moto_server``) and, with ``--servers trent,moto,localstack``, LocalStack community in host
mode (no Docker; its Python given by ``--localstack-python`` or $LOCALSTACK_PYTHON, see
/work/shared/bench/README.md: ``pip install -r localstack-requirements.txt`` in a venv of its
own), each pinned to CPU 0 (``taskset``); this process, wrk and the streaming client run on
the last CPU. The servers are started together but never run at the same time: while one is
measured the others are stopped (SIGSTOP). The small-object runs are interleaved: rep 1 of
every server, then rep 2 of every server, ...; this VM's speed drifts by ±15 % within
minutes, and a server measured in a fast stretch would otherwise look faster than its peer
measured in a slow one. Neither peer encrypts S3 objects or checks SigV4 signatures: their
figures are an upper bound for work Trent does and they skip.

Per server and mode (Trent: SSE-S3, SSE-KMS, SSE-KMS + Bucket Key, SSE-C; moto: plain, and
with the SSE-S3 or SSE-KMS headers, which moto echoes without encrypting or checking the key
id; moto ignores SSE-C altogether, a GET without the key answers the object, so it has no
SSE-C row):

1. **Small objects (1 KiB)**: PUT and GET req/s, p50/p99, errors and server CPU, by wrk
   replaying one SigV4-signed request (service ``s3``; the PUT carries a fixed body and
   ``x-amz-content-sha256`` = its SHA-256, so the signature stays valid on replay; the
   same key is overwritten). Each request is signed afresh and sent once with
   ``http.client`` before every wrk run, and the answer checked (status, SSE response
   headers, GET body == PUT body): a server that answers wrongly gets no number.
2. **Large objects (1 MiB x N and 256 MiB)**: PUT and GET MB/s (10^6 bytes/s of
   plaintext) with a streaming ``http.client`` client: ``UNSIGNED-PAYLOAD`` signed with
   botocore's ``SigV4Auth``, the body generated 1 MiB at a time, GET read with
   ``readinto`` into one buffer. Every MiB of the body is distinct (its first bytes are
   the marker and its index), and every MiB read back is compared with what was sent
   (a memcmp, cheap next to the transfer). Trent's peak RSS per mode: VmHWM from
   ``/proc/<pid>/status``, reset through ``/proc/<pid>/clear_refs`` before each mode.
3. **KMS calls per 10,000 SSE-KMS PUTs** with a Bucket Key (and, as a check of the
   counter, per 1,000 without one): distinct keys, one keep-alive connection, counted
   from Trent's audit trail (KMS events with ``invokedBy: s3.amazonaws.com``, read from
   the database after the matching S3 PutObject events are all there).
4. **Verification**: after timing, each mode's small and large object is read again and
   compared; the data directory is scanned for the plaintext marker every body starts
   with (a benchmark that cannot lie: moto's in-memory store has no directory to scan).

    .venv/bin/python bench/s3_sse_http.py --quick         # a few seconds per cell
    .venv/bin/python bench/s3_sse_http.py --reps 3        # the full run (~15 minutes)

Results and how they compare with the issue's goals: bench/S3_SSE.md.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import http.client
import json
import os
import shutil
import signal
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
sys.path.insert(0, str(BENCH))

import load  # noqa: E402 - bench/load.py: process accounting, server start/stop, wrk's Lua summary

MIB = 1 << 20
MARKER = b"TRENT-PLAINTEXT-MARKER-"  # starts every body and every MiB of large bodies
REGION = "us-east-1"
ACCESS_KEY, SECRET_KEY = "test", "test"  # what `trent serve --dev` accepts; moto accepts anything
DRAIN_SECONDS = 1.0
EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()
PEER_NOTE = "moto and LocalStack neither encrypt S3 objects nor check SigV4 signatures"
PEERS = ("moto", "localstack")

JsonDict = dict[str, Any]


# --------------------------------------------------------------------------- configuration


@dataclass(frozen=True)
class Config:
    """Parsed command line."""

    servers: tuple[str, ...]
    localstack_python: str | None
    quick: bool
    reps: int
    duration: int
    warmup: int
    connections: tuple[int, ...]
    large_mib: int
    medium_count: int
    count_puts: int
    count_puts_no_bk: int
    server_cpus: str
    client_cpu: int
    json_path: str | None
    data_root: str | None
    keep: bool
    # read by load.run_wrk
    wrk: str = "wrk"
    wrk_cpus: str = ""
    threads: int = 1
    timeout: int = 5


def parse_args(argv: list[str] | None = None) -> Config:
    ap = argparse.ArgumentParser(prog="bench/s3_sse_http.py", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--servers", default="trent,moto",
                    help="from trent,moto,localstack (default: %(default)s)")
    ap.add_argument("--localstack-python", default=os.environ.get("LOCALSTACK_PYTHON"),
                    help="python of a venv with localstack-core 4.10 installed (default: $LOCALSTACK_PYTHON)")
    ap.add_argument("--quick", action="store_true", help="small counts and short runs, for development")
    ap.add_argument("--reps", type=int, default=3, help="measured repetitions; medians reported (default: 3)")
    ap.add_argument("--duration", type=int, default=None, help="seconds per wrk run (default 8, --quick 2)")
    ap.add_argument("--warmup", type=int, default=None, help="seconds of wrk warm-up per cell, before each rep (default 2, --quick 1)")
    ap.add_argument("--connections", default="1,32", help="wrk connection levels (default: %(default)s)")
    ap.add_argument("--large-mib", type=int, default=None, help="large object size (default 256, --quick 32)")
    ap.add_argument("--medium-count", type=int, default=None, help="1 MiB PUTs/GETs per rep (default 64, --quick 16)")
    ap.add_argument("--count-puts", type=int, default=None,
                    help="SSE-KMS + Bucket Key PUTs whose KMS calls are counted (default 10000, --quick 1000)")
    ap.add_argument("--server-cpus", default="0", help="taskset CPU list for the servers (default: %(default)s)")
    ap.add_argument("--client-cpu", type=int, default=None, help="CPU for this process and wrk (default: the last)")
    ap.add_argument("--data-root", default=None, help="where Trent's temp data dir goes (default: $TMPDIR)")
    ap.add_argument("--json", dest="json_path", default=None, metavar="FILE", help="also write the results as JSON")
    ap.add_argument("--keep", action="store_true", help="keep the temp dir (server logs, Lua scripts)")
    ns = ap.parse_args(argv)
    servers = tuple(s for s in ns.servers.split(",") if s)
    if not servers or any(s not in ("trent", *PEERS) for s in servers):
        ap.error("--servers takes trent, moto and/or localstack")
    ls_python = ns.localstack_python
    if "localstack" in servers and not _localstack_usable(ls_python):
        # optional peer: say why it is skipped rather than fail the whole run
        print(f"# LocalStack skipped: no usable --localstack-python / $LOCALSTACK_PYTHON ({ls_python!r}); "
              "install it per /work/shared/bench/README.md (localstack-requirements.txt)", flush=True)
        servers = tuple(s for s in servers if s != "localstack")
    q = ns.quick
    count = ns.count_puts if ns.count_puts is not None else (1000 if q else 10_000)
    ncpu = os.cpu_count() or 1
    client_cpu = ns.client_cpu if ns.client_cpu is not None else ncpu - 1
    return Config(
        servers=servers, localstack_python=ls_python, quick=q, reps=ns.reps,
        duration=ns.duration or (2 if q else 8), warmup=ns.warmup if ns.warmup is not None else (1 if q else 2),
        connections=tuple(int(c) for c in ns.connections.split(",") if c),
        large_mib=ns.large_mib or (32 if q else 256), medium_count=ns.medium_count or (16 if q else 64),
        count_puts=count, count_puts_no_bk=max(1, count // 10), server_cpus=ns.server_cpus, client_cpu=client_cpu,
        json_path=ns.json_path, data_root=ns.data_root, keep=ns.keep,
        wrk=os.environ.get("WRK", "wrk"), wrk_cpus=str(client_cpu) if ncpu > 1 else "",
    )


# --------------------------------------------------------------------------- servers


def _localstack_usable(python: str | None) -> bool:
    """True if ``python`` exists and imports localstack (the optional peer)."""
    if not python or not Path(python).exists():
        return False
    probe = subprocess.run([python, "-c", "import localstack.runtime.main"], capture_output=True, timeout=120)
    return probe.returncode == 0


@dataclass
class Server:
    name: str
    url: str
    pid: int
    data_dir: Path | None  # Trent's; None for the peers (not scanned: they store plaintext)

    @property
    def host(self) -> str:
        return self.url.removeprefix("http://")


@contextlib.contextmanager
def started(name: str, cfg: Config, workdir: Path) -> Iterator[Server]:
    """Start ``name`` pinned to ``cfg.server_cpus`` on a free port; always stop it."""
    port = load.free_port()
    data_dir = Path(tempfile.mkdtemp(prefix=f"{name}-data-", dir=cfg.data_root or workdir))
    env = dict(os.environ)
    if name == "trent":
        # this checkout's sources, whatever the venv's editable install points at
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT / "src"), env.get("PYTHONPATH")]))
        cmd = [load._venv_tool("trent"), "serve", "--dev", "--host", "127.0.0.1", "--port", str(port),
               "--data-dir", str(data_dir)]
        ready = "/_trent/health"
    elif name == "localstack":
        # host mode, no Docker (/work/shared/bench/README.md). An IPv4 GATEWAY_LISTEN binds every
        # interface, acceptable on the bench VM; state lives in the temp data dir.
        assert cfg.localstack_python
        env.update(GATEWAY_LISTEN=f"127.0.0.1:{port}", SERVICES="s3", EAGER_SERVICE_LOADING="1", DNS_ADDRESS="0",
                   DISABLE_EVENTS="1", SKIP_SSL_CERT_DOWNLOAD="1", LOCALSTACK_VOLUME_DIR=str(data_dir / "vol"),
                   FILESYSTEM_ROOT=str(data_dir / "fs"))
        cmd = [cfg.localstack_python, "-m", "localstack.runtime.main"]
        ready = "/_localstack/health"
    else:
        cmd = [load._venv_tool("moto_server"), "-H", "127.0.0.1", "-p", str(port)]
        ready = "/"
    if cfg.server_cpus:
        cmd = ["taskset", "-c", cfg.server_cpus, *cmd]
    log_path = workdir / f"{name}.log"
    print(f"# starting {name} on 127.0.0.1:{port} (cpus {cfg.server_cpus or 'unpinned'}, log {log_path})", flush=True)
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                                start_new_session=True, cwd=workdir, env=env)
    try:
        load._wait_ready(proc, f"http://127.0.0.1:{port}{ready}", need_200=(name != "moto"), timeout=120)
        yield Server(name, f"http://127.0.0.1:{port}", proc.pid, data_dir if name == "trent" else None)
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGCONT)  # stopped while another server was measured
        load._stop_process_group(proc)
        if not cfg.keep:
            shutil.rmtree(data_dir, ignore_errors=True)


def peak_rss_mib(pid: int, field: str = "VmHWM") -> float:
    """VmHWM (peak RSS) or another size field of ``pid``'s /proc status, in MiB."""
    with open(f"/proc/{pid}/status") as f:
        return next(int(line.split()[1]) for line in f if line.startswith(field + ":")) / 1024


def reset_peak_rss(pid: int) -> bool:
    """Reset VmHWM to the current RSS (Linux >= 4.0); False if not allowed."""
    try:
        Path(f"/proc/{pid}/clear_refs").write_text("5")
        return True
    except OSError:
        return False


# --------------------------------------------------------------------------- requests


def sign(server: Server, method: str, path: str, headers: dict[str, str], payload_sha256: str) -> dict[str, str]:
    """SigV4-sign (service s3) a request whose payload hash is ``payload_sha256`` (or UNSIGNED-PAYLOAD)."""
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    all_headers = {"Host": server.host, "x-amz-content-sha256": payload_sha256, **headers}
    req = AWSRequest(method=method, url=server.url + path, headers=all_headers)
    SigV4Auth(Credentials(ACCESS_KEY, SECRET_KEY), "s3", REGION).add_auth(req)
    return {k: str(v) for k, v in req.headers.items()}


@dataclass(frozen=True)
class Mode:
    """One way of storing objects on one server: its bucket, request headers and expected answers."""

    label: str
    bucket: str
    put_headers: dict[str, str]
    get_headers: dict[str, str]  # SSE-C needs the key on GET too
    expect: dict[str, str]  # response headers of PUT and GET (lower-case names)


def customer_key_headers(prefix: str = "x-amz-server-side-encryption-customer-") -> dict[str, str]:
    import base64

    key = os.urandom(32)
    return {prefix + "algorithm": "AES256", prefix + "key": base64.b64encode(key).decode(),
            prefix + "key-md5": base64.b64encode(hashlib.md5(key).digest()).decode()}  # noqa: S324 - S3's wire format


def s3_client(server: Server) -> Any:
    import boto3
    from botocore.config import Config as BotoConfig

    return boto3.client("s3", endpoint_url=server.url, region_name=REGION, aws_access_key_id=ACCESS_KEY,
                        aws_secret_access_key=SECRET_KEY, config=BotoConfig(retries={"max_attempts": 1}))


def setup_modes(server: Server) -> list[Mode]:
    """Create the buckets (and for Trent the KMS key) and describe every mode to measure."""
    s3 = s3_client(server)
    if server.name in PEERS:
        # the peers echo the SSE-S3 and SSE-KMS headers (without encrypting or checking the key id)
        # and ignore SSE-C (a GET without the key returns the object): measured as headers only.
        # LocalStack only: its S3 would call its own KMS for the key id, so SSE-KMS is left out there.
        p = server.name
        sse_s3 = {"x-amz-server-side-encryption": "AES256"}
        sse_kms = {"x-amz-server-side-encryption": "aws:kms", "x-amz-server-side-encryption-aws-kms-key-id":
                   "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"}
        modes = [Mode("plain", f"{p}-plain", {}, {}, {}),
                 Mode("SSE-S3 header only", f"{p}-sse-s3-header", sse_s3, {}, sse_s3)]
        if p == "moto":
            modes.append(Mode("SSE-KMS header only", f"{p}-sse-kms-header", sse_kms, {}, sse_kms))
        for m in modes:
            s3.create_bucket(Bucket=m.bucket)
        return modes
    import boto3

    kms = boto3.client("kms", endpoint_url=server.url, region_name=REGION, aws_access_key_id=ACCESS_KEY,
                       aws_secret_access_key=SECRET_KEY)
    key_arn = kms.create_key(Description="bench/s3_sse_http.py")["KeyMetadata"]["Arn"]
    for b in ("sse-s3", "sse-kms", "sse-kms-bk", "sse-c", "count-kms", "count-kms-bk"):
        s3.create_bucket(Bucket=b)
    for b in ("sse-kms-bk", "count-kms-bk"):
        s3.put_bucket_encryption(Bucket=b, ServerSideEncryptionConfiguration={"Rules": [{
            "ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": key_arn},
            "BucketKeyEnabled": True}]})
    kms_headers = {"x-amz-server-side-encryption": "aws:kms", "x-amz-server-side-encryption-aws-kms-key-id": key_arn}
    ck = customer_key_headers()
    return [
        Mode("SSE-S3", "sse-s3", {"x-amz-server-side-encryption": "AES256"}, {},
             {"x-amz-server-side-encryption": "AES256"}),
        Mode("SSE-KMS", "sse-kms", kms_headers, {}, kms_headers),
        Mode("SSE-KMS+BucketKey", "sse-kms-bk",
             {**kms_headers, "x-amz-server-side-encryption-bucket-key-enabled": "true"}, {},
             {**kms_headers, "x-amz-server-side-encryption-bucket-key-enabled": "true"}),
        Mode("SSE-C", "sse-c", ck, ck, {k: v for k, v in ck.items() if not k.endswith("-key")}),
    ]


def small_body() -> bytes:
    """1 KiB of printable bytes (a Lua long string holds them verbatim) starting with the marker."""
    return (MARKER + os.urandom(512).hex().encode())[:1024]


class BenchFailure(load.BenchError):
    pass


def exchange(server: Server, method: str, path: str, headers: dict[str, str], body: bytes = b"",
             ) -> tuple[int, dict[str, str], bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", int(server.host.split(":")[1]), timeout=60)
    try:
        conn.request(method, path, body=body or None, headers=headers)
        resp = conn.getresponse()
        return resp.status, {k.lower(): v for k, v in resp.getheaders()}, resp.read()
    finally:
        conn.close()


def check_answer(mode: Mode, what: str, status: int, headers: dict[str, str], data: bytes,
                 expected_body: bytes | None) -> None:
    if status != 200:
        raise BenchFailure(f"{mode.label} {what}: HTTP {status}: {data[:300]!r}")
    wrong = {k: headers.get(k) for k, v in mode.expect.items() if headers.get(k) != v}
    if wrong:
        raise BenchFailure(f"{mode.label} {what}: response headers differ from {mode.expect}: {wrong}")
    if expected_body is not None and data != expected_body:
        raise BenchFailure(f"{mode.label} {what}: GET returned other bytes than were PUT")


# --------------------------------------------------------------------------- small objects (wrk)


def lua_request(method: str, path: str, headers: dict[str, str], body: bytes | None) -> str:
    lines = [f"wrk.method = {load.lua_string(method)}", f"wrk.path = {load.lua_string(path)}"]
    if body is not None:
        lines.append(f"wrk.body = {load.lua_string(body.decode())}")
    lines += [f"wrk.headers[ {load.lua_string(k)} ] = {load.lua_string(v)}" for k, v in headers.items()]
    return "\n".join(lines) + "\n" + load.LUA_DONE


@dataclass
class SmallCell:
    server: str
    mode: str
    op: str
    connections: int
    runs: list[load.RunResult] = field(default_factory=list)

    def median(self, attr: str) -> float:
        values = [getattr(r, attr) for r in self.runs if getattr(r, attr) is not None]
        return float(statistics.median(values)) if values else 0.0

    @property
    def errors(self) -> int:
        return sum(r.errors for r in self.runs)


def small_requests(server: Server, mode: Mode, body: bytes) -> dict[str, tuple[str, str, dict[str, str], bytes | None]]:
    path = f"/{mode.bucket}/small-1k"
    put = sign(server, "PUT", path, dict(mode.put_headers), hashlib.sha256(body).hexdigest())
    get = sign(server, "GET", path, dict(mode.get_headers), EMPTY_SHA256)
    return {"PUT": ("PUT", path, put, body), "GET": ("GET", path, get, None)}


def probe_small(server: Server, mode: Mode, op: str, req: tuple[str, str, dict[str, str], bytes | None],
                body: bytes) -> None:
    method, path, headers, data = req
    status, answer_headers, answer = exchange(server, method, path, headers, data or b"")
    check_answer(mode, f"1 KiB {op} probe", status, answer_headers, answer, body if op == "GET" else None)


def probe_peer_small(server: Server, mode: Mode, op: str, req: tuple[str, str, dict[str, str], bytes | None],
                     body: bytes, broken: list[str]) -> None:
    """Probe a peer; if a burst of concurrent overwrites left its object unreadable, say so, put it
    once more and probe again. LocalStack 4.10 does this (its own overwrite race: a PutObject
    answers 500 InternalError and the next GET announces 1,024 bytes and closes the connection
    with none sent); the peer's defect is printed and counted, not hidden, and the fresh object
    must then read back correctly or the run fails as for Trent."""
    try:
        probe_small(server, mode, op, req, body)
        return
    except (BenchFailure, http.client.HTTPException, OSError) as exc:
        what = f"{server.name} {mode.label} {op} probe after a c>1 burst: {type(exc).__name__}"
        broken.append(what)
        print(f"  # PEER DEFECT {what}; object put again (one request) before measuring", flush=True)
    put = small_requests(server, mode, body)["PUT"]
    probe_small(server, mode, "PUT", put, body)
    probe_small(server, mode, op, small_requests(server, mode, body)[op], body)


class SmallPhase:
    """One server's wrk cells, measured a round at a time: :func:`run` interleaves the
    servers' rounds (module doc). A round is, per connection level, mode and op: the request
    signed afresh and checked, a warm-up run, the request checked again, the timed run."""

    def __init__(self, cfg: Config, server: Server, modes: list[Mode], workdir: Path) -> None:
        self.cfg, self.server, self.modes, self.workdir = cfg, server, modes, workdir
        self.body = small_body()
        self.running = load.RunningServer(server.name, server.url, server.pid, "")
        self.cells = {(m.label, op, conns): SmallCell(server.name, m.label, op, conns)
                      for conns in cfg.connections for m in modes for op in ("PUT", "GET")}
        self.broken: list[str] = []  # peers' objects found unreadable after an overwrite burst

    def round(self, rep: int) -> None:
        cfg, server = self.cfg, self.server
        for conns in cfg.connections:
            for mode in self.modes:
                for op in ("PUT", "GET"):
                    script = self.workdir / f"{server.name}-{mode.bucket}-{op}.lua"
                    for seconds in ([cfg.warmup] if cfg.warmup else []) + [cfg.duration]:
                        reqs = small_requests(server, mode, self.body)  # fresh X-Amz-Date every run
                        if server.name in PEERS:
                            probe_peer_small(server, mode, op, reqs[op], self.body, self.broken)
                        else:
                            probe_small(server, mode, op, reqs[op], self.body)
                        script.write_text(lua_request(*reqs[op]))
                        result = load.run_wrk(cfg, self.running, script, conns, seconds)  # type: ignore[arg-type]
                        # wrk stops with requests still queued in the server; let them finish so the
                        # next probe reads the last body PUT, and the next cell starts on an idle server
                        # (a GET racing overwrites once got a 500 from Trent, fixed since:
                        # tests/wire/test_s3_overwrite_race.py)
                        time.sleep(DRAIN_SECONDS)
                    self.cells[(mode.label, op, conns)].runs.append(result)
                    print(f"  {server.name:<10} c={conns:<3} {mode.label:<20} {op:<3} rep {rep + 1}/{cfg.reps}: "
                          f"{result.rps:8.1f} req/s  p50 {result.p50_ms:6.2f} ms  p99 {result.p99_ms:7.2f} ms  "
                          f"err={result.socket_errors} non2xx={result.non2xx} "
                          f"srv_cpu={result.server_cpu_pct or 0:.0f}% other={result.other_cpu_pct:.0f}%", flush=True)

    def finish(self) -> list[SmallCell]:
        """After timing: the last PUT left exactly the body behind, in every mode."""
        for mode in self.modes:
            get = small_requests(self.server, mode, self.body)["GET"]
            if self.server.name in PEERS:
                probe_peer_small(self.server, mode, "GET", get, self.body, self.broken)
            else:
                probe_small(self.server, mode, "GET", get, self.body)
        if self.broken:
            print(f"  # {self.server.name}: {len(self.broken)} probe(s) found the object unreadable after an "
                  "overwrite burst", flush=True)
        return list(self.cells.values())


@contextlib.contextmanager
def measuring(server: Server, others: list[Server]) -> Iterator[None]:
    """``server`` runs alone on the server CPU: the others are stopped (SIGSTOP) meanwhile
    and continued afterwards, so an idle peer's timers cannot take CPU from the one measured."""
    for other in others:
        if other is not server:
            os.killpg(other.pid, signal.SIGSTOP)
    try:
        yield
    finally:
        for other in others:
            if other is not server:
                os.killpg(other.pid, signal.SIGCONT)


# --------------------------------------------------------------------------- large objects (streaming client)


def mib_prefix(index: int) -> bytes:
    return MARKER + f"{index:016d}|".encode()


class Streamer:
    """One keep-alive connection streaming bodies of N distinct MiB (prefix(i) + a shared tail)."""

    def __init__(self, server: Server) -> None:
        self.server = server
        self.tail = os.urandom(MIB - len(mib_prefix(0)))
        self.conn = http.client.HTTPConnection("127.0.0.1", int(server.host.split(":")[1]), timeout=300)
        self.buf = bytearray(MIB)

    def close(self) -> None:
        self.conn.close()

    def put(self, mode: Mode, key: str, mib: int) -> float:
        """PUT ``mib`` MiB; returns seconds from the first header byte to the end of the answer."""
        path = f"/{mode.bucket}/{key}"
        headers = sign(self.server, "PUT", path, dict(mode.put_headers), "UNSIGNED-PAYLOAD")
        t0 = time.perf_counter()
        c = self.conn
        c.putrequest("PUT", path, skip_host=True, skip_accept_encoding=True)
        for k, v in headers.items():
            c.putheader(k, v)
        c.putheader("Content-Length", str(mib * MIB))
        c.endheaders()
        for i in range(mib):
            c.send(mib_prefix(i) + self.tail)
        resp = c.getresponse()
        data = resp.read()
        elapsed = time.perf_counter() - t0
        check_answer(mode, f"{mib} MiB PUT", resp.status, {k.lower(): v for k, v in resp.getheaders()}, data, None)
        return elapsed

    def get(self, mode: Mode, key: str, mib: int) -> float:
        """GET ``mib`` MiB, checking every MiB against what was PUT; returns seconds."""
        path = f"/{mode.bucket}/{key}"
        headers = sign(self.server, "GET", path, dict(mode.get_headers), EMPTY_SHA256)
        view = memoryview(self.buf)
        prefix_len = len(mib_prefix(0))
        t0 = time.perf_counter()
        self.conn.request("GET", path, headers=headers)
        resp = self.conn.getresponse()
        if resp.status != 200:
            check_answer(mode, f"{mib} MiB GET", resp.status, {}, resp.read(), None)
        total = 0
        for i in range(mib):
            filled = 0
            while filled < MIB:
                n = resp.readinto(view[filled:])
                if not n:
                    raise BenchFailure(f"{mode.label} {mib} MiB GET: body ended after {total + filled} bytes")
                filled += n
            total += filled
            # compared as bytes (memcmp): a memoryview compared with bytes goes item by item,
            # ~3 ms per MiB, which made this client, not the server, the limit of large GETs
            if view[:prefix_len] != mib_prefix(i) or view[prefix_len:].tobytes() != self.tail:
                raise BenchFailure(f"{mode.label} {mib} MiB GET: MiB {i} differs from what was PUT")
        if resp.read(1):
            raise BenchFailure(f"{mode.label} {mib} MiB GET: longer than {mib} MiB")
        elapsed = time.perf_counter() - t0
        check_answer(mode, f"{mib} MiB GET", resp.status, {k.lower(): v for k, v in resp.getheaders()}, b"", b"")
        return elapsed


@dataclass
class LargeResult:
    server: str
    mode: str
    put_1mib_mb_s: list[float] = field(default_factory=list)
    get_1mib_mb_s: list[float] = field(default_factory=list)
    put_large_mb_s: list[float] = field(default_factory=list)
    get_large_mb_s: list[float] = field(default_factory=list)
    peak_rss_mib: float | None = None
    rss_before_mib: float | None = None

    def med(self, name: str) -> float:
        values: list[float] = getattr(self, name)
        return float(statistics.median(values)) if values else 0.0


def measure_large(cfg: Config, server: Server, modes: list[Mode]) -> list[LargeResult]:
    results = []
    streamer = Streamer(server)
    try:
        for mode in modes:
            r = LargeResult(server.name, mode.label)
            reset = server.name == "trent" and reset_peak_rss(server.pid)
            if server.name == "trent":
                r.rss_before_mib = peak_rss_mib(server.pid)
            for _ in range(cfg.reps):
                n = cfg.medium_count
                put_s = sum(streamer.put(mode, "medium-1m", 1) for _ in range(n))
                get_s = sum(streamer.get(mode, "medium-1m", 1) for _ in range(n))
                r.put_1mib_mb_s.append(n * MIB / put_s / 1e6)
                r.get_1mib_mb_s.append(n * MIB / get_s / 1e6)
                size = cfg.large_mib * MIB
                r.put_large_mb_s.append(size / streamer.put(mode, "large", cfg.large_mib) / 1e6)
                r.get_large_mb_s.append(size / streamer.get(mode, "large", cfg.large_mib) / 1e6)
            if server.name == "trent":
                r.peak_rss_mib = peak_rss_mib(server.pid)
            print(f"  {server.name:<10} {mode.label:<20} 1 MiB PUT {r.med('put_1mib_mb_s'):7.1f} GET "
                  f"{r.med('get_1mib_mb_s'):7.1f} MB/s; {cfg.large_mib} MiB PUT {r.med('put_large_mb_s'):7.1f} "
                  f"GET {r.med('get_large_mb_s'):7.1f} MB/s"
                  + (f"; peak RSS {r.peak_rss_mib:.0f} MiB{'' if reset else ' (since start)'}"
                     if r.peak_rss_mib else ""), flush=True)
            results.append(r)
    finally:
        streamer.close()
    return results


# --------------------------------------------------------------------------- KMS calls (audit trail)


def audit_events(data_dir: Path, mentioning: bytes) -> list[JsonDict]:
    """The events of Trent's trail whose bytes contain ``mentioning``, read from its
    database (read-only; the byte filter only skips parsing the other events)."""
    con = sqlite3.connect(f"file:{data_dir / 'trent.db'}?mode=ro", uri=True, timeout=30)
    try:
        rows = con.execute("SELECT bodies FROM audit_segments ORDER BY rowid")
        return [json.loads(b) for row in rows for b in bytes(row[0]).split(b"\n") if b and mentioning in b]
    finally:
        con.close()


def count_events(data_dir: Path, bucket: str) -> tuple[int, int]:
    """(S3 PutObject events into ``bucket``, KMS events S3 made for objects of ``bucket`` or for the bucket)."""
    puts = kms = 0
    arn = f"arn:aws:s3:::{bucket}"
    for e in audit_events(data_dir, bucket.encode()):
        params = e.get("requestParameters") or {}
        if e.get("eventSource") == "s3.amazonaws.com":
            puts += e.get("eventName") == "PutObject" and params.get("bucketName") == bucket
        elif e.get("eventSource") == "kms.amazonaws.com" and \
                (e.get("userIdentity") or {}).get("invokedBy") == "s3.amazonaws.com":
            context_arn = str((params.get("encryptionContext") or {}).get("aws:s3:arn", ""))
            kms += context_arn == arn or context_arn.startswith(arn + "/")
    return puts, kms


def kms_calls(server: Server, bucket: str, headers: dict[str, str], count: int) -> JsonDict:
    """PUT ``count`` distinct 1 KiB objects; KMS calls S3 made for them, from the audit trail."""
    assert server.data_dir is not None
    body = small_body()
    digest = hashlib.sha256(body).hexdigest()
    conn = http.client.HTTPConnection("127.0.0.1", int(server.host.split(":")[1]), timeout=60)
    t0 = time.perf_counter()
    try:
        for i in range(count):
            path = f"/{bucket}/count/{i}"
            conn.request("PUT", path, body=body, headers=sign(server, "PUT", path, dict(headers), digest))
            resp = conn.getresponse()
            data = resp.read()
            if resp.status != 200:
                raise BenchFailure(f"counting PUT {i} into {bucket}: HTTP {resp.status}: {data[:300]!r}")
    finally:
        conn.close()
    seconds = time.perf_counter() - t0
    deadline = time.monotonic() + 60
    while True:  # the trail commits in batches: wait until every PutObject of the bucket is in it
        puts, calls = count_events(server.data_dir, bucket)
        if puts >= count or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    if puts != count:
        raise BenchFailure(f"audit trail holds {puts} PutObject events for {bucket}, expected {count}")
    return {"bucket": bucket, "puts": count, "kms_calls": calls, "per_10000_puts": calls * 10_000 / count,
            "put_ops_s_one_connection": count / seconds}


# --------------------------------------------------------------------------- verification


def scan_for_marker(root: Path) -> tuple[int, int]:
    """(files, bytes) scanned under ``root``; raises if any holds the plaintext marker."""
    files = total = 0
    overlap = len(MARKER) - 1
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        files += 1
        tail = b""
        with open(path, "rb") as f:
            while piece := f.read(8 * MIB):
                total += len(piece)
                if MARKER in tail + piece:
                    raise BenchFailure(f"plaintext marker found in {path}: the backend holds plaintext")
                tail = piece[-overlap:]
    return files, total


# --------------------------------------------------------------------------- report


def print_report(cfg: Config, small: list[SmallCell], large: list[LargeResult], counts: list[JsonDict]) -> None:
    print("\n## 1 KiB objects: wrk replaying one signed request (medians of", cfg.reps, "runs of", cfg.duration, "s)")
    print(f"{'server':<10} {'mode':<21} {'op':<3} {'conns':>5} {'req/s':>9} {'(min-max)':>15} {'p50 ms':>7} "
          f"{'p99 ms':>8} {'errors':>6} {'srv CPU':>7} {'other':>6}")
    for c in small:
        rps = [r.rps for r in c.runs]
        span = f"({min(rps):.0f}-{max(rps):.0f})" if rps else "-"
        print(f"{c.server:<10} {c.mode:<21} {c.op:<3} {c.connections:>5} {c.median('rps'):9.1f} {span:>15} "
              f"{c.median('p50_ms'):7.2f} {c.median('p99_ms'):8.2f} {c.errors:>6} "
              f"{c.median('server_cpu_pct'):6.0f}% {c.median('other_cpu_pct'):5.0f}%")
    print(f"\n## large objects: streaming client, MB/s = 10^6 bytes of plaintext per second (medians of {cfg.reps})")
    print(f"{'server':<10} {'mode':<21} {'PUT 1MiB':>9} {'GET 1MiB':>9} {f'PUT {cfg.large_mib}MiB':>11} "
          f"{f'GET {cfg.large_mib}MiB':>11} {'RSS before':>10} {'peak RSS MiB':>13}")
    for r in large:
        rss = f"{r.peak_rss_mib:.0f}" if r.peak_rss_mib else "-"
        before = f"{r.rss_before_mib:.0f}" if r.rss_before_mib else "-"
        print(f"{r.server:<10} {r.mode:<21} {r.med('put_1mib_mb_s'):9.1f} {r.med('get_1mib_mb_s'):9.1f} "
              f"{r.med('put_large_mb_s'):11.1f} {r.med('get_large_mb_s'):11.1f} {before:>10} {rss:>13}")
    if counts:
        print("\n## KMS calls made by S3 (Trent's audit trail)")
        for c in counts:
            print(f"  {c['label']:<24} {c['puts']:>6} PUTs -> {c['kms_calls']:>6} KMS calls "
                  f"= {c['per_10000_puts']:.1f} per 10,000 PUTs ({c['put_ops_s_one_connection']:.0f} PUT/s, one connection)")
    print(f"\n# {PEER_NOTE}")


def goals(cfg: Config, small: list[SmallCell], large: list[LargeResult], counts: list[JsonDict]) -> list[str]:
    """The issue's goals, each MET or NOT MET with the numbers."""
    lines = []
    conns = max(cfg.connections)
    for peer in PEERS:
        best = {op: max((c.median("rps") for c in small if c.server == peer and c.op == op and c.connections == conns),
                        default=0.0) for op in ("PUT", "GET")}
        for c in small:
            if c.server == "trent" and c.connections == conns and best[c.op]:
                ratio = c.median("rps") / best[c.op]
                lines.append(f"GOAL small {c.op} {c.mode} c={conns} >= 3x {peer}: "
                             f"{'MET' if ratio >= 3 else 'NOT MET'} "
                             f"({c.median('rps'):.0f} vs {best[c.op]:.0f} req/s = {ratio:.2f}x)")
    for r in large:
        if r.server != "trent":
            continue
        put, get = r.med("put_large_mb_s"), r.med("get_large_mb_s")
        lines.append(f"GOAL large {r.mode} {cfg.large_mib} MiB PUT and GET >= 400 MB/s: "
                     f"{'MET' if put >= 400 and get >= 400 else 'NOT MET'} (PUT {put:.0f}, GET {get:.0f} MB/s)")
        if r.peak_rss_mib:
            lines.append(f"GOAL RSS {r.mode} <= 128 MiB: {'MET' if r.peak_rss_mib <= 128 else 'NOT MET'} "
                         f"({r.peak_rss_mib:.0f} MiB)")
    for c in counts:
        if c["label"] == "SSE-KMS+BucketKey":
            if c["puts"] < 10_000:  # one call per Bucket Key period: a short run cannot show the ratio
                verdict = f"NOT MEASURED (only {c['puts']} PUTs, {c['kms_calls']} KMS calls; needs --count-puts 10000)"
            else:
                verdict = (f"{'MET' if c['per_10000_puts'] <= 10 else 'NOT MET'} "
                           f"({c['kms_calls']} calls for {c['puts']} PUTs = {c['per_10000_puts']:.1f} per 10,000)")
            lines.append(f"GOAL KMS calls per 10,000 SSE-KMS PUTs with Bucket Keys <= 10: {verdict}")
    return lines


# --------------------------------------------------------------------------- main


def run(cfg: Config) -> int:
    os.sched_setaffinity(0, {cfg.client_cpu})
    if not shutil.which(cfg.wrk):
        raise load.BenchError(f"{cfg.wrk!r} not found (Debian: apt-get install wrk)")
    print(f"# {PEER_NOTE}")
    print(f"# servers={','.join(cfg.servers)} reps={cfg.reps} wrk {cfg.duration}s (+{cfg.warmup}s warm-up) "
          f"c={','.join(map(str, cfg.connections))}; large {cfg.large_mib} MiB, {cfg.medium_count} x 1 MiB; "
          f"client+wrk on CPU {cfg.client_cpu}; load average {os.getloadavg()[0]:.2f}", flush=True)
    workdir = Path(tempfile.mkdtemp(prefix="trent-s3-http-bench-"))
    small: list[SmallCell] = []
    large: list[LargeResult] = []
    counts: list[JsonDict] = []
    scans: JsonDict = {}
    ok = False
    load_before = os.getloadavg()
    started_at = time.monotonic()
    try:
        with contextlib.ExitStack() as stack:
            servers: list[Server] = []
            for name in cfg.servers:
                server = stack.enter_context(started(name, cfg, workdir))
                servers.append(server)
                if name == "trent":
                    scans["trent_rss_at_start_mib"] = round(peak_rss_mib(server.pid, "VmRSS"), 1)
                    print(f"  trent RSS when ready, before any S3 request: {scans['trent_rss_at_start_mib']} MiB",
                          flush=True)
            phases: list[SmallPhase] = []
            for server in servers:
                with measuring(server, servers):
                    phases.append(SmallPhase(cfg, server, setup_modes(server), workdir))
            # Small objects: round r of every server, then round r + 1: the VM's speed drifts by
            # ±15 % within minutes (bench/S3_SSE.md, 2026-12-07 16:49), and the ratios the goals
            # ask for must not depend on which server ran in a fast minute.
            for rep in range(cfg.reps):
                for phase in phases:
                    with measuring(phase.server, servers):
                        phase.round(rep)
            for phase in phases:
                server = phase.server
                with measuring(server, servers):
                    small += phase.finish()
                    large += measure_large(cfg, server, phase.modes)
                    if server.name == "trent":
                        assert server.data_dir is not None
                        by_label = {m.label: m for m in phase.modes}
                        counts.append({"label": "SSE-KMS+BucketKey", **kms_calls(
                            server, "count-kms-bk", by_label["SSE-KMS+BucketKey"].put_headers, cfg.count_puts)})
                        counts.append({"label": "SSE-KMS (no Bucket Key)", **kms_calls(
                            server, "count-kms", by_label["SSE-KMS"].put_headers, cfg.count_puts_no_bk)})
                        files, nbytes = scan_for_marker(server.data_dir)
                        scans["trent"] = {"files": files, "bytes": nbytes}
                        print(f"  trent data dir scanned: {files} files, {nbytes / MIB:.0f} MiB, "
                              "no plaintext marker", flush=True)
        ok = True
    finally:
        if ok and not cfg.keep:
            shutil.rmtree(workdir, ignore_errors=True)
        else:
            print(f"# logs and scripts kept in {workdir}", file=sys.stderr)
    print_report(cfg, small, large, counts)
    verdicts = goals(cfg, small, large, counts)
    print()
    for line in verdicts:
        print(line)
    print(f"# load average before {load_before[0]:.2f}, after {os.getloadavg()[0]:.2f}; "
          f"{(time.monotonic() - started_at) / 60:.1f} minutes")
    if cfg.json_path:
        doc = {"date": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "config": asdict(cfg), "load_before": load_before,
               "load_after": os.getloadavg(), "peers": PEER_NOTE,
               "small": [{"server": c.server, "mode": c.mode, "op": c.op, "connections": c.connections,
                          "rps_median": c.median("rps"), "p50_ms_median": c.median("p50_ms"),
                          "p99_ms_median": c.median("p99_ms"), "errors": c.errors,
                          "server_cpu_pct_median": c.median("server_cpu_pct"),
                          "runs": [asdict(r) for r in c.runs]} for c in small],
               "large": [asdict(r) for r in large], "kms_calls": counts, "scans": scans, "goals": verdicts}
        Path(cfg.json_path).write_text(json.dumps(doc, indent=1) + "\n")
    errors = [f"{c.server}/{c.mode}/{c.op}@c{c.connections}" for c in small if c.errors]
    if errors:
        print(f"ERRORS in: {', '.join(errors)}", file=sys.stderr)
    return 1 if errors else 0


def main(argv: list[str] | None = None) -> int:
    cfg = parse_args(argv)
    signal.signal(signal.SIGTERM, load._raise_on_sigterm)
    try:
        return run(cfg)
    except load.BenchError as exc:
        print(f"bench/s3_sse_http.py: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("bench/s3_sse_http.py: interrupted; servers stopped", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
