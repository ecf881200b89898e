"""Imported material per member (issue 19, spec §9, §12): each member of a multi-Region
key imports, deletes and expires its material on its own, so the bytes, ExpirationModel
and ValidTo move from ``key_materials`` (shared by key id) to ``key_material_imports``
(one row per Region that holds the import).

Data: every IMPORTED material row becomes an import of each member that had received
it — a single-Region key's one row, and the multi-Region members that had imported
(``current_material_id`` set; a replica never imported into has none). The shared row
keeps the version (state, rotation, description) with empty bytes, marked PENDING_IMPORT.

Revision ID: 0019_mrk_member_material
Revises: 0002_lifecycle
Create Date: 2026-12-07

It revises 0002_lifecycle, not 0001 like the other feature branches: it moves columns
that revision created, so it must run after it. (Alembic's ``depends_on`` would say the
same, but then the version table no longer lists 0002_lifecycle while
``get_heads()`` still does, and ``migrate``'s current == heads check breaks.)
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0019_mrk_member_material"
down_revision: str | None = "0002_lifecycle"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_materials = sa.table(
    "key_materials",
    sa.column("key_id", sa.String), sa.column("material_id", sa.String), sa.column("wrapped", sa.LargeBinary),
    sa.column("import_state", sa.String), sa.column("expiration_model", sa.String), sa.column("valid_to", sa.Double),
)
_imports = sa.table(
    "key_material_imports",
    sa.column("region", sa.String), sa.column("key_id", sa.String), sa.column("material_id", sa.String),
    sa.column("wrapped", sa.LargeBinary), sa.column("expiration_model", sa.String), sa.column("valid_to", sa.Double),
)
_keys = sa.table(
    "keys", sa.column("region", sa.String), sa.column("key_id", sa.String), sa.column("multi_region", sa.Boolean),
    sa.column("current_material_id", sa.String),
)


def upgrade() -> None:
    op.create_table(
        "key_material_imports",
        sa.Column("region", sa.String(64), nullable=False),
        sa.Column("key_id", sa.String(128), nullable=False),
        sa.Column("material_id", sa.String(128), nullable=False),
        sa.Column("wrapped", sa.LargeBinary, nullable=False),
        sa.Column("expiration_model", sa.String(64), nullable=False),
        sa.Column("valid_to", sa.Double, nullable=True),
        sa.PrimaryKeyConstraint("region", "key_id", "material_id", name="pk_key_material_imports"),
    )
    op.create_index("ix_key_material_imports_valid_to", "key_material_imports", ["valid_to"])
    imported = _materials.c.import_state == "IMPORTED"
    received = sa.or_(_keys.c.multi_region.is_(False), _keys.c.current_material_id.is_not(None))
    op.execute(
        _imports.insert().from_select(
            ["region", "key_id", "material_id", "wrapped", "expiration_model", "valid_to"],
            sa.select(
                _keys.c.region, _materials.c.key_id, _materials.c.material_id, _materials.c.wrapped,
                sa.func.coalesce(_materials.c.expiration_model, "KEY_MATERIAL_DOES_NOT_EXPIRE"),
                _materials.c.valid_to,
            )
            .select_from(_materials.join(_keys, _keys.c.key_id == _materials.c.key_id))
            .where(imported, received),
        )
    )
    op.execute(
        _materials.update()
        .where(_materials.c.import_state.is_not(None))
        .values(wrapped=sa.literal(b"", sa.LargeBinary), import_state="PENDING_IMPORT")
    )
    op.drop_index("ix_key_materials_valid_to", table_name="key_materials")
    with op.batch_alter_table("key_materials") as batch:
        batch.drop_column("valid_to")
        batch.drop_column("expiration_model")


def downgrade() -> None:
    with op.batch_alter_table("key_materials") as batch:
        batch.add_column(sa.Column("expiration_model", sa.String(64), nullable=True))
        batch.add_column(sa.Column("valid_to", sa.Double, nullable=True))
    op.create_index("ix_key_materials_valid_to", "key_materials", ["valid_to"])

    # Back to one shared copy: the first member's import (in Region order) of each material.
    def first(column: sa.ColumnElement) -> sa.ScalarSelect:
        return (
            sa.select(column)
            .where(_imports.c.key_id == _materials.c.key_id, _imports.c.material_id == _materials.c.material_id)
            .order_by(_imports.c.region)
            .limit(1)
            .scalar_subquery()
        )

    exists = (
        sa.select(_imports.c.region)
        .where(_imports.c.key_id == _materials.c.key_id, _imports.c.material_id == _materials.c.material_id)
        .exists()
    )
    op.execute(
        _materials.update()
        .where(exists)
        .values(
            wrapped=first(_imports.c.wrapped), import_state="IMPORTED",
            expiration_model=first(_imports.c.expiration_model), valid_to=first(_imports.c.valid_to),
        )
    )
    op.drop_index("ix_key_material_imports_valid_to", table_name="key_material_imports")
    op.drop_table("key_material_imports")
