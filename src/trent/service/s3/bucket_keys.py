"""S3 Bucket Keys (s3-sse spec §5): a bucket-level key from KMS, reused for a bounded
time, per-object data keys derived from it locally.

Write: one GenerateDataKey (context: the bucket ARN, plus the caller's context) gives
the bucket-level key; each object then gets ``HKDF-SHA256(bucket key, salt = 16 random
bytes, info = label || object ARN)`` and stores the bucket key's KMS blob and the salt.
Read: one Decrypt of that blob, cached likewise, then the same derivation.

The cache is per *caller* (principal ARN) as well as per bucket, KMS key and context:
a key policy or grant that lets one principal use the key never lets another ride on
its cached bucket key. An entry lives ``S3Settings.bucket_key_lifetime_seconds``, so a
disabled key or a revoked permission takes effect within that time (AWS's own bound).
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass, field

from trent.crypto.kdf import hkdf_sha256

_DERIVE_LABEL = b"trent/s3/bucket-key/v1\x00"
_MAX_ENTRIES = 4096


@dataclass(frozen=True, slots=True)
class BucketKey:
    key_arn: str
    blob: bytes = field(repr=False)  # the KMS ciphertext of the bucket-level key
    plaintext: bytes = field(repr=False)
    expires: float

    def __reduce__(self):  # habits §7
        raise TypeError("bucket keys cannot be pickled")


def derive_object_key(bucket_key: bytes, salt: bytes, object_arn: str) -> bytes:
    return hkdf_sha256(bucket_key, salt, _DERIVE_LABEL + object_arn.encode("utf-8"))


def _context_key(context: Mapping[str, str]) -> tuple[tuple[str, str], ...]:
    return tuple(sorted(context.items()))


@dataclass(slots=True)
class BucketKeyCache:
    _writes: OrderedDict[tuple[object, ...], BucketKey] = field(default_factory=OrderedDict, repr=False)
    _reads: OrderedDict[tuple[str, bytes], BucketKey] = field(default_factory=OrderedDict, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def __reduce__(self):  # habits §7
        raise TypeError("bucket key caches cannot be pickled")

    def forget(self) -> None:
        with self._lock:
            self._writes.clear()
            self._reads.clear()

    @staticmethod
    def write_key(principal_arn: str, bucket: str, requested_key_id: str, context: Mapping[str, str]) -> tuple[object, ...]:
        return (principal_arn, bucket, requested_key_id, _context_key(context))

    def for_write(self, cache_key: tuple[object, ...], now: float) -> BucketKey | None:
        with self._lock:
            entry = self._writes.get(cache_key)
            if entry is not None and entry.expires > now:
                return entry
            return None

    def remember_write(self, cache_key: tuple[object, ...], entry: BucketKey, principal_arn: str) -> None:
        with self._lock:
            self._put(self._writes, cache_key, entry)
            # what we wrote, we can read back without a Decrypt (same caller)
            self._put(self._reads, (principal_arn, hashlib.sha256(entry.blob).digest()), entry)

    def for_read(self, principal_arn: str, blob: bytes, now: float) -> BucketKey | None:
        with self._lock:
            entry = self._reads.get((principal_arn, hashlib.sha256(blob).digest()))
            if entry is not None and entry.expires > now:
                return entry
            return None

    def remember_read(self, principal_arn: str, entry: BucketKey) -> None:
        with self._lock:
            self._put(self._reads, (principal_arn, hashlib.sha256(entry.blob).digest()), entry)

    @staticmethod
    def _put(table: OrderedDict, key: object, entry: BucketKey) -> None:
        table[key] = entry
        table.move_to_end(key)
        while len(table) > _MAX_ENTRIES:
            table.popitem(last=False)
