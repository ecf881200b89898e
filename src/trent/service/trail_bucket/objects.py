"""Reading objects and listings (issue 16): GetObject, HeadObject, ListObjects (v1, v2),
GetBucketLocation, HeadBucket, ListBuckets — S3's semantics over any ObjectStore."""

from __future__ import annotations

from dataclasses import dataclass

from trent.errors import InvalidObjectRange, NoSuchObject
from trent.objectstore import InvalidRange, NoSuchKey, ObjectInfo, StoredObject
from trent.service.authorization import authorize_iam
from trent.service.context import RequestContext
from trent.service.deps import ServiceDeps
from trent.service.trail_bucket.buckets import Bucket, BucketRegistry, authorize

MAX_KEYS = 1000


def get_object(deps: ServiceDeps, ctx: RequestContext, bucket: Bucket, key: str,
               byte_range: tuple[int | None, int | None] | None) -> StoredObject:
    authorize(deps, ctx, bucket, "GetObject", key=key)
    try:
        return bucket.store.get(key, byte_range)
    except NoSuchKey:
        raise NoSuchObject() from None
    except InvalidRange:
        size = bucket.store.head(key).size
        raise InvalidObjectRange(audit_reason=f"object size {size}") from None


def head_object(deps: ServiceDeps, ctx: RequestContext, bucket: Bucket, key: str) -> ObjectInfo:
    authorize(deps, ctx, bucket, "GetObject", key=key)  # S3: HeadObject needs s3:GetObject
    try:
        return bucket.store.head(key)
    except NoSuchKey:
        raise NoSuchObject() from None


@dataclass(frozen=True, slots=True)
class Listing:
    objects: list[ObjectInfo]
    common_prefixes: list[str]
    truncated: bool


def list_objects(deps: ServiceDeps, ctx: RequestContext, bucket: Bucket, *, prefix: str, start_after: str,
                 max_keys: int, delimiter: str | None) -> Listing:
    authorize(deps, ctx, bucket, "ListBucket", prefix=prefix)
    if max_keys == 0:
        return Listing([], [], False)
    found = bucket.store.list(prefix, start_after, min(max_keys, MAX_KEYS), delimiter)
    return Listing(list(found.objects), list(found.common_prefixes), found.truncated)


def get_bucket_location(deps: ServiceDeps, ctx: RequestContext, bucket: Bucket) -> str | None:
    """The LocationConstraint: None for us-east-1 (S3's historical rule)."""
    authorize(deps, ctx, bucket, "GetBucketLocation", prefix=bucket.account_prefix(ctx.account_id))
    return None if bucket.region == "us-east-1" else bucket.region


def head_bucket(deps: ServiceDeps, ctx: RequestContext, bucket: Bucket) -> Bucket:
    authorize(deps, ctx, bucket, "ListBucket", prefix=bucket.account_prefix(ctx.account_id))
    return bucket


def list_buckets(deps: ServiceDeps, ctx: RequestContext, registry: BucketRegistry) -> list[Bucket]:
    authorize_iam(deps, ctx, "s3", "ListAllMyBuckets")
    return [b for b in registry.all() if b.owner_account_id == ctx.account_id]
