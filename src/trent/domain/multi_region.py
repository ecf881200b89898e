"""Multi-Region keys as data (spec §12): which member is primary, and who the others are.

A multi-Region key is one key id with one row per Region (storage: rows of the same
database, material shared by key id). Every member row names the primary's Region, so
``MultiRegionConfiguration`` is a pure function of the member rows.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from trent.domain.ids import key_arn
from trent.domain.keys import Key

#: How long a replica reads Creating and the two keys of an UpdatePrimaryRegion read
#: Updating (AWS: "a few seconds"); the service clock decides (service/availability.py).
TRANSIENT_SECONDS = 1.0

PRIMARY = "PRIMARY"
REPLICA = "REPLICA"


@dataclass(frozen=True, slots=True)
class RegionalKey:
    arn: str
    region: str


@dataclass(frozen=True, slots=True)
class MultiRegionConfiguration:
    """DescribeKey's MultiRegionConfiguration (spec §5.2): the primary, and every replica
    (the described key included when it is one)."""

    key_type: str  # PRIMARY | REPLICA
    primary: RegionalKey
    replicas: tuple[RegionalKey, ...]


def configuration(key: Key, members: Sequence[Key]) -> MultiRegionConfiguration:
    """``members``: every regional row of the key id (storage order = creation order)."""
    primary_region = key.primary_region or key.region
    regions = [m.region for m in members if m.account_id == key.account_id]
    if key.region not in regions:
        regions.append(key.region)

    def regional(region: str) -> RegionalKey:
        return RegionalKey(key_arn(key.partition, region, key.account_id, key.key_id), region)

    return MultiRegionConfiguration(
        REPLICA if key.region != primary_region else PRIMARY,
        regional(primary_region),
        tuple(regional(r) for r in regions if r != primary_region),
    )
