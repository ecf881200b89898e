"""SSE-S3's keys (s3-sse spec §3): every object gets a fresh data key, sealed under an
S3-owned AES-256 key; the owned key is wrapped under the root of trust, rotated after
``S3Settings.owned_key_rotation_seconds`` (older ones are kept to open old objects).

Sealed data key: ``nonce 12 || AES-256-GCM(data key) || tag``, AAD = purpose label ||
object ARN, so a sealed key moved to another object's row does not open. The owned
keys are cached unwrapped in process memory (checked against the database at most once
a minute for a newer current key, so every node picks up a rotation).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from trent.crypto import aead
from trent.domain.ids import new_uuid4
from trent.domain.s3.records import OwnedKey
from trent.errors import KMSInternal
from trent.keystores.base import KeyStoreError

if TYPE_CHECKING:
    from trent.service.s3.deps import S3Deps

_SEALED_LABEL = b"trent/s3/sse-s3/data-key/v1\x00"
_RECHECK_SECONDS = 60.0


def owned_key_aad(key_id: str) -> bytes:
    """AAD of an owned key wrapped under the root (also used by ``trent admin rewrap-root``)."""
    return b"trent/s3/owned-key/v1\x00" + key_id.encode("ascii")


def seal_data_key(key: bytes, data_key: bytes, label: bytes, object_arn: str, nonce: bytes) -> bytes:
    return nonce + aead.seal(key, nonce, data_key, label + object_arn.encode("utf-8"))


def open_data_key(key: bytes, sealed: bytes, label: bytes, object_arn: str) -> bytes:
    """aead.AeadError (opaque) when it does not open."""
    return aead.open_(key, sealed[: aead.NONCE_LEN], sealed[aead.NONCE_LEN :], label + object_arn.encode("utf-8"))


@dataclass(slots=True)
class OwnedKeys:
    _keys: dict[str, bytes] = field(default_factory=dict, repr=False)
    _current: tuple[str, float] | None = None  # (key id, created_at)
    _checked: float = float("-inf")
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def __reduce__(self):  # habits §7
        raise TypeError("S3-owned keys cannot be pickled")

    def forget(self) -> None:
        """The root was sealed: drop every unwrapped key."""
        with self._lock:
            self._keys.clear()
            self._current = None
            self._checked = float("-inf")

    def _unwrap(self, deps: S3Deps, row: OwnedKey) -> bytes:
        try:
            key = deps.kms.root_key.unwrap(row.wrapped, owned_key_aad(row.key_id))
        except KeyStoreError:
            raise KMSInternal(audit_reason="an S3-owned key does not unwrap under the root") from None
        self._keys[row.key_id] = key
        return key

    def current(self, deps: S3Deps) -> tuple[str, bytes]:
        now = deps.kms.clock.now()
        rotation = deps.settings.owned_key_rotation_seconds
        with self._lock:
            cur = self._current
            if cur is not None and now - self._checked < _RECHECK_SECONDS and now - cur[1] < rotation:
                return cur[0], self._keys[cur[0]]
            row = deps.repo.current_owned_key()
            if row is None or now - row.created_at >= rotation:
                raw = deps.kms.keystore.random_bytes(aead.KEY_LEN)
                key_id = new_uuid4(deps.kms.rng)
                row = OwnedKey(key_id, deps.kms.root_key.wrap(raw, owned_key_aad(key_id)), now)
                deps.repo.add_owned_key(row)
                self._keys[key_id] = raw
                # Inside the request's transaction the new row may yet roll back (an audit
                # write failure): it becomes the cached current key only once committed, or
                # later objects would be sealed under a key no row keeps.
                current = (row.key_id, row.created_at)
                if deps.kms.storage.after_transaction(lambda: self._settle(current, now), committed_only=True):
                    return row.key_id, raw
            key = self._keys.get(row.key_id) or self._unwrap(deps, row)
            self._settle((row.key_id, row.created_at), now)
            return row.key_id, key

    def _settle(self, current: tuple[str, float], checked: float) -> None:
        self._current, self._checked = current, checked

    def get(self, deps: S3Deps, key_id: str) -> bytes:
        key = self._keys.get(key_id)
        if key is not None:
            return key
        row = deps.repo.get_owned_key(key_id)
        if row is None:
            raise KMSInternal(audit_reason=f"S3-owned key {key_id} is missing")
        with self._lock:
            return self._unwrap(deps, row)


def seal_sse_s3(deps: S3Deps, data_key: bytes, object_arn: str) -> tuple[str, bytes]:
    """(owned key id, sealed data key)."""
    key_id, key = deps.owned_keys.current(deps)
    return key_id, seal_data_key(key, data_key, _SEALED_LABEL, object_arn, deps.kms.public_rng(aead.NONCE_LEN))


def open_sse_s3(deps: S3Deps, key_id: str, sealed: bytes, object_arn: str) -> bytes:
    key = deps.owned_keys.get(deps, key_id)
    try:
        return open_data_key(key, sealed, _SEALED_LABEL, object_arn)
    except aead.AeadError:
        raise KMSInternal(audit_reason="an SSE-S3 data key does not open") from None
