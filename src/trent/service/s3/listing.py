"""ListObjects (v1), ListObjectsV2 and ListMultipartUploads (issue 17).

Keys are listed in UTF-8 binary order (the repository's). With a delimiter, keys that
contain it after the prefix roll up into one CommonPrefix each; a CommonPrefix counts
against MaxKeys like a key, and the walk jumps past all keys under it. v2 continuation
tokens are opaque to clients (base64url of where the page ended, Trent-prefixed).
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Sequence
from dataclasses import dataclass

from trent import errors
from trent.domain.s3.records import ObjectRecord, Upload
from trent.service.context import RequestContext
from trent.service.s3 import authorization as authz
from trent.service.s3.buckets import require_bucket
from trent.service.s3.deps import S3Deps

MAX_KEYS = 1000
_BEYOND = "\U0010ffff"  # the greatest code point: cp + _BEYOND sorts after every key under cp
_TOKEN_PREFIX = b"trent1:"


def _max_keys(value: int | None, name: str = "max-keys") -> int:
    if value is None:
        return MAX_KEYS
    if value < 0:
        raise errors.InvalidArgument(
            f"Argument {name} must be an integer between 0 and 2147483647",
            details={"ArgumentName": name, "ArgumentValue": str(value)},
        )
    return min(value, MAX_KEYS)


def encode_token(position: str) -> str:
    return base64.urlsafe_b64encode(_TOKEN_PREFIX + position.encode("utf-8", "surrogatepass")).decode("ascii")


def decode_token(token: str) -> str:
    try:
        raw = base64.urlsafe_b64decode(token.encode("ascii"))
        if not raw.startswith(_TOKEN_PREFIX):
            raise ValueError
        return raw[len(_TOKEN_PREFIX) :].decode("utf-8", "surrogatepass")
    except (binascii.Error, ValueError, UnicodeError):
        raise errors.InvalidArgument(
            "The continuation token provided is incorrect", details={"ArgumentName": "continuation-token"}
        ) from None


@dataclass(frozen=True, slots=True)
class ObjectPage:
    contents: Sequence[ObjectRecord]
    common_prefixes: Sequence[str]
    is_truncated: bool
    last: str | None  # the last key or common prefix returned (NextMarker / token position)

    @property
    def key_count(self) -> int:
        return len(self.contents) + len(self.common_prefixes)


def walk(deps: S3Deps, bucket: str, prefix: str, delimiter: str | None, after: str | None, max_keys: int) -> ObjectPage:
    contents: list[ObjectRecord] = []
    prefixes: list[str] = []
    cursor = after
    last: str | None = None
    # v1 pages that ended on a CommonPrefix hand it back as the Marker: resume past it
    resume_past = after if delimiter and after and after.startswith(prefix) and after.endswith(delimiter) \
        and after.find(delimiter, len(prefix)) == len(after) - len(delimiter) else None
    batch_size = min(max(max_keys + 1, 64), MAX_KEYS + 1)
    while True:
        batch = deps.repo.list_objects(bucket, prefix, cursor, batch_size)
        jumped = False
        for record in batch:
            cursor = record.key
            entry: str | ObjectRecord = record
            if delimiter:
                cut = record.key.find(delimiter, len(prefix))
                if cut >= 0:
                    entry = record.key[: cut + len(delimiter)]
            if isinstance(entry, str) and entry == resume_past:
                cursor = entry + _BEYOND
                jumped = True
                break
            if len(contents) + len(prefixes) >= max_keys:
                return ObjectPage(contents, prefixes, True, last)
            if isinstance(entry, str):
                prefixes.append(entry)
                last = entry
                cursor = entry + _BEYOND
                jumped = True
                break
            contents.append(entry)
            last = entry.key
        if not jumped and len(batch) < batch_size:
            return ObjectPage(contents, prefixes, False, last)


def _list_conditions(prefix: str, delimiter: str | None, max_keys: int) -> dict[str, str]:
    keys = {"s3:prefix": prefix, "s3:max-keys": str(max_keys)}
    if delimiter:
        keys["s3:delimiter"] = delimiter
    return keys


def list_objects(
    deps: S3Deps, ctx: RequestContext, bucket_name: str, *, prefix: str = "", delimiter: str | None = None,
    marker: str | None = None, max_keys: int | None = None,
) -> ObjectPage:
    """v1. S3 returns NextMarker only with a delimiter; clients use the last key otherwise."""
    limit = _max_keys(max_keys)
    bucket = require_bucket(deps, bucket_name)
    authz.authorize(deps, ctx, authz.LIST_BUCKET, bucket, conditions=_list_conditions(prefix, delimiter, limit))
    return walk(deps, bucket.name, prefix, delimiter, marker or None, limit)


@dataclass(frozen=True, slots=True)
class ObjectPageV2:
    page: ObjectPage
    next_continuation_token: str | None


def list_objects_v2(
    deps: S3Deps, ctx: RequestContext, bucket_name: str, *, prefix: str = "", delimiter: str | None = None,
    continuation_token: str | None = None, start_after: str | None = None, max_keys: int | None = None,
) -> ObjectPageV2:
    limit = _max_keys(max_keys)
    bucket = require_bucket(deps, bucket_name)
    authz.authorize(deps, ctx, authz.LIST_BUCKET, bucket, conditions=_list_conditions(prefix, delimiter, limit))
    after = decode_token(continuation_token) if continuation_token is not None else (start_after or None)
    page = walk(deps, bucket.name, prefix, delimiter, after, limit)
    token = None
    if page.is_truncated and page.last is not None:
        position = page.last + _BEYOND if page.common_prefixes and page.last == page.common_prefixes[-1] else page.last
        token = encode_token(position)
    return ObjectPageV2(page, token)


@dataclass(frozen=True, slots=True)
class UploadPage:
    uploads: Sequence[Upload]
    common_prefixes: Sequence[str]
    is_truncated: bool
    next_key_marker: str | None
    next_upload_id_marker: str | None


def list_multipart_uploads(
    deps: S3Deps, ctx: RequestContext, bucket_name: str, *, prefix: str = "", delimiter: str | None = None,
    key_marker: str | None = None, upload_id_marker: str | None = None, max_uploads: int | None = None,
) -> UploadPage:
    limit = _max_keys(max_uploads, "max-uploads")
    bucket = require_bucket(deps, bucket_name)
    authz.authorize(deps, ctx, authz.LIST_BUCKET_MULTIPART_UPLOADS, bucket)
    uploads: list[Upload] = []
    prefixes: list[str] = []
    cursor_key, cursor_id = key_marker or None, upload_id_marker if key_marker else None
    next_key = next_id = None
    while True:
        batch = deps.repo.list_uploads(bucket.name, prefix, cursor_key, cursor_id, limit + 1)
        jumped = False
        for upload in batch:
            cursor_key, cursor_id = upload.key, upload.upload_id
            common = None
            if delimiter:
                cut = upload.key.find(delimiter, len(prefix))
                if cut >= 0:
                    common = upload.key[: cut + len(delimiter)]
            if len(uploads) + len(prefixes) >= limit:
                return UploadPage(uploads, prefixes, True, next_key, next_id)
            if common is not None:
                prefixes.append(common)
                next_key, next_id = common, None
                cursor_key, cursor_id = common + _BEYOND, None
                jumped = True
                break
            uploads.append(upload)
            next_key, next_id = upload.key, upload.upload_id
        if not jumped and len(batch) < limit + 1:
            return UploadPage(uploads, prefixes, False, next_key, next_id)
