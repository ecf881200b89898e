#!/usr/bin/env python3
"""KMS calls pipelined on ONE connection, in process: what the per-connection order
(``server/pipeline_order.py``) costs a client that pipelines.

A ``trent serve --dev`` runtime (as ``bench/encrypt_cpu.py`` builds it) is fed ``--requests``
signed Encrypts on one in-memory connection, ``--per-read`` of them per ``data_received``
(what one socket read would hold), all before any answer. Every KMS call is a POST, an
unsafe method (RFC 9112 §9.3.2): each now starts only after the one before it has been
answered, so the calls of one connection no longer share a loop tick (nor its group commit).
Reported per run: wall milliseconds for all of them and CPU microseconds per call.

    PYTHONPATH=$PWD/src .venv/bin/python bench/pipelined_kms.py --requests 1000 --runs 4
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import uvloop

sys.path.insert(0, str(Path(__file__).resolve().parent))
from encrypt_cpu import body_of, call_once, signed  # noqa: E402 - a sibling script, not a package


class Client(asyncio.Transport):
    """Counts whole responses; every one must be a 200."""

    def __init__(self, expected: int, done: asyncio.Future[None]) -> None:
        super().__init__()
        self.buffer = b""
        self.answered = 0
        self.failed: list[bytes] = []
        self.expected = expected
        self.done = done

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return ("127.0.0.1", 40000) if name == "peername" else default

    def write(self, data: Any) -> None:
        self.buffer += bytes(data)
        while (head_end := self.buffer.find(b"\r\n\r\n")) >= 0:
            head = self.buffer[:head_end]
            length = int(head.lower().split(b"content-length: ", 1)[1].split(b"\r\n", 1)[0])
            end = head_end + 4 + length
            if len(self.buffer) < end:
                return
            if not head.startswith(b"HTTP/1.1 200 "):
                self.failed.append(head[:100])
            self.buffer = self.buffer[end:]
            self.answered += 1
            if self.answered == self.expected and not self.done.done():
                self.done.set_result(None)

    def is_closing(self) -> bool:
        return False

    def close(self) -> None:
        pass

    def pause_reading(self) -> None:
        pass

    def resume_reading(self) -> None:
        pass


async def run(args: argparse.Namespace) -> int:
    from trent.bootstrap import build
    from trent.cli.main import _settings, build_parser

    with tempfile.TemporaryDirectory(prefix="trent-pipelined-") as tmp:
        settings = _settings(build_parser().parse_args(
            ["serve", "--dev", "--data-dir", str(Path(tmp) / "data")])).validate()
        runtime = build(settings)
        await runtime.start()
        http = runtime.http
        try:
            key_id = body_of(await call_once(http, signed("CreateKey", {})))["KeyMetadata"]["KeyId"]
            request = signed("Encrypt", {"KeyId": key_id, "Plaintext": base64.b64encode(b"x" * 1024).decode()})
            for i in range(args.runs):
                done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
                client = Client(args.requests, done)
                protocol = http.protocol_factory()
                protocol.connection_made(client)
                cpu0, wall0 = time.process_time(), time.perf_counter()
                for sent in range(0, args.requests, args.per_read):
                    protocol.data_received(request * min(args.per_read, args.requests - sent))
                await asyncio.wait_for(done, 300)
                cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
                protocol.connection_lost(None)
                if client.failed:
                    raise SystemExit(f"{len(client.failed)} failed calls, first: {client.failed[0]!r}")
                print(f"run {i + 1}: {args.requests} pipelined Encrypts: {wall * 1e3:7.1f} ms wall, "
                      f"{cpu / args.requests * 1e6:6.1f} µs CPU/call", flush=True)
        finally:
            await http.drain(10)
            await runtime.stop()
    return 0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--requests", type=int, default=1000)
    ap.add_argument("--per-read", type=int, default=50)
    ap.add_argument("--runs", type=int, default=4)
    return uvloop.run(run(ap.parse_args()))


if __name__ == "__main__":
    raise SystemExit(main())
