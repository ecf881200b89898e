"""The console in a real browser (issue 21): Debian's chromium, headless, driven by
Playwright for Python against a real ``trent serve --dev`` subprocess (the built-in
HTTP/1.1 front door), with a seed of two more users and a SoftHSM2 token for custom key
stores. No browser is downloaded: Playwright launches /usr/bin/chromium
(scripts/ensure-system-packages.sh installs it).

Every page a test opens is watched: a JavaScript error or a Content-Security-Policy
violation fails the test.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.fixtures.trent_server import TrentServer, start_trent, stop_trent

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
ACCOUNT = "123456789012"
CLUSTER = "cluster-trentconsole"
ALICE = {"name": "alice", "key": "AKIACONSOLEALICE0001", "secret": "alice-secret-for-tests-only"}
BOB = {"name": "bob", "key": "AKIACONSOLEBOB000001", "secret": "bob-secret-for-tests-only"}
NOBODY = {"name": "nobody", "key": "AKIACONSOLENOBODY001", "secret": "nobody-secret-for-tests-only"}
# alice may look but not touch; bob and nobody have no identity policy at all.
READ_ONLY = {"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Action": ["kms:ListKeys", "kms:ListAliases", "kms:DescribeKey"], "Resource": "*"}]}


def arn(user: dict[str, str]) -> str:
    return f"arn:aws:iam::{ACCOUNT}:user/{user['name']}"


def _seed() -> dict:
    users = []
    for user, policies in ((ALICE, {"ReadOnly": READ_ONLY}), (BOB, {}), (NOBODY, {})):
        entry = {"name": user["name"], "access_keys": [{"id": user["key"], "secret": user["secret"]}]}
        if policies:
            entry["policies"] = policies
        users.append(entry)
    return {"accounts": [{"id": ACCOUNT, "users": users}]}


@pytest.fixture(scope="module")
def console_server(softhsm) -> Iterator[TrentServer]:
    with tempfile.TemporaryDirectory(prefix="trent-console-") as tmp:
        seed = Path(tmp) / "seed.json"
        seed.write_text(json.dumps(_seed()))
        server = start_trent(Path(tmp) / "data", "--seed", str(seed),
                             "--hsm-cluster", f"{CLUSTER}={softhsm.module}:token=console", env=softhsm.env)
        try:
            yield server
        finally:
            stop_trent(server)


@pytest.fixture(scope="module")
def chromium():
    # Module scope: Playwright's sync API keeps an event loop running in this thread while
    # it is open, which would stop later tests from using asyncio.run.
    if not Path(CHROMIUM).exists() or shutil.which("chromium") is None:
        pytest.fail("Debian's chromium is not installed (scripts/ensure-system-packages.sh installs it)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        # Playwright gives every launch a fresh temporary profile (--user-data-dir) and
        # adds --headless itself.
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture()
def context(chromium):
    ctx = chromium.new_context()  # its own cookie jar: one signed-in person per context
    ctx.set_default_timeout(15_000)
    yield ctx
    ctx.close()


class Watched:
    """A page whose JavaScript errors and CSP violations are collected."""

    def __init__(self, context, base_url: str) -> None:
        self.base_url = base_url
        self.problems: list[str] = []
        self.page = self.open(context)

    def open(self, context):
        page = context.new_page()
        page.on("pageerror", lambda exc: self.problems.append(f"page error: {exc}"))
        page.on("console", lambda msg: self.problems.append(f"console {msg.type}: {msg.text}")
                if msg.type == "error" and ("Content Security Policy" in msg.text or "Refused" in msg.text) else None)
        page.on("dialog", lambda dialog: dialog.accept())  # destructive actions confirm first
        return page


@pytest.fixture()
def watched(context, console_server: TrentServer) -> Iterator[Watched]:
    w = Watched(context, console_server.endpoint_url)
    yield w
    assert w.problems == []
