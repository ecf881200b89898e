#!/usr/bin/env python3
"""Trent load benchmark: SigV4-signed KMS requests replayed by wrk.

Method
------
For every server under test (Trent and, for comparison, moto) this script:

1. starts the server itself, pinned to one core with ``taskset -c 0`` and on a
   free loopback port, and polls it until it answers (or uses ``--endpoint``);
2. creates the keys it needs with boto3 and builds the exact JSON body of each
   operation (Encrypt of 1 KiB, Decrypt of that ciphertext, GenerateDataKey
   AES_256, ...);
3. before every wrk run, signs that body with botocore's ``SigV4Auth``
   (service ``kms``) so the ``X-Amz-Date`` is fresh, sends the signed request
   once with ``http.client`` and checks the answer is right (e.g. Decrypt
   returns the original plaintext);
4. writes a small Lua script holding that request and lets ``wrk`` (pinned to
   the other core) replay it on N keep-alive connections for a fixed time; a
   Lua ``done()`` hook prints one JSON line with request counts, error counts
   and latency percentiles;
5. samples the CPU time of the server's process tree from ``/proc`` around the
   run to report server CPU%.

Runs are interleaved across operations (warm-up of every op, then run 1 of
every op, run 2 of every op, ...) so slow drift affects all ops alike; the
table reports medians. Servers are measured one after the other, each alone on
core 0, and are stopped at the end even on Ctrl-C or failure.

Replaying one signed request measures the server's full per-request work
(HTTP parsing, SigV4 verification, authorization, crypto, audit) as long as
the server does not cache verification results; ``--distinct-signatures N``
rotates N differently signed copies of each request to make such a cache
visible.

The exit status is 1 if any measured run saw socket errors or non-2xx/3xx
answers, 2 on setup errors (server did not start, wrong probe answer, ...).
Only loopback endpoints are used.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import http.client
import ipaddress
import json
import os
import platform
import resource
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

DEFAULT_OPS = ("Encrypt", "Decrypt", "GenerateDataKey")
ALL_OPS = (
    "Encrypt",
    "Decrypt",
    "GenerateDataKey",
    "Sign",
    "SignRsaPss",  # Sign with RSA_2048 / RSASSA_PSS_SHA_256 (DIGEST); wire op is Sign
    "Verify",
    "GenerateMac",
    "VerifyMac",
    "DescribeKey",
    "GenerateRandom",
    "CreateKey",  # a mutation: the key and its audit event commit in one transaction (issue 16)
)
KNOWN_SERVERS = ("trent", "moto")
TARGET_RPS = 10_000.0
TARGET_P99_MS = 10.0
NONCE_HEADER = "X-Trent-Bench-Nonce"

JsonDict = dict[str, Any]


class BenchError(Exception):
    """A setup problem that makes the measurement meaningless (exit status 2)."""


# --------------------------------------------------------------------------- configuration


@dataclass(frozen=True)
class Config:
    """Parsed command line."""

    servers: tuple[str, ...]
    endpoint: str | None
    server_pid: int | None
    label: str | None
    ops: tuple[str, ...]
    connections: tuple[int, ...]
    duration: int
    warmup: int
    runs: int
    threads: int
    timeout: int
    plaintext_bytes: int
    distinct_signatures: int
    server_cpus: str
    wrk_cpus: str
    wrk: str
    region: str
    access_key: str
    secret_key: str
    start_timeout: float
    json_path: str | None
    keep_logs: bool
    key_id: str | None = None  # symmetric ops on this existing key (e.g. an HSM-backed key)
    key_policy: str | None = None  # key policy text for the symmetric key the bench creates


def _csv(text: str) -> list[str]:
    return [part.strip() for part in text.split(",") if part.strip()]


def parse_args(argv: list[str] | None = None) -> Config:
    """Parse and validate the command line into a :class:`Config`."""
    ap = argparse.ArgumentParser(
        prog="bench/load.py",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    ap.add_argument("--servers", default="trent,moto",
                    help=f"servers to start and measure, from {','.join(KNOWN_SERVERS)} (default: %(default)s)")
    ap.add_argument("--endpoint", default=None, metavar="URL",
                    help="measure an already-running loopback server instead of starting any")
    ap.add_argument("--server-pid", type=int, default=None,
                    help="with --endpoint: PID of that server, to report its CPU%%")
    ap.add_argument("--label", default=None, help="with --endpoint: name shown in the report (default: host:port)")
    ap.add_argument("--ops", default=",".join(DEFAULT_OPS),
                    help=f"comma list from {','.join(ALL_OPS)} (default: %(default)s)")
    ap.add_argument("--connections", default="1,32", help="wrk connection levels (default: %(default)s)")
    ap.add_argument("--duration", type=int, default=10, help="seconds per measured run (default: %(default)s)")
    ap.add_argument("--warmup", type=int, default=2,
                    help="seconds of unmeasured warm-up per op and level, 0 = none (default: %(default)s)")
    ap.add_argument("--runs", type=int, default=3, help="measured runs per op; medians reported (default: %(default)s)")
    ap.add_argument("--threads", type=int, default=1, help="wrk threads (default: %(default)s)")
    ap.add_argument("--timeout", type=int, default=5, help="wrk per-request timeout in s (default: %(default)s)")
    ap.add_argument("--key-id", default=None,
                    help="with --endpoint: run the symmetric ops on this existing key (e.g. a custom key store key)")
    ap.add_argument("--key-policy", default=None, metavar="FILE",
                    help="create the symmetric key with this key policy (JSON file; {account} is replaced by the "
                         "caller's account id), e.g. bench/policies/ten-statements.json")
    ap.add_argument("--plaintext-bytes", type=int, default=1024, help="Encrypt plaintext size (default: %(default)s)")
    ap.add_argument("--distinct-signatures", type=int, default=1, metavar="N",
                    help="rotate N differently signed copies of each request (default: %(default)s)")
    ap.add_argument("--server-cpus", default="0", help="taskset CPU list for started servers (default: %(default)s)")
    ap.add_argument("--wrk-cpus", default=None,
                    help="taskset CPU list for wrk (default: the last CPU; '' = unpinned)")
    ap.add_argument("--wrk", default=os.environ.get("WRK", "wrk"), help="wrk binary (default: $WRK or wrk)")
    ap.add_argument("--region", default="us-east-1")
    ap.add_argument("--access-key", default=os.environ.get("TRENT_BENCH_ACCESS_KEY", "test"))
    ap.add_argument("--secret-key", default=os.environ.get("TRENT_BENCH_SECRET_KEY", "test"))
    ap.add_argument("--start-timeout", type=float, default=30.0, help="seconds to wait for a server (default: %(default)s)")
    ap.add_argument("--json", dest="json_path", default=None, metavar="FILE", help="also write all results as JSON")
    ap.add_argument("--keep-logs", action="store_true", help="keep server logs even when everything succeeded")
    ns = ap.parse_args(argv)

    servers = tuple(_csv(ns.servers))
    ops = tuple(_csv(ns.ops))
    bad = [s for s in servers if s not in KNOWN_SERVERS] + [o for o in ops if o not in ALL_OPS]
    if bad:
        ap.error(f"unknown server/op: {', '.join(bad)}")
    try:
        conns = tuple(int(c) for c in _csv(ns.connections))
    except ValueError:
        ap.error("--connections must be a comma list of integers")
    if not ops or not conns or any(c < 1 or c > 10_000 for c in conns):
        ap.error("need at least one op and connection levels in [1, 10000]")
    if not (0 < ns.duration <= 600 and 0 <= ns.warmup <= 600 and 1 <= ns.runs <= 20):
        ap.error("duration must be in (0, 600] s, warmup in [0, 600] s, runs in [1, 20]")
    if not (1 <= ns.distinct_signatures <= 10_000 and 1 <= ns.threads <= 64):
        ap.error("--distinct-signatures must be in [1, 10000] and --threads in [1, 64]")
    if (ns.server_pid is not None or ns.label) and ns.endpoint is None:
        ap.error("--server-pid and --label only make sense with --endpoint")
    key_policy = Path(ns.key_policy).read_text() if ns.key_policy else None
    if key_policy is not None and ns.key_id is not None:
        ap.error("--key-policy and --key-id exclude each other")
    wrk_cpus = ns.wrk_cpus
    if wrk_cpus is None:
        ncpu = os.cpu_count() or 1
        wrk_cpus = str(ncpu - 1) if ncpu > 1 else ""
    return Config(
        servers=servers, endpoint=ns.endpoint, server_pid=ns.server_pid, label=ns.label, ops=ops, connections=conns,
        duration=ns.duration, warmup=ns.warmup, runs=ns.runs, threads=ns.threads, timeout=ns.timeout,
        plaintext_bytes=ns.plaintext_bytes, distinct_signatures=ns.distinct_signatures, key_id=ns.key_id,
        server_cpus=ns.server_cpus, wrk_cpus=wrk_cpus, wrk=ns.wrk, region=ns.region,
        access_key=ns.access_key, secret_key=ns.secret_key, start_timeout=ns.start_timeout,
        json_path=ns.json_path, keep_logs=ns.keep_logs, key_policy=key_policy,
    )


# --------------------------------------------------------------------------- /proc accounting


def _read_proc_stats() -> dict[int, tuple[int, int]]:
    """Map pid -> (ppid, utime+stime+cutime+cstime in clock ticks) for all live processes."""
    stats: dict[int, tuple[int, int]] = {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            data = Path(f"/proc/{name}/stat").read_text()
        except OSError:
            continue
        fields = data[data.rfind(")") + 2:].split()
        # fields[0] is field 3 (state): ppid is field 4, utime..cstime are fields 14..17
        stats[int(name)] = (int(fields[1]), sum(int(x) for x in fields[11:15]))
    return stats


def process_tree_cpu_seconds(root_pid: int) -> float:
    """CPU seconds used so far by ``root_pid`` and its live descendants.

    Each process contributes its own time plus that of its reaped children,
    so a worker that exits during a run is still counted exactly once.
    """
    stats = _read_proc_stats()
    tree = {root_pid}
    grew = True
    while grew:
        new = {pid for pid, (ppid, _) in stats.items() if ppid in tree and pid not in tree}
        tree |= new
        grew = bool(new)
    ticks = sum(stats[pid][1] for pid in tree if pid in stats)
    return ticks / os.sysconf("SC_CLK_TCK")


def machine_busy_seconds() -> float:
    """Busy CPU seconds of the whole machine so far, summed over CPUs (/proc/stat)."""
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:]]
    busy = v[0] + v[1] + v[2] + v[5] + v[6] + (v[7] if len(v) > 7 else 0)
    return busy / os.sysconf("SC_CLK_TCK")


# --------------------------------------------------------------------------- servers


def require_loopback(url: str) -> urllib.parse.ParseResult:
    """Parse ``url`` and refuse anything that is not plain http on a loopback address."""
    parsed = urllib.parse.urlparse(url)
    if parsed.scheme != "http" or not parsed.hostname:
        raise BenchError(f"only http://<loopback>:<port> endpoints are supported, got {url!r}")
    try:
        infos = socket.getaddrinfo(parsed.hostname, parsed.port or 80, proto=socket.IPPROTO_TCP)
    except socket.gaierror as exc:
        raise BenchError(f"cannot resolve {parsed.hostname!r}: {exc}") from exc
    for info in infos:
        if not ipaddress.ip_address(info[4][0]).is_loopback:
            raise BenchError(f"refusing non-loopback endpoint {parsed.hostname!r}")
    return parsed


def free_port() -> int:
    """Ask the kernel for a currently free TCP port on 127.0.0.1."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def http_status(url: str, timeout: float = 2.0) -> int | None:
    """Status code of ``GET url``, or None if nothing answers."""
    parsed = urllib.parse.urlparse(url)
    conn = http.client.HTTPConnection(parsed.hostname or "127.0.0.1", parsed.port or 80, timeout=timeout)
    try:
        conn.request("GET", parsed.path or "/")
        resp = conn.getresponse()
        resp.read()
        return resp.status
    except (OSError, http.client.HTTPException):
        return None
    finally:
        conn.close()


