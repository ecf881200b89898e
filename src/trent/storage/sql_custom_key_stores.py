"""The SQL half of custom key stores (issue 7, spec §10.1). Mixed into
:class:`trent.storage.sql.SqlStorage`; same rules (one transaction per method, update
or delete of a missing row is a no-op, a duplicate name raises ``Duplicate``)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from trent.domain.custom_key_stores import ConnectionErrorCode, ConnectionState, CustomKeyStore, CustomKeyStoreType
from trent.storage.s3_tables import s3_owned_keys
from trent.storage.tables import (
    access_keys,
    audit_signing_keys,
    custom_key_stores,
    key_material_imports,
    key_materials,
    keys,
)

if TYPE_CHECKING:
    from trent.storage.engine import UnitOfWork

_T = custom_key_stores
_MI = key_material_imports


def _values(store: CustomKeyStore) -> dict[str, Any]:
    return {
        "custom_key_store_id": store.custom_key_store_id,
        "account_id": store.account_id,
        "region": store.region,
        "name": store.name,
        "store_type": str(store.store_type),
        "cloud_hsm_cluster_id": store.cloud_hsm_cluster_id,
        "trust_anchor_certificate": store.trust_anchor_certificate,
        "wrapped_password": store.wrapped_password,
        "connection_state": str(store.connection_state),
        "connection_error_code": None if store.connection_error_code is None else str(store.connection_error_code),
        "created_at": store.created_at,
    }


def _from_row(row: sa.RowMapping) -> CustomKeyStore:
    code = row["connection_error_code"]
    return CustomKeyStore(
        custom_key_store_id=row["custom_key_store_id"],
        account_id=row["account_id"],
        region=row["region"],
        name=row["name"],
        store_type=CustomKeyStoreType(row["store_type"]),
        cloud_hsm_cluster_id=row["cloud_hsm_cluster_id"],
        trust_anchor_certificate=row["trust_anchor_certificate"],
        wrapped_password=bytes(row["wrapped_password"]),
        connection_state=ConnectionState(row["connection_state"]),
        connection_error_code=None if code is None else ConnectionErrorCode(code),
        created_at=row["created_at"],
    )


class CustomKeyStoreSql:
    _unit: UnitOfWork

    def create_custom_key_store(self, store: CustomKeyStore) -> None:
        with self._unit(write=True) as conn:
            conn.execute(_T.insert().values(_values(store)))

    def get_custom_key_store(self, custom_key_store_id: str) -> CustomKeyStore | None:
        with self._unit(write=False) as conn:
            row = conn.execute(sa.select(_T).where(_T.c.custom_key_store_id == custom_key_store_id)).mappings().first()
        return None if row is None else _from_row(row)

    def lock_custom_key_store(self, custom_key_store_id: str) -> CustomKeyStore | None:
        """Issue 20: the store row, locked until the caller's transaction ends (PostgreSQL
        ``FOR UPDATE``; SQLite's write transaction already excludes other writers)."""
        query = sa.select(_T).where(_T.c.custom_key_store_id == custom_key_store_id)
        with self._unit.locking() as conn:
            if conn.dialect.name == "postgresql":
                query = query.with_for_update()
            row = conn.execute(query).mappings().first()
        return None if row is None else _from_row(row)

    def list_custom_key_stores(self, account_id: str | None = None, region: str | None = None) -> Sequence[CustomKeyStore]:
        """In creation order; every store when account and region are None (bootstrap)."""
        query = sa.select(_T).order_by(_T.c.created_at, _T.c.custom_key_store_id)
        if account_id is not None:
            query = query.where(_T.c.account_id == account_id)
        if region is not None:
            query = query.where(_T.c.region == region)
        with self._unit(write=False) as conn:
            return [_from_row(r) for r in conn.execute(query).mappings()]

    def update_custom_key_store(self, store: CustomKeyStore) -> None:
        values = _values(store)
        del values["custom_key_store_id"]
        with self._unit(write=True) as conn:
            conn.execute(_T.update().where(_T.c.custom_key_store_id == store.custom_key_store_id).values(values))

    def delete_custom_key_store(self, custom_key_store_id: str) -> None:
        with self._unit(write=True) as conn:
            conn.execute(_T.delete().where(_T.c.custom_key_store_id == custom_key_store_id))

    def count_keys_in_custom_key_store(self, custom_key_store_id: str) -> int:
        with self._unit(write=False) as conn:
            return int(
                conn.execute(
                    sa.select(sa.func.count()).select_from(keys).where(keys.c.custom_key_store_id == custom_key_store_id)
                ).scalar_one()
            )


class RootRewrapSql:
    """``trent admin rewrap-root`` (issue 7): every blob wrapped under the root, in ONE
    transaction, so an interrupted run changes nothing (and a re-run finishes the job)."""

    _unit: UnitOfWork

    def rewrap_root_blobs(self, rewrap: Callable[[str, tuple[str, ...], bytes], bytes | None]) -> int:
        """``rewrap(kind, ids, blob)`` returns the new blob, or None to leave the row.

        Kinds: ``material`` (key_id, material_id[, region of a member's import]), ``access_key`` (access_key_id,),
        ``custom_key_store_password`` (custom_key_store_id,), ``s3_owned_key`` (key_id,),
        ``audit_signing_key`` (fingerprint, signer) — issue 16's digest signing keys.
        Returns rows changed.
        """
        plans = (
            ("material", key_materials, (key_materials.c.key_id, key_materials.c.material_id), key_materials.c.wrapped),
            # issue 19: a member's import of material, wrapped exactly like the material
            ("material", _MI, (_MI.c.key_id, _MI.c.material_id, _MI.c.region), _MI.c.wrapped),
            ("access_key", access_keys, (access_keys.c.access_key_id,), access_keys.c.wrapped_secret),
            ("custom_key_store_password", _T, (_T.c.custom_key_store_id,), _T.c.wrapped_password),
            ("s3_owned_key", s3_owned_keys, (s3_owned_keys.c.key_id,), s3_owned_keys.c.wrapped),  # issue 17
            ("audit_signing_key", audit_signing_keys, (audit_signing_keys.c.fingerprint, audit_signing_keys.c.signer),
             audit_signing_keys.c.private_blob),
        )
        changed = 0
        with self._unit(write=True) as conn:
            for kind, table, id_cols, blob_col in plans:
                for row in conn.execute(sa.select(*id_cols, blob_col)).all():
                    ids = tuple(row[: len(id_cols)])
                    new = rewrap(kind, ids, bytes(row[-1]))
                    if new is None or new == bytes(row[-1]):
                        continue
                    where = sa.and_(*(col == value for col, value in zip(id_cols, ids)))
                    conn.execute(table.update().where(where).values({blob_col.name: new}))
                    changed += 1
        return changed
