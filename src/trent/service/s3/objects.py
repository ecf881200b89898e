"""PutObject, GetObject / HeadObject (Range, partNumber, conditional headers),
DeleteObject, DeleteObjects (issue 17).

Streaming seams (phase 2 wires them):

* PutObject takes the decoded body as a *lazy* iterable of bytes. Nothing reads it
  before authorization and the data key are settled, so the front door can answer
  ``Expect: 100-continue`` only when the first piece is pulled; chunk signatures and
  trailing checksums are verified by the iterable itself (``protocol.sigv4``), and an
  error raised from it leaves nothing stored.
* GetObject returns the object's facts and a lazy ``body`` iterator: every check and
  the KMS Decrypt happen before it is returned (so errors are proper responses); the
  iterator then reads and decrypts segment by segment. An error raised *from* the
  iterator (a stored blob that does not authenticate) happens after the headers were
  sent: the front door must abort the connection.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field

from trent import errors
from trent.domain.frozen import fast_init
from trent.domain.s3.names import check_object_key, object_arn
from trent.domain.s3.records import Bucket, ObjectMetadata, ObjectRecord, SseMode, SseRecord
from trent.service.context import RequestContext
from trent.service.s3 import authorization as authz
from trent.service.s3 import etags, sse_c
from trent.service.s3.buckets import require_bucket
from trent.service.s3.content import decode_content_md5, delete_blobs, delete_stored, object_bytes, write_blob
from trent.service.s3.data_keys import new_data_key, open_data_key
from trent.service.s3.deps import S3Deps
from trent.service.s3.object_headers import ByteRange, Conditions, check_conditions
from trent.service.s3.sse_headers import CustomerKey, SseRequest
from trent.storage.repositories import Duplicate
from trent.storage.s3_repository import BucketGone

MAX_DELETE_KEYS = 1000


@fast_init
@dataclass(frozen=True, slots=True)
class PutObjectRequest:
    bucket: str
    key: str
    metadata: ObjectMetadata = field(default_factory=ObjectMetadata)
    sse: SseRequest = field(default_factory=SseRequest)
    content_md5: str | None = None  # Content-MD5 header (base64)
    checksum_algorithm: str | None = None  # crc32, crc32c, crc64nvme, sha1, sha256
    checksum_value: str | None = None  # x-amz-checksum-<algorithm> header (not the trailer)
    content_length: int | None = None  # the decoded length, when the front knows it
    if_none_match: str | None = None  # "*": create only (S3 conditional writes)
    storage_class: str | None = None


@fast_init
@dataclass(frozen=True, slots=True)
class PutObjectResult:
    record: ObjectRecord

    @property
    def etag(self) -> str:
        return self.record.etag

    @property
    def sse(self) -> SseRecord:
        return self.record.sse


def check_storage_class(value: str | None) -> str:
    if value is None or value == "STANDARD":
        return "STANDARD"
    # [?] Trent stores one class; others are refused rather than silently ignored
    raise errors.InvalidArgument(
        "Trent stores every object in the STANDARD storage class",
        details={"ArgumentName": "x-amz-storage-class", "ArgumentValue": value[:64]},
    )


def store_object(
    deps: S3Deps,
    ctx: RequestContext,
    bucket: Bucket,
    key: str,
    metadata: ObjectMetadata,
    sse: SseRequest,
    body: Iterable[bytes | memoryview],
    *,
    content_md5: str | None = None,
    checksum_algorithm: str | None = None,
    checksum_value: str | None = None,
    content_length: int | None = None,
    storage_class: str = "STANDARD",
    only_if_absent: bool = False,
) -> ObjectRecord:
    """Encrypt ``body`` under a new data key into a new blob, then write the object row
    (PutObject, CopyObject). The blob is streamed before the row's write, so no write
    transaction is open during the upload; the front door commits the row with the
    call's events (front_door.py, two phases). ``only_if_absent``: S3's conditional
    write (If-None-Match: *), decided in the database transaction so two racing
    creators cannot both win."""
    md5 = decode_content_md5(content_md5)
    arn = object_arn(ctx.partition, bucket.name, key)
    new_key = new_data_key(deps, ctx, bucket, arn, sse)
    written = write_blob(
        deps, new_key.data_key, 0, body, content_md5=md5, checksum_algorithm=checksum_algorithm,
        checksum_value=checksum_value, declared_length=content_length, need_md5=etags.needs_md5(new_key.sse.mode),
    )
    record = ObjectRecord(
        bucket=bucket.name,
        key=key,
        size=written.blob.size,
        etag=etags.single_part(new_key.sse.mode, written.md5, written.blob.content_id),
        last_modified=deps.kms.clock.now(),
        metadata=metadata,
        sse=new_key.sse,
        blobs=(written.blob,),
        checksum_algorithm=written.checksum_algorithm,
        checksum_value=written.checksum_value,
        storage_class=storage_class,
    )
    try:
        replaced = deps.repo.put_object(record, only_if_absent=only_if_absent)
    except (BucketGone, Duplicate) as exc:
        delete_blobs(deps, record.blobs)
        raise row_refusal(record, exc) from None
    if replaced:
        delete_stored(deps, replaced)
    return record


def row_refusal(record: ObjectRecord, refused: BucketGone | Duplicate) -> errors.TrentError:
    """What the caller is told when the database refused ``record``'s row: the bucket was
    deleted meanwhile, or (``only_if_absent``) the key exists. Shared with PutObject's
    group commit (protocol/s3/grouped_puts.py), which applies rows for other threads."""
    if isinstance(refused, BucketGone):
        return errors.NoSuchBucket(details={"BucketName": record.bucket})
    return errors.PreconditionFailed(details={"Condition": "If-None-Match"})


def put_object(
    deps: S3Deps, ctx: RequestContext, request: PutObjectRequest, body: Iterable[bytes | memoryview]
) -> PutObjectResult:
    check_object_key(request.key)
    bucket = require_bucket(deps, request.bucket)
    authz.authorize(deps, ctx, authz.PUT_OBJECT, bucket, request.key, authz.sse_condition_keys(request.sse))
    storage_class = check_storage_class(request.storage_class)
    if request.if_none_match is not None:
        if request.if_none_match.strip() != "*":
            raise errors.HeaderNotImplemented(details={"Header": "If-None-Match"})
        if deps.repo.get_object(bucket.name, request.key) is not None:  # early answer, before the body
            raise errors.PreconditionFailed(details={"Condition": "If-None-Match"})
    record = store_object(
        deps, ctx, bucket, request.key, request.metadata, request.sse, body,
        content_md5=request.content_md5, checksum_algorithm=request.checksum_algorithm,
        checksum_value=request.checksum_value, content_length=request.content_length, storage_class=storage_class,
        only_if_absent=request.if_none_match is not None,
    )
    return PutObjectResult(record)


# --- reading -------------------------------------------------------------------------


@fast_init
@dataclass(frozen=True, slots=True)
class GetObjectRequest:
    bucket: str
    key: str
    customer_key: CustomerKey | None = None
    conditions: Conditions = field(default_factory=Conditions)
    range: ByteRange | None = None
    part_number: int | None = None


@fast_init
@dataclass(frozen=True, slots=True)
class GetObjectResult:
    record: ObjectRecord
    start: int  # first byte returned
    end: int  # last byte returned (start - 1 for an empty body)
    partial: bool  # 206 with Content-Range (Range or partNumber)
    body: Iterator[bytes | memoryview] = field(repr=False)

    @property
    def content_length(self) -> int:
        return self.end - self.start + 1

    @property
    def content_range(self) -> str | None:
        if not self.partial:
            return None
        return f"bytes {self.start}-{self.end}/{self.record.size}"


def find_object(deps: S3Deps, ctx: RequestContext, bucket: Bucket, key: str) -> ObjectRecord:
    """The object, or NoSuchKey — or AccessDenied for a caller that may not list the
    bucket (S3 does not reveal a missing key to someone without s3:ListBucket)."""
    record = deps.repo.get_object(bucket.name, key)
    if record is None:
        if not authz.allowed(deps, ctx, authz.LIST_BUCKET, bucket):
            raise errors.AccessDenied("Access Denied")
        raise errors.NoSuchKey(details={"Key": key})
    return record


def _part_span(record: ObjectRecord, part_number: int) -> tuple[int, int]:
    count = record.parts_count or 1
    if not 1 <= part_number <= count:
        raise errors.InvalidPartNumber(details={"PartNumberRequested": str(part_number),
                                                "ActualPartCount": str(count)})
    if record.parts_count is None:
        return 0, record.size - 1
    offset = sum(b.size for b in record.blobs[: part_number - 1])
    return offset, offset + record.blobs[part_number - 1].size - 1


def get_object(deps: S3Deps, ctx: RequestContext, request: GetObjectRequest, *, head: bool = False) -> GetObjectResult:
    """GetObject (``head=False``) and HeadObject (``head=True``: the same checks and
    headers, no body and no data key)."""
    bucket = require_bucket(deps, request.bucket)
    authz.authorize(deps, ctx, authz.GET_OBJECT, bucket, request.key)
    record = find_object(deps, ctx, bucket, request.key)
    if request.range is not None and request.part_number is not None:
        raise errors.InvalidRequest("Cannot specify both Range header and partNumber query parameter")
    check_conditions(request.conditions, record.etag, record.last_modified)
    arn = object_arn(ctx.partition, bucket.name, record.key)
    if head:
        # HEAD needs no data key: SSE-C headers are still checked against the stored HMAC;
        # [?] no KMS Decrypt for SSE-KMS (S3 answers HEAD from the object's metadata)
        sse_c.check_request(record.sse, request.customer_key)
        if record.sse.mode is SseMode.SSE_C:
            sse_c.require_secure(ctx, deps.settings.sse_c_requires_tls)
        data_key = b""
    else:
        data_key = open_data_key(deps, ctx, bucket.name, arn, record.sse, request.customer_key)
    partial = False
    start, end = 0, record.size - 1
    if request.part_number is not None:
        start, end = _part_span(record, request.part_number)
        partial = True
    elif request.range is not None:
        start, end = request.range.resolve(record.size)
        partial = True
    if head:
        body: Iterator[bytes | memoryview] = iter(())
    else:
        body = object_bytes(deps, data_key, record, start, end)
    return GetObjectResult(record, start, end, partial, body)


# --- deleting ------------------------------------------------------------------------


def delete_object(deps: S3Deps, ctx: RequestContext, bucket_name: str, key: str) -> None:
    """204 whether or not the key existed (S3 without versioning)."""
    bucket = require_bucket(deps, bucket_name)
    authz.authorize(deps, ctx, authz.DELETE_OBJECT, bucket, key)
    removed = deps.repo.delete_object(bucket.name, key)
    if removed is not None:
        delete_blobs(deps, removed.blobs)


@dataclass(frozen=True, slots=True)
class DeleteOutcome:
    key: str
    error: errors.TrentError | None = None  # per-key <Error>, e.g. AccessDenied


def delete_objects(
    deps: S3Deps, ctx: RequestContext, bucket_name: str, keys: Sequence[str]
) -> list[DeleteOutcome]:
    """DeleteObjects: each key authorized and deleted on its own; the caller renders
    ``<Deleted>`` / ``<Error>`` (and drops the Deleted ones in Quiet mode), in the
    request's order.

    The keys are deleted in sorted order, each once: all of them in the call's one write
    transaction, each locking its row (PostgreSQL ``FOR UPDATE``) until the commit. In the
    request's order, two calls naming [a, b] and [b, a] could each hold the row the other
    waits for, and PostgreSQL would abort one (500 InternalError). A key named twice gets
    its one outcome twice: deleting it again would find no row and answer Deleted anyway."""
    if not keys or len(keys) > MAX_DELETE_KEYS:
        raise errors.MalformedXML()
    bucket = require_bucket(deps, bucket_name)
    outcomes = {key: _delete_one(deps, ctx, bucket, key) for key in sorted(set(keys))}
    return [outcomes[key] for key in keys]


def _delete_one(deps: S3Deps, ctx: RequestContext, bucket: Bucket, key: str) -> DeleteOutcome:
    try:
        authz.authorize(deps, ctx, authz.DELETE_OBJECT, bucket, key)
        removed = deps.repo.delete_object(bucket.name, key)
        if removed is not None:
            delete_blobs(deps, removed.blobs)
        return DeleteOutcome(key)
    except errors.S3Error as exc:
        return DeleteOutcome(key, exc)
    except errors.AccessDenied as exc:
        return DeleteOutcome(key, exc)
