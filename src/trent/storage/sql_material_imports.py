"""The SQL half of imported material per member (issue 19, spec §9, §12). Mixed into
:class:`trent.storage.sql.SqlStorage`; one transaction per method, as everywhere.

``key_materials`` holds a key id's material versions, shared by every member of a
multi-Region key; ``key_material_imports`` holds, per Region, the import of a version
that member has received (bytes, ExpirationModel, ValidTo). A read for a Region joins
the two (:data:`MATERIAL_IN_REGION`), so the service sees material exactly as that
member holds it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql as pg_dialect
from sqlalchemy.dialects import sqlite as sqlite_dialect

from trent.domain.keys import Key, KeyMaterial, MaterialImport
from trent.storage import rows
from trent.storage.tables import key_material_imports, key_materials, keys

if TYPE_CHECKING:
    from trent.storage.engine import UnitOfWork

_I = key_material_imports
_P = sa.bindparam


def _materials_in_region() -> sa.Select:
    """``key_materials`` with the import of the member in ``:region`` (NULL: none, or no
    Region asked for), as ``imported_*`` columns (``rows.material_from_row``)."""
    joined = key_materials.outerjoin(
        _I,
        sa.and_(_I.c.key_id == key_materials.c.key_id, _I.c.material_id == key_materials.c.material_id,
                _I.c.region == _P("region")),
    )
    return sa.select(
        key_materials,
        _I.c.region.label("imported_region"),
        _I.c.wrapped.label("imported_wrapped"),
        _I.c.expiration_model.label("imported_expiration_model"),
        _I.c.valid_to.label("imported_valid_to"),
    ).select_from(joined)


# Built once with bind parameters (see sql.py's point reads).
MATERIAL_IN_REGION = _materials_in_region().where(
    key_materials.c.key_id == _P("key_id"), key_materials.c.material_id == _P("material_id")
)
MATERIALS_IN_REGION = _materials_in_region().where(key_materials.c.key_id == _P("key_id")).order_by(
    key_materials.c.id
)


def _import_is(region: str, key_id: str, material_id: str) -> sa.ColumnElement[bool]:
    return sa.and_(_I.c.region == region, _I.c.key_id == key_id, _I.c.material_id == material_id)


class MaterialImportSql:
    _unit: UnitOfWork

    def put_material_import(self, imported: MaterialImport) -> None:
        values = rows.import_values(imported)
        with self._unit(write=True) as conn:
            insert = (pg_dialect.insert if conn.dialect.name == "postgresql" else sqlite_dialect.insert)(_I)
            stmt = insert.values(values)
            conn.execute(stmt.on_conflict_do_update(
                index_elements=[_I.c.region, _I.c.key_id, _I.c.material_id],
                set_={k: stmt.excluded[k] for k in ("wrapped", "expiration_model", "valid_to")},
            ))

    def delete_material_import(self, region: str, key_id: str, material_id: str) -> None:
        with self._unit(write=True) as conn:
            conn.execute(_I.delete().where(_import_is(region, key_id, material_id)))

    def list_material_imports(self, key_id: str) -> Sequence[MaterialImport]:
        query = sa.select(_I).where(_I.c.key_id == key_id).order_by(_I.c.region, _I.c.material_id)
        with self._unit(write=False) as conn:
            return [rows.import_from_row(r) for r in conn.execute(query).mappings()]

    def materials_expiring(self, now: float, limit: int = 100) -> Sequence[tuple[Key, KeyMaterial]]:
        query = (
            sa.select(_I.c.region, _I.c.key_id, _I.c.material_id)
            .where(_I.c.valid_to <= now)
            .order_by(_I.c.valid_to, _I.c.region, _I.c.key_id, _I.c.material_id)
            .limit(limit)
        )
        found: list[tuple[Key, KeyMaterial]] = []
        with self._unit(write=False) as conn:
            for region, key_id, material_id in conn.execute(query).all():
                params = {"region": region, "key_id": key_id, "material_id": material_id}
                material = conn.execute(MATERIAL_IN_REGION, params).mappings().first()
                owner = conn.execute(
                    sa.select(keys).where(keys.c.region == region, keys.c.key_id == key_id)
                ).mappings().first()
                if material is not None and owner is not None:
                    found.append((rows.key_from_row(owner), rows.material_from_row(material)))
        return found


def delete_imports(conn: sa.Connection, key_id: str, material_id: str | None = None, region: str | None = None) -> None:
    """Part of a material's or a member's deletion (same transaction)."""
    where = [_I.c.key_id == key_id]
    if material_id is not None:
        where.append(_I.c.material_id == material_id)
    if region is not None:
        where.append(_I.c.region == region)
    conn.execute(_I.delete().where(*where))
