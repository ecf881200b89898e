"""PutObject / GetObject / HeadObject / DeleteObject(s) with every SSE mode (issue 17,
s3-sse spec §1-6), at sizes that cross the 64 KiB segment boundary."""

from __future__ import annotations

import base64
import hashlib
import random
from dataclasses import replace
from typing import Any

import pytest

from trent import errors
from trent.crypto import segments
from trent.domain.principals import IdentityPolicy
from trent.domain.s3.records import EncryptionConfig, ObjectRecord, SseMode
from trent.service.s3 import bucket_config, buckets, objects
from trent.service.s3.object_headers import Conditions, parse_range
from trent.service.s3.objects import GetObjectRequest, PutObjectRequest
from trent.service.s3.sse_headers import CustomerKey, Operation, SseRequest, sse_response_headers

from .conftest import ALICE, BOB, NOW, World, doc

S = segments.SEGMENT_SIZE
SIZES = [0, 1, S - 1, S, S + 1, 3 * S + 17]


def customer(seed: int = 1) -> CustomerKey:
    key = random.Random(seed).randbytes(32)
    return CustomerKey(key, base64.b64encode(hashlib.md5(key).digest()).decode())


def put(world: World, key: str, data: bytes, sse: SseRequest = SseRequest(), bucket: str = "bkt", arn: str = ALICE,
        pieces: int = 3, **fields: object) -> objects.PutObjectResult:
    step = max(1, len(data) // pieces)
    body = (data[i : i + step] for i in range(0, len(data), step))
    return objects.put_object(world.s3, world.ctx(arn), PutObjectRequest(bucket, key, sse=sse, **fields), body)  # type: ignore[arg-type]


def get(world: World, key: str, bucket: str = "bkt", arn: str = ALICE, **fields: object) -> bytes:
    result = objects.get_object(world.s3, world.ctx(arn), GetObjectRequest(bucket, key, **fields))  # type: ignore[arg-type]
    return b"".join(result.body)


@pytest.fixture()
def bucket(world: World) -> str:
    buckets.create_bucket(world.s3, world.ctx(), "bkt", None)
    return "bkt"


def assert_no_plaintext(world: World, data: bytes) -> None:
    probe = data[: 64] if len(data) >= 64 else None
    for blob in world.store.blobs.values():
        if probe:
            assert probe not in blob
        assert hashlib.sha256(data).digest() not in blob


@pytest.mark.parametrize("size", SIZES)
def test_sse_s3_default_round_trip_and_etag_is_md5(world: World, bucket: str, size: int) -> None:
    data = random.Random(size).randbytes(size)
    result = put(world, "k", data)
    assert result.sse.mode is SseMode.SSE_S3
    assert result.etag == f'"{hashlib.md5(data).hexdigest()}"'  # spec §2
    assert sse_response_headers(result.sse, Operation.PUT_OBJECT) == {"x-amz-server-side-encryption": "AES256"}
    assert get(world, "k") == data
    assert_no_plaintext(world, data)
    assert world.calls() == []  # SSE-S3 never calls KMS


@pytest.mark.parametrize("size", [0, S + 1])
def test_sse_kms_round_trip_calls_kms_as_the_caller_via_s3(world: World, bucket: str, size: int) -> None:
    key_arn = world.create_key()
    world.alias("alias/app", key_arn)
    data = random.Random(5).randbytes(size)
    result = put(world, "dir/k", data, SseRequest(SseMode.SSE_KMS, "alias/app", {"team": "x"}))
    assert result.sse.kms_key_arn == key_arn  # spec §2: the key ARN, whatever form was sent
    assert result.etag != f'"{hashlib.md5(data).hexdigest()}"'  # spec §2: opaque for SSE-KMS
    headers = sse_response_headers(result.sse, Operation.PUT_OBJECT)
    assert headers["x-amz-server-side-encryption-aws-kms-key-id"] == key_arn
    assert "x-amz-server-side-encryption-context" in headers
    assert get(world, "dir/k") == data
    gen, dec = world.calls("GenerateDataKey"), world.calls("Decrypt")
    assert len(gen) == 1 and len(dec) == 1
    for call in gen + dec:
        assert call.ctx.principal.arn == ALICE and call.ctx.via_service == "s3.us-east-1.amazonaws.com"
        assert call.encryption_context == {"team": "x", "aws:s3:arn": "arn:aws:s3:::bkt/dir/k"}
        assert call.key_arn == key_arn and call.error is None
    assert gen[0].request_key_id == "alias/app"
    assert_no_plaintext(world, data)


def test_kms_via_service_condition_is_true_for_s3_calls(world: World, bucket: str) -> None:
    """A key usable *only* through S3 (the aws/s3 policy shape, spec §4)."""
    policy = doc(
        {"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::111122223333:root"}, "Action": "kms:*",
         "Resource": "*", "Condition": {"StringEquals": {"kms:ViaService": "s3.us-east-1.amazonaws.com"}}},
    )
    key_arn = world.create_key(policy=None)
    world.kms.storage.update_key(world.kms.storage.get_key("us-east-1", key_arn.rsplit("/", 1)[1]).with_changes(policy=policy))  # type: ignore[union-attr]
    put(world, "k", b"via s3", SseRequest(SseMode.SSE_KMS, key_arn))
    assert get(world, "k") == b"via s3"
    from trent.service import encryption

    with pytest.raises(errors.AccessDenied):  # the same caller, directly: no ViaService
        encryption.generate_data_key(world.kms, world.ctx(), key_arn, "AES_256", None, None)


