"""Composition of the audit trail (issue 16): its bucket, digest signer and delivery.

Part of the composition root (``bootstrap``): the only place that picks the concrete
object store (``file://`` directory or ``s3://`` bucket) and the signer that matches the
root of trust (HSM root: keys inside the token; otherwise wrapped under the root key).
"""

from __future__ import annotations

import os
import socket
from pathlib import Path
from typing import Any

from trent.audit.records import TrailPlacement
from trent.audit.sink import JsonlFileSink
from trent.config import Settings
from trent.keystores.audit_signing import DigestSigner, HsmDigestSigner, RootWrappedDigestSigner
from trent.keystores.root_key import RootKey
from trent.objectstore import ObjectStore
from trent.objectstore.file import FileObjectStore
from trent.protocol.cloudtrail.front_door import CloudTrailFrontDoor
from trent.protocol.pipeline import KmsPipeline
from trent.protocol.s3.front_door import S3FrontDoor
from trent.service.audit_delivery import DeliverySettings, TrailDelivery
from trent.service.audit_outbox import AuditOutbox
from trent.service.cloudtrail import LookupThrottle, TrailSettings
from trent.service.trail_bucket.buckets import Bucket, BucketRegistry
from trent.service.deps import ServiceDeps


def build_outbox(deps: ServiceDeps, settings: Settings) -> AuditOutbox:
    """The audit trail's one write path, with the optional JSON-lines copy."""
    mirror = JsonlFileSink(settings.audit_log, durable=settings.audit_fsync) if settings.audit_log else None
    placement = TrailPlacement(settings.effective_audit_account_id, settings.effective_audit_home_region)
    return AuditOutbox(deps.storage, placement, mirror)


def open_bucket(settings: Settings) -> ObjectStore:
    url = settings.effective_audit_bucket_url
    if url.startswith("file://"):
        return FileObjectStore(Path(url.removeprefix("file://")))
    from trent.objectstore.s3 import S3ObjectStore

    return S3ObjectStore(settings.effective_audit_bucket, endpoint_url=settings.audit_s3_endpoint_url,
                         region_name=settings.effective_audit_home_region)


def digest_signer(root: RootKey) -> DigestSigner:
    from trent.keystores.hsm_root import HsmRootKey

    if isinstance(root, HsmRootKey):
        return HsmDigestSigner(root.token)
    return RootWrappedDigestSigner(root)


def build_delivery(deps: ServiceDeps, settings: Settings, store: ObjectStore | None = None) -> TrailDelivery:
    node_id = f"{socket.gethostname()}/{os.getpid()}/{os.urandom(4).hex()}"
    delivery_settings = DeliverySettings(
        bucket=settings.effective_audit_bucket,
        node_id=node_id,
        prefix=settings.audit_key_prefix,
        digest_interval_seconds=settings.audit_digest_interval_seconds,
        retention_days=settings.audit_retention_days,
        # Held across rounds; another node takes over once a holder has been silent this long.
        lease_seconds=max(60.0, 3 * settings.audit_delivery_interval_seconds),
    )
    return TrailDelivery(deps.storage, store or open_bucket(settings), digest_signer(deps.root_key), deps.clock,
                         delivery_settings, deps.rng)


def open_object_store(settings: Settings) -> Any:
    """Issue 17: where S3 object content (ciphertext) lives."""
    url = settings.effective_object_store
    if url.startswith("file://"):
        from trent.objectstore.blob_file import FileBlobStore

        return FileBlobStore(Path(url.removeprefix("file://")))
    from trent.objectstore.blob_s3 import S3BlobStore, parse_url

    endpoint, bucket, prefix = parse_url(url)
    return S3BlobStore(bucket, prefix, endpoint_url=endpoint)


def s3_deps(deps: ServiceDeps, settings: Settings) -> Any:
    """The S3 use cases' dependencies (issue 17): the KMS deps, the S3 tables (same
    database, same unit of work), the object store; SSE-C needs TLS outside --dev."""
    from trent.service.s3 import S3Deps, S3Settings
    from trent.storage.cache import CachedStorage
    from trent.storage.cached_buckets import CachedBuckets
    from trent.storage.sql_s3 import SqlS3Repository

    sql = deps.storage.inner if isinstance(deps.storage, CachedStorage) else deps.storage
    repo: Any = SqlS3Repository.for_storage(sql)  # type: ignore[arg-type]
    if isinstance(deps.storage, CachedStorage):  # bucket rows from memory (cached_buckets.py)
        repo = CachedBuckets(repo, deps.storage)
    return S3Deps(kms=deps, repo=repo, store=open_object_store(settings), kms_audit=lambda call: None,
                  settings=S3Settings(sse_c_requires_tls=not settings.dev,
                                      inline_max_bytes=settings.s3_inline_max_bytes))


def reads_are_local(repo: Any, settings: Settings) -> bool:
    """Whether S3's object reads touch only local files (file SQLite rows read on
    connections of their own, a file object store): the condition for serving GetObject,
    HeadObject and small PutObjects on the event loop (protocol/s3/front_door.py, ``on_loop``)."""
    from trent.storage.cached_buckets import CachedBuckets
    from trent.storage.sql_s3 import SqlS3Repository

    if isinstance(repo, CachedBuckets):
        repo = repo.inner
    return (isinstance(repo, SqlS3Repository) and repo.reads_locally
            and settings.effective_object_store.startswith("file://"))


def attach_front_doors(http: Any, app: Any, pipeline: KmsPipeline, settings: Settings, delivery: TrailDelivery,
                       now: float) -> None:
    """The CloudTrail API and the trail bucket (read-only, over S3) on the same endpoint."""
    throttle = LookupThrottle(settings.audit_lookup_rate) if settings.audit_lookup_rate > 0 else None
    trail = TrailSettings(settings.audit_trail_name, settings.effective_audit_bucket, settings.audit_key_prefix,
                          settings.audit_retention_days or 90.0, throttle)
    bucket = Bucket(
        name=settings.effective_audit_bucket,
        owner_account_id=settings.effective_audit_account_id,
        region=settings.effective_audit_home_region,
        store=delivery.store,
        created_at=now,
        read_only=True,
        shared_by_account=True,
        key_prefix=settings.audit_key_prefix,
    )
    cloudtrail = CloudTrailFrontDoor(pipeline, trail)
    # GetObject / HeadObject on the event loop only when their reads are local (front_door.py)
    deps = s3_deps(pipeline.deps, settings)
    s3 = S3FrontDoor(pipeline, BucketRegistry([bucket]), deps, settings.s3_domain,
                     reads_on_loop=reads_are_local(deps.repo, settings))
    for face in (http, app):
        face.cloudtrail = cloudtrail
        face.s3 = s3