@dataclass
class RunningServer:
    """A server under test: where it listens and which process tree to account."""

    name: str
    url: str
    pid: int | None
    version: str


def _venv_tool(name: str) -> str:
    """Path of console script ``name`` next to this interpreter, else on $PATH."""
    beside = Path(sys.executable).parent / name
    if beside.exists():
        return str(beside)
    found = shutil.which(name)
    if not found:
        raise BenchError(f"{name!r} not found next to {sys.executable} or on $PATH")
    return found


def _package_version(dist: str) -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(dist)
    except PackageNotFoundError:
        return "unknown"


def server_command(name: str, port: int, data_dir: Path) -> tuple[list[str], str]:
    """The command line that starts server ``name`` and the path that signals readiness."""
    if name == "trent":
        cmd = [_venv_tool("trent"), "serve", "--dev", "--host", "127.0.0.1", "--port", str(port),
               "--data-dir", str(data_dir)]
        return cmd, "/_trent/health"
    if name == "moto":
        return [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)], "/"
    raise BenchError(f"unknown server {name!r}")


def _wait_ready(proc: subprocess.Popen[bytes], url: str, need_200: bool, timeout: float) -> None:
    """Poll ``url`` until the server answers (200 if ``need_200``), it dies, or ``timeout`` passes."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise BenchError(f"server exited with status {proc.returncode} before becoming ready")
        status = http_status(url)
        if status is not None and (status == 200 or not need_200):
            return
        time.sleep(0.1)
    raise BenchError(f"server did not answer {url} within {timeout:.0f}s")


def _stop_process_group(proc: subprocess.Popen[bytes], grace: float = 10.0) -> None:
    """SIGTERM the process group we started, then SIGKILL it if it lingers."""
    if proc.poll() is not None:
        return
    for sig, wait in ((signal.SIGINT, grace), (signal.SIGTERM, 5.0), (signal.SIGKILL, 5.0)):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, sig)
        try:
            proc.wait(timeout=wait)
            return
        except subprocess.TimeoutExpired:
            continue


@contextlib.contextmanager
def started_server(name: str, cfg: Config, workdir: Path) -> Iterator[RunningServer]:
    """Start ``name`` pinned to ``cfg.server_cpus`` on a free port; always stop it on exit.

    The server runs in its own session (process group), its output goes to a
    log file in ``workdir`` (never to the console: dev servers may print key
    material), and its data directory is a fresh directory under ``workdir``.
    """
    port = free_port()
    data_dir = workdir / f"{name}-data"
    data_dir.mkdir()
    cmd, ready_path = server_command(name, port, data_dir)
    if cfg.server_cpus:
        cmd = ["taskset", "-c", cfg.server_cpus, *cmd]
    log_path = workdir / f"{name}.log"
    url = f"http://127.0.0.1:{port}"
    print(f"# starting {name} on {url} (cpus {cfg.server_cpus or 'unpinned'}, log {log_path})", flush=True)
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                                start_new_session=True, cwd=workdir)
    try:
        _wait_ready(proc, url + ready_path, need_200=(name == "trent"), timeout=cfg.start_timeout)
        version = _package_version("trent" if name == "trent" else "moto")
        # taskset execs the server, so proc.pid is the server process itself
        yield RunningServer(name=name, url=url, pid=proc.pid, version=version)
    finally:
        _stop_process_group(proc)


# --------------------------------------------------------------------------- requests


@dataclass(frozen=True)
class OpSpec:
    """One benchmarked KMS operation: its JSON body and a check of its answer."""

    name: str
    body: JsonDict
    check: Callable[[JsonDict], str | None]


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def _unb64(value: Any) -> bytes:
    return base64.b64decode(value) if isinstance(value, str) else b""


def kms_client(url: str, cfg: Config) -> Any:
    """A boto3 KMS client for ``url`` with no retries and bounded timeouts."""
    import boto3
    from botocore.config import Config as BotoConfig

    return boto3.client(
        "kms", endpoint_url=url, region_name=cfg.region,
        aws_access_key_id=cfg.access_key, aws_secret_access_key=cfg.secret_key,
        config=BotoConfig(retries={"max_attempts": 1}, connect_timeout=5, read_timeout=30),
    )


def _create_key(kms: Any, spec: str, usage: str, policy: str | None = None) -> str:
    extra: dict[str, Any] = {}
    if policy is not None:
        account = kms.describe_key(KeyId=_create_key(kms, spec, usage))["KeyMetadata"]["AWSAccountId"]
        extra["Policy"] = policy.replace("{account}", account)
    meta = kms.create_key(KeySpec=spec, KeyUsage=usage, Description="trent bench/load.py", **extra)["KeyMetadata"]
    return str(meta["KeyId"])


def _symmetric_ops(kms: Any, cfg: Config) -> dict[str, OpSpec]:
    """Encrypt / Decrypt / GenerateDataKey / DescribeKey on a fresh SYMMETRIC_DEFAULT key."""
    key = cfg.key_id or _create_key(kms, "SYMMETRIC_DEFAULT", "ENCRYPT_DECRYPT", cfg.key_policy)
    plaintext = os.urandom(cfg.plaintext_bytes)
    blob = kms.encrypt(KeyId=key, Plaintext=plaintext)["CiphertextBlob"]
    if kms.decrypt(CiphertextBlob=blob, KeyId=key)["Plaintext"] != plaintext:
        raise BenchError("boto3 Encrypt/Decrypt round trip returned a different plaintext")

    def decrypts_to(blob_b64: Any, expected: bytes) -> bool:
        got = kms.decrypt(CiphertextBlob=_unb64(blob_b64), KeyId=key)["Plaintext"]
        return bool(got == expected)

    def check_encrypt(r: JsonDict) -> str | None:
        return None if decrypts_to(r.get("CiphertextBlob"), plaintext) else "ciphertext does not decrypt back"

    def check_decrypt(r: JsonDict) -> str | None:
        return None if _unb64(r.get("Plaintext")) == plaintext else "plaintext mismatch"

    def check_gdk(r: JsonDict) -> str | None:
        data_key = _unb64(r.get("Plaintext"))
        if len(data_key) != 32:
            return f"data key is {len(data_key)} bytes, expected 32"
        return None if decrypts_to(r.get("CiphertextBlob"), data_key) else "wrapped data key does not decrypt"

    def check_describe(r: JsonDict) -> str | None:
        return None if r.get("KeyMetadata", {}).get("KeyId") == key else "wrong KeyMetadata"

    return {
        "Encrypt": OpSpec("Encrypt", {"KeyId": key, "Plaintext": _b64(plaintext)}, check_encrypt),
        "Decrypt": OpSpec("Decrypt", {"CiphertextBlob": _b64(blob), "KeyId": key}, check_decrypt),
        "GenerateDataKey": OpSpec("GenerateDataKey", {"KeyId": key, "KeySpec": "AES_256"}, check_gdk),
        "DescribeKey": OpSpec("DescribeKey", {"KeyId": key}, check_describe),
    }


def _signing_ops(kms: Any) -> dict[str, OpSpec]:
    """Sign / Verify of a 32-byte digest with a fresh ECC_NIST_P256 key."""
    key = _create_key(kms, "ECC_NIST_P256", "SIGN_VERIFY")
    digest = os.urandom(32)
    common = {"KeyId": key, "Message": _b64(digest), "MessageType": "DIGEST", "SigningAlgorithm": "ECDSA_SHA_256"}
    signature = kms.sign(**{**common, "Message": digest})["Signature"]

    def check_sign(r: JsonDict) -> str | None:
        sig = _unb64(r.get("Signature"))
        ok = kms.verify(**{**common, "Message": digest, "Signature": sig})["SignatureValid"]
        return None if ok else "signature does not verify"

    def check_verify(r: JsonDict) -> str | None:
        return None if r.get("SignatureValid") is True else "SignatureValid is not true"

    return {
        "Sign": OpSpec("Sign", common, check_sign),
        "Verify": OpSpec("Verify", {**common, "Signature": _b64(signature)}, check_verify),
    }


def _rsa_pss_ops(kms: Any) -> dict[str, OpSpec]:
    """Sign of a 32-byte digest with a fresh RSA_2048 key, RSASSA_PSS_SHA_256."""
    key = _create_key(kms, "RSA_2048", "SIGN_VERIFY")
    digest = os.urandom(32)
    common = {"KeyId": key, "Message": _b64(digest), "MessageType": "DIGEST", "SigningAlgorithm": "RSASSA_PSS_SHA_256"}

    def check_sign(r: JsonDict) -> str | None:
        sig = _unb64(r.get("Signature"))
        ok = kms.verify(**{**common, "Message": digest, "Signature": sig})["SignatureValid"]
        return None if ok else "signature does not verify"

    return {"SignRsaPss": OpSpec("Sign", common, check_sign)}


def _mac_ops(kms: Any) -> dict[str, OpSpec]:
    """GenerateMac / VerifyMac of a 1 KiB message with a fresh HMAC_256 key."""
    key = _create_key(kms, "HMAC_256", "GENERATE_VERIFY_MAC")
    message = os.urandom(1024)
    common = {"KeyId": key, "Message": _b64(message), "MacAlgorithm": "HMAC_SHA_256"}
    mac = kms.generate_mac(KeyId=key, Message=message, MacAlgorithm="HMAC_SHA_256")["Mac"]

    def check_generate(r: JsonDict) -> str | None:
        return None if _unb64(r.get("Mac")) == mac else "MAC differs from the boto3 one"

    def check_verify(r: JsonDict) -> str | None:
        return None if r.get("MacValid") is True else "MacValid is not true"

    return {
        "GenerateMac": OpSpec("GenerateMac", common, check_generate),
        "VerifyMac": OpSpec("VerifyMac", {**common, "Mac": _b64(mac)}, check_verify),
    }


def build_ops(kms: Any, cfg: Config) -> dict[str, OpSpec]:
    """Create only the keys the selected ops need and return their specs."""
    ops: dict[str, OpSpec] = {}
    if set(cfg.ops) & {"Encrypt", "Decrypt", "GenerateDataKey", "DescribeKey"}:
        ops.update(_symmetric_ops(kms, cfg))
    if set(cfg.ops) & {"Sign", "Verify"}:
        ops.update(_signing_ops(kms))
    if "SignRsaPss" in cfg.ops:
        ops.update(_rsa_pss_ops(kms))
    if set(cfg.ops) & {"GenerateMac", "VerifyMac"}:
        ops.update(_mac_ops(kms))
    if "CreateKey" in cfg.ops:
        ops["CreateKey"] = OpSpec(
            "CreateKey", {"Description": "trent bench/load.py CreateKey"},
            lambda r: None if r.get("KeyMetadata", {}).get("KeyState") == "Enabled" else "no Enabled key created",
        )
    if "GenerateRandom" in cfg.ops:
        ops["GenerateRandom"] = OpSpec(
            "GenerateRandom", {"NumberOfBytes": 32},
            lambda r: None if len(_unb64(r.get("Plaintext"))) == 32 else "expected 32 random bytes",
        )
    return ops


@dataclass(frozen=True)
class SignedRequest:
    """A complete, signed HTTP POST that wrk can replay byte for byte."""

    body: bytes
    headers: dict[str, str]


def sign_request(url: str, cfg: Config, op: str, body: bytes, nonce: int | None) -> SignedRequest:
    """Sign ``body`` for ``TrentService.<op>`` with botocore's SigV4 signer (service kms).

    With a ``nonce``, an extra signed header makes the signature unique.
    """
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    host = urllib.parse.urlparse(url).netloc
    headers = {
        "Host": host,
        "Content-Type": "application/x-amz-json-1.1",
        "X-Amz-Target": f"TrentService.{op}",
    }
    if nonce is not None:
        headers[NONCE_HEADER] = str(nonce)
    req = AWSRequest(method="POST", url=url.rstrip("/") + "/", data=body, headers=headers)
    SigV4Auth(Credentials(cfg.access_key, cfg.secret_key), "kms", cfg.region).add_auth(req)
    return SignedRequest(body=body, headers={k: str(v) for k, v in req.headers.items()})


def sign_batch(url: str, cfg: Config, spec: OpSpec) -> list[SignedRequest]:
    """Sign ``cfg.distinct_signatures`` copies of the op's request, fresh X-Amz-Date."""
    body = json.dumps(spec.body, separators=(",", ":")).encode()
    if cfg.distinct_signatures == 1:
        return [sign_request(url, cfg, spec.name, body, None)]
    return [sign_request(url, cfg, spec.name, body, i) for i in range(cfg.distinct_signatures)]


