"""The SQL half of issue 5: roles, inline identity policies, grants, expired STS keys.
Mixed into :class:`trent.storage.sql.SqlStorage`; same rules (one transaction per
method, update or delete of a missing row is a no-op, a clash raises ``Duplicate``)."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from trent.domain.grants import GrantRecord
from trent.domain.principals import IdentityPolicy, Principal, PrincipalKind, Role
from trent.storage import rows
from trent.storage.markers import MarkerKind, decode_sequence, encode_sequence
from trent.storage.repositories import Page
from trent.storage.tables import (
    access_keys,
    grants,
    identity_policies,
    principals,
    roles,
)

if TYPE_CHECKING:
    from trent.storage.engine import UnitOfWork

_P = sa.bindparam
_GET_ROLE = sa.select(roles).where(roles.c.arn == _P("arn"))
_IDENTITY_POLICIES = (
    sa.select(identity_policies)
    .where(identity_policies.c.principal_arn == _P("arn"))
    .order_by(identity_policies.c.name)
)
_GRANTS_FOR_KEY = (
    sa.select(grants).where(grants.c.region == _P("region"), grants.c.key_id == _P("key_id")).order_by(grants.c.id)
)
_GET_GRANT = sa.select(grants).where(grants.c.grant_id == _P("grant_id"))


def _role_values(role: Role) -> dict[str, Any]:
    return {
        "arn": role.arn,
        "account_id": role.account_id,
        "name": role.name,
        "role_id": role.role_id,
        "trust_policy": role.trust_policy,
        "max_session_duration": role.max_session_duration,
        "created_at": role.created_at,
    }


def _role_from_row(row: sa.RowMapping) -> Role:
    return Role(
        arn=row["arn"],
        account_id=row["account_id"],
        name=row["name"],
        role_id=row["role_id"],
        trust_policy=row["trust_policy"],
        max_session_duration=row["max_session_duration"],
        created_at=row["created_at"],
    )


def _json_map(value: Mapping[str, str] | None) -> str | None:
    return None if value is None else json.dumps(dict(value), sort_keys=True)


def _map_from(text: str | None) -> Mapping[str, str] | None:
    return None if text is None else json.loads(text)


def _grant_values(grant: GrantRecord) -> dict[str, Any]:
    return {
        "grant_id": grant.grant_id,
        "region": grant.region,
        "key_id": grant.key_id,
        "key_arn": grant.key_arn,
        "key_account_id": grant.key_account_id,
        "issuing_account": grant.issuing_account,
        "grantee_principal": grant.grantee_principal,
        "retiring_principal": grant.retiring_principal,
        "name": grant.name,
        "operations": json.dumps(list(grant.operations)),
        "encryption_context_equals": _json_map(grant.encryption_context_equals),
        "encryption_context_subset": _json_map(grant.encryption_context_subset),
        "created_at": grant.created_at,
    }


def _grant_from_row(row: sa.RowMapping) -> GrantRecord:
    return GrantRecord(
        grant_id=row["grant_id"],
        region=row["region"],
        key_id=row["key_id"],
        key_arn=row["key_arn"],
        key_account_id=row["key_account_id"],
        issuing_account=row["issuing_account"],
        grantee_principal=row["grantee_principal"],
        operations=tuple(json.loads(row["operations"])),
        created_at=row["created_at"],
        name=row["name"],
        retiring_principal=row["retiring_principal"],
        encryption_context_equals=_map_from(row["encryption_context_equals"]),
        encryption_context_subset=_map_from(row["encryption_context_subset"]),
    )


def _check_limit(limit: int) -> None:
    if limit < 1:
        raise ValueError("limit must be at least 1")


def delete_key_grants(conn: Connection, region: str, key_id: str) -> None:
    """Part of ``delete_key``'s transaction (spec §8: deleting a key deletes its grants)."""
    conn.execute(grants.delete().where(grants.c.region == region, grants.c.key_id == key_id))


def _session_prefix(role_arn: str) -> str | None:
    """`arn:p:iam::acct:role/name` -> `arn:p:sts::acct:assumed-role/name/` (its sessions)."""
    parts = role_arn.split(":", 5)
    if len(parts) != 6 or not parts[5].startswith("role/"):
        return None
    name = parts[5][len("role/") :].rsplit("/", 1)[-1]
    return f"arn:{parts[1]}:sts::{parts[4]}:assumed-role/{name}/"


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


