"""Nothing changes without its event (issue 16 §1), against a real server on SQLite and
PostgreSQL: an audit trail that refuses writes (a trigger injected into the server's
database) makes every call fail cleanly — mutations change nothing, crypto answers an
error — and once it accepts writes again the chain is whole and gapless."""

from __future__ import annotations

import json
import urllib.error
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from tests.fixtures.trent_server import TrentServer, start_trent, stop_trent
from tests.wire.helpers import expect_error
from trent.domain.audit_chain import GENESIS_HASH, TrailKey, chain_hash
from trent.storage.sql import SqlStorage

REFUSE_SQLITE = (
    "CREATE TRIGGER refuse_audit BEFORE INSERT ON audit_segments BEGIN SELECT RAISE(ABORT, 'audit store refuses'); END"
)
REFUSE_PG = [
    "CREATE OR REPLACE FUNCTION refuse_audit() RETURNS trigger AS $$ BEGIN RAISE EXCEPTION 'audit store refuses'; "
    "END $$ LANGUAGE plpgsql",
    "CREATE TRIGGER refuse_audit BEFORE INSERT ON audit_segments FOR EACH ROW EXECUTE FUNCTION refuse_audit()",
]
EVENTS = "SELECT coalesce(sum(last_seq - first_seq + 1), 0) FROM audit_segments"


class Backend:
    def __init__(self, url: str) -> None:
        self.url = url
        self.engine = sa.create_engine(url)

    def refuse(self, on: bool) -> None:
        with self.engine.begin() as conn:
            if self.engine.dialect.name == "sqlite":
                conn.exec_driver_sql(REFUSE_SQLITE if on else "DROP TRIGGER refuse_audit")
            elif on:
                for statement in REFUSE_PG:
                    conn.exec_driver_sql(statement)
            else:
                conn.exec_driver_sql("DROP TRIGGER refuse_audit ON audit_segments")

    def scalar(self, sql: str) -> object:
        with self.engine.connect() as conn:
            return conn.exec_driver_sql(sql).scalar()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def server_and_db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[TrentServer, Backend]]:
    if request.param == "sqlite":
        server = start_trent(tmp_path / "data")
        url = f"sqlite:///{server.database}"
    else:
        url = request.getfixturevalue("postgres_database_url")
        server = start_trent(tmp_path / "data", "--database-url", url)
    backend = Backend(url)
    try:
        yield server, backend
    finally:
        stop_trent(server)
        backend.engine.dispose()


def assert_chain_whole(url: str, account: str, region: str) -> int:
    storage = SqlStorage(url)
    try:
        trail = TrailKey(account, region)
        events = storage.read_audit_events(trail, 0, 1_000_000)
        tip = GENESIS_HASH
        for number, event in enumerate(events, start=1):
            assert event.sequence == number
            tip = chain_hash(tip, event.body)
            assert event.chain_hash == tip
        head = storage.get_trail_head(trail)
        assert head is not None and head.last_sequence == len(events) and head.last_hash == tip
        return len(events)
    finally:
        storage.close()