def probe(url: str, request: SignedRequest, spec: OpSpec) -> None:
    """Send ``request`` once and raise :class:`BenchError` unless the answer is a correct 200."""
    parsed = urllib.parse.urlparse(url)
    conn = http.client.HTTPConnection(parsed.hostname or "127.0.0.1", parsed.port or 80, timeout=10)
    try:
        conn.request("POST", "/", body=request.body, headers=request.headers)
        resp = conn.getresponse()
        data = resp.read()
    except (OSError, http.client.HTTPException) as exc:
        raise BenchError(f"{spec.name}: probe request failed: {exc}") from exc
    finally:
        conn.close()
    if resp.status != 200:
        raise BenchError(f"{spec.name}: signed probe got HTTP {resp.status}: {data[:300]!r}")
    try:
        answer = json.loads(data)
    except ValueError as exc:
        raise BenchError(f"{spec.name}: probe answer is not JSON: {data[:200]!r}") from exc
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        problem = spec.check(answer)
    except (BotoCoreError, ClientError) as exc:
        raise BenchError(f"{spec.name}: checking the probe answer with boto3 failed: {exc}") from exc
    if problem:
        raise BenchError(f"{spec.name}: probe answer is wrong: {problem}")


# --------------------------------------------------------------------------- wrk


LUA_DONE = r"""
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'WRKJSON {"requests":%d,"duration_us":%d,"err_connect":%d,"err_read":%d,"err_write":%d,' ..
    '"err_status":%d,"err_timeout":%d,"lat_mean_us":%.1f,"lat_max_us":%d,' ..
    '"p50_us":%d,"p90_us":%d,"p99_us":%d,"p999_us":%d}\n',
    summary.requests, summary.duration, e.connect, e.read, e.write, e.status, e.timeout,
    latency.mean, latency.max, latency:percentile(50), latency:percentile(90),
    latency:percentile(99), latency:percentile(99.9)))
end
"""


