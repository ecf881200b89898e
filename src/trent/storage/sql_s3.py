"""``S3Repository`` on SQLite or PostgreSQL (issue 17); the rules are in
``s3_repository.py``'s docstring, the tables in ``s3_tables.py``.

Writes that replace a row (PutObject, UploadPart) run INSERT .. ON CONFLICT DO NOTHING
first and, when a row was there, lock it (``FOR UPDATE``) and overwrite it: two racing
writers of one key each learn exactly which row they replaced (PostgreSQL's INSERT waits
for a conflicting in-flight insert to commit; SQLite writers are serialized by
``BEGIN IMMEDIATE``).

Every write that drops a blob's last reference records the blob as garbage in the same
transaction (``sql_s3_garbage.discard``); the blob itself stays until the reaper's grace
period is over, so a GET that read the old row still finds it. A small object's content
kept inline (``inline_content``; its blob's name is "") goes with its row: nothing to
record.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import orjson
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql as pg_dialect
from sqlalchemy.dialects import sqlite as sqlite_dialect
from sqlalchemy.engine import Connection, Engine

from trent.domain.s3.records import (
    Blob,
    Bucket,
    EncryptionConfig,
    ObjectMetadata,
    ObjectRecord,
    OwnedKey,
    Part,
    SseMode,
    SseRecord,
    Upload,
)
from trent.storage.engine import UnitOfWork
from trent.storage.sql import SqlStorage
from trent.storage.repositories import Duplicate, StorageError
from trent.storage.sqlite_driver import DriverStatement, cursor_of, storage_error
from trent.storage.sqlite_row_read import ReadConnections, RowRead
from trent.storage.s3_repository import (
    BucketGone,
    BucketState,
    Completed,
    DeletedBucket,
    UploadGone,
)
from trent.storage.s3_tables import s3_buckets, s3_objects, s3_owned_keys, s3_parts, s3_uploads
from trent.storage.sql_s3_garbage import DISCARD, discard

_B, _O, _U, _P, _K = s3_buckets, s3_objects, s3_uploads, s3_parts, s3_owned_keys
# Point reads on the hot path, built once with bind parameters (as sql.py does for keys).
_GET_BUCKET = sa.select(_B).where(_B.c.name == sa.bindparam("name"))
_GET_OBJECT = sa.select(_O).where(_O.c.bucket == sa.bindparam("bucket"), _O.c.key == sa.bindparam("key"))
# The PutObject statements, built once (issue 17: building and cache-keying them per call
# was most of a small PUT's storage CPU); per dialect because ON CONFLICT is. The values
# travel as execute() parameters; the WHERE binds are prefixed so they cannot clash with
# the column-named SET parameters.
# An overwrite reads only the old row's blob list: the blobs to reap are all it needs.
_LOCKED_BLOBS = sa.select(_O.c.blobs).where(
    _O.c.bucket == sa.bindparam("where_bucket"), _O.c.key == sa.bindparam("where_key")
).with_for_update()
# Every column but the key: a key column in the SET list costs SQLite the foreign-key
# check against s3_buckets on every overwrite, even when its value does not change.
_OVERWRITE_OBJECT = _O.update().where(_O.c.bucket == sa.bindparam("where_bucket"),
                                      _O.c.key == sa.bindparam("where_key")).values(
    {c.name: sa.bindparam(c.name, type_=c.type) for c in _O.c if not c.primary_key})
_INSERT_OBJECT = {
    name: make(_O).on_conflict_do_nothing().returning(_O.c.key)
    for name, make in (("postgresql", pg_dialect.insert), ("sqlite", sqlite_dialect.insert))
}


def _dumps(value: Any) -> str:
    """A JSON column: compact, keys sorted. orjson writes it in a fraction of ``json``'s
    time (three columns on every object row written: a PUT's). It refuses a lone
    surrogate (``\\udc80``, which a user-metadata value may carry), which ``json`` escapes:
    that rare value is written by ``json``. Either form reads back the same (``_loads``)."""
    try:
        return orjson.dumps(value, option=orjson.OPT_SORT_KEYS).decode()
    except orjson.JSONEncodeError:
        return json.dumps(value, sort_keys=True, separators=(",", ":"))


def _loads(text: str) -> Any:
    """A JSON column as ``_dumps`` wrote it. orjson reads it in a fraction of ``json``'s time
    (four columns on every object row read: a GET's); ``json.dumps`` escapes a lone
    surrogate (``\\udc80``, which a user-metadata value may carry) that orjson refuses to
    read, so that rare row falls back to ``json``."""
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        return json.loads(text)


# --- rows <-> records ----------------------------------------------------------------


def _bucket_from(row: Mapping[Any, Any]) -> Bucket:
    encryption = None
    if row["encryption_algorithm"] is not None:
        encryption = EncryptionConfig(
            SseMode(row["encryption_algorithm"]), row["encryption_kms_key_id"], bool(row["encryption_bucket_key"])
        )
    return Bucket(row["name"], row["account_id"], row["region"], row["created_at"], row["policy"], encryption)


def _sse_values(sse: SseRecord) -> dict[str, Any]:
    return {
        "sse_mode": str(sse.mode),
        "key_blob": sse.key_blob,
        "owned_key_id": sse.owned_key_id,
        "kms_key_arn": sse.kms_key_arn,
        "kms_context": None if sse.kms_context is None else _dumps(dict(sse.kms_context)),
        "bucket_key": sse.bucket_key,
        "derivation_salt": sse.derivation_salt,
        "customer_key_md5": sse.customer_key_md5,
        "customer_key_hmac": sse.customer_key_hmac,
    }


def _sse_from(row: Mapping[Any, Any]) -> SseRecord:
    def blob(name: str) -> bytes | None:
        value = row[name]
        return None if value is None else bytes(value)

    return SseRecord(
        mode=SseMode(row["sse_mode"]),
        key_blob=bytes(row["key_blob"]),
        owned_key_id=row["owned_key_id"],
        kms_key_arn=row["kms_key_arn"],
        kms_context=None if row["kms_context"] is None else _loads(row["kms_context"]),
        bucket_key=bool(row["bucket_key"]),
        derivation_salt=blob("derivation_salt"),
        customer_key_md5=row["customer_key_md5"],
        customer_key_hmac=blob("customer_key_hmac"),
    )


def _metadata_values(meta: ObjectMetadata, checksum_algorithm: str | None, storage_class: str) -> dict[str, Any]:
    return {
        "content_type": meta.content_type,
        "user_metadata": _dumps(dict(meta.user)),
        "system_metadata": _dumps(dict(meta.system)),
        "checksum_algorithm": checksum_algorithm,
        "storage_class": storage_class,
    }


def _metadata_from(row: Mapping[Any, Any]) -> ObjectMetadata:
    return ObjectMetadata(row["content_type"], _loads(row["user_metadata"]), _loads(row["system_metadata"]))


def _object_values(r: ObjectRecord) -> dict[str, Any]:
    blobs = r.blobs
    return {
        "bucket": r.bucket,
        "key": r.key,
        "size": r.size,
        "etag": r.etag,
        "last_modified": r.last_modified,
        **_metadata_values(r.metadata, r.checksum_algorithm, r.storage_class),
        **_sse_values(r.sse),
        "blobs": _dumps([[b.name, b.part_number, b.content_id.hex(), b.size] for b in blobs]),
        "parts_count": r.parts_count,
        "checksum_value": r.checksum_value,
        "inline_content": blobs[0].inline if len(blobs) == 1 else None,
    }


def _object_from(row: Mapping[Any, Any]) -> ObjectRecord:
    inline = row["inline_content"]
    if inline is not None:
        inline = bytes(inline)
    return ObjectRecord(
        bucket=row["bucket"],
        key=row["key"],
        size=row["size"],
        etag=row["etag"],
        last_modified=row["last_modified"],
        metadata=_metadata_from(row),
        sse=_sse_from(row),
        blobs=tuple(Blob(n, p, bytes.fromhex(c), s, inline) for n, p, c, s in _loads(row["blobs"])),
        parts_count=row["parts_count"],
        checksum_algorithm=row["checksum_algorithm"],
        checksum_value=row["checksum_value"],
        storage_class=row["storage_class"],
    )


def _upload_values(u: Upload) -> dict[str, Any]:
    return {
        "upload_id": u.upload_id,
        "bucket": u.bucket,
        "key": u.key,
        "initiated": u.initiated,
        "initiator_arn": u.initiator_arn,
        "account_id": u.account_id,
        **_metadata_values(u.metadata, u.checksum_algorithm, u.storage_class),
        **_sse_values(u.sse),
    }


def _upload_from(row: sa.RowMapping) -> Upload:
    return Upload(
        upload_id=row["upload_id"],
        bucket=row["bucket"],
        key=row["key"],
        initiated=row["initiated"],
        initiator_arn=row["initiator_arn"],
        account_id=row["account_id"],
        metadata=_metadata_from(row),
        sse=_sse_from(row),
        checksum_algorithm=row["checksum_algorithm"],
        storage_class=row["storage_class"],
    )


def _part_values(p: Part) -> dict[str, Any]:
    return {
        "upload_id": p.upload_id,
        "part_number": p.part_number,
        "etag": p.etag,
        "size": p.size,
        "last_modified": p.last_modified,
        "blob_name": p.blob.name,
        "content_id": p.blob.content_id,
        "checksum_value": p.checksum_value,
    }


def _part_from(row: sa.RowMapping) -> Part:
    blob = Blob(row["blob_name"], row["part_number"], bytes(row["content_id"]), row["size"])
    return Part(row["upload_id"], row["part_number"], row["etag"], row["size"], row["last_modified"], blob,
                row["checksum_value"])


def _insert(conn: Connection, table: sa.Table) -> Any:
    return (pg_dialect.insert if conn.dialect.name == "postgresql" else sqlite_dialect.insert)(table)


def _prefix_range(column: sa.ColumnElement[str], prefix: str) -> list[sa.ColumnElement[bool]]:
    """``column`` starts with ``prefix``, as an index-friendly range (bytewise order)."""
    if not prefix:
        return []
    last = ord(prefix[-1])
    if last >= 0x10FFFF:
        return [column >= prefix, sa.func.substr(column, 1, len(prefix)) == prefix]
    return [column >= prefix, column < prefix[:-1] + chr(last + 1)]


def _stored_names(blobs_column: str) -> tuple[str, ...]:
    """The object-store names in a row's ``blobs`` column; inline content (name "") has
    none."""
    return tuple(name for name, _, _, _ in _loads(blobs_column) if name)


def _unreferenced(replaced: tuple[str, ...], record: ObjectRecord) -> dict[str, None]:
    """The stored blobs ``replaced`` that ``record`` no longer references (ordered, unique)."""
    kept = {b.name for b in record.blobs}
    return dict.fromkeys(name for name in replaced if name not in kept)


def _is_integrity_failure(exc: StorageError) -> bool:
    return isinstance(exc.__cause__, sa.exc.IntegrityError)


class _SqlitePut:
    """PutObject's row on file SQLite through the DB-API cursor (``sqlite_driver.py``):
    read the old row, then insert or overwrite. Two statements where the portable upsert
    needs up to four: the write transaction is ``BEGIN IMMEDIATE``, so no other writer can
    create or change the row between the read and the write."""

    def __init__(self, dialect: Any) -> None:
        self._old = DriverStatement(dialect, _LOCKED_BLOBS)  # FOR UPDATE compiles to nothing here
        self._insert = DriverStatement(dialect, _O.insert())
        self._overwrite = DriverStatement(dialect, _OVERWRITE_OBJECT)
        self._discard = DriverStatement(dialect, DISCARD["sqlite"])

    def __call__(self, conn: Connection, record: ObjectRecord, only_if_absent: bool) -> tuple[str, ...] | None:
        values = _object_values(record)  # the row, and the WHERE of the read and the overwrite:
        values["where_bucket"], values["where_key"] = record.bucket, record.key
        try:
            cursor = cursor_of(conn)
            row = self._old.one(cursor, values)
            if row is None:
                self._insert.execute(cursor, values)
                return None
            if only_if_absent:
                raise Duplicate(f"{record.bucket}/{record.key} exists")
            self._overwrite.execute(cursor, values)
            replaced = _stored_names(row["blobs"])
            gone = _unreferenced(replaced, record)
            if gone:
                self._discard.execute_many(cursor, [{"name": n, "since": None} for n in gone])
            return replaced
        except sqlite3.IntegrityError:  # the bucket row is gone (foreign key)
            raise BucketGone(record.bucket) from None
        except sqlite3.Error as exc:
            raise storage_error(exc) from None


class SqlS3Repository:
    """Build it with :meth:`for_storage` from the server's ``SqlStorage``: one pool, and
    for in-memory SQLite (one shared connection) one lock serializing both."""

    def __init__(self, engine: Engine, unit: UnitOfWork | None = None) -> None:
        self._unit = unit or UnitOfWork(engine)
        # the bucket row of every S3 request and the object row of every GET (issue 17)
        fast = self._unit.file_sqlite
        readers = ReadConnections(engine) if fast else None
        self._read_bucket = RowRead(engine, _GET_BUCKET, readers) if fast else None
        self._read_object = RowRead(engine, _GET_OBJECT, readers) if fast else None
        # the PutObject row on the DB-API cursor (sqlite_driver.py)
        self._put = _SqlitePut(engine.dialect) if fast else None

    @property
    def reads_locally(self) -> bool:
        """Bucket and object rows read on connections of their own from a local file
        (file SQLite): never a network round trip, never a wait for another thread's
        transaction (``:memory:`` shares one connection under a lock)."""
        return self._read_object is not None

    @classmethod
    def for_storage(cls, storage: SqlStorage) -> SqlS3Repository:
        return cls(storage.engine, storage._unit)  # noqa: SLF001 - same package, same unit of work

    # -- buckets ----------------------------------------------------------------------

    def create_bucket(self, bucket: Bucket) -> None:
        values = {
            "name": bucket.name,
            "account_id": bucket.account_id,
            "region": bucket.region,
            "created_at": bucket.created_at,
            "policy": bucket.policy,
            **self._encryption_values(bucket.encryption),
        }
        with self._unit(write=True) as conn:
            conn.execute(_B.insert().values(values))

    @staticmethod
    def _encryption_values(config: EncryptionConfig | None) -> dict[str, Any]:
        if config is None:
            return {"encryption_algorithm": None, "encryption_kms_key_id": None, "encryption_bucket_key": None}
        return {
            "encryption_algorithm": str(config.algorithm),
            "encryption_kms_key_id": config.kms_master_key_id,
            "encryption_bucket_key": config.bucket_key_enabled,
        }

    def get_bucket(self, name: str) -> Bucket | None:
        row: Mapping[Any, Any] | None
        if self._read_bucket is not None and self._unit.may_read_outside():
            row = self._read_bucket({"name": name})
        else:
            with self._unit(write=False) as conn:
                row = conn.execute(_GET_BUCKET, {"name": name}).mappings().first()
        return None if row is None else _bucket_from(row)

    def list_buckets(self, account_id: str) -> Sequence[Bucket]:
        query = sa.select(_B).where(_B.c.account_id == account_id).order_by(_B.c.name)
        with self._unit(write=False) as conn:
            return [_bucket_from(r) for r in conn.execute(query).mappings()]

    def delete_bucket(self, name: str) -> DeletedBucket:
        try:
            with self._unit(write=True) as conn:
                if conn.execute(sa.select(_B.c.name).where(_B.c.name == name)).first() is None:
                    return DeletedBucket(BucketState.NOT_FOUND)
                if conn.execute(sa.select(_O.c.key).where(_O.c.bucket == name).limit(1)).first() is not None:
                    return DeletedBucket(BucketState.NOT_EMPTY)
                uploads = sa.select(_U.c.upload_id).where(_U.c.bucket == name)
                # The uploads' rows locked before their parts are touched, as Complete and
                # Abort lock theirs (then delete its parts): parts first, a Complete caught
                # between our two deletes held its upload while waiting for our part locks,
                # and PostgreSQL aborted one of us (deadlock). In upload id order: one
                # order for every DeleteBucket.
                conn.execute(uploads.order_by(_U.c.upload_id).with_for_update()).all()
                parts = [_part_from(r) for r in conn.execute(sa.select(_P).where(_P.c.upload_id.in_(uploads))).mappings()]
                conn.execute(_P.delete().where(_P.c.upload_id.in_(uploads)))
                conn.execute(_U.delete().where(_U.c.bucket == name))
                conn.execute(_B.delete().where(_B.c.name == name))
                discard(conn, (p.blob.name for p in parts))
                return DeletedBucket(BucketState.DELETED, parts)
        except StorageError as exc:
            # an object or upload committed into the bucket after our check (PostgreSQL):
            # the foreign key refused the delete
            if _is_integrity_failure(exc):
                return DeletedBucket(BucketState.NOT_EMPTY)
            raise

    def set_bucket_policy(self, name: str, policy: str | None) -> bool:
        with self._unit(write=True) as conn:
            return conn.execute(_B.update().where(_B.c.name == name).values(policy=policy)).rowcount > 0

    def set_bucket_encryption(self, name: str, config: EncryptionConfig | None) -> bool:
        with self._unit(write=True) as conn:
            result = conn.execute(_B.update().where(_B.c.name == name).values(self._encryption_values(config)))
            return result.rowcount > 0

    # -- objects ----------------------------------------------------------------------

    def get_object(self, bucket: str, key: str) -> ObjectRecord | None:
        row: Mapping[Any, Any] | None
        if self._read_object is not None and self._unit.may_read_outside():
            row = self._read_object({"bucket": bucket, "key": key})
        else:
            with self._unit(write=False) as conn:
                row = conn.execute(_GET_OBJECT, {"bucket": bucket, "key": key}).mappings().first()
        return None if row is None else _object_from(row)

    def put_object(
        self, record: ObjectRecord, *, only_if_absent: bool = False, savepoint: bool = False
    ) -> tuple[str, ...] | None:
        try:
            # savepoint (PutObject's group commit): the batch's transaction carries on after a
            # refused row (PostgreSQL would otherwise abort it; SQLite aborts the statement
            # only). A PUT in a transaction of its own needs none: a refusal ends it anyway.
            with self._unit(write=True, savepoint=savepoint) as conn:
                if self._put is not None:
                    return self._put(conn, record, only_if_absent)
                return self._upsert_object(conn, record, only_if_absent)
        except StorageError as exc:
            if _is_integrity_failure(exc):
                raise BucketGone(record.bucket) from None
            raise

    @staticmethod
    def _upsert_object(conn: Connection, record: ObjectRecord, only_if_absent: bool = False) -> tuple[str, ...] | None:
        values = _object_values(record)
        where = {"where_bucket": record.bucket, "where_key": record.key}
        insert = _INSERT_OBJECT[conn.dialect.name]
        for _ in range(5):
            if conn.execute(insert, values).first() is not None:
                return None
            if only_if_absent:
                raise Duplicate(f"{record.bucket}/{record.key} exists")
            old = conn.execute(_LOCKED_BLOBS, where).first()
            if old is not None:
                conn.execute(_OVERWRITE_OBJECT, {**values, **where})
                replaced = _stored_names(old.blobs)
                discard(conn, _unreferenced(replaced, record))
                return replaced
        raise StorageError("object row kept changing under a write")

    def delete_object(self, bucket: str, key: str) -> ObjectRecord | None:
        where = (_O.c.bucket == bucket, _O.c.key == key)
        with self._unit(write=True) as conn:
            row = conn.execute(sa.select(_O).where(*where).with_for_update()).mappings().first()
            if row is None:
                return None
            conn.execute(_O.delete().where(*where))
            removed = _object_from(row)
            discard(conn, (b.name for b in removed.blobs if b.stored))
            return removed

    def list_objects(self, bucket: str, prefix: str, after: str | None, limit: int) -> Sequence[ObjectRecord]:
        query = sa.select(_O).where(_O.c.bucket == bucket, *_prefix_range(_O.c.key, prefix))
        if after is not None:
            query = query.where(_O.c.key > after)
        query = query.order_by(_O.c.key).limit(limit)
        with self._unit(write=False) as conn:
            return [_object_from(r) for r in conn.execute(query).mappings()]

    # -- multipart --------------------------------------------------------------------

    def create_upload(self, upload: Upload) -> None:
        try:
            with self._unit(write=True) as conn:
                conn.execute(_U.insert().values(_upload_values(upload)))
        except StorageError as exc:
            if _is_integrity_failure(exc) and exc.__class__ is StorageError:
                raise BucketGone(upload.bucket) from None
            raise

    def get_upload(self, upload_id: str) -> Upload | None:
        with self._unit(write=False) as conn:
            row = conn.execute(sa.select(_U).where(_U.c.upload_id == upload_id)).mappings().first()
        return None if row is None else _upload_from(row)

    def put_part(self, part: Part) -> Part | None:
        values = _part_values(part)
        where = (_P.c.upload_id == part.upload_id, _P.c.part_number == part.part_number)
        try:
            with self._unit(write=True) as conn:
                for _ in range(5):
                    inserted = conn.execute(
                        _insert(conn, _P).values(values).on_conflict_do_nothing().returning(_P.c.part_number)
                    ).first()
                    if inserted is not None:
                        return None
                    old = conn.execute(sa.select(_P).where(*where).with_for_update()).mappings().first()
                    if old is not None:
                        conn.execute(_P.update().where(*where).values(values))
                        replaced = _part_from(old)
                        if replaced.blob.name != part.blob.name:
                            discard(conn, [replaced.blob.name])
                        return replaced
                raise StorageError("part row kept changing under a write")
        except StorageError as exc:
            if _is_integrity_failure(exc):
                raise UploadGone(part.upload_id) from None
            raise

    def list_parts(self, upload_id: str, after_part: int, limit: int) -> Sequence[Part]:
        query = (
            sa.select(_P)
            .where(_P.c.upload_id == upload_id, _P.c.part_number > after_part)
            .order_by(_P.c.part_number)
            .limit(limit)
        )
        with self._unit(write=False) as conn:
            return [_part_from(r) for r in conn.execute(query).mappings()]

    def list_uploads(
        self, bucket: str, prefix: str, key_marker: str | None, upload_id_marker: str | None, limit: int
    ) -> Sequence[Upload]:
        query = sa.select(_U).where(_U.c.bucket == bucket, *_prefix_range(_U.c.key, prefix))
        with self._unit(write=False) as conn:
            if key_marker is not None:
                after_key = _U.c.key > key_marker
                marker = None
                if upload_id_marker is not None:
                    marker = conn.execute(
                        sa.select(_U.c.initiated, _U.c.upload_id).where(
                            _U.c.upload_id == upload_id_marker, _U.c.key == key_marker
                        )
                    ).first()
                if marker is not None:
                    same_key_later = sa.and_(
                        _U.c.key == key_marker,
                        sa.tuple_(_U.c.initiated, _U.c.upload_id) > sa.tuple_(marker[0], marker[1]),
                    )
                    query = query.where(sa.or_(after_key, same_key_later))
                else:
                    query = query.where(after_key)
            query = query.order_by(_U.c.key, _U.c.initiated, _U.c.upload_id).limit(limit)
            return [_upload_from(r) for r in conn.execute(query).mappings()]

    def complete_upload(self, upload_id: str, build: Callable[[Upload, Sequence[Part]], ObjectRecord]) -> Completed:
        try:
            with self._unit(write=True) as conn:
                row = conn.execute(sa.select(_U).where(_U.c.upload_id == upload_id).with_for_update()).mappings().first()
                if row is None:
                    raise UploadGone(upload_id)
                upload = _upload_from(row)
                parts = [
                    _part_from(r)
                    for r in conn.execute(sa.select(_P).where(_P.c.upload_id == upload_id).order_by(_P.c.part_number))
                    .mappings()
                ]
                record = build(upload, parts)
                used = {b.name for b in record.blobs}
                conn.execute(_P.delete().where(_P.c.upload_id == upload_id))
                conn.execute(_U.delete().where(_U.c.upload_id == upload_id))
                replaced = self._upsert_object(conn, record)
                unused = [p for p in parts if p.blob.name not in used]
                discard(conn, (p.blob.name for p in unused))
                return Completed(record, replaced, unused)
        except StorageError as exc:
            if type(exc) is StorageError and _is_integrity_failure(exc):
                raise BucketGone(upload_id) from None
            raise

    def abort_upload(self, upload_id: str) -> Sequence[Part]:
        with self._unit(write=True) as conn:
            row = conn.execute(sa.select(_U.c.upload_id).where(_U.c.upload_id == upload_id).with_for_update()).first()
            if row is None:
                raise UploadGone(upload_id)
            parts = [_part_from(r) for r in conn.execute(sa.select(_P).where(_P.c.upload_id == upload_id)).mappings()]
            conn.execute(_P.delete().where(_P.c.upload_id == upload_id))
            conn.execute(_U.delete().where(_U.c.upload_id == upload_id))
            discard(conn, (p.blob.name for p in parts))
            return parts

    # -- S3-owned keys ----------------------------------------------------------------

    def current_owned_key(self) -> OwnedKey | None:
        query = sa.select(_K).order_by(_K.c.created_at.desc(), _K.c.key_id.desc()).limit(1)
        with self._unit(write=False) as conn:
            row = conn.execute(query).mappings().first()
        return None if row is None else OwnedKey(row["key_id"], bytes(row["wrapped"]), row["created_at"])

    def get_owned_key(self, key_id: str) -> OwnedKey | None:
        with self._unit(write=False) as conn:
            row = conn.execute(sa.select(_K).where(_K.c.key_id == key_id)).mappings().first()
        return None if row is None else OwnedKey(row["key_id"], bytes(row["wrapped"]), row["created_at"])

    def add_owned_key(self, key: OwnedKey) -> None:
        with self._unit(write=True) as conn:
            conn.execute(_K.insert().values(key_id=key.key_id, wrapped=key.wrapped, created_at=key.created_at))