class AuthzSql:
    _unit: UnitOfWork

    # -- roles and identity policies -----------------------------------------------------

    def create_role(self, role: Role) -> None:
        principal = Principal(role.arn, role.account_id, PrincipalKind.ROLE, role.name, role.role_id)
        with self._unit(write=True) as conn:
            conn.execute(principals.insert().values(rows.principal_values(principal)))
            conn.execute(roles.insert().values(_role_values(role)))

    def get_role(self, arn: str) -> Role | None:
        with self._unit(write=False) as conn:
            row = conn.execute(_GET_ROLE, {"arn": arn}).mappings().first()
        return None if row is None else _role_from_row(row)

    def list_roles(self, account_id: str) -> Sequence[Role]:
        query = sa.select(roles).where(roles.c.account_id == account_id).order_by(roles.c.name)
        with self._unit(write=False) as conn:
            return [_role_from_row(r) for r in conn.execute(query).mappings()]

    def update_role(self, role: Role) -> None:
        with self._unit(write=True) as conn:
            conn.execute(
                roles.update()
                .where(roles.c.arn == role.arn)
                .values(trust_policy=role.trust_policy, max_session_duration=role.max_session_duration)
            )

    def delete_role(self, arn: str) -> None:
        with self._unit(write=True) as conn:
            sessions = _session_prefix(arn)
            if sessions is not None:
                pattern = _escape_like(sessions) + "%"
                session_arns = sa.select(principals.c.arn).where(
                    principals.c.kind == PrincipalKind.ASSUMED_ROLE.value,
                    principals.c.arn.like(pattern, escape="\\"),
                )
                conn.execute(access_keys.delete().where(access_keys.c.principal_arn.in_(session_arns)))
                conn.execute(
                    principals.delete().where(
                        principals.c.kind == PrincipalKind.ASSUMED_ROLE.value,
                        principals.c.arn.like(pattern, escape="\\"),
                    )
                )
            # Children first: SQLite enforces foreign keys only when asked, so say it all.
            conn.execute(identity_policies.delete().where(identity_policies.c.principal_arn == arn))
            conn.execute(access_keys.delete().where(access_keys.c.principal_arn == arn))
            conn.execute(roles.delete().where(roles.c.arn == arn))
            conn.execute(principals.delete().where(principals.c.arn == arn))

    def put_identity_policy(self, policy: IdentityPolicy) -> None:
        where = sa.and_(
            identity_policies.c.principal_arn == policy.principal_arn, identity_policies.c.name == policy.name
        )
        with self._unit(write=True) as conn:
            updated = conn.execute(identity_policies.update().where(where).values(document=policy.document))
            if updated.rowcount == 0:
                conn.execute(
                    identity_policies.insert().values(
                        principal_arn=policy.principal_arn, name=policy.name, document=policy.document
                    )
                )

    def delete_identity_policy(self, principal_arn: str, name: str) -> None:
        with self._unit(write=True) as conn:
            conn.execute(
                identity_policies.delete().where(
                    identity_policies.c.principal_arn == principal_arn, identity_policies.c.name == name
                )
            )

    def list_identity_policies(self, principal_arn: str) -> Sequence[IdentityPolicy]:
        with self._unit(write=False) as conn:
            found = conn.execute(_IDENTITY_POLICIES, {"arn": principal_arn}).mappings().all()
        return tuple(IdentityPolicy(r["principal_arn"], r["name"], r["document"]) for r in found)

    def delete_expired_access_keys(self, now: float) -> int:
        with self._unit(write=True) as conn:
            result = conn.execute(
                access_keys.delete().where(access_keys.c.expires_at.is_not(None), access_keys.c.expires_at <= now)
            )
        return int(result.rowcount or 0)

    # -- grants ------------------------------------------------------------------------

    def create_grant(self, grant: GrantRecord) -> None:
        with self._unit(write=True) as conn:
            conn.execute(grants.insert().values(_grant_values(grant)))

    def get_grant(self, grant_id: str) -> GrantRecord | None:
        with self._unit(write=False) as conn:
            row = conn.execute(_GET_GRANT, {"grant_id": grant_id}).mappings().first()
        return None if row is None else _grant_from_row(row)

    def find_grant_by_name(self, region: str, key_id: str, name: str) -> Sequence[GrantRecord]:
        query = (
            sa.select(grants)
            .where(grants.c.region == region, grants.c.key_id == key_id, grants.c.name == name)
            .order_by(grants.c.id)
        )
        with self._unit(write=False) as conn:
            return [_grant_from_row(r) for r in conn.execute(query).mappings()]

    def grants_for_key(self, region: str, key_id: str) -> Sequence[GrantRecord]:
        with self._unit(write=False) as conn:
            found = conn.execute(_GRANTS_FOR_KEY, {"region": region, "key_id": key_id}).mappings().all()
        return tuple(_grant_from_row(r) for r in found)

    def list_grants(
        self,
        region: str,
        key_id: str,
        limit: int,
        marker: str | None,
        grant_id: str | None = None,
        grantee_principal: str | None = None,
    ) -> Page[GrantRecord]:
        query = sa.select(grants).where(grants.c.region == region, grants.c.key_id == key_id)
        if grant_id is not None:
            query = query.where(grants.c.grant_id == grant_id)
        if grantee_principal is not None:
            query = query.where(grants.c.grantee_principal == grantee_principal)
        return self._page(query, MarkerKind.GRANTS, limit, marker)

    def list_retirable_grants(self, retiring_principal: str, limit: int, marker: str | None) -> Page[GrantRecord]:
        query = sa.select(grants).where(grants.c.retiring_principal == retiring_principal)
        return self._page(query, MarkerKind.RETIRABLE_GRANTS, limit, marker)

    def count_grants(self, region: str, key_id: str) -> int:
        query = sa.select(sa.func.count()).select_from(grants).where(
            grants.c.region == region, grants.c.key_id == key_id
        )
        with self._unit(write=False) as conn:
            return int(conn.execute(query).scalar_one())

    def delete_grant(self, grant_id: str) -> None:
        with self._unit(write=True) as conn:
            conn.execute(grants.delete().where(grants.c.grant_id == grant_id))

    def _page(self, query: sa.Select[Any], kind: MarkerKind, limit: int, marker: str | None) -> Page[GrantRecord]:
        _check_limit(limit)
        query = query.order_by(grants.c.id).limit(limit + 1)
        if marker is not None:
            query = query.where(grants.c.id > decode_sequence(kind, marker))
        with self._unit(write=False) as conn:
            found = conn.execute(query).mappings().all()
        page = found[:limit]
        next_marker = encode_sequence(kind, page[-1]["id"]) if len(found) > limit else None
        return Page([_grant_from_row(r) for r in page], next_marker)
