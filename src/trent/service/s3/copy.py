"""CopyObject, including the in-place copy that changes an object's encryption (s3-sse
spec §4, §5, §7).

The source is decrypted for the caller (its own SSE: KMS Decrypt for SSE-KMS, the
``x-amz-copy-source-server-side-encryption-customer-*`` key for SSE-C) and streamed into
a new object encrypted as the destination asks — request headers, else the destination
bucket's default (S3: a copy does not inherit the source's encryption). Always a fresh
data key and content id: copying never shares a key between two stored objects.

In-place copy (same bucket and key) must change something: the metadata (REPLACE), the
encryption (any SSE header, or a Bucket Key setting), or the storage class; otherwise
S3's InvalidRequest. [?] S3's list also names the website redirect location.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import unquote

from trent import errors
from trent.domain.s3.names import check_object_key, object_arn
from trent.domain.s3.records import ObjectMetadata, ObjectRecord
from trent.service.context import RequestContext
from trent.service.s3 import authorization as authz
from trent.service.s3.buckets import require_bucket
from trent.service.s3.content import object_bytes
from trent.service.s3.data_keys import open_data_key
from trent.service.s3.deps import S3Deps
from trent.service.s3.object_headers import Conditions, check_conditions
from trent.service.s3.objects import check_storage_class, find_object, store_object
from trent.service.s3.sse_headers import CustomerKey, SseRequest

_TO_ITSELF = (
    "This copy request is illegal because it is trying to copy an object to itself without changing the "
    "object's metadata, storage class, website redirect location or encryption attributes."
)


def parse_copy_source(header: str) -> tuple[str, str]:
    """``x-amz-copy-source``: ``bucket/key`` or ``/bucket/key``, URL-encoded; a
    ``?versionId=`` other than ``null`` is refused (Trent keeps no versions)."""
    text, _, query = header.partition("?")
    if query and query != "versionId=null":
        raise errors.InvalidArgument("Trent does not keep object versions", details={"ArgumentName": "versionId"})
    text = unquote(text).lstrip("/")
    bucket, slash, key = text.partition("/")
    if not slash or not bucket or not key:
        raise errors.InvalidArgument(
            "Invalid copy source object key", details={"ArgumentName": "x-amz-copy-source", "ArgumentValue": header[:256]}
        )
    return bucket, key


@dataclass(frozen=True, slots=True)
class SourceRead:
    """A copy source, checked and with its data key open."""

    record: ObjectRecord
    data_key: bytes = field(repr=False)


def open_source(
    deps: S3Deps,
    ctx: RequestContext,
    bucket_name: str,
    key: str,
    customer_key: CustomerKey | None,
    conditions: Conditions,
) -> SourceRead:
    bucket = require_bucket(deps, bucket_name)
    authz.authorize(deps, ctx, authz.GET_OBJECT, bucket, key)
    record = find_object(deps, ctx, bucket, key)
    check_conditions(conditions, record.etag, record.last_modified)
    if record.size > deps.settings.max_put_size:
        raise errors.InvalidRequest(
            "The specified copy source is larger than the maximum allowable size for a copy source: "
            f"{deps.settings.max_put_size}"
        )
    arn = object_arn(ctx.partition, bucket.name, key)
    return SourceRead(record, open_data_key(deps, ctx, bucket.name, arn, record.sse, customer_key))


@dataclass(frozen=True, slots=True)
class CopyObjectRequest:
    bucket: str
    key: str
    source_bucket: str
    source_key: str
    metadata_directive: str = "COPY"  # COPY | REPLACE
    metadata: ObjectMetadata = field(default_factory=ObjectMetadata)  # used with REPLACE
    sse: SseRequest = field(default_factory=SseRequest)
    source_customer_key: CustomerKey | None = None
    source_conditions: Conditions = field(default_factory=lambda: Conditions(copy_source=True))
    storage_class: str | None = None
    checksum_algorithm: str | None = None


def _changes_something(request: CopyObjectRequest) -> bool:
    sse = request.sse
    return (
        request.metadata_directive == "REPLACE"
        or sse.mode is not None
        or sse.bucket_key_enabled is not None
        or request.storage_class is not None
    )


def copy_object(deps: S3Deps, ctx: RequestContext, request: CopyObjectRequest) -> ObjectRecord:
    check_object_key(request.key)
    if request.metadata_directive not in ("COPY", "REPLACE"):
        raise errors.InvalidArgument(
            "Unknown metadata directive.",
            details={"ArgumentName": "x-amz-metadata-directive", "ArgumentValue": request.metadata_directive[:64]},
        )
    destination = require_bucket(deps, request.bucket)
    authz.authorize(deps, ctx, authz.PUT_OBJECT, destination, request.key, authz.sse_condition_keys(request.sse))
    in_place = (request.bucket, request.key) == (request.source_bucket, request.source_key)
    if in_place and not _changes_something(request):
        raise errors.InvalidRequest(_TO_ITSELF)
    storage_class = check_storage_class(request.storage_class)
    source = open_source(
        deps, ctx, request.source_bucket, request.source_key, request.source_customer_key, request.source_conditions
    )
    metadata = source.record.metadata if request.metadata_directive == "COPY" else request.metadata
    body = object_bytes(deps, source.data_key, source.record, 0, source.record.size - 1)
    return store_object(
        deps, ctx, destination, request.key, metadata, request.sse, body,
        checksum_algorithm=request.checksum_algorithm or source.record.checksum_algorithm,
        content_length=source.record.size, storage_class=storage_class,
    )
