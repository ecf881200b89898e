"""KMS calls made by S3 for a caller become KMS CloudTrail events with invokedBy
s3.amazonaws.com (s3-sse spec §4); S3-owned keys move with `trent admin rewrap-root`."""

from __future__ import annotations

import os

import pytest

from trent import errors
from trent.audit.events import Caller
from trent.domain.s3.records import SseMode
from trent.keystores.root_key import AesRootKey
from trent.protocol.via_service_audit import kms_event
from trent.service.root_rewrap import rewrap_root
from trent.service.s3 import buckets
from trent.service.s3.sse_headers import SseRequest

from .conftest import ALICE, World
from .test_objects import get, put

CALLER = Caller("IAMUser", "AIDAALICE", ALICE, "111122223333", "AKIATEST", "alice")


def test_kms_events_show_s3_as_the_invoker(world: World) -> None:
    buckets.create_bucket(world.s3, world.ctx(), "bkt", None)
    key_arn = world.create_key()
    put(world, "k", b"x", SseRequest(SseMode.SSE_KMS, key_arn, {"dept": "a"}))
    get(world, "k")
    generate, decrypt = (kms_event(c, CALLER) for c in world.calls())
    for event in (generate, decrypt):
        assert event["eventSource"] == "kms.amazonaws.com"
        assert event["userIdentity"]["invokedBy"] == "s3.amazonaws.com"
        assert event["userIdentity"]["arn"] == ALICE
        assert event["sourceIPAddress"] == event["userAgent"] == "s3.amazonaws.com"
        assert event["requestParameters"]["encryptionContext"] == {"dept": "a", "aws:s3:arn": "arn:aws:s3:::bkt/k"}
        assert event["resources"] == [{"accountId": "111122223333", "type": "AWS::KMS::Key", "ARN": key_arn}]
        assert "errorCode" not in event
    assert generate["eventName"] == "GenerateDataKey" and generate["requestParameters"]["keyId"] == key_arn
    assert generate["requestParameters"]["keySpec"] == "AES_256"
    assert decrypt["eventName"] == "Decrypt" and decrypt["requestParameters"]["encryptionAlgorithm"] == "SYMMETRIC_DEFAULT"


def test_failed_kms_call_is_audited_with_the_kms_error_code(world: World) -> None:
    buckets.create_bucket(world.s3, world.ctx(), "bkt", None)
    with pytest.raises(errors.NotFound):
        put(world, "k", b"x", SseRequest(SseMode.SSE_KMS, "alias/none"))
    event = kms_event(world.calls()[-1], CALLER)
    assert event["errorCode"] == "NotFoundException" and "alias/none" in event["errorMessage"]
    assert event["resources"] == []


def test_audit_hook_failure_fails_the_request(world: World) -> None:
    buckets.create_bucket(world.s3, world.ctx(), "bkt", None)
    key_arn = world.create_key()

    def broken(_call: object) -> None:
        raise errors.KMSInternal(audit_reason="audit sink down")

    from dataclasses import replace

    w = replace(world, s3=replace(world.s3, kms_audit=broken))
    with pytest.raises(errors.KMSInternal):
        put(w, "k", b"x", SseRequest(SseMode.SSE_KMS, key_arn))
    assert world.s3.repo.get_object("bkt", "k") is None


def test_rewrap_root_moves_s3_owned_keys(world: World) -> None:
    buckets.create_bucket(world.s3, world.ctx(), "bkt", None)
    put(world, "k", b"sse-s3 data")
    new_root = AesRootKey(os.urandom(32))
    report = rewrap_root(world.kms.storage, world.kms.root_key, new_root)
    assert report.rewrapped >= 1
    from dataclasses import replace

    from trent.service.s3.owned_keys import OwnedKeys

    moved = replace(world, s3=replace(world.s3, kms=replace(world.kms, root_key=new_root), owned_keys=OwnedKeys()))
    assert get(moved, "k") == b"sse-s3 data"
    stale = replace(world, s3=replace(world.s3, owned_keys=OwnedKeys()))
    with pytest.raises(errors.KMSInternal):
        get(stale, "k")  # the old root no longer opens it


def test_owned_key_rotation(world: World) -> None:
    buckets.create_bucket(world.s3, world.ctx(), "bkt", None)
    put(world, "old", b"1")
    first = world.s3.repo.current_owned_key()
    world.kms.clock.advance(world.s3.settings.owned_key_rotation_seconds + 61)  # type: ignore[attr-defined]
    put(world, "new", b"2")
    second = world.s3.repo.current_owned_key()
    assert first is not None and second is not None and first.key_id != second.key_id
    assert world.s3.repo.get_object("bkt", "old").sse.owned_key_id == first.key_id  # type: ignore[union-attr]
    assert get(world, "old") == b"1" and get(world, "new") == b"2"


def test_an_owned_key_rolled_back_with_its_request_is_not_cached_as_current(world: World) -> None:
    """The first SSE-S3 write creates the owned key inside the request's transaction; if that
    rolls back (an audit write failure), later objects must not be sealed under a key whose
    row does not exist."""
    buckets.create_bucket(world.s3, world.ctx(), "bkt", None)
    storage = world.kms.storage
    with pytest.raises(RuntimeError), storage.atomic():
        key_id, _ = world.s3.owned_keys.current(world.s3)
        raise RuntimeError("the audit append failed")
    assert world.s3.repo.current_owned_key() is None  # rolled back
    put(world, "k", b"x")
    stored = world.s3.repo.get_object("bkt", "k")
    assert stored is not None and stored.sse.owned_key_id != key_id
    assert world.s3.repo.get_owned_key(stored.sse.owned_key_id) is not None
    assert get(world, "k") == b"x"