def lua_string(text: str) -> str:
    """``text`` as a Lua long-bracket literal that needs no escaping."""
    level = 0
    while f"]{'=' * level}]" in text:
        level += 1
    eq = "=" * level
    return f"[{eq}[{text}]{eq}]"


def _lua_headers(headers: dict[str, str]) -> str:
    return "{" + ", ".join(f"[ {lua_string(k)} ] = {lua_string(v)}" for k, v in headers.items()) + "}"


def lua_script(requests: list[SignedRequest]) -> str:
    """A wrk script replaying ``requests`` (static when there is one, round-robin otherwise)."""
    if len(requests) == 1:
        req = requests[0]
        lines = ['wrk.method = "POST"', 'wrk.path = "/"', f"wrk.body = {lua_string(req.body.decode())}"]
        lines += [f"wrk.headers[ {lua_string(k)} ] = {lua_string(v)}" for k, v in req.headers.items()]
        return "\n".join(lines) + "\n" + LUA_DONE
    entries = ",\n  ".join(
        f'wrk.format("POST", "/", {_lua_headers(r.headers)}, {lua_string(r.body.decode())})' for r in requests
    )
    return (
        "local reqs, i = nil, 0\n"
        f"init = function(args)\n  reqs = {{\n  {entries}\n  }}\nend\n"
        "request = function()\n  i = i % #reqs + 1\n  return reqs[i]\nend\n" + LUA_DONE
    )


