"""CopyObject, and the in-place copy that changes an object's encryption (s3-sse spec §5, §7)."""

from __future__ import annotations

import pytest

from trent import errors
from trent.domain.s3.records import EncryptionConfig, ObjectMetadata, SseMode
from trent.service.s3 import bucket_config, buckets, copy
from trent.service.s3.copy import CopyObjectRequest, parse_copy_source
from trent.service.s3.object_headers import Conditions
from trent.service.s3.sse_headers import SseRequest

from .conftest import World
from .test_objects import customer, get, put


@pytest.fixture()
def w(world: World) -> World:
    buckets.create_bucket(world.s3, world.ctx(), "bkt", None)
    buckets.create_bucket(world.s3, world.ctx(), "other", None)
    return world


def test_in_place_copy_changes_the_encryption(w: World) -> None:
    put(w, "k", b"data" * 40_000, content_md5=None)
    before = w.s3.repo.get_object("bkt", "k")
    assert before is not None and before.sse.mode is SseMode.SSE_S3
    key_arn = w.create_key()
    record = copy.copy_object(w.s3, w.ctx(), CopyObjectRequest("bkt", "k", "bkt", "k", sse=SseRequest(SseMode.SSE_KMS, key_arn)))
    assert record.sse.mode is SseMode.SSE_KMS and record.sse.kms_key_arn == key_arn
    assert get(w, "k") == b"data" * 40_000
    assert record.blobs[0].content_id != before.blobs[0].content_id and len(w.store.blobs) == 1
    # ... and back to SSE-C, then SSE-S3
    copy.copy_object(w.s3, w.ctx(), CopyObjectRequest("bkt", "k", "bkt", "k",
                                                      sse=SseRequest(SseMode.SSE_C, customer_key=customer())))
    assert get(w, "k", customer_key=customer()) == b"data" * 40_000
    copy.copy_object(w.s3, w.ctx(), CopyObjectRequest("bkt", "k", "bkt", "k", sse=SseRequest(SseMode.SSE_S3),
                                                      source_customer_key=customer()))
    assert get(w, "k") == b"data" * 40_000


def test_in_place_copy_applies_a_bucket_key(w: World) -> None:
    key_arn = w.create_key()
    put(w, "k", b"x", SseRequest(SseMode.SSE_KMS, key_arn))
    bucket_config.put_bucket_encryption(w.s3, w.ctx(), "bkt", [EncryptionConfig(SseMode.SSE_KMS, key_arn, True)])
    record = copy.copy_object(w.s3, w.ctx(), CopyObjectRequest("bkt", "k", "bkt", "k",
                                                               sse=SseRequest(SseMode.SSE_KMS, key_arn, bucket_key_enabled=True)))
    assert record.sse.bucket_key


def test_in_place_copy_without_change_is_refused(w: World) -> None:
    put(w, "k", b"x")
    with pytest.raises(errors.InvalidRequest, match="trying to copy an object to itself without changing"):
        copy.copy_object(w.s3, w.ctx(), CopyObjectRequest("bkt", "k", "bkt", "k"))
    meta = ObjectMetadata("text/plain", {"a": "b"})
    record = copy.copy_object(w.s3, w.ctx(), CopyObjectRequest("bkt", "k", "bkt", "k", "REPLACE", meta))
    assert record.metadata == meta


def test_copy_uses_destination_default_not_source_encryption(w: World) -> None:
    key_arn = w.create_key()
    put(w, "src", b"payload", SseRequest(SseMode.SSE_KMS, key_arn), metadata=ObjectMetadata("text/x", {"m": "1"}))
    record = copy.copy_object(w.s3, w.ctx(), CopyObjectRequest("other", "dst", "bkt", "src"))
    assert record.sse.mode is SseMode.SSE_S3 and record.metadata.user == {"m": "1"}
    assert get(w, "dst", bucket="other") == b"payload"
    assert [c.operation for c in w.calls()] == ["GenerateDataKey", "Decrypt"]  # spec §4: Decrypt for the source


def test_copy_source_conditions_and_sse_c_source(w: World) -> None:
    put(w, "c", b"secret", SseRequest(SseMode.SSE_C, customer_key=customer()))
    with pytest.raises(errors.InvalidRequest):
        copy.copy_object(w.s3, w.ctx(), CopyObjectRequest("bkt", "d", "bkt", "c"))
    with pytest.raises(errors.PreconditionFailed):
        copy.copy_object(w.s3, w.ctx(), CopyObjectRequest("bkt", "d", "bkt", "c", source_customer_key=customer(),
                                                          source_conditions=Conditions(if_match='"x"', copy_source=True)))
    copy.copy_object(w.s3, w.ctx(), CopyObjectRequest("bkt", "d", "bkt", "c", source_customer_key=customer()))
    assert get(w, "d") == b"secret"
    with pytest.raises(errors.NoSuchKey):
        copy.copy_object(w.s3, w.ctx(), CopyObjectRequest("bkt", "d", "bkt", "missing"))


@pytest.mark.parametrize(
    ("header", "expected"),
    [("bkt/a/b c", ("bkt", "a/b c")), ("/bkt/a%2Fb%20c", ("bkt", "a/b c")), ("bkt/k?versionId=null", ("bkt", "k"))],
)
def test_parse_copy_source(header: str, expected: tuple[str, str]) -> None:
    assert parse_copy_source(header) == expected


@pytest.mark.parametrize("header", ["bkt", "/bkt/", "bkt/k?versionId=abc"])
def test_parse_copy_source_refuses(header: str) -> None:
    with pytest.raises(errors.InvalidArgument):
        parse_copy_source(header)
