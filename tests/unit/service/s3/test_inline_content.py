"""Small single-part objects keep their ciphertext in their row, not in the object store
(service/s3/content.py, issue 17): what is inline and what is not, that the row holds the
same sealed segments (no plaintext), ranges, every SSE mode, overwrites either way, and
the preliminary-write commit still happening before the body is read."""

from __future__ import annotations

import base64
import hashlib
import random
from collections.abc import Iterator

import pytest

from trent import errors
from trent.crypto import segments
from trent.domain.s3.records import SseMode
from trent.service.s3 import buckets, objects
from trent.service.s3.object_headers import parse_range
from trent.service.s3.objects import GetObjectRequest, PutObjectRequest
from trent.service.s3.sse_headers import CustomerKey, SseRequest

from .conftest import ALICE, World

LIMIT = 4096  # S3Settings.inline_max_bytes' default


def put(world: World, key: str, data: bytes, *, sse: SseRequest = SseRequest(), declared: int | None = -1,
        **fields: object) -> objects.PutObjectResult:
    """Over the wire the length is known (Content-Length, or aws-chunked's decoded length)."""
    length = len(data) if declared == -1 else declared
    body = (data[i : i + 1000] for i in range(0, len(data), 1000))
    request = PutObjectRequest("bkt", key, sse=sse, content_length=length, **fields)  # type: ignore[arg-type]
    return objects.put_object(world.s3, world.ctx(), request, body)


def get(world: World, key: str, **fields: object) -> bytes:
    result = objects.get_object(world.s3, world.ctx(ALICE), GetObjectRequest("bkt", key, **fields))  # type: ignore[arg-type]
    return b"".join(result.body)


def row(world: World, key: str):
    record = world.s3.repo.get_object("bkt", key)
    assert record is not None
    return record


@pytest.fixture()
def bucket(world: World) -> str:
    buckets.create_bucket(world.s3, world.ctx(), "bkt", None)
    return "bkt"


@pytest.mark.parametrize("size", [0, 1, 1024, LIMIT])
def test_small_objects_are_kept_in_their_row_as_sealed_segments(world: World, bucket: str, size: int) -> None:
    data = random.Random(size).randbytes(size)
    put(world, "k", data)
    assert world.store.blobs == {}  # nothing in the object store
    (blob,) = row(world, "k").blobs
    assert blob.name == "" and not blob.stored and blob.size == size
    assert blob.inline is not None and len(blob.inline) == segments.stored_length(size)
    if size >= 16:
        assert data[:16] not in blob.inline
    assert get(world, "k") == data


def test_the_limit_is_the_declared_length_and_parts_or_unknown_lengths_are_stored(world: World, bucket: str) -> None:
    put(world, "over", b"x" * (LIMIT + 1))
    put(world, "unknown", b"y" * 10, declared=None)
    assert len(world.store.blobs) == 2
    assert row(world, "over").blobs[0].stored and row(world, "unknown").blobs[0].stored
    assert get(world, "over") == b"x" * (LIMIT + 1) and get(world, "unknown") == b"y" * 10


def test_a_limit_of_zero_keeps_every_object_in_the_store(world: World, bucket: str) -> None:
    w = world.with_settings(inline_max_bytes=0)
    put(w, "k", b"z")
    assert len(w.store.blobs) == 1 and row(w, "k").blobs[0].stored


def test_a_body_that_is_not_its_declared_length_leaves_nothing(world: World, bucket: str) -> None:
    with pytest.raises(errors.IncompleteBody):
        put(world, "k", b"abc", declared=5)
    with pytest.raises(errors.BadDigest):
        put(world, "k", b"abc", content_md5=base64.b64encode(hashlib.md5(b"abd").digest()).decode())
    assert world.store.blobs == {} and world.s3.repo.get_object("bkt", "k") is None


def test_ranges_of_inline_content(world: World, bucket: str) -> None:
    data = random.Random(7).randbytes(3000)
    put(world, "k", data)
    assert get(world, "k", range=parse_range("bytes=100-199")) == data[100:200]
    assert get(world, "k", range=parse_range("bytes=-5")) == data[-5:]
    assert get(world, "k", range=parse_range("bytes=2999-")) == data[-1:]
    assert world.store.reads == []  # never the object store


def test_a_changed_inline_ciphertext_does_not_authenticate(world: World, bucket: str) -> None:
    """The row's bytes are checked like a blob's: a flipped bit is an internal error, never
    wrong plaintext."""
    import dataclasses

    put(world, "k", b"secret data" * 10)
    record = row(world, "k")
    (blob,) = record.blobs
    assert blob.inline is not None
    flipped = bytearray(blob.inline)
    flipped[40] ^= 1
    world.s3.repo.put_object(dataclasses.replace(record, blobs=(dataclasses.replace(blob, inline=bytes(flipped)),)))
    with pytest.raises(errors.KMSInternal):
        get(world, "k")


@pytest.mark.parametrize("mode", ["kms", "kms-bucket-key", "sse-c"])
def test_every_mode_round_trips_inline(world: World, bucket: str, mode: str) -> None:
    data = b"hello inline " * 20
    if mode == "sse-c":
        key = random.Random(1).randbytes(32)
        customer = CustomerKey(key, base64.b64encode(hashlib.md5(key).digest()).decode())
        put(world, "k", data, sse=SseRequest(SseMode.SSE_C, customer_key=customer))
        assert get(world, "k", customer_key=customer) == data
        with pytest.raises(errors.InvalidRequest):
            get(world, "k")
    else:
        put(world, "k", data, sse=SseRequest(SseMode.SSE_KMS, bucket_key_enabled=mode == "kms-bucket-key"))
        assert get(world, "k") == data
    assert world.store.blobs == {} and not row(world, "k").blobs[0].stored


def test_overwrites_between_inline_and_stored(world: World, bucket: str) -> None:
    """A stored blob replaced by inline content is left to the reaper (the row change
    records it as garbage, DeferredDeletes); inline content replaced by anything needs no
    deletion at all."""
    put(world, "k", b"a" * 10)
    put(world, "k", b"b" * (LIMIT + 10))
    assert len(world.store.blobs) == 1 and get(world, "k") == b"b" * (LIMIT + 10)
    put(world, "k", b"c" * 10)
    assert get(world, "k") == b"c" * 10
    objects.delete_object(world.s3, world.ctx(), "bkt", "k")
    assert world.s3.repo.get_object("bkt", "k") is None


def test_the_body_is_read_only_after_before_content(world: World, bucket: str) -> None:
    """S3Deps.before_content runs before the first piece of the body is pulled, inline or
    not (the front door commits any preliminary write there: a slow upload must not hold
    the write transaction)."""
    import dataclasses

    seen: list[str] = []
    w = dataclasses.replace(world, s3=dataclasses.replace(world.s3, before_content=lambda: seen.append("before")))

    def body(data: bytes) -> Iterator[bytes]:
        seen.append("body")
        yield data

    for size in (10, LIMIT + 1):
        seen.clear()
        data = b"q" * size
        objects.put_object(w.s3, w.ctx(), PutObjectRequest("bkt", f"k{size}", content_length=size), body(data))
        assert seen == ["before", "body"]
        assert get(w, f"k{size}") == data
