"""domain/regions.py: which Regions a server serves, and their partitions."""

import pytest

from trent.domain import regions
from trent.domain.regions import REGION_RE, partition_for, region_served

NAMES = ["us-east-1", "eu-west-3", "us-gov-west-1", "cn-north-1", "ap-southeast-2", "US-EAST-1", "us-east",
         "us-east-1a", "", "us_east_1", "us-east-1 ", "x-y-1", "useast-1", "us--east-1", "\u00fcs-east-1"]


@pytest.mark.parametrize("name", NAMES)
def test_without_a_region_list_every_well_formed_name_is_served_and_only_those(name):
    expected = bool(REGION_RE.match(name))
    assert region_served(None, name) is expected
    assert region_served(None, name) is expected  # the remembered verdict is the same


def test_a_region_list_decides_alone():
    served = frozenset({"eu-west-1"})
    assert region_served(served, "eu-west-1") and not region_served(served, "us-east-1")


def test_remembered_verdicts_stay_bounded():
    for i in range(1000):
        region_served(None, f"xx-test-{i}")
    assert len(regions._well_formed) <= 256
    assert region_served(None, "xx-test-5") and not region_served(None, "nope")


def test_partitions():
    assert [partition_for(r) for r in ("us-east-1", "cn-north-1", "us-gov-west-1")] == ["aws", "aws-cn", "aws-us-gov"]
