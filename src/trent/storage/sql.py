"""``Storage`` on SQLite or PostgreSQL through SQLAlchemy Core (architecture.md, storage).

Every public method is one unit of work: one transaction (``engine.py``'s
``UnitOfWork``), all or nothing, with SQLAlchemy errors translated to
:class:`~trent.storage.repositories.StorageError` / ``Duplicate`` before they leave.
Instances are thread-safe: the engine pool hands each call its own connection.

Semantics the conformance suite pins (tests/conformance/storage):

- ``update_*`` and ``delete_*`` of a row that does not exist are no-ops (they never
  create rows);
- ``list_keys`` pages in creation order, ``list_aliases`` in alias-name order, with
  opaque markers (``markers.py``);
- ``delete_key`` removes the key row, its tags, the aliases pointing at it and its own
  imports of material, and the material once no regional copy of the key id remains
  (material is keyed by key id).
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator, Sequence

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql as pg_dialect
from sqlalchemy.dialects import sqlite as sqlite_dialect
from sqlalchemy.engine import URL, Connection, Engine

from trent.domain.keys import Alias, Key, KeyMaterial, KeyState, Tag
from trent.domain.principals import AccessKey, Account, Principal
from trent.storage import change_feed, rows
from trent.storage.audit_append import DirectAppender
from trent.storage.changes import Change
from trent.storage.engine import UnitOfWork, create_engine
from trent.storage.markers import (
    MarkerKind,
    decode_name,
    decode_sequence,
    encode_name,
    encode_sequence,
)
from trent.storage.migrate import migrate, upgrade_to_head
from trent.storage.repositories import Page
from trent.storage.sql_audit import AuditSql
from trent.storage.sql_audit_delivery import AuditDeliverySql
from trent.storage.sql_authz import AuthzSql, delete_key_grants
from trent.storage.sql_lifecycle import LifecycleSql, delete_key_lifecycle_rows
from trent.storage.sql_material_imports import (
    MATERIAL_IN_REGION,
    MATERIALS_IN_REGION,
    MaterialImportSql,
    delete_imports,
)
from trent.storage.sql_custom_key_stores import CustomKeyStoreSql, RootRewrapSql
from trent.storage.sql_console import ConsoleSql
from trent.storage.tables import (
    access_keys,
    accounts,
    aliases,
    key_materials,
    keys,
    metadata,
    principals,
    tags,
)

# The audit trail outlives a --dev reset: the reset itself is history, and delivered
# files in the bucket already name these events (issue 16).
AUDIT_TABLES = frozenset(
    {"audit_trails", "audit_segments", "audit_segment_index", "audit_log_files", "audit_digests", "audit_signing_keys"}
)

__all__ = ["SqlStorage", "migrate", "upgrade_to_head"]


def _check_limit(limit: int) -> None:
    if limit < 1:
        raise ValueError("limit must be at least 1")


# Point reads are built once with bind parameters: SQLAlchemy then skips constructing
# and cache-keying a fresh statement per call (~15% of a SQLite get_key).
_P = sa.bindparam
_GET_KEY = sa.select(keys).where(keys.c.region == _P("region"), keys.c.key_id == _P("key_id"))
_GET_ALIAS = sa.select(aliases).where(
    aliases.c.account_id == _P("account_id"),
    aliases.c.region == _P("region"),
    aliases.c.name == _P("name"),
)
_GET_TAGS = (
    sa.select(tags.c.tag_key, tags.c.tag_value)
    .where(tags.c.region == _P("region"), tags.c.key_id == _P("key_id"))
    .order_by(tags.c.tag_key)
)
_GET_ACCOUNT = sa.select(accounts).where(accounts.c.account_id == _P("account_id"))
_GET_PRINCIPAL = sa.select(principals).where(principals.c.arn == _P("arn"))
_GET_ACCESS_KEY = sa.select(access_keys).where(
    access_keys.c.access_key_id == _P("access_key_id")
)


class SqlStorage(
    LifecycleSql, MaterialImportSql, CustomKeyStoreSql, RootRewrapSql, AuthzSql, ConsoleSql, AuditSql, AuditDeliverySql
):
    """The SQL implementation of ``Storage``.

    ``url`` is any SQLAlchemy URL for SQLite (``sqlite:///path``; ``sqlite://`` for a
    private in-memory database) or PostgreSQL (``postgresql+psycopg://...``). The schema
    is migrated separately (:func:`migrate`, at server start) unless ``upgrade=True``.
    """

    def __init__(self, url: str | URL, *, upgrade: bool = False, trail_name: str = "trent",
                 power_safe: bool = True) -> None:
        self._engine = create_engine(url, power_safe=power_safe)  # engine.py: False only for --dev
        self._unit = UnitOfWork(self._engine)
        self.trail_name = trail_name  # the name a new audit trail gets (issue 16)
        self._appender = DirectAppender(self._engine, self._unit.serial())
        if upgrade:
            upgrade_to_head(self._engine)

    # -- several calls, one transaction (issue 16, storage/transaction.py) ------------------

    def atomic(self) -> contextlib.AbstractContextManager[object]:
        """Every call of this thread inside the block commits together, or none does."""
        return self._unit.atomic()

    def in_write_transaction(self) -> bool:
        """Inside ``atomic()`` and past its first write: reads see uncommitted rows."""
        scope = self._unit.scope()
        return scope is not None and scope.wrote

    def in_atomic(self) -> bool:
        return self._unit.scope() is not None

    def commit_so_far(self) -> None:
        """Commit this thread's ``atomic()`` block up to here; the block goes on."""
        scope = self._unit.scope()
        if scope is not None:
            scope.commit_so_far()

    @property
    def embedded(self) -> bool:
        """An in-process database (SQLite): a commit is CPU, not a network round trip."""
        return self._engine.dialect.name == "sqlite"

    def after_transaction(self, hook: Callable[[], None], *, committed_only: bool = False) -> bool:
        """Run ``hook`` when this thread's ``atomic()`` block ends (or only if it commits).
        False (and nothing registered) outside a block."""
        scope = self._unit.scope()
        if scope is None:
            return False
        (scope.after_commit if committed_only else scope.after_end).append(hook)
        return True

    @property
    def engine(self) -> Engine:
        return self._engine

    def __repr__(self) -> str:
        return f"SqlStorage({self._engine.url.render_as_string(hide_password=True)!r})"

    # -- transactions (issue 20) ---------------------------------------------------------

    @contextlib.contextmanager
    def transaction(self) -> Iterator[None]:
        with self._unit.transaction():
            yield

    def lock_key(self, region: str, key_id: str) -> Key | None:
        with self._unit.locking() as conn:
            row = conn.execute(_for_update(conn, _GET_KEY), {"region": region, "key_id": key_id}).mappings().first()
        return None if row is None else rows.key_from_row(row)

    def lock_account(self, account_id: str) -> Account | None:
        with self._unit.locking() as conn:
            row = conn.execute(_for_update(conn, _GET_ACCOUNT), {"account_id": account_id}).mappings().first()
        return None if row is None else rows.account_from_row(row)

    def lock_principal(self, arn: str) -> Principal | None:
        with self._unit.locking() as conn:
            row = conn.execute(_for_update(conn, _GET_PRINCIPAL), {"arn": arn}).mappings().first()
        return None if row is None else rows.principal_from_row(row)

    def ping(self) -> None:
        """One round trip (readiness, issue 20); StorageError if the database is away."""
        with self._unit(write=False) as conn:
            conn.execute(sa.text("SELECT 1"))

    def publish_changes(self, changes: Sequence[Change]) -> None:
        if changes:
            with self._unit(write=True) as conn:
                change_feed.publish(conn, changes, time.time())

    # -- keys -------------------------------------------------------------------------

    def create_key(self, key: Key, material: KeyMaterial | None) -> None:
        if material is not None and material.key_id != key.key_id:
            raise ValueError("material belongs to another key")
        with self._unit(write=True) as conn:
            conn.execute(keys.insert().values(rows.key_values(key)))
            if material is not None:
                conn.execute(key_materials.insert().values(rows.material_values(material)))

    def get_key(self, region: str, key_id: str) -> Key | None:
        with self._unit(write=False) as conn:
            params = {"region": region, "key_id": key_id}
            row = conn.execute(_GET_KEY, params).mappings().first()
        return None if row is None else rows.key_from_row(row)

    def update_key(self, key: Key) -> None:
        values = rows.key_values(key)
        del values["region"], values["key_id"]
        with self._unit(write=True) as conn:
            conn.execute(
                keys.update()
                .where(keys.c.region == key.region, keys.c.key_id == key.key_id)
                .values(values)
            )

    def list_keys(self, account_id: str, region: str, limit: int, marker: str | None) -> Page[Key]:
        _check_limit(limit)
        query = (
            sa.select(keys)
            .where(keys.c.account_id == account_id, keys.c.region == region)
            .order_by(keys.c.id)
            .limit(limit + 1)
        )
        if marker is not None:
            query = query.where(keys.c.id > decode_sequence(MarkerKind.KEYS, marker))
        with self._unit(write=False) as conn:
            found = conn.execute(query).mappings().all()
        page = found[:limit]
        next_marker = (
            encode_sequence(MarkerKind.KEYS, page[-1]["id"]) if len(found) > limit else None
        )
        return Page([rows.key_from_row(r) for r in page], next_marker)

    def keys_due_for_deletion(self, now: float, limit: int = 100) -> Sequence[Key]:
        _check_limit(limit)
        query = (
            sa.select(keys)
            .where(
                keys.c.state == KeyState.PENDING_DELETION.value,
                keys.c.deletion_date <= now,
            )
            .order_by(keys.c.deletion_date, keys.c.id)
            .limit(limit)
        )
        with self._unit(write=False) as conn:
            return [rows.key_from_row(r) for r in conn.execute(query).mappings()]

    def delete_key(self, region: str, key_id: str) -> None:
        with self._unit(write=True) as conn:
            conn.execute(tags.delete().where(tags.c.region == region, tags.c.key_id == key_id))
            conn.execute(
                aliases.delete().where(
                    aliases.c.region == region, aliases.c.target_key_id == key_id
                )
            )
            conn.execute(keys.delete().where(keys.c.region == region, keys.c.key_id == key_id))
            delete_key_lifecycle_rows(conn, region, key_id)
            delete_key_grants(conn, region, key_id)
            delete_imports(conn, key_id, region=region)  # this member's imported material
            if not _key_id_in_use(conn, key_id):
                conn.execute(key_materials.delete().where(key_materials.c.key_id == key_id))

    def list_key_members(self, key_id: str) -> Sequence[Key]:
        query = sa.select(keys).where(keys.c.key_id == key_id).order_by(keys.c.id)
        with self._unit(write=False) as conn:
            return [rows.key_from_row(r) for r in conn.execute(query).mappings()]

    def update_keys(self, updated: Sequence[Key]) -> None:
        with self._unit(write=True) as conn:
            for key in updated:
                values = rows.key_values(key)
                del values["region"], values["key_id"]
                conn.execute(
                    keys.update().where(keys.c.region == key.region, keys.c.key_id == key.key_id).values(values)
                )

    def add_material(self, material: KeyMaterial) -> None:
        with self._unit(write=True) as conn:
            conn.execute(key_materials.insert().values(rows.material_values(material)))

    def get_material(self, key_id: str, material_id: str, region: str | None = None) -> KeyMaterial | None:
        with self._unit(write=False) as conn:
            params = {"key_id": key_id, "material_id": material_id, "region": region}
            row = conn.execute(MATERIAL_IN_REGION, params).mappings().first()
        return None if row is None else rows.material_from_row(row)

    def list_materials(self, key_id: str, region: str | None = None) -> Sequence[KeyMaterial]:
        with self._unit(write=False) as conn:
            found = conn.execute(MATERIALS_IN_REGION, {"key_id": key_id, "region": region}).mappings()
            return [rows.material_from_row(r) for r in found]

    # -- aliases ----------------------------------------------------------------------

    def create_alias(self, alias: Alias) -> None:
        # savepoint: the predefined alias/aws/* rows and AWS managed keys are made by whichever
        # request comes first; the others catch Duplicate and carry on (issue 19)
        with self._unit(write=True, savepoint=True) as conn:
            conn.execute(aliases.insert().values(rows.alias_values(alias)))

    def get_alias(self, account_id: str, region: str, name: str) -> Alias | None:
        with self._unit(write=False) as conn:
            params = {"account_id": account_id, "region": region, "name": name}
            row = conn.execute(_GET_ALIAS, params).mappings().first()
        return None if row is None else rows.alias_from_row(row)

    def update_alias(self, alias: Alias) -> None:
        values = rows.alias_values(alias)
        for identity in ("account_id", "region", "name"):
            del values[identity]
        with self._unit(write=True) as conn:
            conn.execute(
                aliases.update()
                .where(_alias_is(alias.account_id, alias.region, alias.name))
                .values(values)
            )

    def claim_alias(self, alias: Alias) -> bool:
        with self._unit(write=True) as conn:
            done = conn.execute(
                aliases.update()
                .where(_alias_is(alias.account_id, alias.region, alias.name), aliases.c.target_key_id.is_(None))
                .values(target_key_id=alias.target_key_id, updated_at=alias.updated_at)
            )
            return done.rowcount == 1

    def delete_alias(self, account_id: str, region: str, name: str) -> None:
        with self._unit(write=True) as conn:
            conn.execute(aliases.delete().where(_alias_is(account_id, region, name)))

    def list_aliases(
        self, account_id: str, region: str, key_id: str | None, limit: int, marker: str | None
    ) -> Page[Alias]:
        _check_limit(limit)
        query = (
            sa.select(aliases)
            .where(aliases.c.account_id == account_id, aliases.c.region == region)
            .order_by(aliases.c.name)
            .limit(limit + 1)
        )
        if key_id is not None:
            query = query.where(aliases.c.target_key_id == key_id)
        if marker is not None:
            query = query.where(aliases.c.name > decode_name(MarkerKind.ALIASES, marker))
        with self._unit(write=False) as conn:
            found = conn.execute(query).mappings().all()
        page = found[:limit]
        next_marker = (
            encode_name(MarkerKind.ALIASES, page[-1]["name"]) if len(found) > limit else None
        )
        return Page([rows.alias_from_row(r) for r in page], next_marker)

    def count_aliases_for_key(self, region: str, key_id: str) -> int:
        query = (
            sa.select(sa.func.count())
            .select_from(aliases)
            .where(aliases.c.region == region, aliases.c.target_key_id == key_id)
        )
        with self._unit(write=False) as conn:
            return int(conn.execute(query).scalar_one())

    # -- tags -------------------------------------------------------------------------

    def get_tags(self, region: str, key_id: str) -> Sequence[Tag]:
        with self._unit(write=False) as conn:
            found = conn.execute(_GET_TAGS, {"region": region, "key_id": key_id})
            return [Tag(key=k, value=v) for k, v in found]

    def put_tags(self, region: str, key_id: str, tags: Sequence[Tag]) -> None:  # noqa: F811
        # (the parameter shadows the table inside this method only; the SQL is built in
        # _upsert_tags)
        latest = {tag.key: tag.value for tag in tags}  # last one wins, as in TagResource
        if not latest:
            return
        values = [
            {"region": region, "key_id": key_id, "tag_key": k, "tag_value": v}
            for k, v in latest.items()
        ]
        with self._unit(write=True) as conn:
            conn.execute(_upsert_tags(conn), values)

    def remove_tags(self, region: str, key_id: str, tag_keys: Sequence[str]) -> None:
        if not tag_keys:
            return
        with self._unit(write=True) as conn:
            conn.execute(
                tags.delete().where(
                    tags.c.region == region,
                    tags.c.key_id == key_id,
                    tags.c.tag_key.in_(list(tag_keys)),
                )
            )

    # -- identities -------------------------------------------------------------------

    def create_account(self, account: Account) -> None:
        with self._unit(write=True) as conn:
            conn.execute(accounts.insert().values(rows.account_values(account)))

    def get_account(self, account_id: str) -> Account | None:
        with self._unit(write=False) as conn:
            row = conn.execute(_GET_ACCOUNT, {"account_id": account_id}).mappings().first()
        return None if row is None else rows.account_from_row(row)

    def list_accounts(self) -> Sequence[Account]:
        query = sa.select(accounts).order_by(accounts.c.account_id)
        with self._unit(write=False) as conn:
            return [rows.account_from_row(r) for r in conn.execute(query).mappings()]

    def create_principal(self, principal: Principal) -> None:
        # savepoint: AssumeRole catches Duplicate (a concurrent session) and carries on
        with self._unit(write=True, savepoint=True) as conn:
            conn.execute(principals.insert().values(rows.principal_values(principal)))

    def get_principal(self, arn: str) -> Principal | None:
        with self._unit(write=False) as conn:
            row = conn.execute(_GET_PRINCIPAL, {"arn": arn}).mappings().first()
        return None if row is None else rows.principal_from_row(row)

    def list_principals(self, account_id: str) -> Sequence[Principal]:
        query = (
            sa.select(principals)
            .where(principals.c.account_id == account_id)
            .order_by(principals.c.arn)
        )
        with self._unit(write=False) as conn:
            return [rows.principal_from_row(r) for r in conn.execute(query).mappings()]

    def create_access_key(self, key: AccessKey) -> None:
        with self._unit(write=True) as conn:
            conn.execute(access_keys.insert().values(rows.access_key_values(key)))

    def get_access_key(self, access_key_id: str) -> AccessKey | None:
        with self._unit(write=False) as conn:
            params = {"access_key_id": access_key_id}
            row = conn.execute(_GET_ACCESS_KEY, params).mappings().first()
        return None if row is None else rows.access_key_from_row(row)

    def list_access_keys(self, principal_arn: str) -> Sequence[AccessKey]:
        query = (
            sa.select(access_keys)
            .where(access_keys.c.principal_arn == principal_arn)
            .order_by(access_keys.c.created_at, access_keys.c.access_key_id)
        )
        with self._unit(write=False) as conn:
            return [rows.access_key_from_row(r) for r in conn.execute(query).mappings()]

    def delete_access_key(self, access_key_id: str) -> None:
        with self._unit(write=True) as conn:
            conn.execute(access_keys.delete().where(access_keys.c.access_key_id == access_key_id))

    # -- lifecycle --------------------------------------------------------------------

    def reset(self) -> None:
        """Delete every row of every table in ``tables.metadata`` (children first), except
        the audit trail's."""
        with self._unit(write=True) as conn:
            for table in reversed(metadata.sorted_tables):
                if table.name not in AUDIT_TABLES:
                    conn.execute(table.delete())

    def close(self) -> None:
        self._appender.close()
        self._engine.dispose()


def _alias_is(account_id: str, region: str, name: str) -> sa.ColumnElement[bool]:
    return sa.and_(
        aliases.c.account_id == account_id, aliases.c.region == region, aliases.c.name == name
    )


def _for_update(conn: Connection, query: sa.Select) -> sa.Select:
    """``SELECT ... FOR UPDATE`` on PostgreSQL: the row stays locked until the transaction
    ends. SQLite has no row locks and needs none: a write transaction (``BEGIN
    IMMEDIATE``) already holds the database's single write lock."""
    return query.with_for_update() if conn.dialect.name == "postgresql" else query


def _key_id_in_use(conn: Connection, key_id: str) -> bool:
    query = sa.select(keys.c.id).where(keys.c.key_id == key_id).limit(1)
    return conn.execute(query).first() is not None


def _upsert_tags(conn: Connection) -> sa.Insert:
    """INSERT ... ON CONFLICT (region, key_id, tag_key) DO UPDATE, per dialect."""
    insert = pg_dialect.insert if conn.dialect.name == "postgresql" else sqlite_dialect.insert
    stmt = insert(tags)
    return stmt.on_conflict_do_update(
        index_elements=[tags.c.region, tags.c.key_id, tags.c.tag_key],
        set_={"tag_value": stmt.excluded.tag_value},
    )
