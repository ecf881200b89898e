"""S3 bucket rows served from memory, kept coherent like the KMS rows (issue 17, issue 20).

Every S3 request reads its bucket's row: the owner for the event, the bucket policy for
authorization, the default encryption for a PutObject. Read from SQLite on every request
it cost ~30-40 µs, about a tenth of a 1 KiB PUT's CPU (1 KiB SSE-S3 PUTs, wrk c=32,
alternated: 2,451-2,675 req/s without this cache, 2,684-2,916 with it, in a slow hour of
the VM; bench/S3_SSE.md, 2026-12-07).

:class:`CachedBuckets` is the ``S3Repository`` the S3 use cases get when the KMS storage
is a ``CachedStorage``: it keeps the rows in that cache's bucket table, so they follow
its rules (``storage/cache.py``), stated here for buckets:

* **This process's writes** (CreateBucket, DeleteBucket, Put/DeleteBucketPolicy,
  Put/DeleteBucketEncryption: every method that writes the bucket row, and only these
  four exist) run in a transaction that publishes ``Change(BUCKET, (name,))`` and drop
  the row when it ends and again when the enclosing atomic scope commits: the next
  request sees the new policy at once.
* **Other processes' and nodes' writes** arrive on the invalidation feed (PostgreSQL
  NOTIFY, or the change log SQLite polls every 10 ms). Until then another node may
  authorize against the previous policy: the same bound as for key policies, and
  AWS's own bucket policies are eventually consistent too. While the feed is down,
  rows live for the short fallback TTL.
* Inside a ``CachedStorage.transaction()`` the row is read from the database, and a
  row read by a transaction that has already written is not kept.

Every other method is passed to the inner repository: none of them writes a bucket row.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from trent.domain.s3.records import Bucket, EncryptionConfig, ObjectRecord
from trent.storage.cache import CachedStorage
from trent.storage.changes import Change, ChangeKind
from trent.storage.s3_repository import DeletedBucket, S3Repository


def _changed(name: str) -> Change:
    return Change(ChangeKind.BUCKET, (name,))


class CachedBuckets:
    """An ``S3Repository`` whose bucket rows come through ``cache`` (see the module doc)."""

    def __init__(self, inner: S3Repository, cache: CachedStorage) -> None:
        self._inner = inner
        self._cache = cache

    @property
    def inner(self) -> S3Repository:
        return self._inner

    def __repr__(self) -> str:
        return f"CachedBuckets({self._inner!r})"

    # -- the bucket row: read through the cache, every write announced -------------------

    def get_bucket(self, name: str) -> Bucket | None:
        inner = self._inner
        return self._cache.bucket(name, lambda: inner.get_bucket(name))

    def create_bucket(self, bucket: Bucket) -> None:
        # announced too: a "no such bucket" may be cached here or on another node
        self._cache.changed_with(lambda: self._inner.create_bucket(bucket), _changed(bucket.name))

    def delete_bucket(self, name: str) -> DeletedBucket:
        return self._cache.changed_with(lambda: self._inner.delete_bucket(name), _changed(name))

    def set_bucket_policy(self, name: str, policy: str | None) -> bool:
        return self._cache.changed_with(lambda: self._inner.set_bucket_policy(name, policy), _changed(name))

    def set_bucket_encryption(self, name: str, config: EncryptionConfig | None) -> bool:
        return self._cache.changed_with(lambda: self._inner.set_bucket_encryption(name, config), _changed(name))

    def list_buckets(self, account_id: str) -> Sequence[Bucket]:
        return self._inner.list_buckets(account_id)

    # -- objects: the hot ones without __getattr__'s detour ------------------------------

    def get_object(self, bucket: str, key: str) -> ObjectRecord | None:
        return self._inner.get_object(bucket, key)

    def put_object(
        self, record: ObjectRecord, *, only_if_absent: bool = False, savepoint: bool = False
    ) -> tuple[str, ...] | None:
        return self._inner.put_object(record, only_if_absent=only_if_absent, savepoint=savepoint)

    def __getattr__(self, attr: str) -> Any:  # objects, uploads, parts, owned keys: no bucket row
        return getattr(self._inner, attr)
