"""Run the Alembic tree to head from code (server start, tests, ``trent admin``).

The script directory is found next to this module, so it works from an installed
wheel and from any working directory; no ``alembic.ini`` is read. On PostgreSQL the
upgrade holds a transaction-scoped advisory lock, so several nodes starting at once
migrate one after the other instead of racing (architecture.md, Modes: several nodes
share one PostgreSQL).
"""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import URL, Engine

from trent.storage.engine import WRITE_OPTION, create_engine, translate

SCRIPT_LOCATION = Path(__file__).resolve().parent / "migrations"
# An arbitrary constant identifying "Trent schema migration" among advisory locks.
_PG_MIGRATION_LOCK = 0x7472_656E_7400  # "trent\0"


def alembic_config() -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(SCRIPT_LOCATION))
    return cfg


def head_revisions() -> tuple[str, ...]:
    """Every head of the tree. Features add their tables on their own branch off
    ``0001`` (so they can land in any order); ``upgrade`` applies all heads."""
    return tuple(sorted(ScriptDirectory.from_config(alembic_config()).get_heads()))


def head_revision() -> str:
    """The single head, while the tree has one (tests of the initial schema)."""
    heads = head_revisions()
    assert len(heads) == 1, heads
    return heads[0]


def current_revisions(engine: Engine) -> tuple[str, ...]:
    try:
        with engine.connect() as conn:
            return tuple(sorted(MigrationContext.configure(conn).get_current_heads()))
    except sa.exc.SQLAlchemyError as exc:
        raise translate(exc) from exc


def current_revision(engine: Engine) -> str | None:
    try:
        with engine.connect() as conn:
            return MigrationContext.configure(conn).get_current_revision()
    except sa.exc.SQLAlchemyError as exc:
        raise translate(exc) from exc


def upgrade_to_head(engine: Engine) -> None:
    """Bring the database behind ``engine`` to the newest schema, in one transaction."""
    cfg = alembic_config()
    try:
        with engine.connect() as conn:
            conn.execution_options(**{WRITE_OPTION: True})  # SQLite: BEGIN IMMEDIATE
            with conn.begin():
                if conn.dialect.name == "postgresql":
                    conn.execute(
                        sa.text("SELECT pg_advisory_xact_lock(:k)"), {"k": _PG_MIGRATION_LOCK}
                    )
                cfg.attributes["connection"] = conn
                command.upgrade(cfg, "heads")
    except sa.exc.SQLAlchemyError as exc:
        raise translate(exc) from exc


def migrate(url: str | URL) -> None:
    """Open ``url``, upgrade it to head, and close the engine again."""
    engine = create_engine(url)
    try:
        upgrade_to_head(engine)
    finally:
        engine.dispose()
