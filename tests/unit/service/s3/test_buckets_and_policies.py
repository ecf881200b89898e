"""Buckets, default encryption and bucket policies through the one authorization
engine (issue 17, s3-sse spec §7)."""

from __future__ import annotations

import json

import pytest

from trent import errors
from trent.domain.principals import IdentityPolicy
from trent.domain.s3.records import EncryptionConfig, SseMode
from trent.service.s3 import bucket_config, buckets, objects
from trent.service.s3.objects import PutObjectRequest
from trent.service.s3.sse_headers import SseRequest

from .conftest import A, ALICE, B, BOB, CAROL, ROOT_A, ROOT_B, World, doc
from .test_objects import get, put


@pytest.fixture()
def w(world: World) -> World:
    buckets.create_bucket(world.s3, world.ctx(), "bkt", None)
    return world


def test_create_bucket_rules(world: World) -> None:
    ctx = world.ctx()
    for bad in ("ab", "UPPER", "a..b", "192.168.1.1", "xn--abc", "bucket-s3alias", "-abc"):
        with pytest.raises(errors.InvalidBucketName):
            buckets.create_bucket(world.s3, ctx, bad, None)
    with pytest.raises(errors.InvalidLocationConstraint):
        buckets.create_bucket(world.s3, ctx, "abc", "us-east-1")
    with pytest.raises(errors.IllegalLocationConstraint, match="The eu-west-1 location constraint is incompatible"):
        buckets.create_bucket(world.s3, ctx, "abc", "eu-west-1")
    eu = world.ctx(region="eu-west-1")
    with pytest.raises(errors.IllegalLocationConstraint, match="The unspecified location constraint"):
        buckets.create_bucket(world.s3, eu, "abc", None)
    created = buckets.create_bucket(world.s3, eu, "abc", "eu-west-1")
    assert created.location == "/abc" and buckets.get_bucket_location(world.s3, ctx, "abc") == "eu-west-1"
    with pytest.raises(errors.BucketAlreadyOwnedByYou):
        buckets.create_bucket(world.s3, eu, "abc", "eu-west-1")
    buckets.create_bucket(world.s3, ctx, "legacy", None)
    buckets.create_bucket(world.s3, ctx, "legacy", None)  # us-east-1: 200 again (S3's legacy answer)
    assert buckets.get_bucket_location(world.s3, ctx, "legacy") is None
    with pytest.raises(errors.BucketAlreadyExists):  # names are global
        buckets.create_bucket(world.s3, world.ctx(ROOT_B), "legacy", None)
    listing = buckets.list_buckets(world.s3, ctx)
    assert [b.name for b in listing.buckets] == ["abc", "legacy"] and len(listing.owner_id) == 64
    assert buckets.list_buckets(world.s3, world.ctx(ROOT_B)).buckets == []


def test_quota(world: World) -> None:
    limited = world.with_settings(max_buckets_per_account=2)
    buckets.create_bucket(limited.s3, limited.ctx(), "one", None)
    buckets.create_bucket(limited.s3, limited.ctx(), "two", None)
    with pytest.raises(errors.TooManyBuckets):
        buckets.create_bucket(limited.s3, limited.ctx(), "three", None)


def test_delete_and_head_bucket(w: World) -> None:
    put(w, "k", b"x")
    with pytest.raises(errors.BucketNotEmpty):
        buckets.delete_bucket(w.s3, w.ctx(), "bkt")
    objects.delete_object(w.s3, w.ctx(), "bkt", "k")
    assert buckets.head_bucket(w.s3, w.ctx(), "bkt").region == "us-east-1"
    buckets.delete_bucket(w.s3, w.ctx(), "bkt")
    for call in (buckets.head_bucket, buckets.delete_bucket, buckets.get_bucket_location):
        with pytest.raises(errors.NoSuchBucket):
            call(w.s3, w.ctx(), "bkt")
    with pytest.raises(errors.NoSuchBucket):
        put(w, "k", b"x")