@dataclass
class RunResult:
    """One measured wrk run."""

    rps: float
    p50_ms: float
    p99_ms: float
    p999_ms: float
    socket_errors: int
    non2xx: int
    server_cpu_pct: float | None
    wrk_cpu_pct: float
    other_cpu_pct: float
    raw: JsonDict = field(default_factory=dict)

    @property
    def errors(self) -> int:
        """Socket errors plus HTTP error answers."""
        return self.socket_errors + self.non2xx


def _wrk_command(cfg: Config, url: str, script: Path, conns: int, seconds: int) -> list[str]:
    cmd = ["taskset", "-c", cfg.wrk_cpus] if cfg.wrk_cpus else []
    return cmd + [cfg.wrk, f"-t{min(cfg.threads, conns)}", f"-c{conns}", f"-d{seconds}s",
                  "--timeout", f"{cfg.timeout}s", "-s", str(script), url.rstrip("/") + "/"]


def run_wrk(cfg: Config, server: RunningServer, script: Path, conns: int, seconds: int) -> RunResult:
    """Run wrk once and combine its Lua summary with CPU accounting of server, wrk and the rest."""
    ru0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    s0 = process_tree_cpu_seconds(server.pid) if server.pid else None
    m0, t0 = machine_busy_seconds(), time.monotonic()
    proc = subprocess.run(_wrk_command(cfg, server.url, script, conns, seconds),
                          capture_output=True, text=True, timeout=seconds + cfg.timeout + 30, check=False)
    wall = time.monotonic() - t0
    m1 = machine_busy_seconds()
    s1 = process_tree_cpu_seconds(server.pid) if server.pid else None
    ru1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    line = next((ln for ln in proc.stdout.splitlines() if ln.startswith("WRKJSON ")), None)
    if proc.returncode != 0 or line is None:
        raise BenchError(f"wrk failed (status {proc.returncode}): {proc.stderr.strip() or proc.stdout.strip()}")
    d: JsonDict = json.loads(line[len("WRKJSON "):])
    secs = d["duration_us"] / 1e6
    wrk_cpu = (ru1.ru_utime - ru0.ru_utime) + (ru1.ru_stime - ru0.ru_stime)
    server_cpu = (s1 - s0) if s0 is not None and s1 is not None else None
    return RunResult(
        rps=d["requests"] / secs if secs else 0.0,
        p50_ms=d["p50_us"] / 1000.0,
        p99_ms=d["p99_us"] / 1000.0,
        p999_ms=d["p999_us"] / 1000.0,
        socket_errors=d["err_connect"] + d["err_read"] + d["err_write"] + d["err_timeout"],
        non2xx=d["err_status"],
        server_cpu_pct=100.0 * server_cpu / wall if server_cpu is not None else None,
        wrk_cpu_pct=100.0 * wrk_cpu / wall,
        other_cpu_pct=100.0 * max(0.0, (m1 - m0) - wrk_cpu - (server_cpu or 0.0)) / wall,
        raw=d,
    )


