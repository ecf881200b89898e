"""How long the web console's pages take (issue 21), with N keys in the account.

Starts its own ``trent serve --dev`` (SQLite, a temp data dir), creates N symmetric keys
with an alias each (boto3), signs in as the dev user the way a browser does (the sign-in
form's token, the dev button), then times GETs of each page over HTTP/1.1 keep-alive:
the keys list (ListAliases, ListKeys, DescribeKey per key on the page), a key's page,
its policy, its grants and the first wizard step. Before timing, each page is checked
(200, shows what it must), and the audit log tells how many API calls one view makes.

    .venv/bin/python bench/console_pages.py --keys 200 --runs 30
    .venv/bin/python bench/console_pages.py --json bench/results/console-$(date +%F).json

Reports the median and 90th percentile per page. Not a test: numbers, not verdicts.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
from pathlib import Path

import boto3
from botocore.config import Config


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _start(data_dir: Path) -> tuple[subprocess.Popen, int]:
    port = _free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "trent.cli.main", "serve", "--dev", "--host", "127.0.0.1", "--port", str(port),
         "--data-dir", str(data_dir)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
            conn.request("GET", "/_trent/health")
            if conn.getresponse().status == 200:
                return process, port
        except OSError:
            time.sleep(0.05)
    process.kill()
    raise SystemExit("trent did not start")


class Browser:
    """One keep-alive connection with a cookie jar, as a browser tab has."""

    def __init__(self, port: int) -> None:
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        self.cookies: dict[str, str] = {}
        self.host = f"127.0.0.1:{port}"

    def request(self, method: str, path: str, form: dict[str, str] | None = None) -> tuple[int, str]:
        headers = {"Host": self.host}
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        body = None
        if form is not None:
            body = urllib.parse.urlencode(form)
            headers.update({"Content-Type": "application/x-www-form-urlencoded", "Origin": f"http://{self.host}"})
        self.conn.request(method, path, body, headers)
        response = self.conn.getresponse()
        text = response.read().decode()
        for value in response.headers.get_all("set-cookie") or ():
            name, _, rest = value.partition("=")
            self.cookies[name] = rest.split(";", 1)[0]
        return response.status, text


def _time(browser: Browser, path: str, runs: int) -> list[float]:
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        status, _ = browser.request("GET", path)
        samples.append((time.perf_counter() - started) * 1000)
        assert status == 200, (path, status)
    return samples


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--keys", type=int, default=200)
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="trent-console-bench-") as tmp:
        process, port = _start(Path(tmp) / "data")
        try:
            kms = boto3.client("kms", endpoint_url=f"http://127.0.0.1:{port}", region_name="us-east-1",
                               aws_access_key_id="test", aws_secret_access_key="test",
                               config=Config(retries={"max_attempts": 1}))
            key_ids = []
            for i in range(args.keys):
                key_id = kms.create_key(Description=f"bench {i}")["KeyMetadata"]["KeyId"]
                kms.create_alias(AliasName=f"alias/bench-{i:05d}", TargetKeyId=key_id)
                key_ids.append(key_id)
            browser = Browser(port)
            _, page = browser.request("GET", "/console/signin")
            token = re.search(r'name="signin_token" value="([^"]+)"', page).group(1)  # type: ignore[union-attr]
            status, _ = browser.request("POST", "/console/signin/dev", {"signin_token": token})
            assert status == 303, status
            key = key_ids[-1]
            pages = {
                "keys list": ("/console/keys", key_ids[0]),
                "key page": (f"/console/keys/{key}", f"alias/bench-{args.keys - 1:05d}"),
                "key policy": (f"/console/keys/{key}/policy", "Enable IAM User Permissions"),
                "grants": (f"/console/keys/{key}/grants", "No grants."),
                "wizard (first step)": ("/console/keys/new", "Key type"),
            }
            audit = Path(tmp) / "data" / "audit.jsonl"
            rows = []
            for name, (path, expect) in pages.items():
                before = len(audit.read_text().splitlines())
                status, text = browser.request("GET", path)
                assert status == 200 and expect in text, (name, status)
                calls = len(audit.read_text().splitlines()) - before
                samples = _time(browser, path, args.runs)
                rows.append({"page": name, "api_calls": calls, "median_ms": round(statistics.median(samples), 2),
                             "p90_ms": round(statistics.quantiles(samples, n=10)[-1], 2)})
        finally:
            process.terminate()
            process.wait(timeout=10)
    load = os.getloadavg()
    print(f"{args.keys} keys, {args.runs} runs per page, load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
    print(f"{'page':<22} {'API calls':>9} {'median ms':>10} {'p90 ms':>8}")
    for row in rows:
        print(f"{row['page']:<22} {row['api_calls']:>9} {row['median_ms']:>10} {row['p90_ms']:>8}")
    if args.json:
        args.json.write_text(json.dumps({"keys": args.keys, "runs": args.runs, "load": load, "pages": rows}, indent=2))


if __name__ == "__main__":
    main()
