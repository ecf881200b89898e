"""Objects as files in a directory (``file://``): the default trail bucket.

Layout under the root directory::

    <key>                              the object's bytes (key segments become directories)
    .trent-objectmeta/<key>.json       {"etag": ..., "metadata": {...}} (S3 user metadata)

A put writes both to temporary files in their directories, flushes them to disk and
renames them into place, then flushes the directory (the name is durable too), metadata
first: a reader sees the old object or the new one, never half of one, and a crash
leaves at worst metadata without an object (invisible).
An object file without its metadata file (moved or copied by hand) still reads, with
its ETag computed and no metadata — which is what a moved digest looks like to a
validator (spec cloudtrail.md §2).

Keys must map to safe relative paths: no empty, ``.`` or ``..`` segment, no leading
``/``, no NUL, nothing under the metadata directory — and, unlike S3, one key cannot be
a "directory" of another (``a/b`` and ``a/b/c``); CloudTrail's layout never does that. Listing collects the keys under the
deepest directory the prefix names and sorts them as UTF-8 bytes (S3's order).
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import tempfile
from collections.abc import Iterator, Mapping
from pathlib import Path

import orjson

from trent.objectstore.base import (
    InvalidObjectKey,
    NoSuchKey,
    ObjectInfo,
    ObjectListing,
    ObjectStoreError,
    StoredObject,
    check_key,
    page,
    resolve_range,
)
from trent.objectstore.directories import fsync_directory, make_directories

META_DIR = ".trent-objectmeta"


def _md5(body: bytes) -> str:
    return hashlib.md5(body, usedforsecurity=False).hexdigest()


class FileObjectStore:
    def __init__(self, root: Path, *, durable: bool = True) -> None:
        self.root = root
        self._durable = durable
        try:
            root.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise ObjectStoreError(f"cannot create the bucket directory: {exc.strerror}") from None

    def __repr__(self) -> str:
        return f"FileObjectStore({str(self.root)!r})"

    # -- paths ------------------------------------------------------------------------

    def _paths(self, key: str) -> tuple[Path, Path]:
        check_key(key)
        parts = key.split("/")
        if "\x00" in key or any(p in ("", ".", "..") for p in parts) or parts[0] == META_DIR:
            raise InvalidObjectKey(f"this file bucket cannot hold the key {key!r}")
        return self.root.joinpath(*parts), self.root.joinpath(META_DIR, *parts[:-1], parts[-1] + ".json")

    def _write_atomically(self, path: Path, data: bytes) -> None:
        make_directories(path.parent, durable=self._durable)
        fd, temp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(data)
                if self._durable:
                    f.flush()
                    os.fsync(f.fileno())
            os.replace(temp, path)
            if self._durable:
                # the name as well as the bytes (directories.py); for the metadata, before
                # the object is renamed into place (the order the module doc promises)
                fsync_directory(path.parent)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(temp)
            raise

    # -- the Protocol -------------------------------------------------------------------

    def put(self, key: str, body: bytes, metadata: Mapping[str, str] | None = None) -> ObjectInfo:
        data_path, meta_path = self._paths(key)
        etag = _md5(body)
        meta = {"etag": etag, "size": len(body), "metadata": dict(metadata or {})}
        try:
            self._write_atomically(meta_path, orjson.dumps(meta))
            self._write_atomically(data_path, body)
            mtime = data_path.stat().st_mtime
        except (FileExistsError, NotADirectoryError, IsADirectoryError):
            # S3 may hold "a/b" and "a/b/c"; a directory tree cannot (a documented limit).
            raise InvalidObjectKey(f"{key!r} collides with another key used as a directory") from None
        except OSError as exc:
            raise ObjectStoreError(f"cannot store {key!r}: {exc.strerror}") from None
        return ObjectInfo(key, len(body), etag, mtime, dict(metadata or {}))

    def _info(self, key: str, data_path: Path, meta_path: Path, body: bytes | None) -> ObjectInfo:
        """What the object is. The ETag is the sidecar's unless ``body`` was read (GET)
        or the sizes disagree: a file edited by hand reports the MD5 of what it holds."""
        try:
            stat = data_path.stat()
        except (FileNotFoundError, NotADirectoryError):
            raise NoSuchKey(key) from None
        except OSError as exc:
            raise ObjectStoreError(f"cannot read {key!r}: {exc.strerror}") from None
        if not data_path.is_file():
            raise NoSuchKey(key)
        metadata: dict[str, str] = {}
        etag: str | None = None
        size: int | None = None
        try:
            meta = orjson.loads(meta_path.read_bytes())
            etag, size, metadata = meta.get("etag"), meta.get("size"), dict(meta.get("metadata") or {})
        except (FileNotFoundError, NotADirectoryError, orjson.JSONDecodeError, AttributeError, TypeError, ValueError):
            pass
        except OSError as exc:
            raise ObjectStoreError(f"cannot read {key!r}: {exc.strerror}") from None
        if body is not None:
            etag = _md5(body)
        elif etag is None or size != stat.st_size:
            try:
                etag = _md5(data_path.read_bytes())
            except OSError as exc:
                raise ObjectStoreError(f"cannot read {key!r}: {exc.strerror}") from None
        return ObjectInfo(key, stat.st_size, etag, stat.st_mtime, metadata)

    def get(self, key: str, byte_range: tuple[int | None, int | None] | None = None) -> StoredObject:
        data_path, meta_path = self._paths(key)
        try:
            body = data_path.read_bytes()
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
            raise NoSuchKey(key) from None
        except OSError as exc:
            raise ObjectStoreError(f"cannot read {key!r}: {exc.strerror}") from None
        info = self._info(key, data_path, meta_path, body)
        if byte_range is None:
            return StoredObject(info, body)
        first, last = resolve_range(len(body), *byte_range)
        return StoredObject(info, body[first : last + 1], (first, last))

    def head(self, key: str) -> ObjectInfo:
        data_path, meta_path = self._paths(key)
        return self._info(key, data_path, meta_path, None)

    def list(self, prefix: str = "", start_after: str = "", limit: int = 1000,
             delimiter: str | None = None) -> ObjectListing:
        keys = sorted(self._keys_under(prefix), key=lambda k: k.encode("utf-8"))
        infos = (self._listed(k) for k in keys)
        return page([i for i in infos if i is not None], prefix, start_after, limit, delimiter)

    def _listed(self, key: str) -> ObjectInfo | None:
        data_path, meta_path = self._paths(key)
        try:
            return self._info(key, data_path, meta_path, None)
        except (NoSuchKey, OSError):
            return None  # removed while listing

    def _keys_under(self, prefix: str) -> Iterator[str]:
        directory = prefix.rsplit("/", 1)[0] if "/" in prefix else ""
        parts = [p for p in directory.split("/") if p]
        if any(p in (".", "..") for p in parts) or (parts and parts[0] == META_DIR):
            return
        base = self.root.joinpath(*parts)
        if not base.is_dir():
            return
        for dirpath, dirnames, filenames in os.walk(base):
            rel = os.path.relpath(dirpath, self.root)
            if rel == ".":
                dirnames[:] = [d for d in dirnames if d != META_DIR]
                rel = ""
            for name in filenames:
                if name.startswith(".tmp-"):
                    continue
                key = f"{rel}/{name}" if rel else name
                if key.startswith(prefix):
                    yield key.replace(os.sep, "/")

    def delete(self, key: str) -> None:
        data_path, meta_path = self._paths(key)
        for path in (data_path, meta_path):
            try:
                path.unlink()
            except FileNotFoundError:
                pass
            except OSError as exc:
                raise ObjectStoreError(f"cannot delete {key!r}: {exc.strerror}") from None
