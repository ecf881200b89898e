"""Which buckets this server serves, who owns them, who may read what (issue 16).

A :class:`Bucket` is an object store under an S3 name, owned by one account, in one
region. Requests are authorized by the one engine on the caller's identity policies
(``s3:GetObject`` on ``arn:aws:s3:::bucket/key``, ``s3:ListBucket`` on the bucket, ...).
Callers of *other* accounts get only what a CloudTrail bucket policy would give them:
their own ``[prefix/]AWSLogs/<account>/`` part of a trail bucket (``shared_by_account``).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from trent.errors import AccessDenied, NoSuchBucket
from trent.objectstore import ObjectStore
from trent.service.authorization import authorize_iam
from trent.service.context import RequestContext
from trent.service.deps import ServiceDeps

SERVICE = "s3"


@dataclass(frozen=True, slots=True)
class Bucket:
    name: str
    owner_account_id: str
    region: str
    store: ObjectStore
    created_at: float
    read_only: bool = True
    # A trail bucket: the key prefix under which each account's own AWSLogs/<account>/ lives.
    shared_by_account: bool = False
    key_prefix: str | None = None

    def arn(self, partition: str, key: str | None = None) -> str:
        return f"arn:{partition}:s3:::{self.name}" + (f"/{key}" if key is not None else "")

    def account_prefix(self, account_id: str) -> str:
        own = f"AWSLogs/{account_id}/"
        return f"{self.key_prefix}/{own}" if self.key_prefix else own


class BucketRegistry:
    def __init__(self, buckets: Iterable[Bucket] = ()) -> None:
        self._buckets = {b.name: b for b in buckets}

    def get(self, name: str) -> Bucket:
        bucket = self._buckets.get(name)
        if bucket is None:
            raise NoSuchBucket()
        return bucket

    def all(self) -> list[Bucket]:
        return sorted(self._buckets.values(), key=lambda b: b.name)


def authorize(deps: ServiceDeps, ctx: RequestContext, bucket: Bucket, action: str, *,
              key: str | None = None, prefix: str | None = None) -> None:
    """AccessDenied unless the caller may ``s3:<action>`` here. ``key``: an object
    request; ``prefix``: a listing's Prefix (other accounts must stay in their own part)."""
    authorize_iam(deps, ctx, SERVICE, action, bucket.arn(ctx.partition, key))
    if ctx.account_id == bucket.owner_account_id:
        return
    within = key if key is not None else prefix
    if not bucket.shared_by_account or within is None or not within.startswith(bucket.account_prefix(ctx.account_id)):
        raise AccessDenied("Access Denied")
