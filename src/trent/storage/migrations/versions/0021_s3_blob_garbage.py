"""S3 blob garbage (issue 17): replaced/removed content blobs wait out a grace period
before the reaper unlinks them, so a GET that read the old row still finds its blob.

Revision ID: 0021_s3_blob_garbage
Revises: 0017_s3_sse
Create Date: 2026-12-05
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0021_s3_blob_garbage"
down_revision: str | None = "0017_s3_sse"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "s3_blob_garbage",
        sa.Column("name", sa.String(256), nullable=False),
        sa.Column("since", sa.Double, nullable=True),
        sa.PrimaryKeyConstraint("name", name="pk_s3_blob_garbage"),
    )
    op.create_index("ix_s3_blob_garbage_since", "s3_blob_garbage", ["since"])


def downgrade() -> None:
    op.drop_index("ix_s3_blob_garbage_since", table_name="s3_blob_garbage")
    op.drop_table("s3_blob_garbage")
