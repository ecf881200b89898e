"""Caching materials manager: reuse data keys within limits (ESDK caching CMM).

Every cached entry carries its creation time and usage; an entry is used only while

* its age is below ``max_age`` seconds (required: data keys must not live forever),
* the messages it encrypted stay within ``max_messages``,
* the plaintext bytes it encrypted stay within ``max_bytes``.

Encryption requests whose plaintext length is unknown (a stream without a size) bypass the
cache, because the byte limit could not be enforced. Cache keys are SHA-512 digests over the
partition name, the requested suite and the serialized context (and, for decryption, the
EDKs), so different callers sharing one cache only meet under the same ``partition``.
Entries hold data keys: the cache refuses pickling and its repr shows only counts.
"""

from __future__ import annotations

import hashlib
import threading
import time
import uuid
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Generic, NoReturn, TypeVar

from .. import context as ctxmod
from ..errors import ConfigurationError
from ..keyrings.base import Keyring
from ..materials import (
    DecryptionMaterials,
    DecryptionMaterialsRequest,
    EncryptionMaterials,
    EncryptionMaterialsRequest,
)
from .base import MaterialsManager
from .default import DefaultMaterialsManager

M = TypeVar("M", EncryptionMaterials, DecryptionMaterials)


@dataclass(slots=True)
class _Entry(Generic[M]):
    materials: M
    created: float
    messages: int = 0
    bytes: int = 0


# one cache holds both kinds of entry
_CacheEntry = _Entry[EncryptionMaterials] | _Entry[DecryptionMaterials]


class LocalMaterialsCache:
    """A thread-safe LRU of materials entries."""

    def __init__(self, capacity: int = 128) -> None:
        if capacity < 1:
            raise ConfigurationError("cache capacity must be at least 1")
        self.capacity = capacity
        self._entries: OrderedDict[bytes, _CacheEntry] = OrderedDict()
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"LocalMaterialsCache(capacity={self.capacity}, entries={len(self._entries)})"

    def __reduce__(self) -> NoReturn:
        raise TypeError("the materials cache holds data keys and cannot be pickled")

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, key: bytes) -> _CacheEntry | None:
        with self._lock:
            e = self._entries.get(key)
            if e is not None:
                self._entries.move_to_end(key)
            return e

    def put(self, key: bytes, entry: _CacheEntry) -> None:
        with self._lock:
            self._entries[key] = entry
            self._entries.move_to_end(key)
            while len(self._entries) > self.capacity:
                self._entries.popitem(last=False)

    def remove(self, key: bytes) -> None:
        with self._lock:
            self._entries.pop(key, None)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()


class CachingMaterialsManager:
    def __init__(
        self,
        underlying: MaterialsManager | Keyring,
        cache: LocalMaterialsCache,
        *,
        max_age: float,
        max_messages: int = 2**32,
        max_bytes: int = 2**63 - 1,
        partition: str | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if max_age <= 0:
            raise ConfigurationError("max_age must be positive")
        if not 0 < max_messages <= 2**32:
            raise ConfigurationError("max_messages must be between 1 and 2^32")
        if not 0 < max_bytes <= 2**63 - 1:
            raise ConfigurationError("max_bytes must be between 1 and 2^63 - 1")
        if isinstance(underlying, MaterialsManager):
            self.underlying: MaterialsManager = underlying
        else:
            self.underlying = DefaultMaterialsManager(underlying)
        self.cache = cache
        self.max_age = max_age
        self.max_messages = max_messages
        self.max_bytes = max_bytes
        self._partition = hashlib.sha512((partition or str(uuid.uuid4())).encode("utf-8")).digest()
        self._clock = clock

    def __repr__(self) -> str:
        return (f"CachingMaterialsManager(max_age={self.max_age}, max_messages={self.max_messages}, "
                f"max_bytes={self.max_bytes}, cache={self.cache!r})")

    def _fresh(self, e: _CacheEntry) -> bool:
        return self._clock() - e.created < self.max_age

    def get_encryption_materials(self, request: EncryptionMaterialsRequest) -> EncryptionMaterials:
        n = request.plaintext_length
        if n is None or n > self.max_bytes:
            return self.underlying.get_encryption_materials(request)
        suite_part = request.suite.id_bytes if request.suite else b"\x00"
        key = hashlib.sha512(
            self._partition + b"E" + suite_part + request.commitment_policy.value.encode()
            + hashlib.sha512(ctxmod.serialize(request.encryption_context)).digest()
        ).digest()
        e = self.cache.get(key)
        if e is not None:
            if (self._fresh(e) and e.messages + 1 <= self.max_messages
                    and e.bytes + n <= self.max_bytes):
                e.messages += 1
                e.bytes += n
                assert isinstance(e.materials, EncryptionMaterials)
                return e.materials
            self.cache.remove(key)
        m = self.underlying.get_encryption_materials(request)
        self.cache.put(key, _Entry(m, self._clock(), 1, n))
        return m

    def decrypt_materials(self, request: DecryptionMaterialsRequest) -> DecryptionMaterials:
        h = hashlib.sha512(self._partition + b"D" + request.suite.id_bytes)
        for edk in sorted(request.encrypted_data_keys,
                          key=lambda k: (k.provider_id, k.provider_info, k.ciphertext)):
            for part in (edk.provider_id.encode(), edk.provider_info, edk.ciphertext):
                h.update(hashlib.sha512(part).digest())
        h.update(hashlib.sha512(ctxmod.serialize(request.encryption_context)).digest())
        h.update(hashlib.sha512(ctxmod.serialize(request.reproduced_encryption_context)).digest())
        key = h.digest()
        e = self.cache.get(key)
        if e is not None:
            if self._fresh(e):
                assert isinstance(e.materials, DecryptionMaterials)
                return e.materials
            self.cache.remove(key)
        m = self.underlying.decrypt_materials(request)
        self.cache.put(key, _Entry(m, self._clock()))
        return m
