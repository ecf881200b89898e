"""S3 server-side encryption: buckets, objects, multipart uploads and parts, S3-owned
keys (issue 17).

Revision ID: 0017_s3_sse
Revises: 0001
Create Date: 2026-12-04
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0017_s3_sse"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _sortable(length: int) -> sa.types.TypeEngine[str]:
    return sa.String(length).with_variant(sa.String(length, collation="C"), "postgresql")


def _sse_columns() -> list[sa.Column]:
    return [
        sa.Column("sse_mode", sa.String(64), nullable=False),
        sa.Column("key_blob", sa.LargeBinary, nullable=False),
        sa.Column("owned_key_id", sa.String(128), nullable=True),
        sa.Column("kms_key_arn", sa.String(2048), nullable=True),
        sa.Column("kms_context", sa.Text, nullable=True),
        sa.Column("bucket_key", sa.Boolean, nullable=False),
        sa.Column("derivation_salt", sa.LargeBinary, nullable=True),
        sa.Column("customer_key_md5", sa.String(64), nullable=True),
        sa.Column("customer_key_hmac", sa.LargeBinary, nullable=True),
    ]


def _metadata_columns() -> list[sa.Column]:
    return [
        sa.Column("content_type", sa.Text, nullable=False),
        sa.Column("user_metadata", sa.Text, nullable=False),
        sa.Column("system_metadata", sa.Text, nullable=False),
        sa.Column("checksum_algorithm", sa.String(64), nullable=True),
        sa.Column("storage_class", sa.String(64), nullable=False),
    ]


def upgrade() -> None:
    op.create_table(
        "s3_buckets",
        sa.Column("name", _sortable(63), nullable=False),
        sa.Column("account_id", sa.String(32), nullable=False),
        sa.Column("region", sa.String(64), nullable=False),
        sa.Column("created_at", sa.Double, nullable=False),
        sa.Column("policy", sa.Text, nullable=True),
        sa.Column("encryption_algorithm", sa.String(64), nullable=True),
        sa.Column("encryption_kms_key_id", sa.String(2048), nullable=True),
        sa.Column("encryption_bucket_key", sa.Boolean, nullable=True),
        sa.PrimaryKeyConstraint("name", name="pk_s3_buckets"),
    )
    op.create_index("ix_s3_buckets_account_id", "s3_buckets", ["account_id", "name"])
    op.create_table(
        "s3_objects",
        sa.Column("bucket", _sortable(63), nullable=False),
        sa.Column("key", _sortable(1024), nullable=False),
        sa.Column("size", sa.BigInteger, nullable=False),
        sa.Column("etag", sa.String(64), nullable=False),
        sa.Column("last_modified", sa.Double, nullable=False),
        *_metadata_columns(),
        *_sse_columns(),
        sa.Column("blobs", sa.Text, nullable=False),
        sa.Column("parts_count", sa.Integer, nullable=True),
        sa.Column("checksum_value", sa.String(64), nullable=True),
        sa.PrimaryKeyConstraint("bucket", "key", name="pk_s3_objects"),
        sa.ForeignKeyConstraint(["bucket"], ["s3_buckets.name"], name="fk_s3_objects_bucket_s3_buckets"),
    )
    op.create_table(
        "s3_uploads",
        sa.Column("upload_id", sa.String(128), nullable=False),
        sa.Column("bucket", _sortable(63), nullable=False),
        sa.Column("key", _sortable(1024), nullable=False),
        sa.Column("initiated", sa.Double, nullable=False),
        sa.Column("initiator_arn", sa.String(2048), nullable=False),
        sa.Column("account_id", sa.String(32), nullable=False),
        *_metadata_columns(),
        *_sse_columns(),
        sa.PrimaryKeyConstraint("upload_id", name="pk_s3_uploads"),
        sa.ForeignKeyConstraint(["bucket"], ["s3_buckets.name"], name="fk_s3_uploads_bucket_s3_buckets"),
    )
    op.create_index("ix_s3_uploads_listing", "s3_uploads", ["bucket", "key", "initiated"])
    op.create_table(
        "s3_parts",
        sa.Column("upload_id", sa.String(128), nullable=False),
        sa.Column("part_number", sa.Integer, nullable=False),
        sa.Column("etag", sa.String(64), nullable=False),
        sa.Column("size", sa.BigInteger, nullable=False),
        sa.Column("last_modified", sa.Double, nullable=False),
        sa.Column("blob_name", sa.String(256), nullable=False),
        sa.Column("content_id", sa.LargeBinary, nullable=False),
        sa.Column("checksum_value", sa.String(64), nullable=True),
        sa.PrimaryKeyConstraint("upload_id", "part_number", name="pk_s3_parts"),
        sa.ForeignKeyConstraint(
            ["upload_id"], ["s3_uploads.upload_id"], name="fk_s3_parts_upload_id_s3_uploads", ondelete="CASCADE"
        ),
    )
    op.create_table(
        "s3_owned_keys",
        sa.Column("key_id", sa.String(128), nullable=False),
        sa.Column("wrapped", sa.LargeBinary, nullable=False),
        sa.Column("created_at", sa.Double, nullable=False),
        sa.PrimaryKeyConstraint("key_id", name="pk_s3_owned_keys"),
    )
    op.create_index("ix_s3_owned_keys_created_at", "s3_owned_keys", ["created_at"])


def downgrade() -> None:
    op.drop_table("s3_owned_keys")
    op.drop_table("s3_parts")
    op.drop_table("s3_uploads")
    op.drop_table("s3_objects")
    op.drop_table("s3_buckets")
