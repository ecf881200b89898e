"""The Alembic tree: migrating an empty database to head yields exactly ``tables.metadata``,
on SQLite and PostgreSQL, idempotently, from the installed package's own files."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from trent.storage.engine import create_engine
from trent.storage.migrate import (
    SCRIPT_LOCATION,
    alembic_config,
    current_revisions,
    head_revisions,
    migrate,
    upgrade_to_head,
)
from trent.storage.tables import metadata


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def empty_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'fresh.db'}"
    url: str = request.getfixturevalue("postgres_database_url")
    return url


def test_script_directory_ships_with_the_package() -> None:
    assert (SCRIPT_LOCATION / "env.py").is_file()
    assert (SCRIPT_LOCATION / "versions" / "0001_initial.py").is_file()
    assert "0001" not in head_revisions() or head_revisions() == ("0001",)


def test_head_matches_tables_metadata(empty_url: str) -> None:
    migrate(empty_url)
    engine = create_engine(empty_url)
    try:
        with engine.connect() as conn:
            diffs = compare_metadata(
                MigrationContext.configure(conn, opts={"compare_type": True}), metadata
            )
        assert diffs == []
        assert current_revisions(engine) == head_revisions()
        assert set(sa.inspect(engine).get_table_names()) == set(metadata.tables) | {
            "alembic_version"
        }
    finally:
        engine.dispose()


def test_migrate_is_idempotent_and_reversible(empty_url: str) -> None:
    migrate(empty_url)
    migrate(empty_url)
    engine = create_engine(empty_url)
    try:
        upgrade_to_head(engine)
        with engine.begin() as conn:
            cfg = alembic_config()
            cfg.attributes["connection"] = conn
            command.downgrade(cfg, "base")
        assert set(sa.inspect(engine).get_table_names()) <= {"alembic_version"}
        assert current_revisions(engine) == ()
        upgrade_to_head(engine)
        assert current_revisions(engine) == head_revisions()
    finally:
        engine.dispose()


def test_migrate_does_not_depend_on_the_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    url = f"sqlite:///{tmp_path / 'cwd.db'}"
    migrate(url)
    engine = create_engine(url)
    try:
        assert current_revisions(engine) == head_revisions()
    finally:
        engine.dispose()
