"""The in-memory half of GetKeyLastUsage (see ``service/usage.py`` for the whole story)."""

from __future__ import annotations

from trent.domain.keys import Key
from trent.domain.lifecycle import KeyUse
from trent.storage.repositories import Storage


class UsageTracker:
    """Latest use per (region, key id), held in memory until flushed."""

    def __init__(self) -> None:
        # (region, key id) -> (operation, time, request id): a plain tuple, because a
        # frozen dataclass costs ~4x more to build and this runs on every crypto call.
        self._pending: dict[tuple[str, str], tuple[str, float, str | None]] = {}

    def record(self, key: Key, operation: str, now: float, request_id: str) -> None:
        # One dict store: atomic under the GIL, no lock on the hot path.
        self._pending[(key.region, key.key_id)] = (operation, now, request_id)

    def pending(self, region: str, key_id: str) -> KeyUse | None:
        found = self._pending.get((region, key_id))
        return None if found is None else KeyUse(region, key_id, *found)

    def flush(self, storage: Storage) -> int:
        snapshot = dict(self._pending)  # a C-level copy, atomic under the GIL
        if not snapshot:
            return 0
        storage.record_key_usage([KeyUse(region, key_id, *use) for (region, key_id), use in snapshot.items()])
        for cache_key, use in snapshot.items():
            if self._pending.get(cache_key) is use:  # not replaced by a newer use meanwhile
                self._pending.pop(cache_key, None)
        return len(snapshot)
