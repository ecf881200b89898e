"""Multipart uploads with SSE (issue 17; s3-sse spec §2 ETag, §4 KMS calls)."""

from __future__ import annotations

import hashlib
import random

import pytest

from trent import errors
from trent.domain.s3.records import SseMode
from trent.service.s3 import buckets, multipart, objects
from trent.service.s3.multipart import (
    CompletedPart,
    CompleteMultipartUploadRequest,
    CreateMultipartUploadRequest,
    UploadPartCopyRequest,
    UploadPartRequest,
)
from trent.service.s3.object_headers import parse_range
from trent.service.s3.objects import GetObjectRequest, PutObjectRequest
from trent.service.s3.sse_headers import SseRequest

from .conftest import World
from .test_objects import customer, get, put

MIB = 1024 * 1024


@pytest.fixture()
def small_parts(world: World) -> World:
    buckets.create_bucket(world.s3, world.ctx(), "bkt", None)
    return world.with_settings(min_part_size=100_000)


def upload_parts(world: World, key: str, parts: list[bytes], sse: SseRequest = SseRequest(), **kw: object):
    upload = multipart.create_multipart_upload(world.s3, world.ctx(), CreateMultipartUploadRequest("bkt", key, sse=sse))
    done = []
    for number, data in enumerate(parts, start=1):
        part, _ = multipart.upload_part(
            world.s3, world.ctx(), UploadPartRequest("bkt", key, upload.upload_id, number, **kw), [data]  # type: ignore[arg-type]
        )
        done.append(CompletedPart(number, part.etag))
    return upload, done


def complete(world: World, key: str, upload_id: str, parts: list[CompletedPart], **kw: object):
    return multipart.complete_multipart_upload(
        world.s3, world.ctx(), CompleteMultipartUploadRequest("bkt", key, upload_id, parts, **kw)  # type: ignore[arg-type]
    )


def test_sse_s3_multipart_etag_and_ranges_across_parts(small_parts: World) -> None:
    w = small_parts
    rng = random.Random(1)
    parts = [rng.randbytes(150_000), rng.randbytes(100_000), rng.randbytes(7)]
    upload, done = upload_parts(w, "big", parts)
    # SSE-S3 part ETags are the parts' MD5s; the object's is md5(md5s)-N (spec §2)
    assert [p.etag for p in done] == [f'"{hashlib.md5(p).hexdigest()}"' for p in parts]
    record = complete(w, "big", upload.upload_id, done)
    md5s = b"".join(hashlib.md5(p).digest() for p in parts)
    assert record.etag == f'"{hashlib.md5(md5s).hexdigest()}-3"' and record.parts_count == 3
    data = b"".join(parts)
    assert get(w, "big") == data
    for first, last in [(149_990, 150_010), (0, 249_999), (249_999, 250_006), (10, 20)]:
        assert get(w, "big", range=parse_range(f"bytes={first}-{last}")) == data[first : last + 1]
    part2 = objects.get_object(w.s3, w.ctx(), GetObjectRequest("bkt", "big", part_number=2))
    assert b"".join(part2.body) == parts[1] and part2.content_range == f"bytes 150000-249999/{len(data)}"
    with pytest.raises(errors.InvalidPartNumber):
        get(w, "big", part_number=4)
    assert w.s3.repo.get_upload(upload.upload_id) is None


def test_sse_kms_multipart_decrypts_the_upload_key_per_part(small_parts: World) -> None:
    w = small_parts
    key_arn = w.create_key()
    parts = [b"a" * 100_000, b"b" * 100_000, b"c"]
    upload, done = upload_parts(w, "k", parts, SseRequest(SseMode.SSE_KMS, key_arn))
    assert len(w.calls("GenerateDataKey")) == 1 and len(w.calls("Decrypt")) == 3  # spec §4
    record = complete(w, "k", upload.upload_id, done)
    assert record.sse.kms_key_arn == key_arn and record.etag.endswith('-3"')
    assert all(c.encryption_context == {"aws:s3:arn": "arn:aws:s3:::bkt/k"} for c in w.calls())
    assert get(w, "k") == b"".join(parts)


def test_sse_c_parts_must_repeat_the_key(small_parts: World) -> None:
    w = small_parts
    key = customer()
    upload = multipart.create_multipart_upload(
        w.s3, w.ctx(), CreateMultipartUploadRequest("bkt", "c", sse=SseRequest(SseMode.SSE_C, customer_key=key))
    )
    with pytest.raises(errors.InvalidRequest):
        multipart.upload_part(w.s3, w.ctx(), UploadPartRequest("bkt", "c", upload.upload_id, 1), [b"x"])
    with pytest.raises(errors.AccessDenied):
        multipart.upload_part(w.s3, w.ctx(), UploadPartRequest("bkt", "c", upload.upload_id, 1,
                                                               customer_key=customer(2)), [b"x"])
    part, _ = multipart.upload_part(w.s3, w.ctx(), UploadPartRequest("bkt", "c", upload.upload_id, 1,
                                                                     customer_key=key), [b"xyz"])
    complete(w, "c", upload.upload_id, [CompletedPart(1, part.etag)])
    assert get(w, "c", customer_key=key) == b"xyz"