# --------------------------------------------------------------------------- orchestration


@dataclass
class Cell:
    """All runs of one server x op x connection level, and their medians."""

    server: str
    op: str
    connections: int
    runs: list[RunResult] = field(default_factory=list)

    def median(self, attr: str) -> float | None:
        """Median of a RunResult attribute over the runs (None if never measured)."""
        values = [getattr(r, attr) for r in self.runs if getattr(r, attr) is not None]
        return statistics.median(values) if values else None

    @property
    def errors(self) -> int:
        """Total socket errors and non-2xx answers over all runs."""
        return sum(r.errors for r in self.runs)


def _schedule(cfg: Config) -> list[tuple[str, int | None]]:
    """(op, run index) in execution order; run index None is the unmeasured warm-up."""
    order: list[tuple[str, int | None]] = [(op, None) for op in cfg.ops] if cfg.warmup else []
    return order + [(op, r) for r in range(cfg.runs) for op in cfg.ops]


def _fmt_run(cell: Cell, run_idx: int, runs: int, r: RunResult) -> str:
    cpu = f"{r.server_cpu_pct:4.0f}%" if r.server_cpu_pct is not None else "   -"
    return (f"  {cell.server:<6} c={cell.connections:<3} {cell.op:<16} run {run_idx + 1}/{runs}: "
            f"{r.rps:9.1f} req/s  p50 {r.p50_ms:6.2f} ms  p99 {r.p99_ms:6.2f} ms  "
            f"err={r.socket_errors} non2xx={r.non2xx}  server_cpu={cpu} wrk_cpu={r.wrk_cpu_pct:.0f}% "
            f"other_cpu={r.other_cpu_pct:.0f}%")


