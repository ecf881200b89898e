"""The in-memory half of GetKeyLastUsage (see ``service/usage.py`` for the whole story)."""

from __future__ import annotations

from trent.domain.keys import Key
from trent.domain.lifecycle import KeyUse
from trent.storage.repositories import Storage


class UsageTracker:
    """Latest use per (region, key id), held in memory until flushed."""

    def __init__(self) -> None:
        self._pending: dict[tuple[str, str], KeyUse] = {}

    def record(self, key: Key, operation: str, now: float, request_id: str) -> None:
        # One dict store: atomic under the GIL, no lock on the hot path.
        self._pending[(key.region, key.key_id)] = KeyUse(key.region, key.key_id, operation, now, request_id)

    def pending(self, region: str, key_id: str) -> KeyUse | None:
        return self._pending.get((region, key_id))

    def flush(self, storage: Storage) -> int:
        snapshot = dict(self._pending)  # a C-level copy, atomic under the GIL
        if not snapshot:
            return 0
        storage.record_key_usage(list(snapshot.values()))
        for cache_key, use in snapshot.items():
            if self._pending.get(cache_key) is use:  # not replaced by a newer use meanwhile
                self._pending.pop(cache_key, None)
        return len(snapshot)
