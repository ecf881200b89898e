"""Who may replicate a multi-Region key and move its primary (spec §12, ReplicateKey and
UpdatePrimaryRegion docs), over the wire: one seeded `trent serve --dev --regions ...`.

AWS: ReplicateKey needs kms:ReplicateKey on the primary (in the primary's Region) and
kms:CreateKey in an IAM policy in the replica Region (kms:TagResource too with Tags);
kms:ReplicaRegion narrows the Regions. UpdatePrimaryRegion needs kms:UpdatePrimaryRegion on
the current primary *and* on the replica that becomes primary, each in its own Region;
kms:PrimaryRegion narrows the Regions.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.fixtures.trent_server import TrentServer, seeded_trent
from tests.wire.helpers import expect_error
from tests.wire.multi_region_fixtures import EAST, EU, REGIONS, WEST, settle

A = "123456789012"  # the --dev account
EAST_KEYS = f"arn:aws:kms:{EAST}:{A}:key/*"


def policy(*statements: dict[str, object]) -> dict[str, object]:
    return {"Version": "2012-10-17", "Statement": list(statements)}


def allow(action: str | list[str], resource: str = "*", **extra: object) -> dict[str, object]:
    return {"Effect": "Allow", "Action": action, "Resource": resource, **extra}


USERS = {
    # Everything on the keys of us-east-1, and CreateKey: may replicate, may not promote a
    # replica of another Region (no permission on it there).
    "eastie": ("AKIAMRKEASTIE0000001", policy(allow("kms:*", EAST_KEYS), allow("kms:CreateKey"))),
    # ReplicateKey, but no kms:CreateKey for the replica.
    "nocreate": ("AKIAMRKNOCREATE00001", policy(allow(["kms:ReplicateKey", "kms:DescribeKey"]))),
    # ReplicateKey only into us-west-2 (kms:ReplicaRegion); CreateKey and TagResource anywhere.
    "westonly": ("AKIAMRKWESTONLY00001", policy(
        allow("kms:ReplicateKey", Condition={"StringEquals": {"kms:ReplicaRegion": WEST}}),
        allow(["kms:CreateKey", "kms:DescribeKey", "kms:TagResource"]))),
    # UpdatePrimaryRegion on every member, but only towards eu-west-1 (kms:PrimaryRegion).
    "toeu": ("AKIAMRKTOEU000000001", policy(
        allow("kms:UpdatePrimaryRegion", Condition={"StringEquals": {"kms:PrimaryRegion": EU}}),
        allow("kms:DescribeKey"))),
}
SEED = {"accounts": [{"id": A, "users": [
    {"name": name, "access_keys": [{"id": key, "secret": f"{name}-secret"}], "policies": {"p": doc}}
    for name, (key, doc) in USERS.items()
]}]}


@pytest.fixture(scope="module")
def server() -> Iterator[TrentServer]:
    with seeded_trent(SEED, "trent-mrk-authz-", ("--regions", ",".join(REGIONS))) as srv:
        yield srv


def as_user(server: TrentServer, name: str, region: str = EAST):
    return server.client(region_name=region, aws_access_key_id=USERS[name][0], aws_secret_access_key=f"{name}-secret")


def user_arn(name: str) -> str:
    return f"arn:aws:iam::{A}:user/{name}"


def new_mrk(server: TrentServer) -> dict:
    return server.client(region_name=EAST).create_key(MultiRegion=True)["KeyMetadata"]


def test_replicate_key_needs_create_key_in_the_replica_region(server):
    key = new_mrk(server)
    err = expect_error(as_user(server, "nocreate").replicate_key, "AccessDeniedException",
                       KeyId=key["Arn"], ReplicaRegion=WEST)
    assert err["message"].startswith(f"User: {user_arn('nocreate')} is not authorized to perform: kms:CreateKey"), err
    expect_error(server.client(region_name=WEST).describe_key, "NotFoundException", KeyId=key["KeyId"])
    eastie = as_user(server, "eastie")
    # With Tags, kms:TagResource too (eastie's kms:* covers only the keys of us-east-1).
    err = expect_error(eastie.replicate_key, "AccessDeniedException", KeyId=key["Arn"], ReplicaRegion=WEST,
                       Tags=[{"TagKey": "t", "TagValue": "v"}])
    assert "kms:TagResource" in err["message"], err
    out = eastie.replicate_key(KeyId=key["Arn"], ReplicaRegion=WEST)
    assert out["ReplicaKeyMetadata"]["Arn"] == key["Arn"].replace(EAST, WEST)


def test_replica_region_condition_narrows_replicate_key(server):
    key = new_mrk(server)
    westonly = as_user(server, "westonly")
    err = expect_error(westonly.replicate_key, "AccessDeniedException", KeyId=key["Arn"], ReplicaRegion=EU)
    assert f"kms:ReplicateKey on resource: {key['Arn']}" in err["message"], err
    westonly.replicate_key(KeyId=key["Arn"], ReplicaRegion=WEST, Tags=[{"TagKey": "t", "TagValue": "v"}])


def test_update_primary_region_needs_permission_on_both_keys(server):
    key = new_mrk(server)
    dev_east = server.client(region_name=EAST)
    for region in (WEST, EU):
        dev_east.replicate_key(KeyId=key["KeyId"], ReplicaRegion=region)
        settle(server.client(region_name=region), key["KeyId"])
    # eastie may act on the primary (us-east-1) but not on the replica in us-west-2.
    err = expect_error(as_user(server, "eastie").update_primary_region, "AccessDeniedException",
                       KeyId=key["Arn"], PrimaryRegion=WEST)
    assert f"kms:UpdatePrimaryRegion on resource: {key['Arn'].replace(EAST, WEST)}" in err["message"], err
    assert dev_east.describe_key(KeyId=key["KeyId"])["KeyMetadata"]["KeyState"] == "Enabled"  # nothing moved
    # toeu may promote on every member, but only towards eu-west-1 (kms:PrimaryRegion).
    toeu = as_user(server, "toeu")
    expect_error(toeu.update_primary_region, "AccessDeniedException", KeyId=key["Arn"], PrimaryRegion=WEST)
    toeu.update_primary_region(KeyId=key["Arn"], PrimaryRegion=EU)
    md = settle(server.client(region_name=EU), key["KeyId"])
    assert md["MultiRegionConfiguration"]["MultiRegionKeyType"] == "PRIMARY"
