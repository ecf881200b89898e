"""The object store Protocol: put, get (with a byte range), head, list, delete.

Keys are S3 object keys (UTF-8, at most 1024 bytes). Listing is in UTF-8 byte order of
the keys, as S3 lists (ListObjects' ``Marker``/``StartAfter`` and the CloudTrail
validator's lexicographic stop rule depend on it). ``metadata`` is S3's user metadata
(``x-amz-meta-*``, lowercase names). Foreign errors (OSError, botocore's ClientError)
stop at each adapter's edge: :class:`NoSuchKey` for a missing object, :class:`InvalidRange`
for an unsatisfiable range, :class:`InvalidObjectKey` for a key the store cannot hold,
:class:`ObjectStoreError` for anything else.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol

MAX_KEY_BYTES = 1024


class ObjectStoreError(Exception):
    """The store failed (I/O, permissions, the remote bucket)."""


class NoSuchKey(ObjectStoreError):
    """No object under that key."""


class InvalidRange(ObjectStoreError):
    """The requested byte range does not overlap the object."""


class InvalidObjectKey(ObjectStoreError):
    """A key this store cannot hold (empty, too long, or unsafe as a path)."""


@dataclass(frozen=True, slots=True)
class ObjectInfo:
    key: str
    size: int
    etag: str  # lowercase hex MD5 of the body, without quotes (S3's ETag of a single PUT)
    last_modified: float  # epoch seconds
    metadata: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class StoredObject:
    info: ObjectInfo
    body: bytes
    # The inclusive byte range returned, when a range was asked for.
    byte_range: tuple[int, int] | None = None


@dataclass(frozen=True, slots=True)
class ObjectListing:
    objects: Sequence[ObjectInfo]
    common_prefixes: Sequence[str]
    truncated: bool


def check_key(key: str) -> bytes:
    encoded = key.encode("utf-8")
    if not encoded or len(encoded) > MAX_KEY_BYTES:
        raise InvalidObjectKey("object keys are 1 to 1024 bytes of UTF-8")
    return encoded


def resolve_range(size: int, first: int | None, last: int | None) -> tuple[int, int]:
    """An HTTP byte range (RFC 9110 §14.1.2: ``first-last``, ``first-``, ``-suffix``)
    against an object of ``size`` bytes -> inclusive (first, last)."""
    if first is None:
        if last is None or last <= 0 or size == 0:
            raise InvalidRange("unsatisfiable range")
        return max(0, size - last), size - 1
    if first >= size:
        raise InvalidRange("unsatisfiable range")
    end = size - 1 if last is None else min(last, size - 1)
    if end < first:
        raise InvalidRange("unsatisfiable range")
    return first, end


def page(keys_in_order: Sequence[ObjectInfo], prefix: str, start_after: str, limit: int,
         delimiter: str | None) -> ObjectListing:
    """S3's listing rules over keys already in byte order: after ``start_after``,
    under ``prefix``, keys sharing ``prefix + ... + delimiter`` rolled into one common
    prefix, at most ``limit`` entries (objects and prefixes together)."""
    objects: list[ObjectInfo] = []
    prefixes: list[str] = []
    after = start_after.encode("utf-8")
    for info in keys_in_order:
        if not info.key.startswith(prefix) or info.key.encode("utf-8") <= after:
            continue
        if delimiter:
            cut = info.key.find(delimiter, len(prefix))
            if cut >= 0:
                rolled = info.key[: cut + len(delimiter)]
                if prefixes and prefixes[-1] == rolled:
                    continue
                if rolled.encode("utf-8") <= after:
                    continue
                if len(objects) + len(prefixes) >= limit:
                    return ObjectListing(objects, prefixes, True)
                prefixes.append(rolled)
                continue
        if len(objects) + len(prefixes) >= limit:
            return ObjectListing(objects, prefixes, True)
        objects.append(info)
    return ObjectListing(objects, prefixes, False)


class ObjectStore(Protocol):
    def put(self, key: str, body: bytes, metadata: Mapping[str, str] | None = None) -> ObjectInfo:
        """Store ``body`` under ``key`` atomically (readers see the old object or the new)."""
        ...

    def get(self, key: str, byte_range: tuple[int | None, int | None] | None = None) -> StoredObject:
        """The object (or the inclusive ``byte_range`` of it, HTTP semantics)."""
        ...

    def head(self, key: str) -> ObjectInfo: ...

    def list(self, prefix: str = "", start_after: str = "", limit: int = 1000,
             delimiter: str | None = None) -> ObjectListing: ...

    def delete(self, key: str) -> None:
        """Removing a missing key is not an error (S3's DeleteObject)."""
        ...
