"""One `trent serve --dev --regions us-east-1,us-west-2,eu-west-1` per test module and a
boto3 client per Region (issue 19, spec §12): the multi-Region wire tests import these
fixtures (``from tests.wire.multi_region_fixtures import ...``). Each fixture function is named
``<fixture>_fixture`` and registered under its fixture name, so that a test's ``east`` parameter
does not shadow an imported ``east`` (ruff F811)."""

from __future__ import annotations

import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.fixtures.trent_server import TrentServer, start_trent, stop_trent

EAST, WEST, EU = "us-east-1", "us-west-2", "eu-west-1"
REGIONS = (EAST, WEST, EU)


@pytest.fixture(scope="module", name="server")
def server_fixture() -> Iterator[TrentServer]:
    with tempfile.TemporaryDirectory(prefix="trent-mrk-") as tmp:
        srv = start_trent(Path(tmp) / "data", "--regions", ",".join(REGIONS))
        try:
            yield srv
        finally:
            stop_trent(srv)


@pytest.fixture(scope="module", name="east")
def east_fixture(server):
    return server.client(region_name=EAST)


@pytest.fixture(scope="module", name="west")
def west_fixture(server):
    return server.client(region_name=WEST)


@pytest.fixture(scope="module", name="eu")
def eu_fixture(server):
    return server.client(region_name=EU)


def settle(client, key_id: str, timeout: float = 10.0) -> dict:
    """AWS: a replica is Creating for a few seconds, then Enabled (poll DescribeKey)."""
    deadline = time.monotonic() + timeout
    while True:
        md = client.describe_key(KeyId=key_id)["KeyMetadata"]
        if md["KeyState"] not in ("Creating", "Updating") or time.monotonic() > deadline:
            return md
        time.sleep(0.1)
