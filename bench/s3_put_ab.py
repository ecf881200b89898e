#!/usr/bin/env python3
"""Small PUT A/B between source trees (issue 17, PutObject's group commit).

For each tree in turn (``--trees A,B``, alternated ``--rounds`` times in the same minutes):
one ``trent serve --dev`` from that tree's ``src`` (fresh data dir) pinned to CPU 0, wrk
with 32 connections (``--connections``) on CPU 1 replaying one SigV4-signed 1 KiB PutObject per mode
(bench/s3_sse_http.py's modes and requests) for ``--duration`` s after ``--warmup`` s.
Per cell: req/s, and the server's CPU per PUT (user + sys µs, from /proc/<pid>/stat over
the measured run divided by wrk's request count) and voluntary context switches per PUT,
which the machine's other load changes much less than req/s.

    .venv/bin/python bench/s3_put_ab.py --trees /tmp/main-export,. --rounds 2
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))

import load  # noqa: E402
import s3_sse_http as http_bench  # noqa: E402


def proc_cpu(pid: int) -> tuple[float, float]:
    """(user, sys) CPU seconds of ``pid`` itself (its threads), from /proc/<pid>/stat."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    tick = os.sysconf("SC_CLK_TCK")
    return int(fields[11]) / tick, int(fields[12]) / tick


def voluntary_switches(pid: int) -> int:
    total = 0
    for task in Path(f"/proc/{pid}/task").iterdir():
        for line in (task / "status").read_text().splitlines():
            if line.startswith("voluntary_ctxt_switches:"):
                total += int(line.split()[1])
    return total


def wrk(cfg: http_bench.Config, url: str, script: Path, seconds: int, conns: int) -> dict[str, float]:
    cmd = ["taskset", "-c", str(cfg.client_cpu), cfg.wrk, "-t1", f"-c{conns}", f"-d{seconds}s", "--timeout", "5s",
           "-s", str(script), url.rstrip("/") + "/"]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True, timeout=seconds + 60).stdout
    line = next(ln for ln in out.splitlines() if ln.startswith("WRKJSON "))
    return json.loads(line[len("WRKJSON "):])


Row = tuple[str, int, float, float, float, float, float, int]


def measure(tree: Path, cfg: http_bench.Config, workdir: Path, levels: list[int]) -> list[Row]:
    http_bench.ROOT = tree  # the server runs this tree's sources
    rows = []
    with http_bench.started("trent", cfg, workdir) as server:
        modes = http_bench.setup_modes(server)
        body = http_bench.small_body()
        for mode, conns in [(m, c) for c in levels for m in modes]:
            req = http_bench.small_requests(server, mode, body)["PUT"]
            http_bench.probe_small(server, mode, "PUT", req, body)
            script = workdir / f"{mode.bucket}.lua"
            script.write_text(http_bench.lua_request(*req))
            wrk(cfg, server.url, script, cfg.warmup, conns)
            time.sleep(0.5)
            u0, s0 = proc_cpu(server.pid)
            v0 = voluntary_switches(server.pid)
            d = wrk(cfg, server.url, script, cfg.duration, conns)
            u1, s1 = proc_cpu(server.pid)
            v1 = voluntary_switches(server.pid)
            n = d["requests"]
            errors = d["err_status"] + d["err_connect"] + d["err_read"] + d["err_write"] + d["err_timeout"]
            rows.append((mode.label, conns, n / (d["duration_us"] / 1e6), d["p50_us"] / 1000, (u1 - u0) * 1e6 / n,
                         (s1 - s0) * 1e6 / n, (v1 - v0) / n, errors))
            time.sleep(1.0)
            http_bench.probe_small(server, mode, "GET", http_bench.small_requests(server, mode, body)["GET"], body)
    return rows


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--trees", required=True, help="comma-separated source trees (each with src/trent)")
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--duration", type=int, default=6)
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--connections", default="32", help="wrk connection levels (default: %(default)s)")
    ns = ap.parse_args()
    cfg = http_bench.parse_args(["--servers", "trent", "--quick", "--duration", str(ns.duration),
                                 "--warmup", str(ns.warmup)])
    trees = [Path(t).resolve() for t in ns.trees.split(",")]
    with tempfile.TemporaryDirectory(prefix="s3-put-ab-") as tmp:
        for round_ in range(ns.rounds):
            for tree in trees:
                load_before = os.getloadavg()[0]
                started = time.strftime("%H:%M:%S", time.gmtime())
                rows = measure(tree, cfg, Path(tmp), [int(c) for c in ns.connections.split(",")])
                print(f"# round {round_ + 1} {tree} {started} UTC, load {load_before:.1f} -> {os.getloadavg()[0]:.1f}")
                for label, conns, rps, p50, user, sys_, vcs, errors in rows:
                    print(f"  {label:<20} PUT c={conns:<3} {rps:8.1f} req/s  p50 {p50:6.2f} ms  "
                          f"CPU {user:5.0f} + {sys_:4.0f} µs/PUT  "
                          f"vcs {vcs:4.1f}/PUT  errors {errors}", flush=True)
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except load.BenchError as exc:
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(1)