def test_caller_without_kms_decrypt_cannot_read(world: World, bucket: str) -> None:
    policy = doc(
        {"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::111122223333:root"}, "Action": "kms:*", "Resource": "*"},
        {"Effect": "Deny", "Principal": {"AWS": BOB}, "Action": "kms:Decrypt", "Resource": "*"},
    )
    key_arn = world.create_key()
    key_id = key_arn.rsplit("/", 1)[1]
    world.kms.storage.update_key(world.kms.storage.get_key("us-east-1", key_id).with_changes(policy=policy))  # type: ignore[union-attr]
    world.allow_all(BOB)
    put(world, "k", b"secret", SseRequest(SseMode.SSE_KMS, key_arn))
    with pytest.raises(errors.AccessDenied) as denied:
        get(world, "k", arn=BOB)
    assert str(denied.value) == (
        f"User: {BOB} is not authorized to perform: kms:Decrypt on resource: {key_arn} "
        "with an explicit deny in a resource-based policy"
    )
    failed = world.calls("Decrypt")[-1]
    assert failed.error is not None and failed.ctx.principal.arn == BOB
    assert get(world, "k") == b"secret"  # alice still can


def test_kms_errors_propagate_as_kms_errors(world: World, bucket: str) -> None:
    with pytest.raises(errors.NotFound):
        put(world, "k", b"x", SseRequest(SseMode.SSE_KMS, "alias/missing"))
    assert world.calls("GenerateDataKey")[-1].error is not None
    key_arn = world.create_key()
    key = world.kms.storage.get_key("us-east-1", key_arn.rsplit("/", 1)[1])
    from trent.domain.keys import KeyState

    world.kms.storage.update_key(key.with_changes(state=KeyState.DISABLED))  # type: ignore[union-attr]
    with pytest.raises(errors.Disabled):
        put(world, "k", b"x", SseRequest(SseMode.SSE_KMS, key_arn))
    assert world.store.blobs == {}  # nothing stored for a refused write


def test_default_key_is_the_aws_managed_key_created_on_first_use(world: World, bucket: str) -> None:
    """spec §4: SSE-KMS without a key id uses aws/s3, created in the account on first use
    (issue 19's managed_key); only S3 may use it for the account's principals."""
    first = put(world, "k", b"x", SseRequest(SseMode.SSE_KMS)).sse.kms_key_arn
    alias = world.kms.storage.get_alias("111122223333", "us-east-1", "alias/aws/s3")
    assert alias is not None and first is not None and first.endswith(alias.target_key_id or "?")
    assert put(world, "k2", b"y", SseRequest(SseMode.SSE_KMS)).sse.kms_key_arn == first
    assert get(world, "k") == b"x"
    from trent.domain.keys import KeyManager
    from trent.service import encryption

    key = world.kms.storage.get_key("us-east-1", first.rsplit("/", 1)[1])
    assert key is not None and key.key_manager is KeyManager.AWS
    with pytest.raises(errors.AccessDenied):  # directly, without ViaService s3
        encryption.generate_data_key(world.kms, world.ctx(), first, "AES_256", None, None)


