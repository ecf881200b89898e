"""The audit trail (issue 16): trails, chained event segments, log files, digests, signing keys, lease.

Revision ID: 0004_audit
Revises: 0001
Create Date: 2026-11-24
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004_audit"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "audit_trails",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("account_id", sa.String(32), nullable=False),
        sa.Column("region", sa.String(64), nullable=False),
        sa.Column("name", sa.String(256), nullable=False),
        sa.Column("created_at", sa.Double, nullable=False),
        sa.Column("last_seq", sa.BigInteger, nullable=False),
        sa.Column("last_hash", sa.LargeBinary, nullable=False),
        sa.Column("delivered_seq", sa.BigInteger, nullable=False),
        sa.Column("pruned_seq", sa.BigInteger, nullable=False),
        sa.Column("pruned_hash", sa.LargeBinary, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_audit_trails"),
        sa.UniqueConstraint("account_id", "region", name="uq_audit_trails_account_id_region"),
    )
    op.create_table(
        "audit_segments",
        sa.Column("trail_id", sa.Integer, nullable=False),
        sa.Column("first_seq", sa.BigInteger, nullable=False),
        sa.Column("last_seq", sa.BigInteger, nullable=False),
        sa.Column("times", sa.LargeBinary, nullable=False),
        sa.Column("hashes", sa.LargeBinary, nullable=False),
        sa.Column("bodies", sa.LargeBinary, nullable=False),
        sa.PrimaryKeyConstraint("trail_id", "first_seq", name="pk_audit_segments"),
    )
    op.create_table(
        "audit_segment_index",
        sa.Column("trail_id", sa.Integer, nullable=False),
        sa.Column("first_seq", sa.BigInteger, nullable=False),
        sa.Column("first_time", sa.Double, nullable=False),
        sa.Column("last_time", sa.Double, nullable=False),
        sa.Column("attrs", sa.Text, nullable=False),
        sa.Column("ids", sa.Text, nullable=False),
        sa.PrimaryKeyConstraint("trail_id", "first_seq", name="pk_audit_segment_index"),
    )
    op.create_index("ix_audit_segment_index_time", "audit_segment_index", ["trail_id", "first_time"])
    op.create_table(
        "audit_log_files",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("trail_id", sa.Integer, nullable=False),
        sa.Column("bucket", sa.String(256), nullable=False),
        sa.Column("object_key", sa.String(1024), nullable=False),
        sa.Column("first_seq", sa.BigInteger, nullable=False),
        sa.Column("last_seq", sa.BigInteger, nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("oldest_event_time", sa.Double, nullable=False),
        sa.Column("newest_event_time", sa.Double, nullable=False),
        sa.Column("delivered_at", sa.Double, nullable=False),
        sa.Column("state", sa.String(64), nullable=False),
        sa.Column("digest_number", sa.Integer, nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_audit_log_files"),
        sa.UniqueConstraint("bucket", "object_key", name="uq_audit_log_files_bucket_object_key"),
    )
    op.create_index("ix_audit_log_files_trail", "audit_log_files", ["trail_id", "first_seq"])
    op.create_table(
        "audit_digests",
        sa.Column("trail_id", sa.Integer, nullable=False),
        sa.Column("number", sa.Integer, nullable=False),
        sa.Column("bucket", sa.String(256), nullable=False),
        sa.Column("object_key", sa.String(1024), nullable=False),
        sa.Column("start_time", sa.Double, nullable=False),
        sa.Column("end_time", sa.Double, nullable=False),
        sa.Column("body", sa.LargeBinary, nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("signature", sa.Text, nullable=False),
        sa.Column("fingerprint", sa.String(64), nullable=False),
        sa.Column("state", sa.String(64), nullable=False),
        sa.PrimaryKeyConstraint("trail_id", "number", name="pk_audit_digests"),
    )
    op.create_table(
        "audit_signing_keys",
        sa.Column("fingerprint", sa.String(64), nullable=False),
        sa.Column("public_der", sa.LargeBinary, nullable=False),
        sa.Column("private_blob", sa.LargeBinary, nullable=False),
        sa.Column("signer", sa.String(64), nullable=False),
        sa.Column("valid_from", sa.Double, nullable=False),
        sa.Column("valid_to", sa.Double, nullable=True),
        sa.PrimaryKeyConstraint("fingerprint", name="pk_audit_signing_keys"),
    )
    op.create_table(
        "audit_delivery_lease",
        sa.Column("name", sa.String(256), nullable=False),
        sa.Column("holder", sa.String(256), nullable=False),
        sa.Column("expires_at", sa.Double, nullable=False),
        sa.PrimaryKeyConstraint("name", name="pk_audit_delivery_lease"),
    )


def downgrade() -> None:
    for table in ("audit_delivery_lease", "audit_signing_keys", "audit_digests", "audit_log_files",
                  "audit_segment_index", "audit_segments", "audit_trails"):
        op.drop_table(table)
