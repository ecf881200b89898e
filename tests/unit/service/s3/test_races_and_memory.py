"""Rules under racing requests, through the use cases (threads on one SQLite database;
the repository races themselves run on PostgreSQL too, tests/conformance/storage), and
bounded memory for a streaming PUT."""

from __future__ import annotations

import tracemalloc
from collections.abc import Iterable, Iterator
from dataclasses import replace

import pytest

from tests.racing import race
from tests.release_probe import ReleaseProbe
from trent import errors
from trent.service.s3 import buckets, multipart, objects
from trent.service.s3.multipart import CompletedPart, CompleteMultipartUploadRequest, CreateMultipartUploadRequest, UploadPartRequest
from trent.service.s3.objects import PutObjectRequest

from .conftest import World
from .test_objects import get


def test_racing_create_bucket(world: World) -> None:
    eu = world.ctx(region="eu-west-1")
    results = race(6, lambda i: buckets.create_bucket(world.s3, eu, "raced", "eu-west-1"))
    assert sum(isinstance(r, buckets.Created) for r in results) == 1
    assert all(isinstance(r, errors.BucketAlreadyOwnedByYou) for r in results if not isinstance(r, buckets.Created))


def test_racing_puts_leave_one_object_and_one_blob(world: World) -> None:
    buckets.create_bucket(world.s3, world.ctx(), "bkt", None)
    bodies = [bytes([i]) * 100_000 for i in range(6)]
    results = race(6, lambda i: objects.put_object(world.s3, world.ctx(), PutObjectRequest("bkt", "k"), [bodies[i]]))
    assert not any(isinstance(r, Exception) for r in results), results
    assert get(world, "k") in bodies
    assert len(world.store.blobs) == 1  # every replaced blob was deleted exactly by its replacer


def test_racing_complete_and_abort(world: World) -> None:
    buckets.create_bucket(world.s3, world.ctx(), "bkt", None)
    upload = multipart.create_multipart_upload(world.s3, world.ctx(), CreateMultipartUploadRequest("bkt", "k"))
    part, _ = multipart.upload_part(world.s3, world.ctx(), UploadPartRequest("bkt", "k", upload.upload_id, 1), [b"x"])

    def attempt(i: int) -> object:
        if i % 2:
            return multipart.complete_multipart_upload(world.s3, world.ctx(), CompleteMultipartUploadRequest(
                "bkt", "k", upload.upload_id, [CompletedPart(1, part.etag)]))
        multipart.abort_multipart_upload(world.s3, world.ctx(), "bkt", "k", upload.upload_id)
        return "aborted"

    results = race(6, attempt)
    winners = [r for r in results if not isinstance(r, Exception)]
    assert len(winners) == 1, results
    assert all(isinstance(r, errors.NoSuchUpload) for r in results if isinstance(r, Exception))
    if winners[0] == "aborted":
        assert world.store.blobs == {} and world.s3.repo.get_object("bkt", "k") is None
    else:
        assert get(world, "k") == b"x" and len(world.store.blobs) == 1


class CountingStore:
    """Keeps nothing: measures that a PUT streams (memory stays flat)."""

    def __init__(self) -> None:
        self.bytes = 0

    def put(self, name: str, chunks: Iterable[bytes]) -> int:
        for chunk in chunks:
            self.bytes += len(chunk)
        return self.bytes

    def get(self, name: str, start: int, end: int) -> Iterator[bytes]:
        return iter(())

    def delete(self, name: str) -> None:
        pass

    def names(self) -> Iterator[str]:
        return iter(())


def test_put_streams_in_bounded_memory(world: World) -> None:
    buckets.create_bucket(world.s3, world.ctx(), "bkt", None)
    store = CountingStore()
    w = replace(world, s3=replace(world.s3, store=store))
    piece = b"\x5a" * (1024 * 1024)

    def body() -> Iterator[bytes]:
        for _ in range(64):
            yield piece

    tracemalloc.start()
    try:
        objects.put_object(w.s3, w.ctx(), PutObjectRequest("bkt", "big"), body())
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert store.bytes > 64 * 1024 * 1024
    assert peak < 8 * 1024 * 1024, peak  # 64 MiB went through; a few MiB were ever held



def test_a_put_lets_go_of_each_piece_before_asking_for_the_next(world: World) -> None:
    """The body's next piece may take a while to arrive (a socket): while it does, the
    hashing and encryption keep none of the last one (a MiB per upload in flight)."""
    buckets.create_bucket(world.s3, world.ctx(), "bkt", None)
    sizes = (200_000, 150_000, 1_000)
    probe = ReleaseProbe(bytes([i]) * n for i, n in enumerate(sizes))
    objects.put_object(world.s3, world.ctx(), PutObjectRequest("bkt", "k"), probe)
    assert probe.held_when_next_asked == [False, False]
    assert get(world, "k") == b"".join(bytes([i]) * n for i, n in enumerate(sizes))

@pytest.mark.postgres
def test_postgres_races_through_the_use_cases(pg_world: World) -> None:
    """On PostgreSQL the writers really run at once (separate connections)."""
    w = pg_world
    buckets.create_bucket(w.s3, w.ctx(), "bkt", None)
    bodies = [bytes([i]) * 70_000 for i in range(8)]
    results = race(8, lambda i: objects.put_object(w.s3, w.ctx(), PutObjectRequest("bkt", "k"), [bodies[i]]))
    assert not any(isinstance(r, Exception) for r in results), results
    assert get(w, "k") in bodies and len(w.store.blobs) == 1

    upload = multipart.create_multipart_upload(w.s3, w.ctx(), CreateMultipartUploadRequest("bkt", "m"))
    part, _ = multipart.upload_part(w.s3, w.ctx(), UploadPartRequest("bkt", "m", upload.upload_id, 1), [b"p"])
    outcomes = race(6, lambda i: multipart.complete_multipart_upload(w.s3, w.ctx(), CompleteMultipartUploadRequest(
        "bkt", "m", upload.upload_id, [CompletedPart(1, part.etag)])) if i % 2 else
        multipart.abort_multipart_upload(w.s3, w.ctx(), "bkt", "m", upload.upload_id))
    assert sum(not isinstance(r, Exception) for r in outcomes) == 1, outcomes

    results = race(4, lambda i: buckets.delete_bucket(w.s3, w.ctx(), "bkt") if i == 0 else
                   objects.put_object(w.s3, w.ctx(), PutObjectRequest("bkt", f"n{i}"), [b"x"]))
    assert isinstance(results[0], errors.BucketNotEmpty)  # "k" is still there
