"""Multipart uploads (issue 17): Create, UploadPart, UploadPartCopy, Complete, Abort,
ListParts, ListMultipartUploads.

The upload gets its data key at Create (SSE-KMS: GenerateDataKey with the object ARN
as context; s3-sse spec §4); every part is encrypted under it as its own blob (its own
content id, part number in the header), so Complete copies nothing: the object row
lists the chosen parts' blobs. Each UploadPart of an SSE-KMS upload calls KMS Decrypt
for the caller (spec §4: multipart needs kms:Decrypt too) unless a Bucket Key is cached;
SSE-C parts must repeat the customer key (spec §1). Complete decides on the parts inside
its database transaction (``S3Repository.complete_upload``).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from trent import errors
from trent.domain.ids import new_uuid4
from trent.domain.s3.names import check_object_key, object_arn
from trent.domain.s3.records import Bucket, ObjectMetadata, ObjectRecord, Part, SseMode, Upload
from trent.service.context import RequestContext
from trent.service.s3 import authorization as authz
from trent.service.s3 import etags, sse_c
from trent.service.s3.buckets import require_bucket
from trent.service.s3.content import decode_content_md5, delete_blobs, delete_stored, object_bytes, write_blob
from trent.service.s3.copy import open_source
from trent.service.s3.data_keys import new_data_key, open_data_key
from trent.service.s3.deps import S3Deps
from trent.service.s3.object_headers import ByteRange, Conditions
from trent.service.s3.objects import check_storage_class
from trent.service.s3.sse_headers import CustomerKey, SseRequest
from trent.storage.s3_repository import BucketGone, UploadGone


def _no_such_upload(upload_id: str) -> errors.NoSuchUpload:
    return errors.NoSuchUpload(details={"UploadId": upload_id})


def _upload_for(deps: S3Deps, bucket: Bucket, key: str, upload_id: str) -> Upload:
    upload = deps.repo.get_upload(upload_id)
    if upload is None or upload.bucket != bucket.name or upload.key != key:
        raise _no_such_upload(upload_id)
    return upload


@dataclass(frozen=True, slots=True)
class CreateMultipartUploadRequest:
    bucket: str
    key: str
    metadata: ObjectMetadata = field(default_factory=ObjectMetadata)
    sse: SseRequest = field(default_factory=SseRequest)
    checksum_algorithm: str | None = None
    storage_class: str | None = None


def create_multipart_upload(deps: S3Deps, ctx: RequestContext, request: CreateMultipartUploadRequest) -> Upload:
    check_object_key(request.key)
    bucket = require_bucket(deps, request.bucket)
    authz.authorize(deps, ctx, authz.PUT_OBJECT, bucket, request.key, authz.sse_condition_keys(request.sse))
    storage_class = check_storage_class(request.storage_class)
    arn = object_arn(ctx.partition, bucket.name, request.key)
    new_key = new_data_key(deps, ctx, bucket, arn, request.sse)
    upload_id = new_uuid4(deps.kms.rng).replace("-", "") + deps.kms.rng(16).hex()
    upload = Upload(
        upload_id, bucket.name, request.key, deps.kms.clock.now(), ctx.principal.arn, ctx.account_id,
        request.metadata, new_key.sse, request.checksum_algorithm.lower() if request.checksum_algorithm else None,
        storage_class,
    )
    try:
        deps.repo.create_upload(upload)
    except BucketGone:
        raise errors.NoSuchBucket(details={"BucketName": bucket.name}) from None
    return upload


@dataclass(frozen=True, slots=True)
class UploadPartRequest:
    bucket: str
    key: str
    upload_id: str
    part_number: int
    customer_key: CustomerKey | None = None
    content_md5: str | None = None
    checksum_algorithm: str | None = None
    checksum_value: str | None = None
    content_length: int | None = None


def _check_part_number(deps: S3Deps, part_number: int) -> None:
    if not 1 <= part_number <= deps.settings.max_parts:
        raise errors.InvalidArgument(
            f"Part number must be an integer between 1 and {deps.settings.max_parts}, inclusive",
            details={"ArgumentName": "partNumber", "ArgumentValue": str(part_number)},
        )


def _store_part(
    deps: S3Deps, ctx: RequestContext, bucket: Bucket, upload: Upload, part_number: int,
    customer_key: CustomerKey | None, body: Iterable[bytes | memoryview], **checks: object,
) -> Part:
    arn = object_arn(ctx.partition, bucket.name, upload.key)
    data_key = open_data_key(deps, ctx, bucket.name, arn, upload.sse, customer_key)
    written = write_blob(deps, data_key, part_number, body, checksum_algorithm=upload.checksum_algorithm,
                         need_md5=etags.needs_md5(upload.sse.mode), **checks)  # type: ignore[arg-type]
    part = Part(
        upload.upload_id, part_number, etags.single_part(upload.sse.mode, written.md5, written.blob.content_id),
        written.blob.size, deps.kms.clock.now(), written.blob, written.checksum_value,
    )
    try:
        replaced = deps.repo.put_part(part)
    except UploadGone:
        delete_blobs(deps, [written.blob])
        raise _no_such_upload(upload.upload_id) from None
    if replaced is not None:
        delete_blobs(deps, [replaced.blob])
    return part


def upload_part(
    deps: S3Deps, ctx: RequestContext, request: UploadPartRequest, body: Iterable[bytes | memoryview]
) -> tuple[Part, Upload]:
    """The part (its ETag) and the upload (its SSE, for the response headers)."""
    _check_part_number(deps, request.part_number)
    bucket = require_bucket(deps, request.bucket)
    authz.authorize(deps, ctx, authz.PUT_OBJECT, bucket, request.key)
    upload = _upload_for(deps, bucket, request.key, request.upload_id)
    if request.checksum_algorithm and upload.checksum_algorithm and request.checksum_algorithm.lower() != upload.checksum_algorithm:
        raise errors.InvalidRequest(
            f"Checksum Type mismatch occurred, expected checksum Type: {upload.checksum_algorithm}, "
            f"actual checksum Type: {request.checksum_algorithm.lower()}"
        )
    part = _store_part(
        deps, ctx, bucket, upload, request.part_number, request.customer_key, body,
        content_md5=decode_content_md5(request.content_md5), checksum_value=request.checksum_value,
        declared_length=request.content_length,
    )
    return part, upload


@dataclass(frozen=True, slots=True)
class UploadPartCopyRequest:
    bucket: str
    key: str
    upload_id: str
    part_number: int
    source_bucket: str
    source_key: str
    source_range: ByteRange | None = None  # x-amz-copy-source-range
    customer_key: CustomerKey | None = None  # the upload's SSE-C key
    source_customer_key: CustomerKey | None = None
    source_conditions: Conditions = field(default_factory=lambda: Conditions(copy_source=True))


def upload_part_copy(deps: S3Deps, ctx: RequestContext, request: UploadPartCopyRequest) -> tuple[Part, Upload]:
    _check_part_number(deps, request.part_number)
    bucket = require_bucket(deps, request.bucket)
    authz.authorize(deps, ctx, authz.PUT_OBJECT, bucket, request.key)
    upload = _upload_for(deps, bucket, request.key, request.upload_id)
    source = open_source(deps, ctx, request.source_bucket, request.source_key, request.source_customer_key,
                         request.source_conditions)
    size = source.record.size
    if request.source_range is not None:
        if request.source_range.suffix is not None or request.source_range.last is None:
            raise errors.InvalidArgument(
                "The x-amz-copy-source-range value must be of the form bytes=first-last where first and last are "
                "the zero-based offsets of the first and last bytes to copy",
                details={"ArgumentName": "x-amz-copy-source-range", "ArgumentValue": request.source_range.text},
            )
        start, end = request.source_range.resolve(size)
        if request.source_range.last >= size:
            raise errors.InvalidRange(details={"RangeRequested": request.source_range.text, "ActualObjectSize": str(size)})
    else:
        start, end = 0, size - 1
    body = object_bytes(deps, source.data_key, source.record, start, end)
    part = _store_part(deps, ctx, bucket, upload, request.part_number, request.customer_key, body)
    return part, upload


@dataclass(frozen=True, slots=True)
class CompletedPart:
    part_number: int
    etag: str


@dataclass(frozen=True, slots=True)
class CompleteMultipartUploadRequest:
    bucket: str
    key: str
    upload_id: str
    parts: Sequence[CompletedPart]
    customer_key: CustomerKey | None = None


def _same_etag(a: str, b: str) -> bool:
    return a.strip().strip('"') == b.strip().strip('"')


def complete_multipart_upload(
    deps: S3Deps, ctx: RequestContext, request: CompleteMultipartUploadRequest
) -> ObjectRecord:
    bucket = require_bucket(deps, request.bucket)
    authz.authorize(deps, ctx, authz.PUT_OBJECT, bucket, request.key)
    upload = _upload_for(deps, bucket, request.key, request.upload_id)
    if upload.sse.mode is SseMode.SSE_C and request.customer_key is not None:
        sse_c.check_request(upload.sse, request.customer_key)  # optional here; when sent it must match
    if not request.parts:
        raise errors.MalformedXML()
    numbers = [p.part_number for p in request.parts]
    if numbers != sorted(numbers) or len(set(numbers)) != len(numbers):
        raise errors.InvalidPartOrder(details={"UploadId": request.upload_id})
    now = deps.kms.clock.now()
    minimum = deps.settings.min_part_size

    def build(locked: Upload, stored: Sequence[Part]) -> ObjectRecord:
        by_number = {p.part_number: p for p in stored}
        chosen: list[Part] = []
        for i, wanted in enumerate(request.parts):
            part = by_number.get(wanted.part_number)
            if part is None or not _same_etag(part.etag, wanted.etag):
                raise errors.InvalidPart(details={"UploadId": request.upload_id, "PartNumber": str(wanted.part_number),
                                                  "ETag": wanted.etag})
            if i < len(request.parts) - 1 and part.size < minimum:
                raise errors.EntityTooSmall(details={"ProposedSize": str(part.size), "MinSizeAllowed": str(minimum),
                                                     "PartNumber": str(part.part_number), "ETag": part.etag})
            chosen.append(part)
        return ObjectRecord(
            bucket=locked.bucket,
            key=locked.key,
            size=sum(p.size for p in chosen),
            etag=etags.multipart([p.etag for p in chosen]),
            last_modified=now,
            metadata=locked.metadata,
            sse=locked.sse,
            blobs=tuple(p.blob for p in chosen),
            parts_count=len(chosen),
            checksum_algorithm=locked.checksum_algorithm,
            checksum_value=None,  # [?] S3's composite checksum of checksums is not computed yet
            storage_class=locked.storage_class,
        )

    try:
        done = deps.repo.complete_upload(request.upload_id, build)
    except UploadGone:
        raise _no_such_upload(request.upload_id) from None
    except BucketGone:
        raise errors.NoSuchBucket(details={"BucketName": bucket.name}) from None
    delete_blobs(deps, (p.blob for p in done.unused_parts))
    if done.replaced:
        delete_stored(deps, done.replaced)
    return done.record


def abort_multipart_upload(deps: S3Deps, ctx: RequestContext, bucket_name: str, key: str, upload_id: str) -> None:
    bucket = require_bucket(deps, bucket_name)
    authz.authorize(deps, ctx, authz.ABORT_MULTIPART_UPLOAD, bucket, key)
    _upload_for(deps, bucket, key, upload_id)
    try:
        parts = deps.repo.abort_upload(upload_id)
    except UploadGone:
        raise _no_such_upload(upload_id) from None
    delete_blobs(deps, (p.blob for p in parts))


@dataclass(frozen=True, slots=True)
class PartList:
    upload: Upload
    parts: Sequence[Part]
    is_truncated: bool
    next_part_number_marker: int | None
    max_parts: int
    part_number_marker: int


def list_parts(
    deps: S3Deps, ctx: RequestContext, bucket_name: str, key: str, upload_id: str,
    max_parts: int = 1000, part_number_marker: int = 0,
) -> PartList:
    bucket = require_bucket(deps, bucket_name)
    authz.authorize(deps, ctx, authz.LIST_MULTIPART_UPLOAD_PARTS, bucket, key)
    upload = _upload_for(deps, bucket, key, upload_id)
    limit = max(0, min(max_parts, 1000))
    found = deps.repo.list_parts(upload_id, part_number_marker, limit + 1) if limit else []
    page = list(found[:limit])
    truncated = len(found) > limit
    next_marker = page[-1].part_number if page else None
    return PartList(upload, page, truncated, next_marker, limit, part_number_marker)