def measure_server(cfg: Config, server: RunningServer, workdir: Path) -> list[Cell]:
    """Create keys on ``server`` and run the whole op x connections schedule against it."""
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        ops = build_ops(kms_client(server.url, cfg), cfg)
    except (BotoCoreError, ClientError) as exc:
        raise BenchError(f"{server.name}: creating keys / reference calls with boto3 failed: {exc}") from exc
    cells: list[Cell] = []
    for conns in cfg.connections:
        by_op = {op: Cell(server.name, op, conns) for op in cfg.ops}
        for op, run_idx in _schedule(cfg):
            spec = ops[op]
            requests = sign_batch(server.url, cfg, spec)
            for req in requests[:2]:
                probe(server.url, req, spec)
            script = workdir / f"{server.name}-{op}.lua"
            script.write_text(lua_script(requests))
            if run_idx is None:
                run_wrk(cfg, server, script, conns, cfg.warmup)
                continue
            result = run_wrk(cfg, server, script, conns, cfg.duration)
            by_op[op].runs.append(result)
            print(_fmt_run(by_op[op], run_idx, cfg.runs, result), flush=True)
        cells += by_op.values()
    return cells


def _endpoint_server(cfg: Config) -> RunningServer:
    """Describe the already-running server given by ``--endpoint``."""
    assert cfg.endpoint is not None
    parsed = require_loopback(cfg.endpoint)
    return RunningServer(name=cfg.label or parsed.netloc, url=f"http://{parsed.netloc}", pid=cfg.server_pid, version="external")


def _estimate_seconds(cfg: Config, n_servers: int) -> int:
    per_level = len(cfg.ops) * (cfg.warmup + cfg.runs * cfg.duration)
    return n_servers * len(cfg.connections) * per_level


# --------------------------------------------------------------------------- reporting


def _fmt_opt(value: float | None, fmt: str, width: int) -> str:
    return format(value, fmt).rjust(width) if value is not None else "-".rjust(width)


def print_table(cells: list[Cell]) -> None:
    """Medians per server x op x connections, one row each."""
    print()
    print(f"{'server':<8} {'conns':>5} {'op':<16} {'req/s':>9} {'(min-max)':>15} {'p50 ms':>7} "
          f"{'p99 ms':>7} {'errors':>6} {'srv CPU':>7} {'wrk CPU':>7} {'other':>6}")
    for c in cells:
        rps = [r.rps for r in c.runs]
        span = f"({min(rps):.0f}-{max(rps):.0f})"
        print(f"{c.server:<8} {c.connections:>5} {c.op:<16} {c.median('rps') or 0:9.1f} {span:>15} "
              f"{c.median('p50_ms') or 0:7.2f} {c.median('p99_ms') or 0:7.2f} {c.errors:>6} "
              f"{_fmt_opt(c.median('server_cpu_pct'), '.0f', 6)}% {_fmt_opt(c.median('wrk_cpu_pct'), '.0f', 6)}% "
              f"{_fmt_opt(c.median('other_cpu_pct'), '.0f', 5)}%")


def contention_warning(cells: list[Cell], threshold_pct: float = 25.0) -> str | None:
    """A warning when other processes were busy during the runs (shared or noisy machine)."""
    worst = max((c.median("other_cpu_pct") or 0.0 for c in cells), default=0.0)
    if worst < threshold_pct:
        return None
    return (f"# warning: processes other than the server and wrk used up to {worst:.0f}% CPU (median per cell); "
            "numbers may be low or noisy, re-run on a quiet machine")


def summary_line(server: str, cells: list[Cell], cfg: Config) -> str:
    """One grep-able line with every median of one server."""
    parts = []
    for c in (c for c in cells if c.server == server):
        err = f",ERR={c.errors}" if c.errors else ""
        parts.append(f"{c.op}@c{c.connections}={c.median('rps') or 0:.0f}/s"
                     f"(p50={c.median('p50_ms') or 0:.2f}ms,p99={c.median('p99_ms') or 0:.2f}ms{err})")
    head = f"SUMMARY {server} d={cfg.duration}s x{cfg.runs} medians:"
    return " ".join([head, *parts])


