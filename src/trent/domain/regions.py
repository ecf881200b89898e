"""Regions and partitions (spec §2.1, §12): one Trent serves every Region it is configured
for, so a Region is data on each request and each key row, never a process setting."""

from __future__ import annotations

import re

REGION_RE = re.compile(r"^[a-z]{2}(-[a-z]+)+-[0-9]+$")
_CHINA_PREFIX = "cn-"
_GOV_PREFIX = "us-gov-"


def partition_for(region: str) -> str:
    if region.startswith(_CHINA_PREFIX):
        return "aws-cn"
    if region.startswith(_GOV_PREFIX):
        return "aws-us-gov"
    return "aws"


_well_formed: dict[str, bool] = {}  # a client names the same Region on every call


def region_served(regions: frozenset[str] | None, region: str) -> bool:
    """``--regions`` lists the Regions served; without it, any well-formed Region is."""
    if regions is not None:
        return region in regions
    known = _well_formed.get(region)
    if known is None:
        known = bool(REGION_RE.match(region))
        if len(_well_formed) >= 256:  # bounded: regions come from request headers
            _well_formed.clear()
        _well_formed[region] = known
    return known
