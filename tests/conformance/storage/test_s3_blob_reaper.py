"""Replaced and removed S3 content blobs wait out a grace period, and orphans are swept
(issue 17; service/s3/blob_reaper.py, storage/sql_s3_garbage.py), on SQLite and
PostgreSQL with a real directory blob store: a blob a committed row or an in-progress
upload's part references is never unlinked; every other blob is, once the grace is over."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from trent.domain.clock import FixedClock
from trent.domain.s3.records import Blob, ObjectRecord, Part, Upload
from trent.objectstore.blob_file import FileBlobStore
from trent.service.s3.blob_reaper import BlobReaper
from trent.service.s3.store import new_blob_name
from trent.storage.sql import SqlStorage
from trent.storage.sql_s3 import SqlS3Repository
from trent.storage.sql_s3_garbage import SqlS3BlobGarbage

from .builders import T0
from .test_s3_storage import bucket, obj, upload

GRACE = 600.0


@dataclass
class World:
    repo: SqlS3Repository
    garbage: SqlS3BlobGarbage
    store: FileBlobStore
    clock: FixedClock
    reaper: BlobReaper

    def blob(self, part: int = 0, stored: bool = True) -> Blob:
        name = new_blob_name()
        if stored:
            self.store.put(name, [b"ciphertext " + name.encode()])
        return Blob(name, part, b"\x00" * 16, 11 + len(name))

    def stored(self) -> set[str]:
        return set(self.store.names())


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def world(request: pytest.FixtureRequest, tmp_path: Path) -> World:
    storage: SqlStorage = request.getfixturevalue({"sqlite": "sqlite_storage", "postgres": "postgres_storage"}[
        request.param])
    storage.reset()
    repo = SqlS3Repository.for_storage(storage)
    garbage = SqlS3BlobGarbage(storage.engine, storage._unit)  # noqa: SLF001 - the server shares it too
    store = FileBlobStore(tmp_path / "objects", durable=False)
    clock = FixedClock(T0)
    repo.create_bucket(bucket())
    return World(repo, garbage, store, clock, BlobReaper(garbage, store, clock, grace_seconds=GRACE))


def part_with(w: World, n: int, upload_id: str = "u1") -> Part:
    b = w.blob(n)
    return Part(upload_id, n, f'"p{n}"', b.size, T0, b, None)


def test_an_overwritten_blob_stays_for_the_grace_then_goes(world: World) -> None:
    w = world
    old, new = w.blob(), w.blob()
    w.repo.put_object(obj(blobs=(old,)))
    w.repo.put_object(obj(blobs=(new,)))
    assert w.reaper.run(scan_orphans=False).unlinked == 0  # stamps the old blob now (T0)
    assert w.stored() == {old.name, new.name}  # a GET that read the old row still finds it
    w.clock.advance(GRACE - 1)
    assert w.reaper.run(scan_orphans=False).unlinked == 0 and old.name in w.stored()
    w.clock.advance(1)
    assert w.reaper.run(scan_orphans=False).unlinked == 1
    assert w.stored() == {new.name} and w.garbage.known() == set()
    assert w.repo.get_object("b1", "k").blobs == (new,)  # type: ignore[union-attr]


def test_every_dropped_reference_is_recorded_with_its_change(world: World) -> None:
    w = world
    deleted = w.blob()
    w.repo.put_object(obj("gone", blobs=(deleted,)))
    w.repo.delete_object("b1", "gone")
    w.repo.create_upload(upload("u1"))
    p1, p2, p3 = (part_with(w, n) for n in (1, 2, 3))
    for p in (p1, p2, p3):
        w.repo.put_part(p)
    p2b = part_with(w, 2)
    w.repo.put_part(p2b)  # replaces p2's blob

    def refuse(up: Upload, parts: Any) -> ObjectRecord:
        raise ValueError("InvalidPart")

    with pytest.raises(ValueError):  # rolled back: records nothing either
        w.repo.complete_upload("u1", refuse)
    assert w.garbage.known() == {deleted.name, p2.blob.name}
    done = w.repo.complete_upload("u1", lambda up, parts: obj("mp", blobs=(p1.blob, p2b.blob), parts_count=2))
    assert [p.part_number for p in done.unused_parts] == [3]
    w.repo.create_upload(upload("u2"))
    aborted = part_with(w, 1, "u2")
    w.repo.put_part(aborted)
    w.repo.abort_upload("u2")
    w.repo.create_upload(upload("u3"))
    abandoned = part_with(w, 1, "u3")
    w.repo.put_part(abandoned)
    w.repo.delete_object("b1", "mp")
    w.repo.delete_bucket("b1")
    recorded = {deleted.name, p2.blob.name, p3.blob.name, aborted.blob.name,
                p1.blob.name, p2b.blob.name, abandoned.blob.name}
    assert w.garbage.known() == recorded
    w.reaper.run(scan_orphans=False)
    w.clock.advance(GRACE)
    assert w.reaper.run(scan_orphans=False).unlinked == len(recorded)
    assert w.stored() == set() and w.garbage.known() == set()


def test_orphans_are_swept_and_referenced_blobs_never(world: World) -> None:
    w = world
    orphan = w.blob()  # stored; its row never committed (a crash in between)
    kept = w.blob()
    w.repo.put_object(obj(blobs=(kept,)))
    w.repo.create_upload(upload("u1"))
    in_progress = part_with(w, 1)
    w.repo.put_part(in_progress)  # an in-progress multipart part is a reference
    late = w.blob()  # stored now, its row commits after the scan below
    found = w.reaper.run(scan_orphans=True)
    assert found.orphans_found == 2 and w.garbage.known() == {orphan.name, late.name}
    w.repo.put_object(obj("late", blobs=(late,)))
    w.clock.advance(GRACE)
    reaped = w.reaper.run(scan_orphans=True)
    assert (reaped.unlinked, reaped.still_referenced, reaped.orphans_found) == (1, 1, 0)
    assert w.stored() == {kept.name, in_progress.blob.name, late.name}
    assert w.garbage.known() == set()
    w.clock.advance(10 * GRACE)  # however long it waits, a referenced blob stays
    w.reaper.run(scan_orphans=True)
    w.reaper.run(scan_orphans=True)
    assert w.stored() == {kept.name, in_progress.blob.name, late.name}


class _Refusing(FileBlobStore):
    def delete(self, name: str) -> None:
        raise OSError("read-only")


def test_an_unlink_that_fails_stays_recorded(world: World) -> None:
    w = world
    old = w.blob()
    w.repo.put_object(obj(blobs=(old,)))
    w.repo.delete_object("b1", "k")
    refusing = BlobReaper(w.garbage, _Refusing(w.store.root, durable=False), w.clock, grace_seconds=GRACE)
    refusing.run(scan_orphans=False)
    w.clock.advance(GRACE)
    assert refusing.run(scan_orphans=False).failed == 1 and w.garbage.known() == {old.name}
    assert w.reaper.run(scan_orphans=False).unlinked == 1 and w.stored() == set()


def test_the_orphan_scan_runs_on_its_own_interval(world: World) -> None:
    w = world
    reaper = BlobReaper(w.garbage, w.store, w.clock, grace_seconds=GRACE, orphan_scan_seconds=100)
    assert reaper.run().orphans_found == 0  # first round scans (nothing yet)
    w.blob()
    w.clock.advance(99)
    assert reaper.run().orphans_found == 0  # not due
    w.clock.advance(1)
    assert reaper.run().orphans_found == 1