def test_complete_rules(small_parts: World) -> None:
    w = small_parts
    upload, done = upload_parts(w, "k", [b"a" * 100_000, b"tiny", b"b" * 100_000])
    with pytest.raises(errors.InvalidPartOrder):
        complete(w, "k", upload.upload_id, [done[1], done[0]])
    with pytest.raises(errors.InvalidPart):
        complete(w, "k", upload.upload_id, [CompletedPart(1, '"0000"')])
    with pytest.raises(errors.InvalidPart):
        complete(w, "k", upload.upload_id, [CompletedPart(9, done[0].etag)])
    with pytest.raises(errors.EntityTooSmall):
        complete(w, "k", upload.upload_id, done)  # part 2 is small and not last
    with pytest.raises(errors.MalformedXML):
        complete(w, "k", upload.upload_id, [])
    # the failed attempts changed nothing; leaving out part 2 works and drops its blob
    blobs_before = len(w.store.blobs)
    record = complete(w, "k", upload.upload_id, [done[0], done[2]])
    assert record.size == 200_000 and len(w.store.blobs) == blobs_before - 1
    with pytest.raises(errors.NoSuchUpload):
        complete(w, "k", upload.upload_id, [done[0]])


def test_reuploading_a_part_replaces_it(small_parts: World) -> None:
    w = small_parts
    upload, done = upload_parts(w, "k", [b"first"])
    part, _ = multipart.upload_part(w.s3, w.ctx(), UploadPartRequest("bkt", "k", upload.upload_id, 1), [b"second"])
    assert len(w.store.blobs) == 1
    with pytest.raises(errors.InvalidPart):
        complete(w, "k", upload.upload_id, done)  # the old ETag is gone
    complete(w, "k", upload.upload_id, [CompletedPart(1, part.etag)])
    assert get(w, "k") == b"second"


def test_abort_and_list(small_parts: World) -> None:
    w = small_parts
    upload, _ = upload_parts(w, "k", [b"1", b"2", b"3"])
    listed = multipart.list_parts(w.s3, w.ctx(), "bkt", "k", upload.upload_id, max_parts=2)
    assert [p.part_number for p in listed.parts] == [1, 2] and listed.is_truncated and listed.next_part_number_marker == 2
    rest = multipart.list_parts(w.s3, w.ctx(), "bkt", "k", upload.upload_id, part_number_marker=2)
    assert [p.part_number for p in rest.parts] == [3] and not rest.is_truncated
    multipart.abort_multipart_upload(w.s3, w.ctx(), "bkt", "k", upload.upload_id)
    assert w.store.blobs == {}
    with pytest.raises(errors.NoSuchUpload):
        multipart.abort_multipart_upload(w.s3, w.ctx(), "bkt", "k", upload.upload_id)
    with pytest.raises(errors.NoSuchUpload):
        multipart.upload_part(w.s3, w.ctx(), UploadPartRequest("bkt", "k", upload.upload_id, 1), [b"x"])
    with pytest.raises(errors.InvalidArgument):
        multipart.upload_part(w.s3, w.ctx(), UploadPartRequest("bkt", "k", "u", 10_001), [b"x"])


def test_upload_part_copy_with_range_re_encrypts(small_parts: World) -> None:
    w = small_parts
    source = random.Random(4).randbytes(300_000)
    put(w, "src", source, SseRequest(SseMode.SSE_C, customer_key=customer()))
    key_arn = w.create_key()
    upload = multipart.create_multipart_upload(
        w.s3, w.ctx(), CreateMultipartUploadRequest("bkt", "dst", sse=SseRequest(SseMode.SSE_KMS, key_arn))
    )
    p1, _ = multipart.upload_part_copy(w.s3, w.ctx(), UploadPartCopyRequest(
        "bkt", "dst", upload.upload_id, 1, "bkt", "src", parse_range("bytes=0-149999"), source_customer_key=customer()))
    p2, _ = multipart.upload_part_copy(w.s3, w.ctx(), UploadPartCopyRequest(
        "bkt", "dst", upload.upload_id, 2, "bkt", "src", parse_range("bytes=150000-299999"),
        source_customer_key=customer()))
    with pytest.raises(errors.InvalidRequest):  # the SSE-C source needs its key
        multipart.upload_part_copy(w.s3, w.ctx(), UploadPartCopyRequest("bkt", "dst", upload.upload_id, 3, "bkt", "src"))
    complete(w, "dst", upload.upload_id, [CompletedPart(1, p1.etag), CompletedPart(2, p2.etag)])
    assert get(w, "dst") == source


def test_put_then_multipart_replace_keeps_one_object(small_parts: World) -> None:
    w = small_parts
    objects.put_object(w.s3, w.ctx(), PutObjectRequest("bkt", "k"), [b"single"])
    upload, done = upload_parts(w, "k", [b"multi"])
    complete(w, "k", upload.upload_id, done)
    assert get(w, "k") == b"multi" and len(w.store.blobs) == 1
