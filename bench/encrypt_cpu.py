#!/usr/bin/env python3
"""CPU per KMS call on the built-in HTTP server, in process (issue 16 performance).

``bench/load.py`` measures throughput over real sockets; on this shared 2-core machine
that figure moves with the other helpers' load. This measures what the code costs: a
``trent serve --dev`` runtime (``bootstrap.build``, the same as the CLI builds) serves
SigV4-signed requests fed straight into its HTTP protocol objects (``http11``) through
in-memory transports — parsing, SigV4, validation, authorization, crypto, the audit
event, the group commit into the chained trail (SQLite in a temporary data dir, or
``--database-url``), response encoding. ``--connections`` clients each keep one request
in flight (a closed loop, like wrk's connections). Reported: CPU microseconds per call
of this process (every thread: the writer thread, the WAL checkpointer, ...) and the
calls per CPU second, medians of ``--runs``, and each thread's share (clock ticks, so
a rough split).

    PYTHONPATH=$PWD/src .venv/bin/python bench/encrypt_cpu.py --requests 20000 --runs 5

Each reply is checked (HTTP 200, and the first one's ciphertext decrypts back through
the same server), and the trail must hold one event per call at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import os
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import uvloop

REGION = "us-east-1"


def signed(op: str, body: dict[str, Any]) -> bytes:
    """One complete HTTP/1.1 request, signed with botocore's SigV4 (the dev credentials)."""
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    from trent.config import DEV_ACCESS_KEY_ID, DEV_SECRET_ACCESS_KEY

    data = json.dumps(body, separators=(",", ":")).encode()
    headers = {"Host": "127.0.0.1:8080", "Content-Type": "application/x-amz-json-1.1",
               "X-Amz-Target": f"TrentService.{op}", "User-Agent": "trent-bench/encrypt_cpu"}
    req = AWSRequest(method="POST", url="http://127.0.0.1:8080/", data=data, headers=headers)
    SigV4Auth(Credentials(DEV_ACCESS_KEY_ID, DEV_SECRET_ACCESS_KEY), "kms", REGION).add_auth(req)
    lines = [f"{k}: {v}" for k, v in req.headers.items()] + [f"Content-Length: {len(data)}"]
    return ("POST / HTTP/1.1\r\n" + "\r\n".join(lines) + "\r\n\r\n").encode() + data


class Client(asyncio.Transport):
    """An in-memory connection: what the server writes is parsed for whole responses;
    each complete response sends the next request (closed loop)."""

    def __init__(self, bench: Bench) -> None:
        super().__init__()
        self.bench = bench
        self.buffer = b""
        self.protocol: Any = None

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return ("127.0.0.1", 40000) if name == "peername" else default

    def write(self, data: bytes | bytearray | memoryview) -> None:
        self.buffer += bytes(data)
        while True:
            head_end = self.buffer.find(b"\r\n\r\n")
            if head_end < 0:
                return
            head = self.buffer[:head_end]
            length = int(head.lower().split(b"content-length: ", 1)[1].split(b"\r\n", 1)[0])
            end = head_end + 4 + length
            if len(self.buffer) < end:
                return
            response, self.buffer = self.buffer[:end], self.buffer[end:]
            self.bench.answered(self, response)

    def is_closing(self) -> bool:
        return False

    def close(self) -> None:
        self.bench.failures.append("server closed a connection")

    def send(self, request: bytes) -> None:
        self.protocol.data_received(request)


class Bench:
    def __init__(self, request: bytes, total: int) -> None:
        self.request = request
        self.total = total
        self.sent = 0
        self.done = 0
        self.failures: list[str] = []
        self.first: bytes | None = None
        self.finished: asyncio.Future[None] | None = None

    def answered(self, client: Client, response: bytes) -> None:
        self.done += 1
        if not response.startswith(b"HTTP/1.1 200 "):
            self.failures.append(response[:200].decode("latin-1"))
        if self.first is None:
            self.first = response
        if self.sent < self.total:
            self.sent += 1
            asyncio.get_running_loop().call_soon(client.send, self.request)
        elif self.done >= self.total and self.finished is not None and not self.finished.done():
            self.finished.set_result(None)


async def call_once(http: Any, request: bytes) -> bytes:
    """One request on its own connection; its whole response."""
    bench = Bench(request, 1)
    bench.finished = asyncio.get_running_loop().create_future()
    client = Client(bench)
    client.protocol = http.protocol_factory()
    client.protocol.connection_made(client)
    bench.sent = 1
    client.send(request)
    await asyncio.wait_for(bench.finished, 30)
    if bench.failures or bench.first is None:
        raise SystemExit(f"setup call failed: {bench.failures}")
    return bench.first


