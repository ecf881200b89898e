"""The trail bucket over the S3 API on Trent's endpoint (issue 16 §3), with boto3's ``s3``
client (path-style against a custom endpoint, real SigV4 with payload hashes):
GetBucketLocation, ListObjects (Prefix/Marker pages), ListObjectsV2 (continuation),
GetObject (ranges), HeadObject (digest signature metadata), S3's XML errors, and who may
read what (identity policies; another account only its own AWSLogs/<account>/ part).
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterator

import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from tests.fixtures.trent_server import TrentServer, seeded_trent

ACCOUNT = "123456789012"  # the --dev account owns the trail bucket
OTHER = "444455556666"
BUCKET = "trent-audit-logs"
EVERYTHING = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}
KMS_ONLY = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "kms:*", "Resource": "*"}]}
USERS = {
    "kmsonly": ("AKIATRAILBUCKETKMS01", "kms-secret", ACCOUNT, KMS_ONLY),
    "other": ("AKIATRAILBUCKETOTHR1", "other-secret", OTHER, EVERYTHING),
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

    def client(self, service: str, who: str | None = None):  # noqa: ANN201
        if who is None:
            return self.server.client(service, config=Config(retries={"max_attempts": 1}))
        akid, secret, _, _ = USERS[who]
        return self.server.client(service, aws_access_key_id=akid, aws_secret_access_key=secret,
                                  config=Config(retries={"max_attempts": 1}))


@pytest.fixture(scope="module")
def world() -> Iterator[World]:
    with seeded_trent(SEED, prefix="trent-s3-") as server:
        world = World(server)
        kms = world.client("kms")
        key_id = kms.create_key()["KeyMetadata"]["KeyId"]
        for _ in range(3):
            for _ in range(4):
                kms.encrypt(KeyId=key_id, Plaintext=b"s3")
            world.client("kms", "other").list_keys()  # the other account gets a trail of its own
            assert server.admin("/_trent/audit/flush", {})["errors"] == []
        yield world


def keys_on_disk(world: World, account: str) -> list[str]:
    root = world.server.data_dir / "audit-buckets" / BUCKET
    return sorted((str(p.relative_to(root)) for p in (root / "AWSLogs" / account).rglob("*.json.gz")),
                  key=lambda k: k.encode())


def code_of(call, **kwargs) -> tuple[str, int]:  # noqa: ANN001
    with pytest.raises(ClientError) as info:
        call(**kwargs)
    error = info.value.response
    return error["Error"]["Code"], error["ResponseMetadata"]["HTTPStatusCode"]


def test_location_and_listings(world: World) -> None:
    s3 = world.client("s3")
    assert s3.get_bucket_location(Bucket=BUCKET)["LocationConstraint"] is None  # us-east-1
    expected = keys_on_disk(world, ACCOUNT)
    assert len(expected) >= 6
    v1 = [o["Key"] for page in s3.get_paginator("list_objects").paginate(
        Bucket=BUCKET, Prefix=f"AWSLogs/{ACCOUNT}/", PaginationConfig={"PageSize": 2}) for o in page["Contents"]]
    assert v1 == expected
    v2_pages = list(s3.get_paginator("list_objects_v2").paginate(
        Bucket=BUCKET, Prefix=f"AWSLogs/{ACCOUNT}/", PaginationConfig={"PageSize": 4}))
    assert [o["Key"] for p in v2_pages for o in p["Contents"]] == expected
    assert len(v2_pages) >= 2 and v2_pages[0]["KeyCount"] == 4 and v2_pages[0]["IsTruncated"] is True
    marked = s3.list_objects(Bucket=BUCKET, Prefix=f"AWSLogs/{ACCOUNT}/", Marker=expected[2])
    assert [o["Key"] for o in marked["Contents"]] == expected[3:]
    rolled = s3.list_objects_v2(Bucket=BUCKET, Prefix=f"AWSLogs/{ACCOUNT}/", Delimiter="/")
    assert [p["Prefix"] for p in rolled["CommonPrefixes"]] == [f"AWSLogs/{ACCOUNT}/CloudTrail-Digest/",
                                                             f"AWSLogs/{ACCOUNT}/CloudTrail/"]
    assert s3.head_bucket(Bucket=BUCKET)["ResponseMetadata"]["HTTPStatusCode"] == 200
    assert [b["Name"] for b in s3.list_buckets()["Buckets"]] == [BUCKET]


def test_objects_and_digest_metadata(world: World) -> None:
    s3 = world.client("s3")
    root = world.server.data_dir / "audit-buckets" / BUCKET
    digest_key = next(k for k in keys_on_disk(world, ACCOUNT) if "CloudTrail-Digest" in k)
    log_key = next(k for k in keys_on_disk(world, ACCOUNT) if "/CloudTrail/" in k)
    got = s3.get_object(Bucket=BUCKET, Key=log_key)
    data = got["Body"].read()
    assert data == (root / log_key).read_bytes()
    assert json.loads(gzip.decompress(data))["Records"]
    head = s3.head_object(Bucket=BUCKET, Key=digest_key)
    assert head["Metadata"]["signature-algorithm"] == "SHA256withRSA"
    assert len(head["Metadata"]["signature"]) == 512  # hex of an RSA-2048 signature
    assert head["ContentLength"] == (root / digest_key).stat().st_size and head["ETag"].startswith('"')
    part = s3.get_object(Bucket=BUCKET, Key=log_key, Range="bytes=0-9")
    assert part["Body"].read() == data[:10] and part["ContentRange"] == f"bytes 0-9/{len(data)}"
    assert part["ResponseMetadata"]["HTTPStatusCode"] == 206
    tail = s3.get_object(Bucket=BUCKET, Key=log_key, Range="bytes=-5")["Body"].read()
    assert tail == data[-5:]


def test_s3_errors(world: World) -> None:
    s3 = world.client("s3")
    assert code_of(s3.get_object, Bucket=BUCKET, Key="AWSLogs/nope.json.gz") == ("NoSuchKey", 404)
    assert code_of(s3.head_object, Bucket=BUCKET, Key="AWSLogs/nope.json.gz") == ("404", 404)
    assert code_of(s3.list_objects_v2, Bucket="no-such-bucket") == ("NoSuchBucket", 404)
    log_key = next(k for k in keys_on_disk(world, ACCOUNT) if "/CloudTrail/" in k)
    assert code_of(s3.get_object, Bucket=BUCKET, Key=log_key, Range="bytes=99999999-") == ("InvalidRange", 416)
    # the trail bucket is read-only
    assert code_of(s3.put_object, Bucket=BUCKET, Key=log_key, Body=b"x") == ("AccessDenied", 403)
    assert code_of(s3.delete_object, Bucket=BUCKET, Key=log_key) == ("AccessDenied", 403)
    assert code_of(s3.get_bucket_acl, Bucket=BUCKET) == ("NotImplemented", 501)
    wrong = world.server.client("s3", aws_secret_access_key="wrong", config=Config(retries={"max_attempts": 1}))
    assert code_of(wrong.list_objects, Bucket=BUCKET) == ("SignatureDoesNotMatch", 403)
    unknown = world.server.client("s3", aws_access_key_id="AKIANOTKNOWN00000000",
                                  config=Config(retries={"max_attempts": 1}))
    assert code_of(unknown.list_objects, Bucket=BUCKET) == ("InvalidAccessKeyId", 403)


def test_who_may_read(world: World) -> None:
    code, status = code_of(world.client("s3", "kmsonly").list_objects, Bucket=BUCKET, Prefix="AWSLogs/")
    assert (code, status) == ("AccessDenied", 403)
    other = world.client("s3", "other")
    own = other.list_objects_v2(Bucket=BUCKET, Prefix=f"AWSLogs/{OTHER}/")
    assert [o["Key"] for o in own["Contents"]] == keys_on_disk(world, OTHER)
    assert other.get_object(Bucket=BUCKET, Key=keys_on_disk(world, OTHER)[0])["Body"].read()
    assert code_of(other.list_objects_v2, Bucket=BUCKET, Prefix="AWSLogs/") == ("AccessDenied", 403)
    assert code_of(other.get_object, Bucket=BUCKET, Key=keys_on_disk(world, ACCOUNT)[0]) == ("AccessDenied", 403)


def test_s3_calls_are_in_the_trail(world: World) -> None:
    s3 = world.client("s3")
    log_key = next(k for k in keys_on_disk(world, ACCOUNT) if "/CloudTrail/" in k)
    request_id = s3.get_object(Bucket=BUCKET, Key=log_key)["ResponseMetadata"]["RequestId"]
    (event,) = [e for e in world.server.audit_events() if e.get("requestID") == request_id]
    assert event["eventSource"] == "s3.amazonaws.com" and event["eventName"] == "GetObject"
    assert event["eventCategory"] == "Data" and event["managementEvent"] is False and event["readOnly"] is True
    assert event["requestParameters"] == {"bucketName": BUCKET, "key": log_key}
    assert {"type": "AWS::S3::Object", "ARN": f"arn:aws:s3:::{BUCKET}/{log_key}", "accountId": ACCOUNT} in \
        event["resources"]
