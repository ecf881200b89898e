"""The console's bounded integrity check (``service.audit_integrity``, issue 21 phase 2)
on every storage backend: the newest events' chain from the window's anchor to the tip,
an edited row inside the window found, one outside it left to ``trent audit verify``
(the bound the page states)."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa

from trent.domain.audit_chain import TrailKey
from trent.objectstore.file import FileObjectStore
from trent.service.audit_integrity import IntegrityBounds, check
from trent.storage import tables
from trent.storage.repositories import Storage

from .builders import REGION
from .test_audit_storage import fresh_account, record

BOUNDS = IntegrityBounds(events=10, digests=3, log_files=30)


def _edit_segment(storage: Storage, trail: TrailKey, first_seq: int) -> None:
    engine = getattr(storage, "inner", storage).engine
    t, s = tables.audit_trails, tables.audit_segments
    with engine.begin() as conn:
        trail_id = conn.execute(sa.select(t.c.id).where(t.c.account_id == trail.account_id,
                                                        t.c.region == trail.region)).scalar_one()
        where = sa.and_(s.c.trail_id == trail_id, s.c.first_seq == first_seq)
        bodies = bytes(conn.execute(sa.select(s.c.bodies).where(where)).scalar_one())
        edited = bodies.replace(b'"readOnly":true', b'"readOnly":false', 1)
        assert edited != bodies
        conn.execute(s.update().where(where).values(bodies=edited))


def test_the_newest_events_chain_to_the_tip(storage: Storage, tmp_path: Path) -> None:
    account = fresh_account()
    trail = TrailKey(account, REGION)
    for _ in range(12):  # segments of 3 events: first sequences 1, 4, ..., 34; 36 events
        storage.append_audit_events([record(account) for _ in range(3)])
    store = FileObjectStore(tmp_path)
    report = check(storage, store, "bucket", trail, {}, BOUNDS)
    assert report.ok, report.database_problems
    # the window: events 27..36; the first whole segment in it starts at 28, anchored on event 27's hash
    assert (report.first_event, report.last_event, report.events_checked) == (28, 36, 9)
    assert report.awaiting_delivery == 36 and report.digests == [] and report.log_files == []

    _edit_segment(storage, trail, 1)  # outside the bound: the full `trent audit verify`'s to find
    assert check(storage, store, "bucket", trail, {}, BOUNDS).ok
    _edit_segment(storage, trail, 31)
    found = check(storage, store, "bucket", trail, {}, BOUNDS)
    assert not found.ok and found.database_problems == ["event 31 does not chain: edited, inserted or reordered"]


def test_a_trail_without_events(storage: Storage, tmp_path: Path) -> None:
    report = check(storage, FileObjectStore(tmp_path), "bucket", TrailKey(fresh_account(), REGION), {}, BOUNDS)
    assert report.head is None and report.ok and report.events_checked == 0
