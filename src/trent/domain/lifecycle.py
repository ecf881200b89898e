"""Keys over time, as plain data: rotation schedules and last cryptographic use
(spec §5.4, GetKeyLastUsage). Nothing here does I/O or reads a clock."""

from __future__ import annotations

from dataclasses import dataclass

DAY = 86_400.0
MIN_ROTATION_PERIOD_DAYS = 90
MAX_ROTATION_PERIOD_DAYS = 2560
DEFAULT_ROTATION_PERIOD_DAYS = 365
ON_DEMAND_ROTATION_LIMIT = 25  # spec §5.4 / §14.2: per key, not adjustable


@dataclass(frozen=True, slots=True)
class RotationSchedule:
    """Automatic rotation of one key (spec §5.4).

    ``next_rotation_at`` is last rotation (or enabling) + period. The sweeper rotates
    Enabled keys whose date has passed; while a key is Disabled or PendingDeletion the
    date simply passes unserved, so re-enabling a key more than one period after its
    last rotation rotates it at the next sweep (the catch-up rule).
    """

    region: str
    key_id: str
    enabled: bool
    period_days: int
    next_rotation_at: float | None


@dataclass(frozen=True, slots=True)
class KeyUse:
    """The last successful cryptographic operation with a key (GetKeyLastUsage)."""

    region: str
    key_id: str
    operation: str
    used_at: float
    request_id: str | None = None
