"""Initial schema: accounts, principals, access keys, keys, key material, aliases, tags.

A frozen snapshot: later schema changes get their own revision and never edit this one
(``tables.py`` is the current shape; a test checks head == tables.py).

Revision ID: 0001
Revises:
Create Date: 2026-05-09
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _sortable(length: int) -> sa.types.TypeEngine[str]:
    # Bytewise ordering on PostgreSQL whatever the database locale (see tables.py).
    return sa.String(length).with_variant(sa.String(length, collation="C"), "postgresql")


def upgrade() -> None:
    op.create_table(
        "accounts",
        sa.Column("account_id", sa.String(32), nullable=False),
        sa.Column("name", sa.String(256), nullable=False),
        sa.Column("created_at", sa.Double, nullable=False),
        sa.PrimaryKeyConstraint("account_id", name="pk_accounts"),
    )
    op.create_table(
        "principals",
        sa.Column("arn", sa.String(2048), nullable=False),
        sa.Column("account_id", sa.String(32), nullable=False),
        sa.Column("kind", sa.String(64), nullable=False),
        sa.Column("name", sa.String(256), nullable=False),
        sa.Column("principal_id", sa.String(128), nullable=False),
        sa.PrimaryKeyConstraint("arn", name="pk_principals"),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.account_id"],
            name="fk_principals_account_id_accounts",
            ondelete="CASCADE",
        ),
    )
    op.create_index("ix_principals_account_id", "principals", ["account_id"])
    op.create_index("ix_principals_principal_id", "principals", ["principal_id"])

    op.create_table(
        "access_keys",
        sa.Column("access_key_id", sa.String(128), nullable=False),
        sa.Column("principal_arn", sa.String(2048), nullable=False),
        sa.Column("account_id", sa.String(32), nullable=False),
        sa.Column("wrapped_secret", sa.LargeBinary, nullable=False),
        sa.Column("status", sa.String(64), nullable=False),
        sa.Column("created_at", sa.Double, nullable=False),
        sa.Column("session_token_sha256", sa.LargeBinary, nullable=True),
        sa.Column("expires_at", sa.Double, nullable=True),
        sa.PrimaryKeyConstraint("access_key_id", name="pk_access_keys"),
        sa.ForeignKeyConstraint(
            ["principal_arn"],
            ["principals.arn"],
            name="fk_access_keys_principal_arn_principals",
            ondelete="CASCADE",
        ),
    )
    op.create_index("ix_access_keys_principal_arn", "access_keys", ["principal_arn"])
    op.create_index("ix_access_keys_expires_at", "access_keys", ["expires_at"])

    op.create_table(
        "keys",
        sa.Column("id", sa.Integer, autoincrement=True, nullable=False),
        sa.Column("region", sa.String(64), nullable=False),
        sa.Column("key_id", sa.String(128), nullable=False),
        sa.Column("account_id", sa.String(32), nullable=False),
        sa.Column("partition", sa.String(32), nullable=False),
        sa.Column("key_spec", sa.String(64), nullable=False),
        sa.Column("key_usage", sa.String(64), nullable=False),
        sa.Column("origin", sa.String(64), nullable=False),
        sa.Column("state", sa.String(64), nullable=False),
        sa.Column("created_at", sa.Double, nullable=False),
        sa.Column("description", sa.Text, nullable=False),
        sa.Column("key_manager", sa.String(64), nullable=False),
        sa.Column("multi_region", sa.Boolean, nullable=False),
        sa.Column("current_material_id", sa.String(128), nullable=True),
        sa.Column("deletion_date", sa.Double, nullable=True),
        sa.Column("pending_window_days", sa.Integer, nullable=True),
        sa.Column("policy", sa.Text, nullable=True),
        sa.Column("custom_key_store_id", sa.String(128), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_keys"),
        sa.UniqueConstraint("region", "key_id", name="uq_keys_region_key_id"),
    )
    op.create_index("ix_keys_listing", "keys", ["account_id", "region", "id"])
    op.create_index("ix_keys_deletion_date", "keys", ["deletion_date"])

    op.create_table(
        "key_materials",
        sa.Column("id", sa.Integer, autoincrement=True, nullable=False),
        sa.Column("key_id", sa.String(128), nullable=False),
        sa.Column("material_id", sa.String(128), nullable=False),
        sa.Column("wrapped", sa.LargeBinary, nullable=False),
        sa.Column("state", sa.String(64), nullable=False),
        sa.Column("created_at", sa.Double, nullable=False),
        sa.Column("rotation_type", sa.String(64), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_key_materials"),
        sa.UniqueConstraint(
            "key_id", "material_id", name="uq_key_materials_key_id_material_id"
        ),
    )

    op.create_table(
        "aliases",
        sa.Column("account_id", sa.String(32), nullable=False),
        sa.Column("region", sa.String(64), nullable=False),
        sa.Column("name", _sortable(256), nullable=False),
        sa.Column("partition", sa.String(32), nullable=False),
        sa.Column("target_key_id", sa.String(128), nullable=True),
        sa.Column("created_at", sa.Double, nullable=False),
        sa.Column("updated_at", sa.Double, nullable=False),
        sa.PrimaryKeyConstraint("account_id", "region", "name", name="pk_aliases"),
    )
    op.create_index("ix_aliases_target", "aliases", ["region", "target_key_id"])

    op.create_table(
        "tags",
        sa.Column("region", sa.String(64), nullable=False),
        sa.Column("key_id", sa.String(128), nullable=False),
        sa.Column("tag_key", _sortable(256), nullable=False),
        sa.Column("tag_value", sa.String(256), nullable=False),
        sa.PrimaryKeyConstraint("region", "key_id", "tag_key", name="pk_tags"),
        sa.ForeignKeyConstraint(
            ["region", "key_id"],
            ["keys.region", "keys.key_id"],
            name="fk_tags_region_key_id_keys",
            ondelete="CASCADE",
        ),
    )


def downgrade() -> None:
    for table in ("tags", "aliases", "key_materials", "keys", "access_keys", "principals"):
        op.drop_table(table)
    op.drop_table("accounts")