def body_of(response: bytes) -> dict[str, Any]:
    return json.loads(response.split(b"\r\n\r\n", 1)[1])


async def run(args: argparse.Namespace) -> int:
    from trent.bootstrap import build
    from trent.cli.main import _settings, build_parser

    with tempfile.TemporaryDirectory(prefix="trent-encrypt-cpu-") as tmp:
        argv = ["serve", "--dev", "--data-dir", str(Path(tmp) / "data")]
        if args.database_url:
            argv += ["--database-url", args.database_url]
        settings = _settings(build_parser().parse_args(argv)).validate()
        runtime = build(settings)
        await runtime.start()
        http = runtime.http
        try:
            key = body_of(await call_once(http, signed("CreateKey", {"Description": "bench/encrypt_cpu.py"})))
            key_id = key["KeyMetadata"]["KeyId"]
            plaintext = os.urandom(args.plaintext_bytes)
            request = signed(args.op, {"KeyId": key_id, "Plaintext": base64.b64encode(plaintext).decode()}
                             if args.op == "Encrypt" else {"KeyId": key_id, "KeySpec": "AES_256"})
            blob = body_of(await call_once(http, request))["CiphertextBlob"]
            back = body_of(await call_once(http, signed("Decrypt", {"CiphertextBlob": blob, "KeyId": key_id})))
            if args.op == "Encrypt" and base64.b64decode(back["Plaintext"]) != plaintext:
                raise SystemExit("the ciphertext does not decrypt back")
            results = []
            for i in range(args.warmup + args.runs):
                results.append(await measure(http, request, args.requests, args.connections))
                label = "warm-up" if i < args.warmup else f"run {i - args.warmup + 1}"
                us, rps_cpu, wall = results[-1]
                print(f"{label:8} {args.requests} calls: {us:6.1f} µs CPU/call  {rps_cpu:8.0f} calls/CPU-s  "
                      f"({args.requests / wall:7.0f}/s wall, load {os.getloadavg()[0]:.2f})", flush=True)
            measured = results[args.warmup:]
            print(f"MEDIAN {args.op} c={args.connections} {'postgres' if args.database_url else 'sqlite'}: "
                  f"{statistics.median(r[0] for r in measured):.1f} µs CPU/call, "
                  f"{statistics.median(r[1] for r in measured):.0f} calls/CPU-s (n={len(measured)})")
        finally:
            await http.drain(10)
            await runtime.stop()
    return 0


def thread_cpu() -> dict[str, float]:
    """CPU seconds of each live thread of this process, by thread name (Linux /proc)."""
    tick = os.sysconf("SC_CLK_TCK")
    out: dict[str, float] = {}
    for thread in threading.enumerate():
        try:
            with open(f"/proc/self/task/{thread.native_id}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        name = "event loop" if thread is threading.main_thread() else thread.name.rsplit("_", 1)[0]
        out[name] = out.get(name, 0.0) + (int(fields[11]) + int(fields[12])) / tick
    return out


async def measure(http: Any, request: bytes, total: int, connections: int) -> tuple[float, float, float]:
    bench = Bench(request, total)
    bench.finished = asyncio.get_running_loop().create_future()
    clients = []
    for _ in range(connections):
        client = Client(bench)
        client.protocol = http.protocol_factory()
        client.protocol.connection_made(client)
        clients.append(client)
    threads0 = thread_cpu()
    cpu0, wall0 = time.process_time(), time.perf_counter()
    for client in clients[:total]:
        bench.sent += 1
        client.send(request)
    await asyncio.wait_for(bench.finished, 600)
    cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
    threads = thread_cpu()
    print("  µs CPU/call by thread: " + ", ".join(
        f"{name} {(threads[name] - threads0.get(name, 0.0)) / total * 1e6:.1f}" for name in sorted(threads)
        if threads[name] - threads0.get(name, 0.0) > 0), flush=True)
    for client in clients:
        client.protocol.connection_lost(None)
    if bench.failures:
        raise SystemExit(f"{len(bench.failures)} failed calls, first: {bench.failures[0]!r}")
    return cpu / total * 1e6, total / cpu, wall


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--op", choices=("Encrypt", "GenerateDataKey"), default="Encrypt")
    ap.add_argument("--requests", type=int, default=20000, help="calls per run")
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--warmup", type=int, default=1)
    ap.add_argument("--connections", type=int, default=32)
    ap.add_argument("--plaintext-bytes", type=int, default=1024)
    ap.add_argument("--database-url", default=None, help="PostgreSQL URL (default: SQLite in a temporary data dir)")
    args = ap.parse_args()
    return uvloop.run(run(args))


if __name__ == "__main__":
    sys.exit(main())