def test_encryption_configuration(w: World) -> None:
    assert bucket_config.get_bucket_encryption(w.s3, w.ctx(), "bkt") == EncryptionConfig(SseMode.SSE_S3, None, False)
    config = EncryptionConfig(SseMode.SSE_KMS, "alias/x", True)
    bucket_config.put_bucket_encryption(w.s3, w.ctx(), "bkt", [config])
    assert bucket_config.get_bucket_encryption(w.s3, w.ctx(), "bkt") == config
    with pytest.raises(errors.InvalidArgument, match="KMSMasterKeyID is not applicable"):
        bucket_config.put_bucket_encryption(w.s3, w.ctx(), "bkt", [EncryptionConfig(SseMode.SSE_S3, "k")])
    with pytest.raises(errors.MalformedXML):
        bucket_config.put_bucket_encryption(w.s3, w.ctx(), "bkt", [])
    with pytest.raises(errors.MalformedXML):
        bucket_config.parse_sse_algorithm("AES128")
    bucket_config.delete_bucket_encryption(w.s3, w.ctx(), "bkt")
    assert bucket_config.get_bucket_encryption(w.s3, w.ctx(), "bkt").algorithm is SseMode.SSE_S3


# --- authorization ---------------------------------------------------------------------

REQUIRE_KMS = doc(
    {"Sid": "DenyIncorrectEncryptionHeader", "Effect": "Deny", "Principal": "*", "Action": "s3:PutObject",
     "Resource": "arn:aws:s3:::bkt/*",
     "Condition": {"StringNotEquals": {"s3:x-amz-server-side-encryption": "aws:kms"}}},
)


def test_classic_deny_put_without_aws_kms(w: World) -> None:
    """s3-sse spec §7: the classic statement; a PUT relying on default encryption has no
    header, so the Deny applies to it too."""
    bucket_config.put_bucket_policy(w.s3, w.ctx(), "bkt", REQUIRE_KMS)
    key_arn = w.create_key()
    for sse in (SseRequest(), SseRequest(SseMode.SSE_S3)):
        with pytest.raises(errors.AccessDenied) as denied:
            put(w, "k", b"x", sse)
        assert str(denied.value) == (
            f'User: {ALICE} is not authorized to perform: s3:PutObject on resource: "arn:aws:s3:::bkt/k" '
            "with an explicit deny in a resource-based policy"
        )
    put(w, "k", b"x", SseRequest(SseMode.SSE_KMS, key_arn))
    bucket_config.put_bucket_encryption(w.s3, w.ctx(), "bkt", [EncryptionConfig(SseMode.SSE_KMS, key_arn)])
    with pytest.raises(errors.AccessDenied):
        put(w, "k2", b"x")  # default aws:kms is not the header
    assert w.store.blobs and len(w.store.blobs) == 1


def test_same_account_identity_or_bucket_policy_suffices(w: World) -> None:
    with pytest.raises(errors.AccessDenied, match="because no identity-based policy allows the s3:GetObject action"):
        get(w, "k", arn=BOB)
    put(w, "k", b"x")
    bucket_config.put_bucket_policy(w.s3, w.ctx(), "bkt", doc(
        {"Effect": "Allow", "Principal": {"AWS": BOB}, "Action": "s3:GetObject", "Resource": "arn:aws:s3:::bkt/*"}))
    assert get(w, "k", arn=BOB) == b"x"  # bob has no identity policy: the bucket policy alone allows
    with pytest.raises(errors.AccessDenied):
        put(w, "k", b"y", arn=BOB)


def test_cross_account_needs_both_sides(w: World) -> None:
    put(w, "k", b"x")
    with pytest.raises(errors.AccessDenied):
        get(w, "k", arn=ROOT_B)
    bucket_config.put_bucket_policy(w.s3, w.ctx(), "bkt", doc(
        {"Effect": "Allow", "Principal": {"AWS": B}, "Action": "s3:GetObject", "Resource": "arn:aws:s3:::bkt/*"}))
    assert get(w, "k", arn=ROOT_B) == b"x"  # B's root has every identity permission of B
    with pytest.raises(errors.AccessDenied, match="no identity-based policy"):
        get(w, "k", arn=CAROL)
    w.allow_all(CAROL)
    assert get(w, "k", arn=CAROL) == b"x"
    # an identity allow in B without the bucket policy is not enough
    bucket_config.delete_bucket_policy(w.s3, w.ctx(), "bkt")
    with pytest.raises(errors.AccessDenied, match="no resource-based policy"):
        get(w, "k", arn=CAROL)


