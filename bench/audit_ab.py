#!/usr/bin/env python3
"""The audit trail's cost on the hot path (issue 16): this build against a base build.

For each backend (SQLite in the data dir; PostgreSQL, a throwaway cluster from
tests/postgres.py) and each build — ``base`` (a git revision, default the merge-base with
main, i.e. the JSON-lines audit sink) and ``new`` (this worktree: the transactional,
chained trail) — a ``trent serve --dev`` is started pinned to CPU 0 and measured with
``bench/load.py --endpoint`` (wrk replaying SigV4-signed requests from the last CPU).
Builds alternate (base, new, base, new, ...) so drift hits both; the table shows the
medians over every run of a build, with the machine's load average, because this host
is shared and noisy.

    bench/audit_ab.py --ops Encrypt,CreateKey --backends sqlite,postgres --rounds 2 --runs 3 --duration 5

The base build runs from an exported copy of its sources (``git archive``) with this
virtualenv's interpreter and ``PYTHONPATH`` pointing at it.
"""

from __future__ import annotations

import argparse
import json
import os
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
sys.path.insert(0, str(REPO))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def export(rev: str, into: Path) -> Path:
    into.mkdir(parents=True, exist_ok=True)
    archive = subprocess.run(["git", "-C", str(REPO), "archive", rev], check=True, capture_output=True).stdout
    subprocess.run(["tar", "-x", "-C", str(into)], input=archive, check=True)
    return into / "src"


def start(build_src: Path | None, data_dir: Path, database_url: str | None) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    env = dict(os.environ)
    if build_src is not None:
        env["PYTHONPATH"] = str(build_src)
    cmd = ["taskset", "-c", "0", sys.executable, "-m", "trent.cli.main", "serve", "--dev", "--host", "127.0.0.1",
           "--port", str(port), "--data-dir", str(data_dir)]
    if database_url:
        cmd += ["--database-url", database_url]
    log = open(data_dir.parent / f"server-{port}.log", "wb")  # noqa: SIM115
    proc = subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    for _ in range(300):
        try:
            with urllib.request.urlopen(url + "/_trent/health", timeout=1):
                return proc, url
        except OSError:
            if proc.poll() is not None:
                raise RuntimeError(f"server exited; see {log.name}") from None
            time.sleep(0.1)
    raise RuntimeError("server did not start")


def stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(5)


def measure(url: str, pid: int, ops: str, conns: str, runs: int, duration: int, out: Path) -> list[dict]:
    subprocess.run(
        [sys.executable, str(REPO / "bench" / "load.py"), "--endpoint", url, "--server-pid", str(pid), "--ops", ops,
         "--connections", conns, "--runs", str(runs), "--duration", str(duration), "--warmup", "2",
         "--json", str(out)],
        check=False, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=3600,
    )
    if not out.exists():
        raise RuntimeError(f"load.py wrote no results ({url})")
    flat = []
    for cell in json.loads(out.read_text())["results"]:
        for run in cell["runs"]:
            flat.append({"op": cell["op"], "connections": cell["connections"], "rps": run["rps"],
                         "p99_ms": run["p99_ms"], "server_cpu_pct": run["server_cpu_pct"] or 0.0,
                         "errors": run["socket_errors"] + run["non2xx"]})
    return flat


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--base-rev", default=None, help="git revision of the base build (default: merge-base with main)")
    ap.add_argument("--ops", default="Encrypt,CreateKey")
    ap.add_argument("--connections", default="32")
    ap.add_argument("--backends", default="sqlite,postgres")
    ap.add_argument("--rounds", type=int, default=2, help="base/new alternations per backend")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--duration", type=int, default=5)
    ap.add_argument("--json", dest="json_path", default=None)
    args = ap.parse_args()
    base_rev = args.base_rev or subprocess.run(
        ["git", "-C", str(REPO), "merge-base", "HEAD", "main"], check=True, capture_output=True, text=True
    ).stdout.strip()
    results: dict[str, list[dict]] = {}
    pg = None
    with tempfile.TemporaryDirectory(prefix="trent-audit-ab-") as tmp:
        base_src = export(base_rev, Path(tmp) / "base")
        try:
            for backend in args.backends.split(","):
                if backend == "postgres" and pg is None:
                    from tests.postgres import ThrowawayPostgres

                    pg = ThrowawayPostgres()
                    pg.start()
                for round_ in range(args.rounds):
                    for build, src in (("base", base_src), ("new", None)):
                        data = Path(tmp) / f"{backend}-{build}-{round_}" / "data"
                        data.parent.mkdir(parents=True)
                        url = pg.create_database(f"ab_{build}_{round_}") if backend == "postgres" and pg else None
                        proc, endpoint = start(src, data, url)
                        try:
                            runs = measure(endpoint, proc.pid, args.ops, args.connections, args.runs, args.duration,
                                           data.parent / "runs.json")
                        finally:
                            stop(proc)
                        load = os.getloadavg()[0]
                        for run in runs:
                            run["load1"] = load
                        results.setdefault(f"{backend}/{build}", []).extend(runs)
                        print(f"{backend:8} {build:4} round {round_}: " + ", ".join(
                            f"{r['op']}@c{r['connections']}={r['rps']:.0f}/s (srv {r.get('server_cpu_pct', 0):.0f}%)"
                            for r in runs), f"load {load:.2f}", flush=True)
        finally:
            if pg is not None:
                pg.stop()
    print("\nmedians (req/s; server CPU %; req/s per server core-second):")
    for key, runs in sorted(results.items()):
        by_op: dict[tuple[str, int], list[dict]] = {}
        for r in runs:
            by_op.setdefault((r["op"], r["connections"]), []).append(r)
        for (op, conns), rs in sorted(by_op.items()):
            rps = statistics.median(r["rps"] for r in rs)
            cpu = statistics.median(r.get("server_cpu_pct", 0.0) for r in rs)
            per_core = statistics.median(r["rps"] / max(r.get("server_cpu_pct", 100.0), 1.0) * 100 for r in rs)
            loads = [r["load1"] for r in rs]
            print(f"  {key:16} {op:10} c={conns:<3} {rps:9.0f}  cpu {cpu:4.0f}%  per-core {per_core:9.0f}  "
                  f"(n={len(rs)}, load {min(loads):.1f}-{max(loads):.1f})")
    if args.json_path:
        Path(args.json_path).write_text(json.dumps({"base_rev": base_rev, "results": results}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
