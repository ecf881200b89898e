"""What the S3 use cases are given (issue 17): the KMS service deps (S3 calls KMS through
its use cases), the S3 repository, the object store, the KMS-call audit hook, settings,
and the in-process key caches."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from trent.service.authz_cache import AuthzCache
from trent.service.deps import ServiceDeps
from trent.service.s3.bucket_keys import BucketKeyCache
from trent.service.s3.kms_calls import KmsAuditHook
from trent.service.s3.owned_keys import OwnedKeys
from trent.service.s3.store import ObjectStore
from trent.storage.s3_repository import S3Repository

GIB = 1024**3
MIB = 1024**2


@dataclass(frozen=True, slots=True)
class S3Settings:
    # SSE-S3 (spec §3): the S3-owned key is rotated; older keys stay to read old objects.
    owned_key_rotation_seconds: float = 30 * 86400
    # S3 Bucket Keys (spec §5): how long a bucket-level key from KMS is reused.
    bucket_key_lifetime_seconds: float = 300.0
    # spec §6: SSE-C is refused over plain HTTP outside --dev.
    sse_c_requires_tls: bool = True
    max_buckets_per_account: int = 10_000  # S3's default general-purpose bucket quota
    max_put_size: int = 5 * GIB  # a single PUT / part / copy source (S3 limits)
    min_part_size: int = 5 * MIB  # every part but the last (CompleteMultipartUpload)
    max_parts: int = 10_000
    # Single-part objects of at most this many bytes are kept in their row, not in the
    # object store (service/s3/content.py); 0: every object in the store.
    inline_max_bytes: int = 4096


def _nothing() -> None:
    return None


@dataclass(frozen=True, slots=True)
class S3Deps:
    kms: ServiceDeps
    repo: S3Repository
    store: ObjectStore
    kms_audit: KmsAuditHook
    settings: S3Settings = field(default_factory=S3Settings)
    owned_keys: OwnedKeys = field(default_factory=OwnedKeys)
    bucket_keys: BucketKeyCache = field(default_factory=BucketKeyCache)
    # Parsed bucket policies and S3's decisions (service/s3/authorization.py): a table of
    # its own, as S3 keys decisions per object ARN and would otherwise flush KMS's.
    authz: AuthzCache = field(default_factory=AuthzCache)
    # Called just before an object's body is read (content.write_blob): the front door
    # commits any preliminary write there, so a slow upload never holds the database's
    # write transaction (protocol/s3/front_door.py, phase 1).
    before_content: Callable[[], None] = _nothing