def test_bucket_default_encryption_applies_and_headers_override(world: World, bucket: str) -> None:
    key_arn = world.create_key()
    bucket_config.put_bucket_encryption(world.s3, world.ctx(), "bkt", [EncryptionConfig(SseMode.SSE_KMS, key_arn)])
    assert put(world, "a", b"1").sse.kms_key_arn == key_arn
    assert put(world, "b", b"2", SseRequest(SseMode.SSE_S3)).sse.mode is SseMode.SSE_S3
    bucket_config.delete_bucket_encryption(world.s3, world.ctx(), "bkt")
    assert put(world, "c", b"3").sse.mode is SseMode.SSE_S3


def test_bucket_keys_cut_kms_calls(world: World, bucket: str) -> None:
    key_arn = world.create_key()
    bucket_config.put_bucket_encryption(world.s3, world.ctx(), "bkt", [EncryptionConfig(SseMode.SSE_KMS, key_arn, True)])
    for i in range(200):
        result = put(world, f"o{i}", f"data {i}".encode())
        assert result.sse.bucket_key and result.sse.kms_key_arn == key_arn
    assert sse_response_headers(result.sse, Operation.GET_OBJECT)["x-amz-server-side-encryption-bucket-key-enabled"] == "true"
    gen = world.calls("GenerateDataKey")
    assert len(gen) == 1 and gen[0].encryption_context == {"aws:s3:arn": "arn:aws:s3:::bkt"}  # spec §5
    for i in range(200):
        assert get(world, f"o{i}") == f"data {i}".encode()
    assert world.calls("Decrypt") == []  # the writer's own bucket key is cached for reading
    # another caller reads through its own Decrypt (one), never through alice's cache
    world.allow_all(BOB)
    for i in range(5):
        assert get(world, f"o{i}", arn=BOB) == f"data {i}".encode()
    assert [c.ctx.principal.arn for c in world.calls("Decrypt")] == [BOB]
    # bounded time: after the lifetime the next write asks KMS again
    world.kms.clock.advance(world.s3.settings.bucket_key_lifetime_seconds + 1)  # type: ignore[attr-defined]
    put(world, "late", b"x")
    assert len(world.calls("GenerateDataKey")) == 2
    # per-object keys differ although they share the bucket key
    b = world.s3.repo
    assert b.get_object("bkt", "o1").sse.derivation_salt != b.get_object("bkt", "o2").sse.derivation_salt  # type: ignore[union-attr]


def test_sse_c_round_trip_and_errors(world: World, bucket: str) -> None:
    key = customer()
    data = random.Random(9).randbytes(S + 3)
    result = put(world, "c", data, SseRequest(SseMode.SSE_C, customer_key=key))
    assert result.etag != f'"{hashlib.md5(data).hexdigest()}"'
    assert sse_response_headers(result.sse, Operation.PUT_OBJECT) == {
        "x-amz-server-side-encryption-customer-algorithm": "AES256",
        "x-amz-server-side-encryption-customer-key-MD5": key.key_md5,
    }
    assert get(world, "c", customer_key=key) == data
    stored = world.s3.repo.get_object("bkt", "c")
    assert stored is not None and key.key not in stored.sse.key_blob and key.key not in (stored.sse.customer_key_hmac or b"")
    with pytest.raises(errors.InvalidRequest, match="The object was stored using a form of Server Side Encryption"):
        get(world, "c")
    with pytest.raises(errors.AccessDenied):
        get(world, "c", customer_key=customer(2))
    put(world, "plain", b"x")
    with pytest.raises(errors.InvalidRequest, match="The encryption parameters are not applicable to this object."):
        get(world, "plain", customer_key=key)
    assert_no_plaintext(world, data)


