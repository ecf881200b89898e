"""Content blobs in an S3-compatible bucket (``--object-store s3://ENDPOINT/BUCKET[/PREFIX]``,
``s3+http://`` for a plain-HTTP backend such as moto; issue 17).

The backend only ever sees ciphertext under opaque names (``PREFIX/ab/cd/<32 hex>``),
never a Trent bucket or object name. A put streams through boto3's managed upload
(multipart above 8 MiB, one part in memory at a time): if the pieces raise, the
backend's multipart upload is aborted / no single PUT is sent, so nothing is stored
under the name and the original error propagates. Reads are ranged GETs, 1 MiB at a
time. botocore's errors stop here (habits §8) as :class:`ObjectStoreError`.
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Iterator
from typing import Any
from urllib.parse import urlsplit

from trent.objectstore.base import ObjectStoreError

READ_PIECE = 256 << 10  # per concurrent GET: ciphertext and plaintext in flight stay small
PART_SIZE = 8 << 20


class _PiecesReader(io.RawIOBase):
    """A file-like view of an iterable of pieces, keeping the first error it raised."""

    def __init__(self, pieces: Iterable[bytes | memoryview]) -> None:
        self._pieces = iter(pieces)
        self._buffer = b""
        self.error: BaseException | None = None
        self.size = 0

    def readable(self) -> bool:
        return True

    def readinto(self, target: Any) -> int:
        while not self._buffer:
            try:
                self._buffer = bytes(next(self._pieces))
            except StopIteration:
                return 0
            except BaseException as exc:
                self.error = exc
                raise
        n = min(len(target), len(self._buffer))
        target[:n] = self._buffer[:n]
        self._buffer = self._buffer[n:]
        self.size += n
        return n


def parse_url(url: str) -> tuple[str | None, str, str]:
    """``s3://host:port/bucket/prefix`` -> (endpoint URL, bucket, prefix)."""
    parts = urlsplit(url)
    scheme = {"s3": "https", "s3+http": "http", "s3+https": "https"}.get(parts.scheme)
    if scheme is None:
        raise ValueError("object store URLs are s3://ENDPOINT/BUCKET[/PREFIX] or s3+http://...")
    bucket, _, prefix = parts.path.lstrip("/").partition("/")
    if not bucket:
        raise ValueError("the object store URL names no bucket")
    endpoint = f"{scheme}://{parts.netloc}" if parts.netloc else None
    return endpoint, bucket, prefix.strip("/")


class S3BlobStore:
    def __init__(self, bucket: str, prefix: str = "", *, client: Any = None, endpoint_url: str | None = None,
                 region_name: str | None = None, create: bool = True) -> None:
        self.bucket = bucket
        self.prefix = f"{prefix}/" if prefix else ""
        if client is None:
            import boto3
            from botocore.config import Config

            client = boto3.client("s3", endpoint_url=endpoint_url, region_name=region_name or "us-east-1",
                                  config=Config(s3={"addressing_style": "path"}, retries={"max_attempts": 3}))
        self._client = client
        if create:
            self._ensure_bucket()

    def __repr__(self) -> str:
        return f"S3BlobStore({self.bucket!r}, {self.prefix!r})"

    def _errors(self, what: str, exc: Exception) -> ObjectStoreError:
        from botocore.exceptions import ClientError

        code = exc.response.get("Error", {}).get("Code", "") if isinstance(exc, ClientError) else type(exc).__name__
        return ObjectStoreError(f"object store {what} failed: {code}")

    def _ensure_bucket(self) -> None:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            self._client.head_bucket(Bucket=self.bucket)
        except ClientError:
            try:
                self._client.create_bucket(Bucket=self.bucket)
            except (ClientError, BotoCoreError) as exc:
                raise self._errors("CreateBucket", exc) from None
        except BotoCoreError as exc:
            raise self._errors("HeadBucket", exc) from None

    def put(self, name: str, chunks: Iterable[bytes | memoryview]) -> int:
        from boto3.s3.transfer import TransferConfig
        from botocore.exceptions import BotoCoreError, ClientError

        reader = _PiecesReader(chunks)
        config = TransferConfig(multipart_threshold=PART_SIZE, multipart_chunksize=PART_SIZE, use_threads=False)
        try:
            self._client.upload_fileobj(io.BufferedReader(reader, PART_SIZE), self.bucket, self.prefix + name,
                                        Config=config)
        except Exception as exc:
            if reader.error is not None:
                raise reader.error from None  # the body's own error (BadDigest, a signature...)
            if isinstance(exc, (ClientError, BotoCoreError)):
                raise self._errors("PutObject", exc) from None
            raise
        if reader.error is not None:
            self.delete(name)
            raise reader.error
        return reader.size

    def get(self, name: str, start: int, end: int) -> Iterator[bytes]:
        from botocore.exceptions import BotoCoreError, ClientError

        if end <= start:
            return
        try:
            answer = self._client.get_object(Bucket=self.bucket, Key=self.prefix + name, Range=f"bytes={start}-{end - 1}")
            body = answer["Body"]
            try:
                yield from body.iter_chunks(READ_PIECE)
            finally:
                body.close()
        except (ClientError, BotoCoreError) as exc:
            raise self._errors("GetObject", exc) from None

    def delete(self, name: str) -> None:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            self._client.delete_object(Bucket=self.bucket, Key=self.prefix + name)
        except (ClientError, BotoCoreError) as exc:
            raise self._errors("DeleteObject", exc) from None

    def names(self) -> Iterator[str]:
        paginator = self._client.get_paginator("list_objects_v2")
        for page in paginator.paginate(Bucket=self.bucket, Prefix=self.prefix):
            for item in page.get("Contents", ()):
                yield item["Key"][len(self.prefix):]
