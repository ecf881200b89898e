"""Multi-Region keys (issue 19, spec §12): the primary's Region on every member row, a
transient state's end and the state after it, and an index to find a key's members.

Revision ID: 0004_multi_region
Revises: 0001
Create Date: 2026-11-30
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004_multi_region"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("keys", sa.Column("primary_region", sa.String(64), nullable=True))
    op.add_column("keys", sa.Column("transient_until", sa.Double, nullable=True))
    op.add_column("keys", sa.Column("settled_state", sa.String(64), nullable=True))
    op.create_index("ix_keys_key_id", "keys", ["key_id"])
    # Multi-Region keys created before this revision were primaries in their own Region.
    op.execute("UPDATE keys SET primary_region = region WHERE multi_region")


def downgrade() -> None:
    op.drop_index("ix_keys_key_id", table_name="keys")
    with op.batch_alter_table("keys") as batch:
        batch.drop_column("settled_state")
        batch.drop_column("transient_until")
        batch.drop_column("primary_region")
