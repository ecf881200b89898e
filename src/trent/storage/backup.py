"""Backups of the whole store: a consistent online snapshot, sealed by the root (issue 20).

File layout (version 1)::

    b"TRENTBAK" | 0x01 | payload length (u64, big-endian) | payload | seal length (u32) | seal

- **payload**: gzip of JSON lines: first ``{"manifest": ...}`` (format, schema revisions,
  backend, time, table list), then per table ``{"table": name, "columns": [...]}``
  followed by one JSON array per row, then ``{"end": {table: row count}}``. Binary
  columns (wrapped key material, wrapped secrets) are base64; they stay wrapped under
  the root of trust, so a backup is useless without the root's shares or HSM.
- **seal**: ``seal(SHA-256(header | SHA-256(payload)))`` — the caller's root of trust
  wraps the digest (AES-GCM under the root key, in the HSM for an HSM root, with a
  fixed AAD). Restoring unwraps it with the same root and compares digests in constant
  time *before anything is written*: a flipped bit anywhere, a truncated file, or a
  backup sealed under another root is refused.

Consistency: every table is read inside ONE read-only transaction — PostgreSQL
``REPEATABLE READ`` (one snapshot for all statements), SQLite's deferred transaction
on a WAL database (the snapshot of its first read) — while the servers keep writing.
Operational tables (``cache_changes``, ``leases``) are not backed up.

Restore needs an *empty* store migrated to the same schema revisions; rows are
inserted in dependency order in one transaction (all or nothing), and PostgreSQL's
id sequences are moved past the restored ids.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import hmac
import io
import os
import struct
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import orjson
import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from trent.storage.engine import translate
from trent.storage.tables import metadata

MAGIC = b"TRENTBAK"
FORMAT_VERSION = 1
_HEADER = struct.Struct(">8sBQ")
_SEAL_LEN = struct.Struct(">I")
NOT_BACKED_UP = frozenset({"cache_changes", "leases"})
BATCH = 500

Seal = Callable[[bytes], bytes]  # the root wraps a digest
Unseal = Callable[[bytes], bytes]  # ...and unwraps it (raises on a foreign or altered seal)


class BackupError(Exception):
    """The backup cannot be made, or must not be restored (the message says why)."""


@dataclass(frozen=True, slots=True)
class BackupSummary:
    tables: dict[str, int]
    schema: tuple[str, ...]
    backend: str
    created_at: float


def _tables() -> list[sa.Table]:
    return [t for t in metadata.sorted_tables if t.name not in NOT_BACKED_UP]


def _binary_columns(table: sa.Table) -> frozenset[str]:
    return frozenset(c.name for c in table.columns if isinstance(c.type, sa.LargeBinary))


def _schema(conn: Connection) -> tuple[str, ...]:
    try:
        return tuple(sorted(r[0] for r in conn.execute(sa.text("SELECT version_num FROM alembic_version"))))
    except sa.exc.SQLAlchemyError:
        return ()


def _digest(header: bytes, payload_sha256: bytes) -> bytes:
    return hashlib.sha256(header + payload_sha256).digest()


class _Hashing(io.RawIOBase):
    """Writes through to ``out`` while hashing and counting what passes."""

    def __init__(self, out: IO[bytes]) -> None:
        self._out = out
        self.sha = hashlib.sha256()
        self.size = 0

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        view = memoryview(data).cast("B")
        self.sha.update(view)
        self._out.write(view)
        self.size += len(view)
        return len(view)


# --- create ------------------------------------------------------------------------------


def _snapshot_rows(conn: Connection, table: sa.Table) -> Iterator[sa.Row[Any]]:
    order = list(table.primary_key.columns) or list(table.columns)
    yield from conn.execution_options(yield_per=BATCH).execute(sa.select(table).order_by(*order))


def create_backup(engine: Engine, path: Path, seal: Seal, now: float | None = None) -> BackupSummary:
    """Write a sealed snapshot of the store behind ``engine`` to ``path`` (atomically)."""
    backend = engine.dialect.name
    created_at = time.time() if now is None else now
    counts: dict[str, int] = {}
    tmp = path.with_name(path.name + ".partial")
    try:
        with open(tmp, "wb") as out:
            out.write(_HEADER.pack(MAGIC, FORMAT_VERSION, 0))  # length filled in below
            hashing = _Hashing(out)
            with gzip.GzipFile(fileobj=hashing, mode="wb", compresslevel=6, mtime=0) as gz, engine.connect() as conn:
                if backend == "postgresql":
                    conn = conn.execution_options(isolation_level="REPEATABLE READ")
                with conn.begin():
                    if backend == "postgresql":
                        conn.execute(sa.text("SET TRANSACTION READ ONLY"))
                    schema = _schema(conn)
                    manifest = {"format": FORMAT_VERSION, "schema": list(schema), "backend": backend,
                                "createdAt": created_at, "tables": [str(t.name) for t in _tables()]}
                    gz.write(orjson.dumps({"manifest": manifest}) + b"\n")
                    for table in _tables():
                        binary = _binary_columns(table)
                        columns = [c.name for c in table.columns]
                        gz.write(orjson.dumps({"table": str(table.name), "columns": columns}) + b"\n")
                        n = 0
                        for row in _snapshot_rows(conn, table):
                            values = [
                                base64.b64encode(v).decode() if name in binary and v is not None else v
                                for name, v in zip(columns, row)
                            ]
                            gz.write(orjson.dumps(values) + b"\n")
                            n += 1
                        counts[str(table.name)] = n
                    gz.write(orjson.dumps({"end": counts}) + b"\n")
            header = _HEADER.pack(MAGIC, FORMAT_VERSION, hashing.size)
            sealed = seal(_digest(header, hashing.sha.digest()))
            out.write(_SEAL_LEN.pack(len(sealed)) + sealed)
            out.seek(0)
            out.write(header)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, path)
    except sa.exc.SQLAlchemyError as exc:
        raise BackupError(f"reading the store failed: {translate(exc)}") from None
    finally:
        if tmp.exists():
            tmp.unlink()
    return BackupSummary(counts, schema, backend, created_at)


# --- verify and restore ----------------------------------------------------------------------


def verify_backup(path: Path, unseal: Unseal) -> tuple[int, int]:
    """Check the seal and digest of the whole file before anything is trusted.
    Returns (payload offset, payload length)."""
    try:
        with open(path, "rb") as f:
            header = f.read(_HEADER.size)
            if len(header) != _HEADER.size:
                raise BackupError("not a Trent backup (too short)")
            magic, version, length = _HEADER.unpack(header)
            if magic != MAGIC:
                raise BackupError("not a Trent backup")
            if version != FORMAT_VERSION:
                raise BackupError(f"backup format {version} is not supported (this Trent reads {FORMAT_VERSION})")
            sha = hashlib.sha256()
            remaining = length
            while remaining:
                chunk = f.read(min(remaining, 1 << 20))
                if not chunk:
                    raise BackupError("the backup is truncated")
                sha.update(chunk)
                remaining -= len(chunk)
            seal_len_raw = f.read(_SEAL_LEN.size)
            if len(seal_len_raw) != _SEAL_LEN.size:
                raise BackupError("the backup is truncated (no seal)")
            (seal_len,) = _SEAL_LEN.unpack(seal_len_raw)
            sealed = f.read(seal_len)
            if len(sealed) != seal_len or f.read(1):
                raise BackupError("the backup's seal is damaged")
    except OSError as exc:
        raise BackupError(f"cannot read {path}: {exc.strerror}") from None
    try:
        expected = unseal(sealed)
    except Exception:  # noqa: BLE001 - opaque on purpose: foreign root or tampering
        raise BackupError("the backup's seal does not open with this root of trust: "
                          "it was altered, or made under another root") from None
    if not hmac.compare_digest(expected, _digest(header, sha.digest())):
        raise BackupError("the backup was altered: its contents do not match its seal")
    return _HEADER.size, length


class _Slice(io.RawIOBase):
    """``length`` bytes of ``f`` from its current position (the payload, not the seal)."""

    def __init__(self, f: IO[bytes], length: int) -> None:
        self._f = f
        self._left = length

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        if self._left <= 0:
            return 0
        view = memoryview(buffer).cast("B")[: self._left]
        n = self._f.readinto(view)  # type: ignore[attr-defined]
        self._left -= n or 0
        return n or 0


def _lines(path: Path, offset: int, length: int) -> Iterator[Any]:
    with open(path, "rb") as f:
        f.seek(offset)
        with gzip.GzipFile(fileobj=io.BufferedReader(_Slice(f, length)), mode="rb") as gz:
            for line in gz:
                yield orjson.loads(line)


def restore_backup(engine: Engine, path: Path, unseal: Unseal) -> BackupSummary:
    """Restore a verified backup into the EMPTY store behind ``engine`` (already migrated)."""
    offset, length = verify_backup(path, unseal)
    lines = _lines(path, offset, length)
    manifest = next(lines).get("manifest")
    if not isinstance(manifest, dict):
        raise BackupError("the backup has no manifest")
    schema = tuple(manifest.get("schema", ()))
    by_name = {t.name: t for t in _tables()}
    counts: dict[str, int] = {}
    try:
        with engine.connect() as conn:
            conn.execution_options(trent_write=True)
            with conn.begin():
                here = _schema(conn)
                if schema != here:
                    raise BackupError(f"the backup's schema {list(schema)} is not this store's {list(here)}: "
                                      f"restore with the Trent version that made it")
                for existing in by_name.values():
                    if conn.execute(sa.select(sa.func.count()).select_from(existing)).scalar_one():
                        raise BackupError(f"restore needs an empty store; table {existing.name} has rows")
                table: sa.Table | None = None
                columns: list[str] = []
                binary: frozenset[str] = frozenset()
                batch: list[dict[str, Any]] = []
                for item in lines:
                    if isinstance(item, list):
                        if table is None:
                            raise BackupError("the backup is malformed (a row before its table)")
                        batch.append({name: base64.b64decode(v) if name in binary and v is not None else v
                                      for name, v in zip(columns, item)})
                        if len(batch) >= BATCH:
                            conn.execute(table.insert(), batch)
                            batch = []
                        counts[str(table.name)] += 1
                        continue
                    if table is not None and batch:
                        conn.execute(table.insert(), batch)
                        batch = []
                    if "table" in item:
                        table = by_name.get(item["table"])
                        if table is None:
                            raise BackupError(f"the backup has a table this Trent does not know: {item['table']}")
                        columns = list(item["columns"])
                        binary = _binary_columns(table)
                        counts[str(table.name)] = 0
                    elif "end" in item:
                        if item["end"] != counts:
                            raise BackupError("the backup is incomplete (row counts differ)")
                        break
                else:
                    raise BackupError("the backup is incomplete (no end marker)")
                if conn.dialect.name == "postgresql":
                    _advance_sequences(conn)
    except sa.exc.SQLAlchemyError as exc:
        raise BackupError(f"writing the store failed: {translate(exc)}") from None
    return BackupSummary(counts, schema, str(manifest.get("backend")), float(manifest.get("createdAt", 0)))


def _advance_sequences(conn: Connection) -> None:
    """Rows came with their ids; the sequences behind SERIAL/IDENTITY ids move past them."""
    for table in _tables():
        for column in table.primary_key.columns:
            if column.autoincrement is True or (column.autoincrement == "auto" and isinstance(column.type, sa.Integer)
                                                and len(table.primary_key.columns) == 1):
                conn.execute(sa.text(
                    f"SELECT setval(pg_get_serial_sequence('{table.name}', '{column.name}'), "
                    f"COALESCE((SELECT MAX({column.name}) FROM {table.name}), 0) + 1, false)"
                ))


def describe(path: Path) -> dict[str, Any]:
    """The manifest, unverified (for a human looking at a file; restore verifies)."""
    with open(path, "rb") as f:
        magic, version, length = _HEADER.unpack(f.read(_HEADER.size))
        if magic != MAGIC:
            raise BackupError("not a Trent backup")
        with gzip.GzipFile(fileobj=io.BufferedReader(_Slice(f, length)), mode="rb") as gz:
            return dict(orjson.loads(gz.readline())["manifest"])


__all__ = ["BackupError", "BackupSummary", "create_backup", "describe", "restore_backup", "verify_backup"]
