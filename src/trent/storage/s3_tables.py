"""S3's tables (issue 17), on the one ``tables.metadata`` (imported at the end of
``tables.py``, so every user of the metadata sees them; revision ``0017_s3_sse``).

Integrity is the database's: an object or upload row references its bucket (no
ON DELETE: DeleteBucket of a bucket that gained an object concurrently fails in the
database, never leaves an orphan), parts reference their upload (deleted with it).
Object keys and bucket names sort bytewise on both backends (``sortable``), which is
S3's listing order (UTF-8 binary). Data keys are kept only sealed (``key_blob``); the
S3-owned keys of SSE-S3 are wrapped under the root of trust (``rewrap_root_blobs``
moves them with everything else).
"""

from __future__ import annotations

import sqlalchemy as sa

from trent.storage.tables import ACCOUNT, ARN, ENUM, ID, REGION, metadata, sortable

BUCKET_NAME = 63
OBJECT_KEY = 1024
BLOB_NAME = 256


def _sse_columns() -> list[sa.Column[object]]:
    """How a data key is kept (``domain.s3.records.SseRecord``), for objects and uploads."""
    return [
        sa.Column("sse_mode", sa.String(ENUM), nullable=False),
        sa.Column("key_blob", sa.LargeBinary, nullable=False),
        sa.Column("owned_key_id", sa.String(ID), nullable=True),
        sa.Column("kms_key_arn", sa.String(ARN), nullable=True),
        sa.Column("kms_context", sa.Text, nullable=True),
        sa.Column("bucket_key", sa.Boolean, nullable=False),
        sa.Column("derivation_salt", sa.LargeBinary, nullable=True),
        sa.Column("customer_key_md5", sa.String(ENUM), nullable=True),
        sa.Column("customer_key_hmac", sa.LargeBinary, nullable=True),
    ]


def _metadata_columns() -> list[sa.Column[object]]:
    return [
        sa.Column("content_type", sa.Text, nullable=False),
        sa.Column("user_metadata", sa.Text, nullable=False),  # JSON object
        sa.Column("system_metadata", sa.Text, nullable=False),  # JSON object
        sa.Column("checksum_algorithm", sa.String(ENUM), nullable=True),
        sa.Column("storage_class", sa.String(ENUM), nullable=False),
    ]


s3_buckets = sa.Table(
    "s3_buckets",
    metadata,
    sa.Column("name", sortable(BUCKET_NAME), primary_key=True),
    sa.Column("account_id", sa.String(ACCOUNT), nullable=False),
    sa.Column("region", sa.String(REGION), nullable=False),
    sa.Column("created_at", sa.Double, nullable=False),
    sa.Column("policy", sa.Text, nullable=True),
    sa.Column("encryption_algorithm", sa.String(ENUM), nullable=True),
    sa.Column("encryption_kms_key_id", sa.String(ARN), nullable=True),
    sa.Column("encryption_bucket_key", sa.Boolean, nullable=True),
    sa.Index("ix_s3_buckets_account_id", "account_id", "name"),
)

s3_objects = sa.Table(
    "s3_objects",
    metadata,
    sa.Column("bucket", sortable(BUCKET_NAME), sa.ForeignKey("s3_buckets.name"), primary_key=True),
    sa.Column("key", sortable(OBJECT_KEY), primary_key=True),
    sa.Column("size", sa.BigInteger, nullable=False),
    sa.Column("etag", sa.String(ENUM), nullable=False),
    sa.Column("last_modified", sa.Double, nullable=False),
    *_metadata_columns(),
    *_sse_columns(),
    sa.Column("blobs", sa.Text, nullable=False),  # JSON [[name, part, content id hex, size], ...]
    sa.Column("parts_count", sa.Integer, nullable=True),
    sa.Column("checksum_value", sa.String(ENUM), nullable=True),
    # A small single-part object's ciphertext, kept here instead of in the object store (its
    # one blob's name is then ""; service/s3/content.py); revision ``0022_s3_inline_content``.
    sa.Column("inline_content", sa.LargeBinary, nullable=True),
)

s3_uploads = sa.Table(
    "s3_uploads",
    metadata,
    sa.Column("upload_id", sa.String(ID), primary_key=True),
    sa.Column("bucket", sortable(BUCKET_NAME), sa.ForeignKey("s3_buckets.name"), nullable=False),
    sa.Column("key", sortable(OBJECT_KEY), nullable=False),
    sa.Column("initiated", sa.Double, nullable=False),
    sa.Column("initiator_arn", sa.String(ARN), nullable=False),
    sa.Column("account_id", sa.String(ACCOUNT), nullable=False),
    *_metadata_columns(),
    *_sse_columns(),
    sa.Index("ix_s3_uploads_listing", "bucket", "key", "initiated"),
)

s3_parts = sa.Table(
    "s3_parts",
    metadata,
    sa.Column(
        "upload_id", sa.String(ID), sa.ForeignKey("s3_uploads.upload_id", ondelete="CASCADE"), primary_key=True
    ),
    sa.Column("part_number", sa.Integer, primary_key=True),
    sa.Column("etag", sa.String(ENUM), nullable=False),
    sa.Column("size", sa.BigInteger, nullable=False),
    sa.Column("last_modified", sa.Double, nullable=False),
    sa.Column("blob_name", sa.String(BLOB_NAME), nullable=False),
    sa.Column("content_id", sa.LargeBinary, nullable=False),
    sa.Column("checksum_value", sa.String(ENUM), nullable=True),
)

s3_owned_keys = sa.Table(
    "s3_owned_keys",
    metadata,
    sa.Column("key_id", sa.String(ID), primary_key=True),
    sa.Column("wrapped", sa.LargeBinary, nullable=False),
    sa.Column("created_at", sa.Double, nullable=False),
    sa.Index("ix_s3_owned_keys_created_at", "created_at"),
)

# Blobs no row references any more, waiting out a grace period before they are unlinked
# (service/s3/blob_reaper.py; revision ``0021_s3_blob_garbage``). A replaced or removed
# object's (or part's) blobs are inserted here in the same transaction that drops the
# reference, with ``since`` NULL; the reaper stamps ``since`` with its injected clock on
# its next round, so the grace is counted from no earlier than the commit. Orphans (a
# blob stored whose row never committed) are inserted by the reaper itself, stamped.
s3_blob_garbage = sa.Table(
    "s3_blob_garbage",
    metadata,
    sa.Column("name", sa.String(BLOB_NAME), primary_key=True),
    sa.Column("since", sa.Double, nullable=True),
    sa.Index("ix_s3_blob_garbage_since", "since"),
)
