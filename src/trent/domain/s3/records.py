"""What S3 keeps about buckets, objects and multipart uploads (issue 17).

Frozen records, one per stored row. Plaintext is never here: a record names the
content blobs (:class:`Blob`) in the object store, which hold only ciphertext in the
``trent.crypto.segments`` format, or, for a small single-part object, carries that
ciphertext itself (``Blob.inline``, kept in the object's row). How each object's data
key is kept is its :class:`SseRecord`.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field

from trent.domain.frozen import fast_init


class SseMode(enum.StrEnum):
    """``x-amz-server-side-encryption`` values, plus SSE-C (s3-sse spec §1)."""

    SSE_S3 = "AES256"
    SSE_KMS = "aws:kms"
    SSE_C = "SSE-C"  # not a header value: customer-provided key headers select it


@fast_init
@dataclass(frozen=True, slots=True)
class EncryptionConfig:
    """A bucket's default encryption (PutBucketEncryption, s3-sse spec §7). A bucket
    without one behaves as ``EncryptionConfig()``: SSE-S3 (spec §3)."""

    algorithm: SseMode = SseMode.SSE_S3
    kms_master_key_id: str | None = None  # as the caller gave it (id, ARN or alias)
    bucket_key_enabled: bool = False


@dataclass(frozen=True, slots=True)
class Bucket:
    name: str
    account_id: str  # the owner
    region: str
    created_at: float
    policy: str | None = None
    encryption: EncryptionConfig | None = None  # None: never configured (default SSE-S3)

    @property
    def effective_encryption(self) -> EncryptionConfig:
        return self.encryption or EncryptionConfig()


@fast_init
@dataclass(frozen=True, slots=True)
class SseRecord:
    """How one object's (or upload's) data key is kept. Never the key itself.

    * SSE-S3: ``key_blob`` = the data key sealed under S3-owned key ``owned_key_id``.
    * SSE-KMS: ``key_blob`` = the KMS ciphertext blob of the data key (context:
      ``aws:s3:arn`` = the object ARN, plus ``kms_context``); with a Bucket Key it is
      the blob of the *bucket-level* key (context: the bucket ARN) and the data key is
      derived from it with ``derivation_salt``.
    * SSE-C: ``key_blob`` = the data key sealed under the customer's key;
      ``customer_key_hmac`` = salt || HMAC-SHA256(salt, customer key) recognises the
      key on later requests (spec §6: only a salted HMAC is stored).
    """

    mode: SseMode
    key_blob: bytes = field(repr=False)
    owned_key_id: str | None = None
    kms_key_arn: str | None = None
    kms_context: Mapping[str, str] | None = None  # the caller's x-amz-server-side-encryption-context
    bucket_key: bool = False
    derivation_salt: bytes | None = field(default=None, repr=False)
    customer_key_md5: str | None = None  # base64, echoed on responses
    customer_key_hmac: bytes | None = field(default=None, repr=False)


@fast_init
@dataclass(frozen=True, slots=True)
class Blob:
    """One content blob: a whole single-part object, or a part.

    Stored in the object store under ``name``, or, for a small single-part object,
    *inline*: its ciphertext (the same ``crypto.segments`` bytes) is kept in the object's
    row, ``name`` is empty and nothing is in the object store (``service/s3/content.py``
    says why)."""

    name: str  # opaque object-store name (never derived from bucket or key names); "" if inline
    part_number: int  # 0 for a single-part object
    content_id: bytes  # crypto.segments: salts the segment key, in every AAD
    size: int  # plaintext bytes
    inline: bytes | None = field(default=None, repr=False)  # the ciphertext, when kept in the row

    @property
    def stored(self) -> bool:
        """In the object store (something to delete there when no row references it)."""
        return self.inline is None


@fast_init
@dataclass(frozen=True, slots=True)
class ObjectMetadata:
    """What a GET returns besides the bytes (S3 "Working with object metadata")."""

    content_type: str = "binary/octet-stream"
    user: Mapping[str, str] = field(default_factory=dict)  # x-amz-meta-*, names lower-cased
    # Content-Encoding, Content-Disposition, Content-Language, Cache-Control, Expires,
    # x-amz-website-redirect-location: stored as sent, returned as stored.
    system: Mapping[str, str] = field(default_factory=dict)


@fast_init
@dataclass(frozen=True, slots=True)
class ObjectRecord:
    bucket: str
    key: str
    size: int
    etag: str  # with its quotes, as S3 sends it
    last_modified: float
    metadata: ObjectMetadata
    sse: SseRecord
    blobs: tuple[Blob, ...]  # in part order; one for a single-part object
    parts_count: int | None = None  # multipart objects: x-amz-mp-parts-count
    checksum_algorithm: str | None = None  # crc32, crc32c, crc64nvme, sha1, sha256
    checksum_value: str | None = None  # base64 (single-part objects only)
    storage_class: str = "STANDARD"


@dataclass(frozen=True, slots=True)
class Upload:
    """A multipart upload in progress (CreateMultipartUpload)."""

    upload_id: str
    bucket: str
    key: str
    initiated: float
    initiator_arn: str
    account_id: str  # the initiator's account
    metadata: ObjectMetadata
    sse: SseRecord
    checksum_algorithm: str | None = None
    storage_class: str = "STANDARD"


@dataclass(frozen=True, slots=True)
class Part:
    upload_id: str
    part_number: int
    etag: str  # with quotes
    size: int
    last_modified: float
    blob: Blob
    checksum_value: str | None = None


@dataclass(frozen=True, slots=True)
class OwnedKey:
    """An S3-owned key (SSE-S3, spec §3): AES-256 wrapped under the root of trust.
    The newest is current; older ones stay to open existing objects."""

    key_id: str
    wrapped: bytes = field(repr=False)
    created_at: float
