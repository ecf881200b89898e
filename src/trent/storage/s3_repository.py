"""What S3's use cases need from storage (issue 17), as a Protocol; SQL in ``sql_s3.py``.

Every method is one transaction. The rules that must hold under concurrency are kept
by the database, not by the caller reading first:

* a bucket name exists once (primary key): of N racing CreateBuckets one wins;
* DeleteBucket never deletes a bucket that has an object, even one being written at
  that moment (foreign key; the loser sees ``BucketState.NOT_EMPTY``);
* an object write reports exactly the row it replaced, so the replaced content blobs
  are deleted once, by the one writer that replaced them;
* CompleteMultipartUpload decides on the parts *inside* its transaction (``build``),
  with the upload row locked: a part uploaded concurrently either is in the snapshot
  or fails with ``UploadGone``; Complete and Abort of one upload: exactly one wins;
* rows a transaction locks together are locked in one order, so racing writers wait
  for each other instead of deadlocking (PostgreSQL aborts one of a cycle: a 500): an
  upload's row before its parts (Complete, Abort; DeleteBucket locks the bucket's
  uploads in id order first), and object rows that one caller's transaction deletes
  several of (DeleteObjects, ``service/s3/objects.py``) in key order.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

from trent.domain.s3.records import Bucket, EncryptionConfig, ObjectRecord, OwnedKey, Part, Upload
from trent.storage.repositories import StorageError


class BucketGone(StorageError):
    """The bucket was deleted (or never existed) while writing into it."""


class UploadGone(StorageError):
    """The multipart upload was completed or aborted (or never existed)."""


class BucketState(enum.Enum):
    DELETED = "deleted"
    NOT_FOUND = "not found"
    NOT_EMPTY = "not empty"


@dataclass(frozen=True, slots=True)
class DeletedBucket:
    state: BucketState
    # parts of the uploads that were still in progress (their blobs are now garbage)
    abandoned_parts: Sequence[Part] = ()


@dataclass(frozen=True, slots=True)
class Completed:
    record: ObjectRecord
    replaced: tuple[str, ...] | None  # as put_object returns it
    unused_parts: Sequence[Part]  # uploaded but not listed in the Complete request


class S3Repository(Protocol):
    # -- buckets --------------------------------------------------------------------
    def create_bucket(self, bucket: Bucket) -> None:
        """Duplicate when the name exists (in any account)."""

    def get_bucket(self, name: str) -> Bucket | None: ...

    def list_buckets(self, account_id: str) -> Sequence[Bucket]:
        """The account's buckets in name order."""

    def delete_bucket(self, name: str) -> DeletedBucket: ...

    def set_bucket_policy(self, name: str, policy: str | None) -> bool:
        """False when the bucket does not exist."""

    def set_bucket_encryption(self, name: str, config: EncryptionConfig | None) -> bool: ...

    # -- objects --------------------------------------------------------------------
    def get_object(self, bucket: str, key: str) -> ObjectRecord | None: ...

    def put_object(
        self, record: ObjectRecord, *, only_if_absent: bool = False, savepoint: bool = False
    ) -> tuple[str, ...] | None:
        """Insert or replace. Returns None if no row was replaced, else the object-store
        names of the blobs the replaced row referenced (none for inline content): all an
        overwrite needs of the old row. BucketGone if no bucket;
        ``only_if_absent`` (If-None-Match: *): Duplicate instead of replacing.
        ``savepoint``: the enclosing transaction carries on when this row is refused
        (PutObject's group commit), which PostgreSQL allows only around a SAVEPOINT."""

    def delete_object(self, bucket: str, key: str) -> ObjectRecord | None:
        """Returns the deleted record (None: there was none)."""

    def list_objects(self, bucket: str, prefix: str, after: str | None, limit: int) -> Sequence[ObjectRecord]:
        """Keys starting with ``prefix`` and greater than ``after``, in key order."""

    # -- multipart ------------------------------------------------------------------
    def create_upload(self, upload: Upload) -> None:
        """BucketGone if no bucket."""

    def get_upload(self, upload_id: str) -> Upload | None: ...

    def put_part(self, part: Part) -> Part | None:
        """Insert or replace a part; returns the replaced one. UploadGone if no upload."""

    def list_parts(self, upload_id: str, after_part: int, limit: int) -> Sequence[Part]: ...

    def list_uploads(
        self, bucket: str, prefix: str, key_marker: str | None, upload_id_marker: str | None, limit: int
    ) -> Sequence[Upload]:
        """In (key, initiation) order, after the markers (S3 ListMultipartUploads)."""

    def complete_upload(self, upload_id: str, build: Callable[[Upload, Sequence[Part]], ObjectRecord]) -> Completed:
        """``build`` runs inside the transaction with the upload and all its parts; it may
        raise to abort. UploadGone if the upload is not there."""

    def abort_upload(self, upload_id: str) -> Sequence[Part]:
        """Delete the upload and its parts; returns the parts. UploadGone if none."""

    # -- S3-owned keys (SSE-S3) -----------------------------------------------------
    def current_owned_key(self) -> OwnedKey | None:
        """The newest S3-owned key."""

    def get_owned_key(self, key_id: str) -> OwnedKey | None: ...

    def add_owned_key(self, key: OwnedKey) -> None: ...
