"""GetKeyLastUsage: the last successful cryptographic use of each key.

Crypto calls are the hot path, so a use is never written to the database per request:
:meth:`UsageTracker.record` is one dict store in memory, and the sweeper flushes the
latest use per key to storage every ``sweep_interval_seconds`` (and after every dev
clock jump, and at shutdown). GetKeyLastUsage on this node merges the unflushed
entry, so it is exact here; other nodes see a use once it is flushed, and a crash
loses at most one sweep interval of "last used" timestamps (never key data).
"""

from __future__ import annotations

from dataclasses import dataclass

from trent.domain.keys import Key
from trent.domain.lifecycle import KeyUse
from trent.service.context import RequestContext
from trent.service.deps import ServiceDeps
from trent.service.authorization import authorized_key
from trent.storage.repositories import Storage

TRACKING_START_MARKER = "key-usage-tracking-start"

# The cryptographic operations GetKeyLastUsage reports (its Operation enum).
TRACKED_OPERATIONS = frozenset({
    "Decrypt", "DeriveSharedSecret", "Encrypt", "GenerateDataKey", "GenerateDataKeyPair",
    "GenerateDataKeyPairWithoutPlaintext", "GenerateDataKeyWithoutPlaintext", "GenerateMac", "ReEncrypt",
    "Sign", "Verify", "VerifyMac",
})


@dataclass(frozen=True, slots=True)
class LastUsage:
    key: Key
    tracking_start: float
    last: KeyUse | None


def start_tracking(storage: Storage, now: float) -> float:
    """When this database began tracking use (set once, kept for ever)."""
    return storage.ensure_marker(TRACKING_START_MARKER, now)


def get_key_last_usage(deps: ServiceDeps, ctx: RequestContext, key_id: str) -> LastUsage:
    key = authorized_key(deps, ctx, key_id, "GetKeyLastUsage")
    started = start_tracking(deps.storage, ctx.now)
    stored = deps.storage.get_key_usage(key.region, key.key_id)
    pending = deps.usage.pending(key.region, key.key_id)
    last = max((u for u in (stored, pending) if u is not None), key=lambda u: u.used_at, default=None)
    # "The date from which KMS began recording ... or the date the key was created, whichever is later."
    return LastUsage(key, max(started, key.created_at), last)
