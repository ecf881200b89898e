"""Domain objects <-> table rows, in one place so the mapping is visibly total.

Enums go in as their string values and come back as the enum (``tables.py``);
floats and ``None`` pass through untouched, so every field round-trips exactly.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.engine import RowMapping

from trent.domain.keys import (
    Alias,
    Key,
    KeyManager,
    KeyMaterial,
    KeySpec,
    KeyState,
    KeyUsage,
    MaterialImport,
    MaterialState,
    Origin,
    as_seen_by,
)
from trent.domain.principals import AccessKey, AccessKeyStatus, Account, Principal, PrincipalKind

Values = dict[str, Any]


def key_values(key: Key) -> Values:
    return {
        "region": key.region,
        "key_id": key.key_id,
        "account_id": key.account_id,
        "partition": key.partition,
        "key_spec": key.key_spec.value,
        "key_usage": key.key_usage.value,
        "origin": key.origin.value,
        "state": key.state.value,
        "created_at": key.created_at,
        "description": key.description,
        "key_manager": key.key_manager.value,
        "multi_region": key.multi_region,
        "current_material_id": key.current_material_id,
        "deletion_date": key.deletion_date,
        "pending_window_days": key.pending_window_days,
        "policy": key.policy,
        "custom_key_store_id": key.custom_key_store_id,
        "expiration_model": key.expiration_model,
        "valid_to": key.valid_to,
        "primary_region": key.primary_region,
        "transient_until": key.transient_until,
        "settled_state": None if key.settled_state is None else key.settled_state.value,
    }


def key_from_row(row: RowMapping) -> Key:
    return Key(
        key_id=row["key_id"],
        account_id=row["account_id"],
        region=row["region"],
        partition=row["partition"],
        key_spec=KeySpec(row["key_spec"]),
        key_usage=KeyUsage(row["key_usage"]),
        origin=Origin(row["origin"]),
        state=KeyState(row["state"]),
        created_at=row["created_at"],
        description=row["description"],
        key_manager=KeyManager(row["key_manager"]),
        multi_region=bool(row["multi_region"]),
        current_material_id=row["current_material_id"],
        deletion_date=row["deletion_date"],
        pending_window_days=row["pending_window_days"],
        policy=row["policy"],
        custom_key_store_id=row["custom_key_store_id"],
        expiration_model=row["expiration_model"],
        valid_to=row["valid_to"],
        primary_region=row["primary_region"],
        transient_until=row["transient_until"],
        settled_state=None if row["settled_state"] is None else KeyState(row["settled_state"]),
    )


def material_values(material: KeyMaterial) -> Values:
    return {
        "key_id": material.key_id,
        "material_id": material.material_id,
        "wrapped": material.wrapped,
        "state": material.state.value,
        "created_at": material.created_at,
        "rotation_type": material.rotation_type,
        "import_state": material.import_state,
        "description": material.description,
    }


def material_from_row(row: RowMapping) -> KeyMaterial:
    """A ``key_materials`` row, overlaid by the member's import when the query joined one
    in (``imported_*`` columns, see ``sql_material_imports``)."""
    material = KeyMaterial(
        key_id=row["key_id"],
        material_id=row["material_id"],
        wrapped=bytes(row["wrapped"]),  # psycopg hands back memoryview-like buffers
        state=MaterialState(row["state"]),
        created_at=row["created_at"],
        rotation_type=row["rotation_type"],
        import_state=row["import_state"],
        description=row["description"],
    )
    region = row.get("imported_region")
    if region is None:
        return material
    return as_seen_by(material, import_from_row(row, prefix="imported_"))


def import_values(imported: MaterialImport) -> Values:
    return {
        "region": imported.region,
        "key_id": imported.key_id,
        "material_id": imported.material_id,
        "wrapped": imported.wrapped,
        "expiration_model": imported.expiration_model,
        "valid_to": imported.valid_to,
    }


def import_from_row(row: RowMapping, prefix: str = "") -> MaterialImport:
    return MaterialImport(
        region=row[prefix + "region"],
        key_id=row["key_id"],
        material_id=row["material_id"],
        wrapped=bytes(row[prefix + "wrapped"]),
        expiration_model=row[prefix + "expiration_model"],
        valid_to=row[prefix + "valid_to"],
    )


def alias_values(alias: Alias) -> Values:
    return {
        "account_id": alias.account_id,
        "region": alias.region,
        "name": alias.name,
        "partition": alias.partition,
        "target_key_id": alias.target_key_id,
        "created_at": alias.created_at,
        "updated_at": alias.updated_at,
    }


def alias_from_row(row: RowMapping) -> Alias:
    return Alias(
        account_id=row["account_id"],
        region=row["region"],
        partition=row["partition"],
        name=row["name"],
        target_key_id=row["target_key_id"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
    )


def account_values(account: Account) -> Values:
    return {"account_id": account.account_id, "name": account.name, "created_at": account.created_at}


def account_from_row(row: RowMapping) -> Account:
    return Account(account_id=row["account_id"], name=row["name"], created_at=row["created_at"])


def principal_values(principal: Principal) -> Values:
    return {
        "arn": principal.arn,
        "account_id": principal.account_id,
        "kind": principal.kind.value,
        "name": principal.name,
        "principal_id": principal.principal_id,
    }


def principal_from_row(row: RowMapping) -> Principal:
    return Principal(
        arn=row["arn"],
        account_id=row["account_id"],
        kind=PrincipalKind(row["kind"]),
        name=row["name"],
        principal_id=row["principal_id"],
    )


def access_key_values(key: AccessKey) -> Values:
    return {
        "access_key_id": key.access_key_id,
        "principal_arn": key.principal_arn,
        "account_id": key.account_id,
        "wrapped_secret": key.wrapped_secret,
        "status": key.status.value,
        "created_at": key.created_at,
        "session_token_sha256": key.session_token_sha256,
        "expires_at": key.expires_at,
    }


def access_key_from_row(row: RowMapping) -> AccessKey:
    digest = row["session_token_sha256"]
    return AccessKey(
        access_key_id=row["access_key_id"],
        principal_arn=row["principal_arn"],
        account_id=row["account_id"],
        wrapped_secret=bytes(row["wrapped_secret"]),
        status=AccessKeyStatus(row["status"]),
        created_at=row["created_at"],
        session_token_sha256=None if digest is None else bytes(digest),
        expires_at=row["expires_at"],
    )