def test_sse_c_needs_tls_outside_dev(world: World, bucket: str) -> None:
    strict = world.with_settings(sse_c_requires_tls=True)
    with pytest.raises(errors.InvalidRequest, match="must be made over a secure connection"):
        put(strict, "c", b"x", SseRequest(SseMode.SSE_C, customer_key=customer()))
    result = objects.put_object(strict.s3, strict.ctx(secure=True),
                                PutObjectRequest("bkt", "c", sse=SseRequest(SseMode.SSE_C, customer_key=customer())),
                                [b"x"])
    assert result.sse.mode is SseMode.SSE_C


def test_ranges_read_only_needed_segments(world: World, bucket: str) -> None:
    data = random.Random(3).randbytes(10 * S)
    put(world, "big", data)
    world.store.reads.clear()
    assert get(world, "big", range=parse_range(f"bytes={4 * S + 10}-{5 * S + 2}")) == data[4 * S + 10 : 5 * S + 3]
    (name, start, end), = world.store.reads
    assert (start, end) == (24 + 4 * (S + 16), 24 + 6 * (S + 16))
    assert get(world, "big", range=parse_range("bytes=-5")) == data[-5:]
    assert get(world, "big", range=parse_range(f"bytes={10 * S - 1}-")) == data[-1:]
    result = objects.get_object(world.s3, world.ctx(), GetObjectRequest("bkt", "big", range=parse_range("bytes=0-9")))
    assert result.content_range == f"bytes 0-9/{10 * S}" and result.content_length == 10
    with pytest.raises(errors.InvalidRange):
        get(world, "big", range=parse_range(f"bytes={10 * S}-"))
    assert get(world, "big", range=parse_range("bytes=5-1")) == data  # ignored, whole object


def test_conditional_get(world: World, bucket: str) -> None:
    etag = put(world, "k", b"hello").etag
    assert get(world, "k", conditions=Conditions(if_match=etag)) == b"hello"
    with pytest.raises(errors.PreconditionFailed):
        get(world, "k", conditions=Conditions(if_match='"nope"'))
    with pytest.raises(errors.NotModified):
        get(world, "k", conditions=Conditions(if_none_match=etag))
    with pytest.raises(errors.NotModified):
        get(world, "k", conditions=Conditions(if_modified_since=NOW + 10))
    # S3: If-Match true wins over If-Unmodified-Since false
    assert get(world, "k", conditions=Conditions(if_match=etag, if_unmodified_since=NOW - 100)) == b"hello"


def test_content_md5_and_checksums(world: World, bucket: str) -> None:
    data = b"x" * 1000
    good = base64.b64encode(hashlib.md5(data).digest()).decode()
    put(world, "ok", data, content_md5=good)
    with pytest.raises(errors.BadDigest):
        put(world, "bad", data, content_md5=base64.b64encode(b"\0" * 16).decode())
    with pytest.raises(errors.InvalidDigest):
        put(world, "bad", data, content_md5="abc")
    from trent.crypto.checksums import checksum_of

    result = put(world, "cs", data, checksum_algorithm="crc32c", checksum_value=checksum_of("crc32c", data))
    assert result.record.checksum_value == checksum_of("crc32c", data)
    with pytest.raises(errors.BadDigest, match="CRC32C"):
        put(world, "bad", data, checksum_algorithm="crc32c", checksum_value=checksum_of("crc32c", b"y"))
    assert world.s3.repo.get_object("bkt", "bad") is None
    assert len(world.store.blobs) == 2  # the refused bodies left nothing behind


def test_body_error_mid_stream_leaves_nothing(world: World, bucket: str) -> None:
    put(world, "k", b"old")

    def body():
        yield b"a" * (2 * S)
        raise errors.InvalidSignature(audit_reason="chunk signature mismatch")

    with pytest.raises(errors.InvalidSignature):
        objects.put_object(world.s3, world.ctx(), PutObjectRequest("bkt", "k"), body())
    assert get(world, "k") == b"old" and len(world.store.blobs) == 1


