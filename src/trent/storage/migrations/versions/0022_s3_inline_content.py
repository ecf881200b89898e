"""S3 inline content (issue 17): a small single-part object's ciphertext is kept in its
row (``s3_objects.inline_content``) instead of in the object store.

Revision ID: 0022_s3_inline_content
Revises: 0021_s3_blob_garbage
Create Date: 2026-12-06
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0022_s3_inline_content"
down_revision: str | None = "0021_s3_blob_garbage"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("s3_objects", sa.Column("inline_content", sa.LargeBinary, nullable=True))


def downgrade() -> None:
    # Objects kept inline have no blob to fall back on: refuse rather than lose them.
    bind = op.get_bind()
    if bind.execute(sa.text("SELECT 1 FROM s3_objects WHERE inline_content IS NOT NULL LIMIT 1")).first():
        raise RuntimeError("s3_objects holds inline content: downgrading would lose those objects")
    with op.batch_alter_table("s3_objects") as batch:
        batch.drop_column("inline_content")
