"""Objects in any S3-compatible bucket, through boto3 (``s3://BUCKET``; issue 16).

The same Protocol as the file store; botocore's errors stop here (habits §8): a 404 /
``NoSuchKey`` is :class:`NoSuchKey`, a 416 is :class:`InvalidRange`, anything else
:class:`ObjectStoreError` (code only, never the request). Credentials and region come
from boto3's usual chain (environment, profile, instance role); ``endpoint_url`` points
it at a non-AWS service.
"""

from __future__ import annotations

import calendar
from collections.abc import Mapping
from typing import Any

from trent.objectstore.base import (
    InvalidRange,
    NoSuchKey,
    ObjectInfo,
    ObjectListing,
    ObjectStoreError,
    StoredObject,
    check_key,
)


def _epoch(value: Any) -> float:
    return float(calendar.timegm(value.utctimetuple())) if value is not None else 0.0


class S3ObjectStore:
    def __init__(self, bucket: str, *, client: Any = None, endpoint_url: str | None = None,
                 region_name: str | None = None) -> None:
        self.bucket = bucket
        if client is None:
            import boto3
            from botocore.config import Config

            client = boto3.client("s3", endpoint_url=endpoint_url, region_name=region_name,
                                  config=Config(s3={"addressing_style": "path"}, retries={"max_attempts": 3}))
        self._client = client

    def __repr__(self) -> str:
        return f"S3ObjectStore({self.bucket!r})"

    def _call(self, key: str | None, method: str, **kwargs: Any) -> Any:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            return getattr(self._client, method)(Bucket=self.bucket, **kwargs)
        except ClientError as exc:
            error = exc.response.get("Error", {})
            code = str(error.get("Code", ""))
            status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
            if code in ("NoSuchKey", "404", "NotFound") and key is not None:
                raise NoSuchKey(key) from None
            if code == "InvalidRange" or status == 416:
                raise InvalidRange("unsatisfiable range") from None
            raise ObjectStoreError(f"S3 {method} failed: {code or status}") from None
        except BotoCoreError as exc:
            raise ObjectStoreError(f"S3 {method} failed: {type(exc).__name__}") from None

    def put(self, key: str, body: bytes, metadata: Mapping[str, str] | None = None) -> ObjectInfo:
        check_key(key)
        answer = self._call(key, "put_object", Key=key, Body=body, Metadata=dict(metadata or {}))
        return ObjectInfo(key, len(body), str(answer.get("ETag", "")).strip('"'), 0.0, dict(metadata or {}))

    def get(self, key: str, byte_range: tuple[int | None, int | None] | None = None) -> StoredObject:
        check_key(key)
        kwargs: dict[str, Any] = {"Key": key}
        if byte_range is not None:
            first, last = byte_range
            kwargs["Range"] = f"bytes={'' if first is None else first}-{'' if last is None else last}"
        answer = self._call(key, "get_object", **kwargs)
        body = answer["Body"].read()
        size = len(body)
        taken: tuple[int, int] | None = None
        content_range = answer.get("ContentRange")
        if content_range:  # "bytes 0-9/1234"
            span, _, total = content_range.removeprefix("bytes ").partition("/")
            lo, _, hi = span.partition("-")
            taken, size = (int(lo), int(hi)), int(total)
        info = ObjectInfo(key, size, str(answer.get("ETag", "")).strip('"'), _epoch(answer.get("LastModified")),
                          dict(answer.get("Metadata") or {}))
        return StoredObject(info, body, taken)

    def head(self, key: str) -> ObjectInfo:
        check_key(key)
        answer = self._call(key, "head_object", Key=key)
        return ObjectInfo(key, int(answer.get("ContentLength", 0)), str(answer.get("ETag", "")).strip('"'),
                          _epoch(answer.get("LastModified")), dict(answer.get("Metadata") or {}))

    def list(self, prefix: str = "", start_after: str = "", limit: int = 1000,
             delimiter: str | None = None) -> ObjectListing:
        kwargs: dict[str, Any] = {"Prefix": prefix, "MaxKeys": limit}
        if start_after:
            kwargs["StartAfter"] = start_after
        if delimiter:
            kwargs["Delimiter"] = delimiter
        answer = self._call(None, "list_objects_v2", **kwargs)
        objects = [
            ObjectInfo(o["Key"], int(o.get("Size", 0)), str(o.get("ETag", "")).strip('"'), _epoch(o.get("LastModified")))
            for o in answer.get("Contents", ())
        ]
        prefixes = [p["Prefix"] for p in answer.get("CommonPrefixes", ())]
        return ObjectListing(objects, prefixes, bool(answer.get("IsTruncated")))

    def delete(self, key: str) -> None:
        check_key(key)
        self._call(key, "delete_object", Key=key)
