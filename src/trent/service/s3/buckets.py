"""CreateBucket, DeleteBucket, HeadBucket, ListBuckets, GetBucketLocation (issue 17).

Bucket names are global across accounts and regions (S3). Order of checks: the name,
the location constraint, authorization, then existence — except that an operation on
an existing bucket answers NoSuchBucket before AccessDenied (S3 reveals existence).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass

from trent import errors
from trent.domain.s3.names import check_bucket_name
from trent.domain.s3.records import Bucket
from trent.service.context import RequestContext
from trent.service.s3 import authorization as authz
from trent.service.s3.content import delete_blobs
from trent.service.s3.deps import S3Deps
from trent.storage.repositories import Duplicate
from trent.storage.s3_repository import BucketState

LEGACY_REGION = "us-east-1"  # no LocationConstraint; CreateBucket on an owned bucket answers 200


def canonical_user_id(account_id: str) -> str:
    """S3's 64-hex canonical user id for an account (Owner.ID in listings); stable per account."""
    return hashlib.sha256(b"trent/s3/canonical-user\x00" + account_id.encode()).hexdigest()


def require_bucket(deps: S3Deps, name: str) -> Bucket:
    bucket = deps.repo.get_bucket(name)
    if bucket is None:
        raise errors.NoSuchBucket(details={"BucketName": name})
    return bucket


def _check_location(ctx: RequestContext, constraint: str | None) -> None:
    """S3: in us-east-1 no constraint (naming us-east-1 is invalid); elsewhere it must name
    the endpoint's region."""
    if ctx.region == LEGACY_REGION:
        if constraint:
            if constraint == LEGACY_REGION:
                raise errors.InvalidLocationConstraint(details={"LocationConstraint": constraint})
            raise errors.IllegalLocationConstraint(
                f"The {constraint} location constraint is incompatible for the region specific endpoint this "
                "request was sent to."
            )
        return
    if constraint != ctx.region:
        raise errors.IllegalLocationConstraint(
            f"The {constraint or 'unspecified'} location constraint is incompatible for the region specific "
            "endpoint this request was sent to."
        )


@dataclass(frozen=True, slots=True)
class Created:
    bucket: Bucket
    location: str  # the Location response header: "/<name>"


def create_bucket(deps: S3Deps, ctx: RequestContext, name: str, location_constraint: str | None) -> Created:
    check_bucket_name(name)
    _check_location(ctx, location_constraint)
    authz.authorize(deps, ctx, authz.CREATE_BUCKET, Bucket(name, ctx.account_id, ctx.region, ctx.now))
    bucket = Bucket(name, ctx.account_id, ctx.region, ctx.now)
    existing = deps.repo.get_bucket(name)
    if existing is None:
        # [?] the quota is checked, not locked: racing creates may pass it by a few
        if len(deps.repo.list_buckets(ctx.account_id)) >= deps.settings.max_buckets_per_account:
            raise errors.TooManyBuckets()
        try:
            deps.repo.create_bucket(bucket)
            return Created(bucket, f"/{name}")
        except Duplicate:
            existing = deps.repo.get_bucket(name)  # lost a race: answer as for an existing bucket
            if existing is None:
                raise
    if existing.account_id != ctx.account_id:
        raise errors.BucketAlreadyExists(details={"BucketName": name})
    if ctx.region == LEGACY_REGION and existing.region == LEGACY_REGION:
        return Created(existing, f"/{name}")  # S3's legacy us-east-1 answer: 200, no change
    raise errors.BucketAlreadyOwnedByYou(details={"BucketName": name})


def delete_bucket(deps: S3Deps, ctx: RequestContext, name: str) -> None:
    bucket = require_bucket(deps, name)
    authz.authorize(deps, ctx, authz.DELETE_BUCKET, bucket)
    result = deps.repo.delete_bucket(name)
    if result.state is BucketState.NOT_FOUND:
        raise errors.NoSuchBucket(details={"BucketName": name})
    if result.state is BucketState.NOT_EMPTY:
        raise errors.BucketNotEmpty(details={"BucketName": name})
    # [?] multipart uploads still in progress do not keep a bucket alive here; their parts go
    delete_blobs(deps, (p.blob for p in result.abandoned_parts))


def head_bucket(deps: S3Deps, ctx: RequestContext, name: str) -> Bucket:
    """HeadBucket: 200 with ``x-amz-bucket-region``; 404 / 403 without a body."""
    bucket = require_bucket(deps, name)
    authz.authorize(deps, ctx, authz.LIST_BUCKET, bucket)
    return bucket


@dataclass(frozen=True, slots=True)
class BucketList:
    owner_id: str
    owner_display_name: str
    buckets: Sequence[Bucket]


def list_buckets(deps: S3Deps, ctx: RequestContext) -> BucketList:
    authz.authorize(deps, ctx, authz.LIST_ALL_MY_BUCKETS, None)
    return BucketList(canonical_user_id(ctx.account_id), ctx.account_id, deps.repo.list_buckets(ctx.account_id))


def get_bucket_location(deps: S3Deps, ctx: RequestContext, name: str) -> str | None:
    """The LocationConstraint: None (empty element) for us-east-1, else the region."""
    bucket = require_bucket(deps, name)
    authz.authorize(deps, ctx, authz.GET_BUCKET_LOCATION, bucket)
    return None if bucket.region == LEGACY_REGION else bucket.region

