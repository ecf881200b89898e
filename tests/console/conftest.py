"""An in-process Trent (bootstrap.build, --dev, SQLite in a temp dir, a seed with a
read-only user) whose console is driven by calling ``Console.handle`` directly: the
server-side rendering and security tests. The browser tests are in ``browser/``."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from trent import bootstrap
from trent.config import Settings
from trent.domain.clock import ControllableClock
from trent.server.console import Console

from .client import ConsoleClient

ACCOUNT = "123456789012"
DEV_ARN = f"arn:aws:iam::{ACCOUNT}:user/dev"
READER = "reader"
READER_ARN = f"arn:aws:iam::{ACCOUNT}:user/{READER}"
READER_KEY = "AKIAREADER0000000001"
READER_SECRET = "reader-secret-for-tests-only"
READER_POLICY = {"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Action": ["kms:ListKeys", "kms:ListAliases", "kms:DescribeKey"], "Resource": "*"}]}
SEED = {"accounts": [{"id": ACCOUNT, "users": [
    {"name": READER, "access_keys": [{"id": READER_KEY, "secret": READER_SECRET}],
     "policies": {"ReadOnly": READER_POLICY}}]}]}


@pytest.fixture(scope="module")
def runtime(tmp_path_factory: pytest.TempPathFactory) -> Iterator[bootstrap.Runtime]:
    tmp = tmp_path_factory.mktemp("console")
    seed = tmp / "seed.json"
    seed.write_text(json.dumps(SEED))
    settings = Settings(dev=True, data_dir=tmp / "data", seed_file=seed).validate()
    rt = bootstrap.build(settings)
    yield rt
    rt.audit.close()
    rt.deps.storage.close()


@pytest.fixture()
def clock() -> ControllableClock:
    return ControllableClock()


@pytest.fixture()
def console(runtime: bootstrap.Runtime, clock: ControllableClock) -> Console:
    """The runtime's console wiring, with a clock the test moves (sessions, throttling)."""
    assert runtime.http.console is not None
    runtime.app.dev.reset()  # type: ignore[union-attr]
    built = runtime.http.console
    return Console(built.pipeline, built.authenticator, region_ok=built.region_ok,
                   dev_access_key_id=built.dev_access_key_id, policy=built.policy, clock=clock, trail=built.trail)


@pytest.fixture()
def dev(console: Console) -> ConsoleClient:
    client = ConsoleClient(console)
    client.sign_in_dev()
    return client


@pytest.fixture()
def audit_log(runtime: bootstrap.Runtime) -> Path:
    """The runtime's SQLite database: the audit trail is read from it (``audit_events``)."""
    database = runtime.deps.storage.inner.engine.url.database  # type: ignore[attr-defined]
    assert database
    return Path(database)
