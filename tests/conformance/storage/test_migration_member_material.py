"""Revision 0019_mrk_member_material moves imported material from the shared version row
to each member that had received it (issue 19), and back on downgrade; SQLite and
PostgreSQL, on a database written by the revisions before it."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic import command

from trent.storage.engine import create_engine
from trent.storage.migrate import alembic_config

REVISION = "0019_mrk_member_material"
SINGLE, MRK, GENERATED = "11111111-1111-1111-1111-111111111111", "mrk-" + "a" * 32, "22222222-2222-2222-2222-222222222222"


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'before.db'}"
    database_url: str = request.getfixturevalue("postgres_database_url")
    return database_url


def _alembic(engine: sa.Engine, action, target: str) -> None:
    with engine.begin() as conn:
        cfg = alembic_config()
        cfg.attributes["connection"] = conn
        action(cfg, target)


def _key(region: str, key_id: str, multi_region: bool, current: str | None) -> dict:
    return {"region": region, "key_id": key_id, "account_id": "111122223333", "partition": "aws",
            "key_spec": "SYMMETRIC_DEFAULT", "key_usage": "ENCRYPT_DECRYPT", "origin": "EXTERNAL",
            "state": "Enabled", "created_at": 1.0, "description": "", "key_manager": "CUSTOMER",
            "multi_region": multi_region, "current_material_id": current}


def _material(key_id: str, material_id: str, wrapped: bytes, import_state: str | None, valid_to: float | None) -> dict:
    return {"key_id": key_id, "material_id": material_id, "wrapped": wrapped, "state": "CURRENT",
            "created_at": 1.0, "import_state": import_state,
            "expiration_model": None if import_state is None else
            ("KEY_MATERIAL_EXPIRES" if valid_to else "KEY_MATERIAL_DOES_NOT_EXPIRE"),
            "valid_to": valid_to}


def test_imports_move_to_the_members_that_had_them_and_back(url: str) -> None:
    engine = create_engine(url)
    try:
        _alembic(engine, command.upgrade, "0002_lifecycle")
        meta = sa.MetaData()
        keys = sa.Table("keys", meta, autoload_with=engine)
        materials = sa.Table("key_materials", meta, autoload_with=engine)
        with engine.begin() as conn:
            conn.execute(keys.insert(), [
                _key("us-east-1", SINGLE, False, "s" * 64),
                _key("us-east-1", MRK, True, "m" * 64),  # the primary
                _key("us-west-2", MRK, True, "m" * 64),  # a replica that had imported
                _key("eu-west-1", MRK, True, None),  # a replica never imported into
                {**_key("us-east-1", GENERATED, False, "g" * 64), "origin": "AWS_KMS"},
            ])
            conn.execute(materials.insert(), [
                _material(SINGLE, "s" * 64, b"single-bytes", "IMPORTED", 99.5),
                _material(MRK, "m" * 64, b"mrk-bytes", "IMPORTED", None),
                _material(MRK, "d" * 64, b"", "PENDING_IMPORT", None),  # deleted earlier
                _material(GENERATED, "g" * 64, b"generated", None, None),
            ])
        _alembic(engine, command.upgrade, "heads")

        with engine.connect() as conn:
            imports = conn.execute(sa.text(
                "SELECT region, key_id, material_id, wrapped, expiration_model, valid_to FROM key_material_imports "
                "ORDER BY key_id, region")).all()
            shared = dict(conn.execute(sa.text(
                "SELECT material_id, wrapped FROM key_materials")).all())
            states = dict(conn.execute(sa.text("SELECT material_id, import_state FROM key_materials")).all())
        assert [(r[0], r[1], r[2], bytes(r[3]), r[4], r[5]) for r in imports] == [
            ("us-east-1", SINGLE, "s" * 64, b"single-bytes", "KEY_MATERIAL_EXPIRES", 99.5),
            ("us-east-1", MRK, "m" * 64, b"mrk-bytes", "KEY_MATERIAL_DOES_NOT_EXPIRE", None),
            ("us-west-2", MRK, "m" * 64, b"mrk-bytes", "KEY_MATERIAL_DOES_NOT_EXPIRE", None),
        ]
        assert {k: bytes(v) for k, v in shared.items()} == {
            "s" * 64: b"", "m" * 64: b"", "d" * 64: b"", "g" * 64: b"generated"}
        assert states == {"s" * 64: "PENDING_IMPORT", "m" * 64: "PENDING_IMPORT", "d" * 64: "PENDING_IMPORT",
                          "g" * 64: None}

        _alembic(engine, command.downgrade, "0002_lifecycle")
        with engine.connect() as conn:
            back = {r[0]: (bytes(r[1]), r[2], r[3], r[4]) for r in conn.execute(sa.text(
                "SELECT material_id, wrapped, import_state, expiration_model, valid_to FROM key_materials"))}
            assert "key_material_imports" not in sa.inspect(conn).get_table_names()
        assert back == {
            "s" * 64: (b"single-bytes", "IMPORTED", "KEY_MATERIAL_EXPIRES", 99.5),
            "m" * 64: (b"mrk-bytes", "IMPORTED", "KEY_MATERIAL_DOES_NOT_EXPIRE", None),
            "d" * 64: (b"", "PENDING_IMPORT", None, None),
            "g" * 64: (b"generated", None, None, None),
        }
    finally:
        engine.dispose()