def target_line(cells: list[Cell]) -> str | None:
    """Verdict on the project target (Trent Encrypt at c=32), when it was measured."""
    cell = next((c for c in cells if c.server == "trent" and c.op == "Encrypt" and c.connections == 32), None)
    if cell is None or not cell.runs:
        return None
    rps, p99 = cell.median("rps") or 0.0, cell.median("p99_ms") or 0.0
    met = rps >= TARGET_RPS and p99 <= TARGET_P99_MS and cell.errors == 0
    return (f"TARGET trent Encrypt c=32 >= {TARGET_RPS:.0f} req/s, p99 <= {TARGET_P99_MS:.0f} ms: "
            f"{'MET' if met else 'NOT MET'} ({rps:.0f} req/s, p99 {p99:.2f} ms)")


def _tool_versions(cfg: Config) -> JsonDict:
    try:
        out = subprocess.run([cfg.wrk, "--version"], capture_output=True, text=True, timeout=10, check=False)
        wrk_version = (out.stdout or out.stderr).splitlines()[0].strip()
    except (OSError, subprocess.TimeoutExpired, IndexError):
        wrk_version = "unknown"
    return {"python": platform.python_version(), "wrk": wrk_version, "cpus": os.cpu_count(),
            "kernel": platform.release()}


def write_json(path: str, cfg: Config, servers: list[RunningServer], cells: list[Cell]) -> None:
    """Write config, environment and every run (no credentials) to ``path``."""
    settings = {k: v for k, v in asdict(cfg).items() if k not in ("access_key", "secret_key")}
    doc = {
        "date": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "config": settings,
        "environment": _tool_versions(cfg),
        "servers": [{"name": s.name, "version": s.version} for s in servers],
        "results": [
            {"server": c.server, "op": c.op, "connections": c.connections, "errors": c.errors,
             "rps_median": c.median("rps"), "p50_ms_median": c.median("p50_ms"),
             "p99_ms_median": c.median("p99_ms"), "server_cpu_pct_median": c.median("server_cpu_pct"),
             "runs": [asdict(r) for r in c.runs]}
            for c in cells
        ],
    }
    Path(path).write_text(json.dumps(doc, indent=1) + "\n")


# --------------------------------------------------------------------------- main


def _check_tools(cfg: Config) -> None:
    if not shutil.which(cfg.wrk):
        raise BenchError(f"{cfg.wrk!r} not found (Debian: apt-get install wrk)")
    if (cfg.wrk_cpus or (cfg.server_cpus and cfg.endpoint is None)) and not shutil.which("taskset"):
        raise BenchError("taskset not found (Debian: util-linux); use --server-cpus '' --wrk-cpus '' to skip pinning")


def _raise_on_sigterm(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt


def run(cfg: Config) -> int:
    """Measure every selected server in turn; return the process exit status."""
    _check_tools(cfg)
    n_servers = 1 if cfg.endpoint else len(cfg.servers)
    print(f"# ops={','.join(cfg.ops)} connections={','.join(map(str, cfg.connections))} "
          f"duration={cfg.duration}s runs={cfg.runs} warmup={cfg.warmup}s threads={cfg.threads} "
          f"distinct_signatures={cfg.distinct_signatures} wrk_cpus={cfg.wrk_cpus or 'unpinned'} "
          f"(~{_estimate_seconds(cfg, n_servers)}s of load)", flush=True)
    workdir = Path(tempfile.mkdtemp(prefix="trent-bench-"))
    cells: list[Cell] = []
    servers: list[RunningServer] = []
    ok = False
    try:
        if cfg.endpoint:
            servers.append(_endpoint_server(cfg))
            cells += measure_server(cfg, servers[-1], workdir)
        else:
            for name in cfg.servers:
                with started_server(name, cfg, workdir) as server:
                    servers.append(server)
                    cells += measure_server(cfg, server, workdir)
        ok = True
    finally:
        if ok and not cfg.keep_logs:
            shutil.rmtree(workdir, ignore_errors=True)
        else:
            print(f"# server logs and scripts kept in {workdir}", file=sys.stderr)
    print_table(cells)
    warning = contention_warning(cells)
    if warning:
        print(warning)
    print()
    for server in servers:
        print(summary_line(server.name, cells, cfg))
    verdict = target_line(cells)
    if verdict:
        print(verdict)
    if cfg.json_path:
        write_json(cfg.json_path, cfg, servers, cells)
    failed = [f"{c.server}/{c.op}@c{c.connections}" for c in cells if c.errors]
    if failed:
        print(f"ERRORS in: {', '.join(failed)}", file=sys.stderr)
    return 1 if failed else 0


def main(argv: list[str] | None = None) -> int:
    """Entry point: parse arguments, run, map failures to exit statuses."""
    cfg = parse_args(argv)
    signal.signal(signal.SIGTERM, _raise_on_sigterm)
    try:
        return run(cfg)
    except BenchError as exc:
        print(f"bench/load.py: error: {exc}", file=sys.stderr)
        return 2
    except subprocess.TimeoutExpired as exc:
        print(f"bench/load.py: error: timed out: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("bench/load.py: interrupted; servers stopped", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
