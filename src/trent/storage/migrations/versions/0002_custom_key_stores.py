"""Custom key stores (issue 7, spec §10.1).

Revision ID: 0002_custom_key_stores
Revises: 0001
Create Date: 2026-11-23
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002_custom_key_stores"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "custom_key_stores",
        sa.Column("custom_key_store_id", sa.String(128), nullable=False),
        sa.Column("account_id", sa.String(32), nullable=False),
        sa.Column("region", sa.String(64), nullable=False),
        sa.Column("name", sa.String(256), nullable=False),
        sa.Column("store_type", sa.String(64), nullable=False),
        sa.Column("cloud_hsm_cluster_id", sa.String(128), nullable=True),
        sa.Column("trust_anchor_certificate", sa.Text, nullable=True),
        sa.Column("wrapped_password", sa.LargeBinary, nullable=False),
        sa.Column("connection_state", sa.String(64), nullable=False),
        sa.Column("connection_error_code", sa.String(64), nullable=True),
        sa.Column("created_at", sa.Double, nullable=False),
        sa.PrimaryKeyConstraint("custom_key_store_id", name="pk_custom_key_stores"),
        sa.UniqueConstraint("account_id", "region", "name", name="uq_custom_key_stores_account_id_region_name"),
    )


def downgrade() -> None:
    op.drop_table("custom_key_stores")