def test_secure_transport_condition(w: World) -> None:
    bucket_config.put_bucket_policy(w.s3, w.ctx(), "bkt", doc(
        {"Effect": "Deny", "Principal": "*", "Action": "s3:*", "Resource": ["arn:aws:s3:::bkt", "arn:aws:s3:::bkt/*"],
         "Condition": {"Bool": {"aws:SecureTransport": "false"}}}))
    with pytest.raises(errors.AccessDenied):
        put(w, "k", b"x")
    objects.put_object(w.s3, w.ctx(secure=True), PutObjectRequest("bkt", "k"), [b"x"])


def test_object_key_that_looks_like_an_alias_is_still_an_object(w: World) -> None:
    bucket_config.put_bucket_policy(w.s3, w.ctx(), "bkt", doc(
        {"Effect": "Deny", "Principal": "*", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::bkt/x:alias/*"}))
    put(w, "x:alias/y", b"x")
    with pytest.raises(errors.AccessDenied):
        get(w, "x:alias/y")


def test_policy_validation_and_owner_lockout_protection(w: World) -> None:
    for text, message in [
        ("not json", "Policies must be valid JSON and the first byte must be '{'"),
        (doc({"Effect": "Allow", "Action": "s3:*", "Resource": "*"}), "Missing required field Principal"),
        (doc({"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::111122223333:user/ghost"}, "Action": "s3:*",
              "Resource": "arn:aws:s3:::bkt/*"}), "Invalid principal in policy"),
        (doc({"Effect": "Allow", "Principal": "*", "Action": "s3:*", "Resource": "arn:aws:s3:::elsewhere/*"}),
         "Policy has invalid resource"),
        (doc({"Effect": "Allow", "Principal": "*", "Action": "kms:Decrypt", "Resource": "arn:aws:s3:::bkt/*"}),
         "Policy has invalid action"),
    ]:
        with pytest.raises(errors.MalformedPolicy) as raised:
            bucket_config.put_bucket_policy(w.s3, w.ctx(), "bkt", text)
        assert raised.value.message == message
    with pytest.raises(errors.NoSuchBucketPolicy):
        bucket_config.get_bucket_policy(w.s3, w.ctx(), "bkt")
    deny_all = doc({"Effect": "Deny", "Principal": "*", "Action": "s3:*",
                    "Resource": ["arn:aws:s3:::bkt", "arn:aws:s3:::bkt/*"]})
    bucket_config.put_bucket_policy(w.s3, w.ctx(), "bkt", deny_all)
    with pytest.raises(errors.AccessDenied):
        bucket_config.get_bucket_policy(w.s3, w.ctx(), "bkt")
    root = w.ctx(ROOT_A)
    assert json.loads(bucket_config.get_bucket_policy(w.s3, root, "bkt")) == json.loads(deny_all)
    bucket_config.delete_bucket_policy(w.s3, root, "bkt")
    put(w, "k", b"x")


def test_kms_key_condition_key(w: World) -> None:
    key_arn = w.create_key()
    other = w.create_key()
    w.kms.storage.put_identity_policy(IdentityPolicy(BOB, "p", doc(
        {"Effect": "Allow", "Action": "s3:PutObject", "Resource": "*",
         "Condition": {"StringEquals": {"s3:x-amz-server-side-encryption-aws-kms-key-id": key_arn}}},
        {"Effect": "Allow", "Action": "kms:*", "Resource": "*"})))
    put(w, "k", b"x", SseRequest(SseMode.SSE_KMS, key_arn), arn=BOB)
    with pytest.raises(errors.AccessDenied):
        put(w, "k", b"x", SseRequest(SseMode.SSE_KMS, other), arn=BOB)
    assert A in key_arn
