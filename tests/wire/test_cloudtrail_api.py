"""The CloudTrail API on Trent's endpoint (issue 16 §3), with boto3 and the AWS CLI:
LookupEvents by every attribute, time window, pagination, AWS's errors, authorization
(``cloudtrail:*`` in identity policies), and the trail's own calls (DescribeTrails,
GetTrail, GetTrailStatus, ListPublicKeys).

A seeded server: account 111122223333 has ``auditor`` (KMS and CloudTrail), ``worker``
(KMS only), ``reader`` (cloudtrail:LookupEvents only); account 444455556666 has
``outsider`` (everything, but it is another account).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from botocore.config import Config

from tests.fixtures.trent_server import TrentServer, seeded_trent
from tests.wire.helpers import expect_error

ACCOUNT = "111122223333"
OTHER = "444455556666"
REGION = "us-east-1"
EVERYTHING = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}
KMS_ONLY = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "kms:*", "Resource": "*"}]}
LOOKUP_ONLY = {"Version": "2012-10-17",
               "Statement": [{"Effect": "Allow", "Action": "cloudtrail:LookupEvents", "Resource": "*"}]}
USERS = {
    "auditor": ("AKIACLOUDTRAILAUDIT1", "auditor-secret", ACCOUNT, EVERYTHING),
    "worker": ("AKIACLOUDTRAILWORKR1", "worker-secret", ACCOUNT, KMS_ONLY),
    "reader": ("AKIACLOUDTRAILREADR1", "reader-secret", ACCOUNT, LOOKUP_ONLY),
    "outsider": ("AKIACLOUDTRAILOUTSD1", "outsider-secret", OTHER, EVERYTHING),
}
SEED = {"accounts": [
    {"id": account, "name": f"acct-{account}", "users": [
        {"name": name, "access_keys": [{"id": akid, "secret": secret}], "policies": {"Policy": policy}}
        for name, (akid, secret, acct, policy) in USERS.items() if acct == account
    ]}
    for account in (ACCOUNT, OTHER)
]}


class World:
    def __init__(self, server: TrentServer) -> None:
        self.server = server

    def client(self, service: str, who: str = "auditor"):  # noqa: ANN201
        akid, secret, _, _ = USERS[who]
        return self.server.client(service, aws_access_key_id=akid, aws_secret_access_key=secret,
                                  config=Config(retries={"max_attempts": 1}))


@pytest.fixture(scope="module")
def world() -> Iterator[World]:
    with seeded_trent(SEED, prefix="trent-cloudtrail-", extra_args=("--audit-lookup-rate", "0")) as server:
        yield World(server)


def lookup(world: World, who: str = "auditor", **kwargs):  # noqa: ANN201
    return world.client("cloudtrail", who).lookup_events(**kwargs)


def all_events(world: World, **kwargs) -> list[dict]:
    paginator = world.client("cloudtrail").get_paginator("lookup_events")
    return [e for page in paginator.paginate(**kwargs) for e in page["Events"]]


def test_lookup_by_every_attribute(world: World) -> None:
    kms = world.client("kms")
    worker_kms = world.client("kms", "worker")
    key = kms.create_key(Description="lookup")["KeyMetadata"]
    other = worker_kms.create_key()["KeyMetadata"]
    blob = kms.encrypt(KeyId=key["KeyId"], Plaintext=b"hello")["CiphertextBlob"]
    reencrypted = worker_kms.re_encrypt(CiphertextBlob=blob, DestinationKeyId=other["KeyId"])
    tagged = kms.tag_resource(KeyId=key["KeyId"], Tags=[{"TagKey": "a", "TagValue": "b"}])

    def only(attribute: str, value: str) -> list[dict]:
        return all_events(world, LookupAttributes=[{"AttributeKey": attribute, "AttributeValue": value}])

    creates = only("EventName", "CreateKey")
    assert {e["EventName"] for e in creates} == {"CreateKey"}
    created = {json.loads(e["CloudTrailEvent"])["responseElements"]["keyMetadata"]["keyId"] for e in creates}
    assert {key["KeyId"], other["KeyId"]} <= created
    tag_request = tagged["ResponseMetadata"]["RequestId"]
    (tag_event,) = [e for e in only("EventName", "TagResource")
                    if json.loads(e["CloudTrailEvent"])["requestID"] == tag_request]
    assert only("EventId", tag_event["EventId"]) == [tag_event]
    assert tag_event["ReadOnly"] == "false" and tag_event["Username"] == "auditor"
    assert tag_event["AccessKeyId"] == USERS["auditor"][0] and tag_event["EventSource"] == "kms.amazonaws.com"
    assert tag_event["Resources"] == [{"ResourceType": "AWS::KMS::Key", "ResourceName": key["Arn"]}]
    assert all(e["ReadOnly"] == "false" for e in only("ReadOnly", "false"))
    assert all(e["ReadOnly"] == "true" for e in only("ReadOnly", "true"))
    workers = only("Username", "worker")
    assert workers and all(json.loads(e["CloudTrailEvent"])["userIdentity"]["userName"] == "worker" for e in workers)
    assert all(e["AccessKeyId"] == USERS["worker"][0] for e in only("AccessKeyId", USERS["worker"][0]))
    # ReEncrypt names both keys: found by either
    re_request = reencrypted["ResponseMetadata"]["RequestId"]
    for arn in (key["Arn"], other["Arn"]):
        found = only("ResourceName", arn)
        assert any(json.loads(e["CloudTrailEvent"])["requestID"] == re_request for e in found)
        assert all(any(r["ResourceName"] == arn for r in e["Resources"]) for e in found)
    assert all(r["ResourceType"] == "AWS::KMS::Key" for e in only("ResourceType", "AWS::KMS::Key")
               for r in e["Resources"][:1])
    lookups = only("EventSource", "cloudtrail.amazonaws.com")
    assert lookups and all(e["EventName"] == "LookupEvents" and e["ReadOnly"] == "true" for e in lookups)
    # newest first, and only this account's trail
    times = [e["EventTime"] for e in all_events(world)]
    assert times == sorted(times, reverse=True)
    assert all(json.loads(e["CloudTrailEvent"])["recipientAccountId"] == ACCOUNT for e in all_events(world))


def test_lookup_leaves_out_s3_data_events(world: World) -> None:
    """LookupEvents returns management events only, as CloudTrail's event history does: an
    SSE-KMS PutObject and its GetObject (data events) are found neither in a window nor by
    any attribute; the bucket's creation, and the GenerateDataKey and Decrypt that S3 made
    for the caller (KMS management events, invoked by S3), are."""
    s3, kms = world.client("s3"), world.client("kms")
    key = kms.create_key(Description="s3 data events")["KeyMetadata"]
    s3.create_bucket(Bucket="lookup-data-events")
    s3.put_object(Bucket="lookup-data-events", Key="k", Body=b"data", ServerSideEncryption="aws:kms",
                  SSEKMSKeyId=key["Arn"])
    assert s3.get_object(Bucket="lookup-data-events", Key="k")["Body"].read() == b"data"

    def only(attribute: str, value: str) -> list[dict]:
        return all_events(world, LookupAttributes=[{"AttributeKey": attribute, "AttributeValue": value}])

    from_s3 = {e["EventName"] for e in only("EventSource", "s3.amazonaws.com")}
    assert "CreateBucket" in from_s3 and not from_s3 & {"PutObject", "GetObject"}
    assert only("EventName", "PutObject") == [] and only("EventName", "GetObject") == []
    assert only("ResourceType", "AWS::S3::Object") == []
    assert all(json.loads(e["CloudTrailEvent"])["eventCategory"] == "Management" for e in all_events(world))
    via_s3 = [event for e in only("ResourceName", key["Arn"])
              if (event := json.loads(e["CloudTrailEvent"]))["userAgent"] == "s3.amazonaws.com"]
    assert sorted(e["eventName"] for e in via_s3) == ["Decrypt", "GenerateDataKey"]
    assert all(e["userIdentity"]["invokedBy"] == "s3.amazonaws.com" for e in via_s3)


def test_time_window_and_pagination(world: World) -> None:
    kms = world.client("kms")
    key_id = kms.create_key(Description="window")["KeyMetadata"]["KeyId"]
    now = world.server.admin("/_trent/clock")["now"]
    world.server.advance_clock("3h")
    later = [kms.describe_key(KeyId=key_id)["ResponseMetadata"]["RequestId"] for _ in range(12)]
    window = {"StartTime": now + 3 * 3600 - 5, "EndTime": now + 3 * 3600 + 3600}
    events = all_events(world, **window)
    request_ids = [json.loads(e["CloudTrailEvent"])["requestID"] for e in events]
    assert set(later) <= set(request_ids)
    assert all(e["EventTime"].timestamp() >= window["StartTime"] for e in events)
    # the hour before the jump does not see them
    before = all_events(world, StartTime=now - 3600, EndTime=now + 60)
    assert not set(later) & {json.loads(e["CloudTrailEvent"])["requestID"] for e in before}
    # pages of 5, newest first, nothing twice, nothing lost
    client = world.client("cloudtrail")
    pages, token = [], None
    while True:
        kwargs = {"MaxResults": 5, **window, "LookupAttributes": [{"AttributeKey": "EventName",
                                                                     "AttributeValue": "DescribeKey"}]}
        page = client.lookup_events(**kwargs, **({"NextToken": token} if token else {}))
        pages.append(page["Events"])
        token = page.get("NextToken")
        if not token:
            break
    flat = [json.loads(e["CloudTrailEvent"])["requestID"] for p in pages for e in p]
    assert len(pages) >= 3 and all(len(p) <= 5 for p in pages)
    assert len(flat) == len(set(flat)) and set(later) <= set(flat)
    assert flat[:12] == later[::-1]
    # a token only continues the query that issued it
    first = client.lookup_events(MaxResults=2, **window)
    expect_error(client.lookup_events, "InvalidNextTokenException", MaxResults=2, NextToken=first["NextToken"],
                 StartTime=window["StartTime"] - 1, EndTime=window["EndTime"])
    expect_error(client.lookup_events, "InvalidNextTokenException", NextToken="not-a-token")


def test_lookup_errors(world: World) -> None:
    client = world.client("cloudtrail")
    two = [{"AttributeKey": "EventName", "AttributeValue": "a"}, {"AttributeKey": "Username", "AttributeValue": "b"}]
    expect_error(client.lookup_events, "InvalidLookupAttributesException", LookupAttributes=two)
    expect_error(client.lookup_events, "InvalidLookupAttributesException",
                 LookupAttributes=[{"AttributeKey": "Color", "AttributeValue": "blue"}])
    expect_error(client.lookup_events, "InvalidLookupAttributesException",
                 LookupAttributes=[{"AttributeKey": "ReadOnly", "AttributeValue": "maybe"}])
    expect_error(client.lookup_events, "InvalidTimeRangeException", StartTime=2_000_000_000, EndTime=1_900_000_000)
    expect_error(client.lookup_events, "InvalidMaxResultsException", MaxResults=51)
    expect_error(client.lookup_events, "InvalidEventCategoryException", EventCategory="other")
    assert client.lookup_events(EventCategory="insight")["Events"] == []


def test_authorization(world: World) -> None:
    denied = expect_error(world.client("cloudtrail", "worker").lookup_events, "AccessDeniedException")
    assert denied["message"] == (
        f"User: arn:aws:iam::{ACCOUNT}:user/worker is not authorized to perform: cloudtrail:LookupEvents "
        "on resource: * because no identity-based policy allows the cloudtrail:LookupEvents action"
    )
    reader = world.client("cloudtrail", "reader")
    assert reader.lookup_events(MaxResults=1)["Events"]
    expect_error(reader.describe_trails, "AccessDeniedException")
    expect_error(reader.list_public_keys, "AccessDeniedException")
    # the denial is itself recorded
    denials = all_events(world, LookupAttributes=[{"AttributeKey": "Username", "AttributeValue": "worker"}])
    assert any(json.loads(e["CloudTrailEvent"]).get("errorCode") == "AccessDeniedException" for e in denials)
    # another account sees only its own trail
    world.client("kms", "outsider").list_keys()
    outsider = world.client("cloudtrail", "outsider").lookup_events()["Events"]
    assert outsider and all(json.loads(e["CloudTrailEvent"])["recipientAccountId"] == OTHER for e in outsider)


def test_trails_and_public_keys(world: World) -> None:
    client = world.client("cloudtrail")
    arn = f"arn:aws:cloudtrail:{REGION}:{ACCOUNT}:trail/trent"
    (trail,) = client.describe_trails()["trailList"]
    assert trail["TrailARN"] == arn and trail["S3BucketName"] == "trent-audit-logs"
    assert trail["LogFileValidationEnabled"] is True and trail["HomeRegion"] == REGION
    assert client.describe_trails(trailNameList=["trent"])["trailList"] == [trail]
    assert client.describe_trails(trailNameList=["nope"])["trailList"] == []
    assert client.get_trail(Name=arn)["Trail"] == trail
    expect_error(client.get_trail, "TrailNotFoundException", Name="other-trail")
    expect_error(client.get_trail, "InvalidTrailNameException", Name="-bad name-")
    expect_error(client.get_trail, "CloudTrailARNInvalidException", Name="arn:aws:cloudtrail:broken")
    world.server.admin("/_trent/audit/flush", {})
    status = client.get_trail_status(Name="trent")
    assert status["IsLogging"] is True and status["LatestDeliveryTime"] and status["LatestDigestDeliveryTime"]
    keys = client.list_public_keys()["PublicKeyList"]
    assert keys and len(keys[0]["Fingerprint"]) == 32
    import rsa

    rsa.PublicKey.load_pkcs1(keys[0]["Value"], format="DER")  # boto3 hands over the DER bytes
    expect_error(client.list_public_keys, "InvalidTimeRangeException", StartTime=2_000_000_000, EndTime=1)


def test_aws_cli_lookup_events(world: World, tmp_path: Path) -> None:
    akid, secret, _, _ = USERS["auditor"]
    env = {**os.environ, "AWS_ACCESS_KEY_ID": akid, "AWS_SECRET_ACCESS_KEY": secret, "AWS_DEFAULT_REGION": REGION}
    aws = str(Path(sys.executable).with_name("aws"))
    out = subprocess.run(
        [aws, "cloudtrail", "lookup-events", "--endpoint-url", world.server.endpoint_url,
         "--lookup-attributes", "AttributeKey=EventName,AttributeValue=CreateKey", "--max-results", "3"],
        capture_output=True, text=True, env=env, timeout=60, check=True,
    ).stdout
    events = json.loads(out)["Events"]
    assert events and all(e["EventName"] == "CreateKey" for e in events)
    assert json.loads(events[0]["CloudTrailEvent"])["eventSource"] == "kms.amazonaws.com"


def test_lookup_events_is_rate_limited(tmp_path: Path) -> None:
    """Spec cloudtrail.md §5: AWS allows 2 LookupEvents/s per account and region; Trent's
    rate is --audit-lookup-rate (here 1/s): the burst is spent, the next call is throttled."""
    from tests.fixtures.trent_server import start_trent, stop_trent

    server = start_trent(tmp_path / "data", "--audit-lookup-rate", "1")
    try:
        client = server.client("cloudtrail")
        client.lookup_events(MaxResults=1)
        err = expect_error(client.lookup_events, "ThrottlingException", "Rate exceeded", MaxResults=1)
        assert err["status"] == 400
        server.client("cloudtrail", region_name="eu-west-1").lookup_events(MaxResults=1)  # another trail's bucket
    finally:
        stop_trent(server)