def test_a_refusing_audit_store_fails_every_call_and_changes_nothing(server_and_db) -> None:
    server, db = server_and_db
    kms = server.client()
    key_id = kms.create_key(Description="before")["KeyMetadata"]["KeyId"]
    kms.tag_resource(KeyId=key_id, Tags=[{"TagKey": "t", "TagValue": "1"}])
    keys_before = db.scalar("SELECT count(*) FROM keys")
    events_before = db.scalar(EVENTS)

    db.refuse(True)
    internal = "KMSInternalException"
    expect_error(kms.create_key, internal, None, 500, Description="never", Tags=[{"TagKey": "a", "TagValue": "b"}])
    expect_error(kms.tag_resource, internal, None, 500, KeyId=key_id, Tags=[{"TagKey": "t", "TagValue": "2"}])
    expect_error(kms.schedule_key_deletion, internal, None, 500, KeyId=key_id, PendingWindowInDays=7)
    expect_error(kms.create_alias, internal, None, 500, AliasName="alias/never", TargetKeyId=key_id)
    expect_error(kms.disable_key, internal, None, 500, KeyId=key_id)
    # read-only and cryptographic calls: no response without its event
    expect_error(kms.encrypt, internal, None, 500, KeyId=key_id, Plaintext=b"x")
    expect_error(kms.describe_key, internal, None, 500, KeyId=key_id)
    assert db.scalar("SELECT count(*) FROM keys") == keys_before
    assert db.scalar(EVENTS) == events_before
    assert db.scalar("SELECT count(*) FROM aliases") == 0
    assert db.scalar("SELECT count(*) FROM tags WHERE tag_value = '2'") == 0

    db.refuse(False)
    described = kms.describe_key(KeyId=key_id)["KeyMetadata"]
    assert described["KeyState"] == "Enabled" and described["Description"] == "before"
    assert kms.list_resource_tags(KeyId=key_id)["Tags"] == [{"TagKey": "t", "TagValue": "1"}]
    kms.create_key(Description="after")
    assert db.scalar("SELECT count(*) FROM keys") == keys_before + 1
    # create, tag, describe, list tags, create: the refused calls left no event (and no change)
    assert assert_chain_whole(db.url, server.account_id, server.region) == 5


def test_a_mutation_and_its_event_are_one_transaction(server_and_db) -> None:
    """Every committed change has exactly its event, with the response it answered."""
    server, db = server_and_db
    kms = server.client()
    out = kms.create_key(Description="pair", Tags=[{"TagKey": "k", "TagValue": "v"}])
    request_id = out["ResponseMetadata"]["RequestId"]
    with db.engine.connect() as conn:
        bodies = [b for r in conn.exec_driver_sql("SELECT bodies FROM audit_segments") for b in bytes(r[0]).split(b"\n")]
    (event,) = [e for e in map(json.loads, bodies) if e.get("requestID") == request_id]
    assert event["eventName"] == "CreateKey" and event["responseElements"]["keyMetadata"]["keyId"] == \
        out["KeyMetadata"]["KeyId"]
    assert event["requestParameters"]["tags"] == [{"tagKey": "k", "tagValue": "v"}]


def test_sqlite_file_is_what_the_fixture_reads(tmp_path: Path) -> None:
    """The fixture reads the trail straight from the server's database (a guard for the
    wire suites that look for events)."""
    server = start_trent(tmp_path / "data")
    try:
        kms = server.client()
        rid = kms.list_keys()["ResponseMetadata"]["RequestId"]
        assert any(e.get("requestID") == rid for e in server.audit_events())
        con = sqlite3.connect(server.database)
        assert con.execute("SELECT count(*) FROM audit_trails").fetchone()[0] >= 1
        con.close()
    finally:
        stop_trent(server)


def test_the_sweepers_service_events_commit_with_their_change(server_and_db) -> None:
    """DeleteKey at the end of a deletion window is one transaction with its event: while
    the trail refuses writes the key is not deleted; once it accepts, both happen."""
    server, db = server_and_db
    kms = server.client()
    key_id = kms.create_key(Description="doomed")["KeyMetadata"]["KeyId"]
    kms.schedule_key_deletion(KeyId=key_id, PendingWindowInDays=7)
    db.refuse(True)
    with pytest.raises(urllib.error.HTTPError) as refused:  # the sweep runs now, and fails; so does
        server.advance_clock("8d")                          # the clock control's own event (fail-closed)
    assert refused.value.code == 500
    assert db.scalar(f"SELECT count(*) FROM keys WHERE key_id = '{key_id}'") == 1
    db.refuse(False)
    server.advance_clock("1s")
    assert db.scalar(f"SELECT count(*) FROM keys WHERE key_id = '{key_id}'") == 0
    with db.engine.connect() as conn:
        bodies = [b for r in conn.exec_driver_sql("SELECT bodies FROM audit_segments") for b in bytes(r[0]).split(b"\n")]
    deletions = [e for e in map(json.loads, bodies) if e["eventName"] == "DeleteKey"]
    assert [e["serviceEventDetails"]["keyId"] for e in deletions] == [key_id]
    assert deletions[0]["eventType"] == "AwsServiceEvent"
    assert_chain_whole(db.url, server.account_id, server.region)
