"""A custom-key-store key is Unavailable while its store is not connected (spec §4.1).

The key row keeps the state the owner chose (Enabled/Disabled); availability is laid
over it when the key is read, so reconnecting restores exactly what was there and
EnableKey/DisableKey while disconnected take effect on reconnection (spec §4.3).
PendingDeletion stays PendingDeletion even when unavailable.
"""

from __future__ import annotations

from trent.domain.keys import Key, KeyState
from trent.service.deps import ServiceDeps

_OVERLAID = (KeyState.ENABLED, KeyState.DISABLED)


def effective(deps: ServiceDeps, key: Key) -> Key:
    store_id = key.custom_key_store_id
    if store_id is None or key.state not in _OVERLAID:
        return key
    router = deps.key_stores
    if router is not None and router.connected(store_id):
        return key
    return key.with_changes(state=KeyState.UNAVAILABLE)
