"""States laid over a stored key row when it is read (spec §4.1).

- A custom-key-store key is Unavailable while its store is not connected. The key row
  keeps the state the owner chose (Enabled/Disabled), so reconnecting restores exactly
  what was there and EnableKey/DisableKey while disconnected take effect on
  reconnection (spec §4.3). PendingDeletion stays PendingDeletion even when unavailable.
- A multi-Region key in a transient state (Creating after ReplicateKey, Updating during
  UpdatePrimaryRegion, spec §12) reads as that state until its ``transient_until`` on the
  service clock, and as its ``settled_state`` afterwards: AWS's "becomes Enabled shortly
  after" needs no background job, and every node sees the same answer.
"""

from __future__ import annotations

from trent.domain.keys import Key, KeyState
from trent.service.deps import ServiceDeps

_OVERLAID = (KeyState.ENABLED, KeyState.DISABLED)
_TRANSIENT = (KeyState.CREATING, KeyState.UPDATING)


def needs_overlay(key: Key) -> bool:
    """Cheap test for the hot path: most keys are read exactly as stored."""
    return key.custom_key_store_id is not None or key.transient_until is not None


def settled(key: Key, now: float) -> Key:
    """The key after its transient state has run out (or as it is, if it has not)."""
    if key.state not in _TRANSIENT or key.transient_until is None or now < key.transient_until:
        return key
    return key.with_changes(state=key.settled_state or KeyState.ENABLED, transient_until=None, settled_state=None)


def effective(deps: ServiceDeps, key: Key) -> Key:
    if key.transient_until is not None:
        key = settled(key, deps.clock.now())
    store_id = key.custom_key_store_id
    if store_id is None or key.state not in _OVERLAID:
        return key
    router = deps.key_stores
    if router is not None and router.connected(store_id):
        return key
    return key.with_changes(state=KeyState.UNAVAILABLE)