def test_replacing_and_deleting_remove_old_blobs(world: World, bucket: str) -> None:
    put(world, "k", b"one")
    put(world, "k", b"two")
    assert len(world.store.blobs) == 1 and get(world, "k") == b"two"
    objects.delete_object(world.s3, world.ctx(), "bkt", "k")
    objects.delete_object(world.s3, world.ctx(), "bkt", "k")  # idempotent
    assert world.store.blobs == {}
    put(world, "x", b"1")
    out = objects.delete_objects(world.s3, world.ctx(), "bkt", ["x", "y"])
    assert [(o.key, o.error) for o in out] == [("x", None), ("y", None)]


def test_delete_objects_deletes_in_key_order_and_answers_in_request_order(world: World, bucket: str) -> None:
    """Rows are locked in one order whatever order a request names them in (two calls
    naming [a, b] and [b, a] deadlocked on PostgreSQL), each key once; the answer keeps
    the request's order, repeats included, and a denied key is an Error of its own."""
    for key in ("a", "b", "c", "secret"):
        put(world, key, b"x")
    world.kms.storage.put_identity_policy(IdentityPolicy(BOB, "delete", doc(
        {"Effect": "Allow", "Action": "s3:DeleteObject", "Resource": "arn:aws:s3:::bkt/*"},
        {"Effect": "Deny", "Action": "s3:DeleteObject", "Resource": "arn:aws:s3:::bkt/secret"},
    )))
    repo = world.s3.repo
    deleted: list[str] = []

    class Recording:
        def __getattr__(self, name: str) -> Any:
            return getattr(repo, name)

        def delete_object(self, bucket: str, key: str) -> ObjectRecord | None:
            deleted.append(key)
            return repo.delete_object(bucket, key)

    s3 = replace(world.s3, repo=Recording())
    out = objects.delete_objects(s3, world.ctx(BOB), "bkt", ["c", "secret", "a", "zz", "c", "b"])
    assert [(o.key, None if o.error is None else type(o.error).__name__) for o in out] == [
        ("c", None), ("secret", "AccessDenied"), ("a", None), ("zz", None), ("c", None), ("b", None)
    ]
    assert deleted == ["a", "b", "c", "zz"]
    assert get(world, "secret") == b"x"
    with pytest.raises(errors.NoSuchKey):
        get(world, "c")


def test_missing_key_is_access_denied_without_list_bucket(world: World, bucket: str) -> None:
    with pytest.raises(errors.NoSuchKey):
        get(world, "nope")
    world.kms.storage.put_identity_policy(
        __import__("trent.domain.principals", fromlist=["IdentityPolicy"]).IdentityPolicy(
            BOB, "get", doc({"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"})
        )
    )
    with pytest.raises(errors.AccessDenied):
        get(world, "nope", arn=BOB)


def test_if_none_match_star_is_create_only(world: World, bucket: str) -> None:
    put(world, "k", b"1", if_none_match="*")
    with pytest.raises(errors.PreconditionFailed):
        put(world, "k", b"2", if_none_match="*")
    with pytest.raises(errors.HeaderNotImplemented):
        put(world, "k", b"2", if_none_match='"etag"')


def test_head_checks_everything_but_returns_no_body(world: World, bucket: str) -> None:
    key_arn = world.create_key()
    put(world, "k", b"abc", SseRequest(SseMode.SSE_KMS, key_arn))
    calls = len(world.calls())
    result = objects.get_object(world.s3, world.ctx(), GetObjectRequest("bkt", "k"), head=True)
    assert list(result.body) == [] and result.content_length == 3 and result.record.sse.kms_key_arn == key_arn
    assert len(world.calls()) == calls  # no data key needed for HEAD
    put(world, "c", b"abc", SseRequest(SseMode.SSE_C, customer_key=customer()))
    with pytest.raises(errors.InvalidRequest):
        objects.get_object(world.s3, world.ctx(), GetObjectRequest("bkt", "c"), head=True)
    with pytest.raises(errors.AccessDenied):
        objects.get_object(world.s3, world.ctx(), GetObjectRequest("bkt", "c", customer_key=customer(3)), head=True)
    head = objects.get_object(world.s3, world.ctx(), GetObjectRequest("bkt", "c", customer_key=customer()), head=True)
    assert head.record.sse.customer_key_md5 == customer().key_md5
