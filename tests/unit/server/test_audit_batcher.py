"""server/audit_batcher.py: the group commit of unrecorded events (issue 16), with an
entry that carries several events (an S3 read and the KMS calls S3 made for its caller,
s3-sse spec §4), against a real SQLite trail (``SqlStorage`` + ``AuditOutbox``).

A batch is one append in the given order (each response's companions, then its own
event), and no response is released before that append committed; if it fails, every
response of the batch is replaced by its refusal and nothing of the batch is in the trail.
Both ways the batcher commits are exercised: inline on the loop (SQLite) and on the
writer thread (PostgreSQL's way).
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest

from trent.audit.records import AuditEntry, TrailPlacement
from trent.domain.audit_chain import GENESIS_HASH, TrailKey, chain_hash
from trent.protocol.pipeline import Response
from trent.server.audit_batcher import AuditBatcher, Pending
from trent.service.audit_outbox import AuditOutbox
from trent.storage.sql import SqlStorage

ACCOUNT, REGION = "111122223333", "us-east-1"
TRAIL = TrailKey(ACCOUNT, REGION)
REFUSE = "CREATE TRIGGER refuse_audit BEFORE INSERT ON audit_segments BEGIN SELECT RAISE(ABORT, 'refused'); END"


class Connection:
    """A client connection as the batcher sees it: what was filled, and when flushed."""

    def __init__(self) -> None:
        self.filled: dict[Any, Response] = {}
        self.sent: list[Response] = []
        self.flushed = asyncio.Event()

    def fill(self, slot: Any, response: Response) -> None:
        self.filled[slot] = response

    def flush(self) -> None:
        self.sent += [self.filled.pop(slot) for slot in sorted(self.filled)]
        self.flushed.set()


@pytest.fixture
def database(tmp_path: Path) -> Iterator[tuple[SqlStorage, Path]]:
    path = tmp_path / "trent.db"
    storage = SqlStorage(f"sqlite:///{path}", upgrade=True)
    try:
        yield storage, path
    finally:
        storage.close()


def event(name: str, request_id: str) -> AuditEntry:
    return AuditEntry({"eventName": name, "requestID": request_id, "recipientAccountId": ACCOUNT,
                       "awsRegion": REGION}, 1_800_000_000.0)


def refused(response: Response) -> Response:
    return Response(500, b"refused", response.request_id)


def trail(storage: SqlStorage) -> list[tuple[str, str]]:
    """The trail's events in sequence order, its chain checked from the genesis hash."""
    stored = storage.read_audit_events(TRAIL, 0, 1000)
    tip = GENESIS_HASH
    for number, item in enumerate(stored, start=1):
        tip = chain_hash(tip, item.body)
        assert (item.sequence, item.chain_hash) == (number, tip)
    return [(e["eventName"], e["requestID"]) for e in map(orjson.loads, (s.body for s in stored))]


async def run_batch(batcher: AuditBatcher, pendings: list[Pending], connection: Connection) -> list[Response]:
    for pending in pendings:  # all in one loop tick: one batch
        batcher.add(pending)
    assert connection.sent == []  # nothing leaves before the commit
    await asyncio.wait_for(connection.flushed.wait(), 10)
    await batcher.drain()
    return connection.sent


def pendings(connection: Connection) -> list[Pending]:
    """A KMS call (one event), an S3 GetObject with its Decrypt (two), an S3 call with two KMS calls."""
    return [
        Pending(event("Encrypt", "r1"), Response(200, b"one", "r1"), connection, 1, refused),
        Pending(event("GetObject", "r2"), Response(200, b"two", "r2"), connection, 2, refused,
                companions=(event("Decrypt", "r2"),)),
        Pending(event("CopyObject", "r3"), Response(200, b"three", "r3"), connection, 3, refused,
                companions=(event("Decrypt", "r3"), event("GenerateDataKey", "r3"))),
    ]


@pytest.mark.parametrize("inline", [True, False], ids=["inline", "writer-thread"])
def test_a_multi_event_entry_is_committed_in_order_before_its_response(
    database: tuple[SqlStorage, Path], inline: bool,
) -> None:
    storage, _ = database
    batcher = AuditBatcher(AuditOutbox(storage, TrailPlacement(ACCOUNT, REGION)), inline=inline)
    connection = Connection()
    sent = asyncio.run(run_batch(batcher, pendings(connection), connection))
    assert [(r.status, r.body) for r in sent] == [(200, b"one"), (200, b"two"), (200, b"three")]
    assert trail(storage) == [("Encrypt", "r1"), ("Decrypt", "r2"), ("GetObject", "r2"),
                              ("Decrypt", "r3"), ("GenerateDataKey", "r3"), ("CopyObject", "r3")]


@pytest.mark.parametrize("inline", [True, False], ids=["inline", "writer-thread"])
def test_a_failed_commit_refuses_every_response_and_records_no_event(
    database: tuple[SqlStorage, Path], inline: bool,
) -> None:
    storage, path = database
    outbox = AuditOutbox(storage, TrailPlacement(ACCOUNT, REGION))
    outbox.record([event("Before", "r0")])
    with sqlite3.connect(path) as db:
        db.execute(REFUSE)
    batcher = AuditBatcher(outbox, inline=inline)
    connection = Connection()
    sent = asyncio.run(run_batch(batcher, pendings(connection), connection))
    assert [(r.status, r.body, r.request_id) for r in sent] == [
        (500, b"refused", "r1"), (500, b"refused", "r2"), (500, b"refused", "r3")]
    assert trail(storage) == [("Before", "r0")]  # neither the companions nor the entries

    with sqlite3.connect(path) as db:  # the store accepts writes again: the chain goes on whole
        db.execute("DROP TRIGGER refuse_audit")
    connection = Connection()
    sent = asyncio.run(run_batch(AuditBatcher(outbox, inline=inline), pendings(connection)[1:2], connection))
    assert [r.status for r in sent] == [200]
    assert trail(storage) == [("Before", "r0"), ("Decrypt", "r2"), ("GetObject", "r2")]
