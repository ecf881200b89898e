"""The SQL half of keys over time (issue 4): material updates and rotation, rotation
schedules, last usage (expiry scans: ``sql_material_imports``). Mixed into :class:`trent.storage.sql.SqlStorage`; the
same rules hold (one transaction per method, update of a missing row is a no-op)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql as pg_dialect
from sqlalchemy.dialects import sqlite as sqlite_dialect
from sqlalchemy.engine import Connection

from trent.domain.keys import Key, KeyMaterial, KeyState, MaterialState
from trent.domain.lifecycle import KeyUse, RotationSchedule
from trent.storage import rows
from trent.storage.sql_material_imports import delete_imports
from trent.storage.tables import key_last_usage, key_materials, key_rotation_schedules, keys, service_markers

if TYPE_CHECKING:
    from trent.storage.engine import UnitOfWork

def _insert(conn: Connection, table: sa.Table):
    return (pg_dialect.insert if conn.dialect.name == "postgresql" else sqlite_dialect.insert)(table)


def _material_is(key_id: str, material_id: str) -> sa.ColumnElement[bool]:
    return sa.and_(key_materials.c.key_id == key_id, key_materials.c.material_id == material_id)


def _schedule_from_row(row: sa.RowMapping) -> RotationSchedule:
    return RotationSchedule(
        region=row["region"], key_id=row["key_id"], enabled=bool(row["enabled"]),
        period_days=row["period_days"], next_rotation_at=row["next_rotation_at"],
    )


class LifecycleSql:
    _unit: UnitOfWork

    def update_material(self, material: KeyMaterial) -> None:
        values = rows.material_values(material)
        del values["key_id"], values["material_id"]
        with self._unit(write=True) as conn:
            conn.execute(
                key_materials.update().where(_material_is(material.key_id, material.material_id)).values(values)
            )

    def delete_material(self, key_id: str, material_id: str) -> None:
        with self._unit(write=True) as conn:
            conn.execute(key_materials.delete().where(_material_is(key_id, material_id)))
            delete_imports(conn, key_id, material_id)  # every member's import of it goes too

    def rotate_material(self, key: Key, material: KeyMaterial) -> None:
        if material.key_id != key.key_id:
            raise ValueError("material belongs to another key")
        key_values = rows.key_values(key)
        del key_values["region"], key_values["key_id"]
        values = rows.material_values(material)
        with self._unit(write=True) as conn:
            conn.execute(
                key_materials.update()
                .where(key_materials.c.key_id == key.key_id,
                       key_materials.c.state == MaterialState.CURRENT.value)
                .values(state=MaterialState.NON_CURRENT.value)
            )
            updated = conn.execute(
                key_materials.update().where(_material_is(material.key_id, material.material_id)).values(values)
            )
            if updated.rowcount == 0:
                conn.execute(key_materials.insert().values(values))
            conn.execute(
                keys.update().where(keys.c.region == key.region, keys.c.key_id == key.key_id).values(key_values)
            )
            # The other members of a multi-Region key share the material (spec §12).
            conn.execute(
                keys.update()
                .where(keys.c.key_id == key.key_id, keys.c.region != key.region, keys.c.current_material_id.is_not(None))
                .values(current_material_id=key.current_material_id)
            )

    def get_rotation_schedule(self, region: str, key_id: str) -> RotationSchedule | None:
        query = sa.select(key_rotation_schedules).where(
            key_rotation_schedules.c.region == region, key_rotation_schedules.c.key_id == key_id
        )
        with self._unit(write=False) as conn:
            row = conn.execute(query).mappings().first()
        return None if row is None else _schedule_from_row(row)

    def put_rotation_schedule(self, schedule: RotationSchedule) -> None:
        values = {
            "region": schedule.region, "key_id": schedule.key_id, "enabled": schedule.enabled,
            "period_days": schedule.period_days, "next_rotation_at": schedule.next_rotation_at,
        }
        with self._unit(write=True) as conn:
            stmt = _insert(conn, key_rotation_schedules).values(values)
            conn.execute(stmt.on_conflict_do_update(
                index_elements=[key_rotation_schedules.c.region, key_rotation_schedules.c.key_id],
                set_={k: stmt.excluded[k] for k in ("enabled", "period_days", "next_rotation_at")},
            ))

    def rotations_due(self, now: float, limit: int = 100) -> Sequence[RotationSchedule]:
        s = key_rotation_schedules
        query = (
            sa.select(s)
            .join(keys, sa.and_(keys.c.region == s.c.region, keys.c.key_id == s.c.key_id))
            .where(s.c.enabled.is_(True), s.c.next_rotation_at <= now, keys.c.state == KeyState.ENABLED.value)
            .order_by(s.c.next_rotation_at, s.c.region, s.c.key_id)
            .limit(limit)
        )
        with self._unit(write=False) as conn:
            return [_schedule_from_row(r) for r in conn.execute(query).mappings()]

    def record_key_usage(self, uses: Sequence[KeyUse]) -> None:
        if not uses:
            return
        values = [
            {"region": u.region, "key_id": u.key_id, "operation": u.operation, "used_at": u.used_at,
             "request_id": u.request_id}
            for u in uses
        ]
        with self._unit(write=True) as conn:
            stmt = _insert(conn, key_last_usage)
            conn.execute(
                stmt.on_conflict_do_update(
                    index_elements=[key_last_usage.c.region, key_last_usage.c.key_id],
                    set_={k: stmt.excluded[k] for k in ("operation", "used_at", "request_id")},
                    where=key_last_usage.c.used_at <= stmt.excluded.used_at,
                ),
                values,
            )

    def get_key_usage(self, region: str, key_id: str) -> KeyUse | None:
        query = sa.select(key_last_usage).where(
            key_last_usage.c.region == region, key_last_usage.c.key_id == key_id
        )
        with self._unit(write=False) as conn:
            row = conn.execute(query).mappings().first()
        if row is None:
            return None
        return KeyUse(row["region"], row["key_id"], row["operation"], row["used_at"], row["request_id"])

    def ensure_marker(self, name: str, value: float) -> float:
        with self._unit(write=True) as conn:
            conn.execute(
                _insert(conn, service_markers).values(name=name, value=value).on_conflict_do_nothing()
            )
            return float(
                conn.execute(sa.select(service_markers.c.value).where(service_markers.c.name == name)).scalar_one()
            )


def delete_key_lifecycle_rows(conn: Connection, region: str, key_id: str) -> None:
    """Part of ``SqlStorage.delete_key``'s transaction (spec §5.3)."""
    for table in (key_rotation_schedules, key_last_usage):
        conn.execute(table.delete().where(table.c.region == region, table.c.key_id == key_id))
