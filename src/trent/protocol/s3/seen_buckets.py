"""The bucket rows a request has already read, so its CloudTrail event need not read them again.

Every S3 event names the bucket's owner in its ``resources`` (CloudTrail's ``accountId`` of
``AWS::S3::Bucket`` / ``AWS::S3::Object``). The use case has just read that bucket row
(``require_bucket``); reading it a second time to build the event was 21 % of a small GET's
time (bench/S3_SSE.md, 2026-12-05). This wrapper remembers, per request and per thread, the
owner of each bucket row read through it. It caches nothing across requests, so no other
worker process can make it stale: a bucket's owner never changes while the row exists, and
within one request the event names the owner as the request saw it.
"""

from __future__ import annotations

import threading
from typing import Any

from trent.domain.s3.records import Bucket
from trent.storage.s3_repository import S3Repository


class SeenBuckets:
    """An ``S3Repository`` that records the owner of every bucket row ``get_bucket`` returns
    between ``begin()`` and ``end()`` on the calling thread; every other method is delegated."""

    def __init__(self, inner: S3Repository) -> None:
        self._inner = inner
        self._local = threading.local()

    def begin(self) -> None:
        self._local.owners = {}

    def end(self) -> None:
        self._local.owners = None

    def owner(self, name: str) -> str | None:
        """The owner account of ``name`` as this request read it; None if it did not read it."""
        owners: dict[str, str] | None = getattr(self._local, "owners", None)
        return None if owners is None else owners.get(name)

    def get_bucket(self, name: str) -> Bucket | None:
        bucket = self._inner.get_bucket(name)
        owners: dict[str, str] | None = getattr(self._local, "owners", None)
        if owners is not None and bucket is not None:
            owners[name] = bucket.account_id
        return bucket

    def __getattr__(self, attr: str) -> Any:
        return getattr(self._inner, attr)
