"""storage/backup.py on SQLite and PostgreSQL: a backup restores row for row into an empty
store; anything altered, truncated, or sealed under another root is refused before a
single row is written (issue 20)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import sqlalchemy as sa

from trent.domain.keys import Tag
from trent.keystores.root_key import AesRootKey
from trent.storage.backup import BackupError, create_backup, describe, restore_backup, verify_backup
from trent.storage.sql import SqlStorage
from trent.storage.tables import metadata

from . import builders as b
from .builders import REGION

AAD = b"test/backup"


def _url(request: pytest.FixtureRequest, tmp_path: Path, backend: str, name: str) -> str:
    if backend == "sqlite":
        return f"sqlite:///{tmp_path / (name + '.db')}"
    server = request.getfixturevalue("postgres_server")
    return server.create_database(f"trent_backup_{name}_{os.getpid()}_{abs(hash(str(tmp_path))) % 10**8}")


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def stores(request: pytest.FixtureRequest, tmp_path: Path):
    source = SqlStorage(_url(request, tmp_path, request.param, "source"), upgrade=True)
    target = SqlStorage(_url(request, tmp_path, request.param, "target"), upgrade=True)
    yield source, target
    source.close()
    target.close()


@pytest.fixture
def root() -> AesRootKey:
    return AesRootKey(os.urandom(32))


def _fill(storage: SqlStorage) -> list:
    account = b.account()
    storage.create_account(account)
    user = b.principal(account.account_id)
    storage.create_principal(user)
    storage.create_access_key(b.access_key(user))
    keys = []
    for i in range(30):
        key = b.key(account_id=account.account_id, description=f"k{i} ünïcödé")
        storage.create_key(key, b.material(key))
        storage.put_tags(REGION, key.key_id, [Tag(f"t{i}", "v")])
        keys.append(key)
    storage.create_alias(b.alias("alias/one", keys[0], account_id=account.account_id))
    return keys


def _dump(storage: SqlStorage) -> dict[str, list[tuple]]:
    with storage.engine.connect() as conn:
        return {t.name: sorted(tuple(r) for r in conn.execute(sa.select(t)))
                for t in metadata.sorted_tables if t.name not in ("cache_changes", "leases")}


def _seal(root: AesRootKey):
    return (lambda d: root.wrap(d, AAD)), (lambda s: root.unwrap(s, AAD))


def test_backup_restores_row_for_row(stores, root, tmp_path: Path) -> None:
    source, target = stores
    keys = _fill(source)
    seal, unseal = _seal(root)
    summary = create_backup(source.engine, tmp_path / "b.tbk", seal)
    assert summary.tables["keys"] == 30 and summary.tables["key_materials"] == 30
    assert describe(tmp_path / "b.tbk")["tables"][0] == "accounts"
    restored = restore_backup(target.engine, tmp_path / "b.tbk", unseal)
    assert restored.tables == summary.tables
    assert _dump(target) == _dump(source)
    # Ids continue after the restored ones (PostgreSQL sequences were moved on).
    new = b.key()
    target.create_key(new, b.material(new))
    page = target.list_keys(new.account_id, REGION, 100, None)
    assert page.items[-1].key_id == new.key_id
    assert target.get_material(keys[3].key_id, source.list_materials(keys[3].key_id)[0].material_id) is not None


def test_restore_needs_an_empty_store(stores, root, tmp_path: Path) -> None:
    source, target = stores
    _fill(source)
    seal, unseal = _seal(root)
    create_backup(source.engine, tmp_path / "b.tbk", seal)
    target.create_account(b.account("999988887777"))
    with pytest.raises(BackupError, match="empty store"):
        restore_backup(target.engine, tmp_path / "b.tbk", unseal)


@pytest.mark.parametrize("where", ["header", "payload", "seal", "truncated"])
def test_a_tampered_backup_is_refused_before_anything_is_written(stores, root, tmp_path: Path, where: str) -> None:
    source, target = stores
    _fill(source)
    seal, unseal = _seal(root)
    path = tmp_path / "b.tbk"
    create_backup(source.engine, path, seal)
    data = bytearray(path.read_bytes())
    if where == "header":
        data[10] ^= 0x01  # the payload length
    elif where == "payload":
        data[len(data) // 2] ^= 0x01
    elif where == "seal":
        data[-3] ^= 0x01
    else:
        data = data[: len(data) - 40]
    path.write_bytes(bytes(data))
    with pytest.raises(BackupError):
        restore_backup(target.engine, path, unseal)
    assert all(not rows for rows in _dump(target).values())


def test_a_backup_opens_only_with_its_root(stores, root, tmp_path: Path) -> None:
    source, _ = stores
    _fill(source)
    seal, _ = _seal(root)
    create_backup(source.engine, tmp_path / "b.tbk", seal)
    _, other_unseal = _seal(AesRootKey(os.urandom(32)))
    with pytest.raises(BackupError, match="another root"):
        verify_backup(tmp_path / "b.tbk", other_unseal)


def test_key_material_stays_wrapped(stores, root, tmp_path: Path) -> None:
    source, _ = stores
    key = b.key()
    material = b.material(key, wrapped=root.wrap(b"\x42" * 32, b"aad"))
    source.create_key(key, material)
    create_backup(source.engine, tmp_path / "b.tbk", _seal(root)[0])
    import gzip

    raw = tmp_path.joinpath("b.tbk").read_bytes()
    payload = gzip.decompress(raw[17: 17 + int.from_bytes(raw[9:17], "big")])
    assert b"\x42" * 32 not in payload and b"QkJCQkJC" not in payload  # neither raw nor base64
