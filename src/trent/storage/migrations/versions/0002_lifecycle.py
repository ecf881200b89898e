"""Keys over time (issue 4): rotation schedules, imported-material columns, last usage.

Revision ID: 0002_lifecycle
Revises: 0001
Create Date: 2026-11-23
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002_lifecycle"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("keys", sa.Column("expiration_model", sa.String(64), nullable=True))
    op.add_column("keys", sa.Column("valid_to", sa.Double, nullable=True))
    op.add_column("key_materials", sa.Column("import_state", sa.String(64), nullable=True))
    op.add_column("key_materials", sa.Column("expiration_model", sa.String(64), nullable=True))
    op.add_column("key_materials", sa.Column("valid_to", sa.Double, nullable=True))
    op.add_column("key_materials", sa.Column("description", sa.Text, nullable=True))
    op.create_index("ix_key_materials_valid_to", "key_materials", ["valid_to"])
    op.create_table(
        "key_rotation_schedules",
        sa.Column("region", sa.String(64), nullable=False),
        sa.Column("key_id", sa.String(128), nullable=False),
        sa.Column("enabled", sa.Boolean, nullable=False),
        sa.Column("period_days", sa.Integer, nullable=False),
        sa.Column("next_rotation_at", sa.Double, nullable=True),
        sa.PrimaryKeyConstraint("region", "key_id", name="pk_key_rotation_schedules"),
    )
    op.create_index(
        "ix_key_rotation_schedules_next_rotation_at", "key_rotation_schedules", ["next_rotation_at"]
    )
    op.create_table(
        "key_last_usage",
        sa.Column("region", sa.String(64), nullable=False),
        sa.Column("key_id", sa.String(128), nullable=False),
        sa.Column("operation", sa.String(64), nullable=False),
        sa.Column("used_at", sa.Double, nullable=False),
        sa.Column("request_id", sa.String(128), nullable=True),
        sa.PrimaryKeyConstraint("region", "key_id", name="pk_key_last_usage"),
    )
    op.create_table(
        "service_markers",
        sa.Column("name", sa.String(256), nullable=False),
        sa.Column("value", sa.Double, nullable=False),
        sa.PrimaryKeyConstraint("name", name="pk_service_markers"),
    )


def downgrade() -> None:
    op.drop_table("service_markers")
    op.drop_table("key_last_usage")
    op.drop_index("ix_key_rotation_schedules_next_rotation_at", table_name="key_rotation_schedules")
    op.drop_table("key_rotation_schedules")
    op.drop_index("ix_key_materials_valid_to", table_name="key_materials")
    with op.batch_alter_table("key_materials") as batch:
        for column in ("description", "valid_to", "expiration_model", "import_state"):
            batch.drop_column(column)
    with op.batch_alter_table("keys") as batch:
        for column in ("valid_to", "expiration_model"):
            batch.drop_column(column)
