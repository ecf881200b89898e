"""Roles, inline identity policies and grants (issue 5, spec §7, §8).

Revision ID: 0003_authz
Revises: 0001
Create Date: 2026-11-23
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003_authz"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _sortable(length: int) -> sa.types.TypeEngine[str]:
    return sa.String(length).with_variant(sa.String(length, collation="C"), "postgresql")


def upgrade() -> None:
    op.create_table(
        "roles",
        sa.Column("arn", sa.String(2048), nullable=False),
        sa.Column("account_id", sa.String(32), nullable=False),
        sa.Column("name", _sortable(256), nullable=False),
        sa.Column("role_id", sa.String(128), nullable=False),
        sa.Column("trust_policy", sa.Text, nullable=False),
        sa.Column("max_session_duration", sa.Integer, nullable=False),
        sa.Column("created_at", sa.Double, nullable=False),
        sa.PrimaryKeyConstraint("arn", name="pk_roles"),
        sa.ForeignKeyConstraint(["arn"], ["principals.arn"], name="fk_roles_arn_principals", ondelete="CASCADE"),
    )
    op.create_index("ix_roles_account_id", "roles", ["account_id"])
    op.create_table(
        "identity_policies",
        sa.Column("principal_arn", sa.String(2048), nullable=False),
        sa.Column("name", _sortable(256), nullable=False),
        sa.Column("document", sa.Text, nullable=False),
        sa.PrimaryKeyConstraint("principal_arn", "name", name="pk_identity_policies"),
        sa.ForeignKeyConstraint(
            ["principal_arn"], ["principals.arn"], name="fk_identity_policies_principal_arn_principals",
            ondelete="CASCADE",
        ),
    )
    op.create_table(
        "grants",
        sa.Column("id", sa.Integer, autoincrement=True, nullable=False),
        sa.Column("grant_id", sa.String(128), nullable=False),
        sa.Column("region", sa.String(64), nullable=False),
        sa.Column("key_id", sa.String(128), nullable=False),
        sa.Column("key_arn", sa.String(2048), nullable=False),
        sa.Column("key_account_id", sa.String(32), nullable=False),
        sa.Column("issuing_account", sa.String(2048), nullable=False),
        sa.Column("grantee_principal", sa.String(2048), nullable=False),
        sa.Column("retiring_principal", sa.String(2048), nullable=True),
        sa.Column("name", sa.String(256), nullable=True),
        sa.Column("operations", sa.Text, nullable=False),
        sa.Column("encryption_context_equals", sa.Text, nullable=True),
        sa.Column("encryption_context_subset", sa.Text, nullable=True),
        sa.Column("created_at", sa.Double, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_grants"),
        sa.UniqueConstraint("grant_id", name="uq_grants_grant_id"),
    )
    op.create_index("ix_grants_key", "grants", ["region", "key_id", "id"])
    op.create_index("ix_grants_retiring_principal", "grants", ["retiring_principal", "id"])
    op.create_index("ix_grants_name", "grants", ["region", "key_id", "name"])


def downgrade() -> None:
    op.drop_table("grants")
    op.drop_table("identity_policies")
    op.drop_table("roles")
