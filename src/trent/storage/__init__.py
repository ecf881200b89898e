"""Persistence: the Protocols the service needs and their SQL implementation.

Public surface (architecture.md, storage)::

    Storage, KeyRepository, AliasRepository, TagRepository, IdentityRepository,
    Page, StorageError, Duplicate, BadMarker      -- repositories.py (the contract)
    SqlStorage(url, *, upgrade=False)             -- sql.py (SQLite / PostgreSQL)
    CachedStorage(inner, clock, ttl_seconds=1.0)  -- cache.py (hot-path read cache)
    migrate(url), upgrade_to_head(engine)         -- migrate.py (Alembic to head)

Importing this package imports SQLAlchemy and Alembic lazily: only the Protocols are
loaded eagerly, so the service layer can depend on them cheaply.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from trent.storage.repositories import (
    AliasRepository,
    BadMarker,
    Duplicate,
    IdentityRepository,
    KeyRepository,
    Page,
    Storage,
    StorageError,
    TagRepository,
)

if TYPE_CHECKING:
    from trent.storage.cache import CachedStorage
    from trent.storage.migrate import migrate, upgrade_to_head
    from trent.storage.sql import SqlStorage

_LAZY = {
    "SqlStorage": "trent.storage.sql",
    "CachedStorage": "trent.storage.cache",
    "migrate": "trent.storage.migrate",
    "upgrade_to_head": "trent.storage.migrate",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'trent.storage' has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(module), name)


__all__ = [
    "AliasRepository",
    "BadMarker",
    "CachedStorage",
    "Duplicate",
    "IdentityRepository",
    "KeyRepository",
    "Page",
    "SqlStorage",
    "Storage",
    "StorageError",
    "TagRepository",
    "migrate",
    "upgrade_to_head",
]
