"""S3 server-side encryption over HTTP with real boto3 (issue 17; s3-sse spec §1-7): each
mode's PUT/GET/HEAD headers as S3 sends them, Range and conditional GETs, SSE-C errors,
bucket default encryption with Bucket Keys, a bucket policy requiring aws:kms, a key
policy denying Decrypt, the KMS events S3 records for the caller, and a scan of the
object store proving only ciphertext reaches it."""

from __future__ import annotations

import base64
import hashlib
import json
import time
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from botocore.exceptions import ClientError

from tests.fixtures.trent_server import ACCOUNT_ID, TrentServer, seeded_trent
from tests.wire.s3_helpers import SEED, USERS, assert_no_plaintext, blob_files, body, s3_client, sse_c_key

BOB_ARN = f"arn:aws:iam::{ACCOUNT_ID}:user/bob"


@pytest.fixture(scope="module")
def server() -> Iterator[TrentServer]:
    with seeded_trent(SEED, prefix="trent-s3-sse-") as server:
        yield server


@pytest.fixture(scope="module")
def s3(server: TrentServer):
    return s3_client(server)


@pytest.fixture(scope="module")
def bucket(s3) -> str:
    s3.create_bucket(Bucket="sse-modes")
    return "sse-modes"


def error_of(call, *args, **kwargs) -> tuple[str, int, str]:
    with pytest.raises(ClientError) as info:
        call(*args, **kwargs)
    response = info.value.response
    return response["Error"]["Code"], response["ResponseMetadata"]["HTTPStatusCode"], response["Error"].get("Message", "")


def md5_hex(data: bytes) -> str:
    return hashlib.md5(data).hexdigest()  # noqa: S324 - S3's ETag


# --- each mode's headers ---------------------------------------------------------------------


def test_sse_s3_is_the_default_and_the_etag_is_the_md5(s3, bucket: str) -> None:
    data = body(70_000)
    put = s3.put_object(Bucket=bucket, Key="default.bin", Body=data, Metadata={"team": "ops"}, ContentType="text/x-test")
    assert put["ServerSideEncryption"] == "AES256"
    assert put["ETag"] == f'"{md5_hex(data)}"'
    assert "SSEKMSKeyId" not in put and "BucketKeyEnabled" not in put
    got = s3.get_object(Bucket=bucket, Key="default.bin")
    assert got["Body"].read() == data
    assert got["ServerSideEncryption"] == "AES256"
    assert got["ETag"] == put["ETag"] and got["ContentType"] == "text/x-test" and got["Metadata"] == {"team": "ops"}
    head = s3.head_object(Bucket=bucket, Key="default.bin")
    assert head["ContentLength"] == len(data) and head["ServerSideEncryption"] == "AES256"
    assert head["AcceptRanges"] == "bytes"


def test_sse_kms_with_an_alias_echoes_the_key_arn_and_context(server: TrentServer, s3, bucket: str) -> None:
    kms = server.client("kms")
    key = kms.create_key()["KeyMetadata"]
    kms.create_alias(AliasName="alias/s3-wire", TargetKeyId=key["KeyId"])
    context = base64.b64encode(json.dumps({"project": "trent"}).encode()).decode()
    data = body(200_000)
    put = s3.put_object(Bucket=bucket, Key="kms.bin", Body=data, ServerSideEncryption="aws:kms",
                        SSEKMSKeyId="alias/s3-wire", SSEKMSEncryptionContext=context)
    assert put["ServerSideEncryption"] == "aws:kms"
    assert put["SSEKMSKeyId"] == key["Arn"]  # always the ARN, whatever form was sent (spec §2)
    assert json.loads(base64.b64decode(put["SSEKMSEncryptionContext"])) == {"project": "trent"}
    assert put["ETag"] != f'"{md5_hex(data)}"'  # opaque for SSE-KMS
    got = s3.get_object(Bucket=bucket, Key="kms.bin")
    assert got["Body"].read() == data
    assert got["ServerSideEncryption"] == "aws:kms" and got["SSEKMSKeyId"] == key["Arn"]
    assert "BucketKeyEnabled" not in got
    head = s3.head_object(Bucket=bucket, Key="kms.bin")
    assert head["SSEKMSKeyId"] == key["Arn"] and head["ContentLength"] == len(data)


def test_sse_kms_without_a_key_uses_the_aws_managed_key(server: TrentServer, s3, bucket: str) -> None:
    data = body(1000)
    put = s3.put_object(Bucket=bucket, Key="managed.bin", Body=data, ServerSideEncryption="aws:kms")
    aliases = {a["AliasName"]: a for a in server.client("kms").list_aliases()["Aliases"]}
    managed = aliases["alias/aws/s3"]
    assert put["SSEKMSKeyId"].endswith("/" + managed["TargetKeyId"])
    assert s3.get_object(Bucket=bucket, Key="managed.bin")["Body"].read() == data


def test_sse_c_round_trip_and_its_errors(s3, bucket: str) -> None:
    key, key_md5 = sse_c_key()
    other, _ = sse_c_key()
    data = body(150_000)
    put = s3.put_object(Bucket=bucket, Key="ssec.bin", Body=data, SSECustomerAlgorithm="AES256", SSECustomerKey=key)
    assert put["SSECustomerAlgorithm"] == "AES256" and put["SSECustomerKeyMD5"] == key_md5
    assert "ServerSideEncryption" not in put
    got = s3.get_object(Bucket=bucket, Key="ssec.bin", SSECustomerAlgorithm="AES256", SSECustomerKey=key)
    assert got["Body"].read() == data and got["SSECustomerKeyMD5"] == key_md5
    head = s3.head_object(Bucket=bucket, Key="ssec.bin", SSECustomerAlgorithm="AES256", SSECustomerKey=key)
    assert head["ContentLength"] == len(data) and head["SSECustomerAlgorithm"] == "AES256"
    # spec §6: no key -> 400 InvalidRequest; another key -> 403; HEAD: the status only
    code, status, message = error_of(s3.get_object, Bucket=bucket, Key="ssec.bin")
    assert (code, status) == ("InvalidRequest", 400)
    assert message == ("The object was stored using a form of Server Side Encryption. The correct parameters must be "
                       "provided to retrieve the object.")
    assert error_of(s3.get_object, Bucket=bucket, Key="ssec.bin", SSECustomerAlgorithm="AES256",
                    SSECustomerKey=other)[:2] == ("AccessDenied", 403)
    assert error_of(s3.head_object, Bucket=bucket, Key="ssec.bin")[1] == 400
    # SSE-C headers for an object that is not SSE-C
    s3.put_object(Bucket=bucket, Key="plain-s3.bin", Body=b"x")
    code, status, message = error_of(s3.get_object, Bucket=bucket, Key="plain-s3.bin", SSECustomerAlgorithm="AES256",
                                     SSECustomerKey=key)
    assert (code, status, message) == ("InvalidRequest", 400, "The encryption parameters are not applicable to this object.")


def test_sse_c_key_md5_mismatch_and_bad_algorithm(server: TrentServer, bucket: str) -> None:
    s3 = s3_client(server)
    key, _ = sse_c_key()

    def wrong_md5(request, **_):
        del request.headers["x-amz-server-side-encryption-customer-key-MD5"]
        request.headers["x-amz-server-side-encryption-customer-key-MD5"] = base64.b64encode(b"0" * 16).decode()

    s3.meta.events.register("before-sign.s3.PutObject", wrong_md5)
    code, status, message = error_of(s3.put_object, Bucket=bucket, Key="bad-md5", Body=b"x",
                                     SSECustomerAlgorithm="AES256", SSECustomerKey=key)
    assert (code, status) == ("InvalidArgument", 400)
    assert message == "The calculated MD5 hash of the key did not match the hash that was provided."
    code, status, _ = error_of(s3_client(server).put_object, Bucket=bucket, Key="bad-alg", Body=b"x",
                               SSECustomerAlgorithm="AES128", SSECustomerKey=key)
    assert (code, status) == ("InvalidEncryptionAlgorithmError", 400)


def test_kms_key_id_with_aes256_is_invalid_argument(s3, bucket: str) -> None:
    code, status, _ = error_of(s3.put_object, Bucket=bucket, Key="mixed", Body=b"x", ServerSideEncryption="AES256",
                               SSEKMSKeyId="alias/s3-wire")
    assert (code, status) == ("InvalidArgument", 400)


def test_sse_kms_unknown_key_is_kms_not_found(s3, bucket: str) -> None:
    code, status, _ = error_of(s3.put_object, Bucket=bucket, Key="nokey", Body=b"x", ServerSideEncryption="aws:kms",
                               SSEKMSKeyId="alias/does-not-exist")
    assert (code, status) == ("KMS.NotFoundException", 400)


# --- ranges and conditions ------------------------------------------------------------------


def test_range_gets_decrypt_only_what_they_need(s3, bucket: str) -> None:
    data = body(300_000)  # several 64 KiB segments
    s3.put_object(Bucket=bucket, Key="ranged.bin", Body=data, ServerSideEncryption="aws:kms")
    for header, expected, content_range in (
        ("bytes=0-9", data[:10], f"bytes 0-9/{len(data)}"),
        ("bytes=65530-131080", data[65530:131081], f"bytes 65530-131080/{len(data)}"),
        ("bytes=-100", data[-100:], f"bytes {len(data) - 100}-{len(data) - 1}/{len(data)}"),
        ("bytes=299990-", data[299990:], f"bytes 299990-{len(data) - 1}/{len(data)}"),
    ):
        got = s3.get_object(Bucket=bucket, Key="ranged.bin", Range=header)
        assert got["ResponseMetadata"]["HTTPStatusCode"] == 206
        assert got["ContentRange"] == content_range
        assert got["Body"].read() == expected
    code, status, _ = error_of(s3.get_object, Bucket=bucket, Key="ranged.bin", Range="bytes=400000-")
    assert (code, status) == ("InvalidRange", 416)


def test_conditional_gets(s3, bucket: str) -> None:
    put = s3.put_object(Bucket=bucket, Key="cond.bin", Body=body(1000))
    etag = put["ETag"]
    assert error_of(s3.get_object, Bucket=bucket, Key="cond.bin", IfNoneMatch=etag)[1] == 304
    assert error_of(s3.get_object, Bucket=bucket, Key="cond.bin", IfMatch='"0000"')[:2] == ("PreconditionFailed", 412)
    future = datetime.now(timezone.utc) + timedelta(days=1)
    past = datetime.now(timezone.utc) - timedelta(days=1)
    assert error_of(s3.get_object, Bucket=bucket, Key="cond.bin", IfModifiedSince=future)[1] == 304
    assert error_of(s3.get_object, Bucket=bucket, Key="cond.bin", IfUnmodifiedSince=past)[1] == 412
    assert s3.get_object(Bucket=bucket, Key="cond.bin", IfMatch=etag, IfModifiedSince=past)["ETag"] == etag


def test_missing_key_and_bucket(s3, bucket: str) -> None:
    assert error_of(s3.get_object, Bucket=bucket, Key="never")[:2] == ("NoSuchKey", 404)
    assert error_of(s3.get_object, Bucket="no-such-bucket-here", Key="x")[:2] == ("NoSuchBucket", 404)
    assert error_of(s3.head_object, Bucket=bucket, Key="never")[1] == 404


# --- buckets, listing, deletes --------------------------------------------------------------


def test_bucket_lifecycle_and_listing(s3) -> None:
    name = "sse-lifecycle"
    s3.create_bucket(Bucket=name)
    assert s3.head_bucket(Bucket=name)["ResponseMetadata"]["HTTPHeaders"]["x-amz-bucket-region"] == "us-east-1"
    assert name in [b["Name"] for b in s3.list_buckets()["Buckets"]]
    assert s3.get_bucket_location(Bucket=name)["LocationConstraint"] is None
    for key in ("a/1", "a/2", "b/1", "c"):
        s3.put_object(Bucket=name, Key=key, Body=b"x")
    listed = s3.list_objects_v2(Bucket=name, Delimiter="/")
    assert [c["Prefix"] for c in listed["CommonPrefixes"]] == ["a/", "b/"]
    assert [o["Key"] for o in listed["Contents"]] == ["c"]
    pages = s3.get_paginator("list_objects_v2").paginate(Bucket=name, PaginationConfig={"PageSize": 1})
    assert [o["Key"] for page in pages for o in page.get("Contents", [])] == ["a/1", "a/2", "b/1", "c"]
    assert [o["Key"] for o in s3.list_objects(Bucket=name, Prefix="a/")["Contents"]] == ["a/1", "a/2"]
    assert error_of(s3.delete_bucket, Bucket=name)[:2] == ("BucketNotEmpty", 409)
    deleted = s3.delete_objects(Bucket=name, Delete={"Objects": [{"Key": k} for k in ("a/1", "a/2", "b/1")]})
    assert sorted(d["Key"] for d in deleted["Deleted"]) == ["a/1", "a/2", "b/1"]
    s3.delete_object(Bucket=name, Key="c")
    s3.delete_bucket(Bucket=name)
    assert error_of(s3.head_bucket, Bucket=name)[1] == 404
    assert error_of(s3.create_bucket, Bucket="x")[:2] == ("InvalidBucketName", 400)


# --- default encryption, Bucket Keys, policies --------------------------------------------------


def test_default_encryption_with_a_bucket_key(server: TrentServer, s3) -> None:
    name = "sse-default-kms"
    s3.create_bucket(Bucket=name)
    fresh = s3.get_bucket_encryption(Bucket=name)["ServerSideEncryptionConfiguration"]["Rules"]
    assert fresh == [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}, "BucketKeyEnabled": False}]
    key_arn = server.client("kms").create_key()["KeyMetadata"]["Arn"]
    s3.put_bucket_encryption(Bucket=name, ServerSideEncryptionConfiguration={"Rules": [{
        "ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": key_arn},
        "BucketKeyEnabled": True}]})
    rules = s3.get_bucket_encryption(Bucket=name)["ServerSideEncryptionConfiguration"]["Rules"]
    assert rules[0]["ApplyServerSideEncryptionByDefault"] == {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": key_arn}
    assert rules[0]["BucketKeyEnabled"] is True
    data = [body(100 + i) for i in range(3)]
    for i in range(3):
        put = s3.put_object(Bucket=name, Key=f"o{i}", Body=data[i])
        assert put["ServerSideEncryption"] == "aws:kms" and put["SSEKMSKeyId"] == key_arn
        assert put["BucketKeyEnabled"] is True
    got = s3.get_object(Bucket=name, Key="o1")
    assert got["BucketKeyEnabled"] is True and got["Body"].read() == data[1]
    # spec §5: one GenerateDataKey for the bucket-level key, with the bucket ARN as context
    events = [e for e in server.audit_events() if e.get("eventName") == "GenerateDataKey"
              and e.get("requestParameters", {}).get("encryptionContext", {}).get("aws:s3:arn") == f"arn:aws:s3:::{name}"]
    assert len(events) == 1
    s3.delete_bucket_encryption(Bucket=name)
    assert s3.put_object(Bucket=name, Key="after", Body=b"x")["ServerSideEncryption"] == "AES256"


def test_bucket_policy_requiring_aws_kms(server: TrentServer, s3) -> None:
    name = "sse-kms-only"
    s3.create_bucket(Bucket=name)
    policy = {"Version": "2012-10-17", "Statement": [{
        "Sid": "DenyNotKms", "Effect": "Deny", "Principal": "*", "Action": "s3:PutObject",
        "Resource": f"arn:aws:s3:::{name}/*",
        "Condition": {"StringNotEquals": {"s3:x-amz-server-side-encryption": "aws:kms"}}}]}
    s3.put_bucket_policy(Bucket=name, Policy=json.dumps(policy))
    assert json.loads(s3.get_bucket_policy(Bucket=name)["Policy"]) == policy
    alice = s3_client(server, "alice")
    code, status, _ = error_of(alice.put_object, Bucket=name, Key="plain", Body=b"x")
    assert (code, status) == ("AccessDenied", 403)
    assert error_of(alice.put_object, Bucket=name, Key="s3", Body=b"x", ServerSideEncryption="AES256")[1] == 403
    assert alice.put_object(Bucket=name, Key="kms", Body=b"x", ServerSideEncryption="aws:kms")["ServerSideEncryption"] \
        == "aws:kms"
    s3.delete_bucket_policy(Bucket=name)
    assert error_of(s3.get_bucket_policy, Bucket=name)[:2] == ("NoSuchBucketPolicy", 404)
    assert alice.put_object(Bucket=name, Key="plain", Body=b"x")["ServerSideEncryption"] == "AES256"


def test_key_policy_denying_decrypt_denies_get_object(server: TrentServer, s3, bucket: str) -> None:
    kms = server.client("kms")
    policy = {"Version": "2012-10-17", "Statement": [
        {"Sid": "Root", "Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT_ID}:root"}, "Action": "kms:*",
         "Resource": "*"},
        {"Sid": "NoBobDecrypt", "Effect": "Deny", "Principal": {"AWS": BOB_ARN}, "Action": "kms:Decrypt",
         "Resource": "*"}]}
    key_arn = kms.create_key(Policy=json.dumps(policy))["KeyMetadata"]["Arn"]
    data = body(1000)
    s3.put_object(Bucket=bucket, Key="bob-cannot-read", Body=data, ServerSideEncryption="aws:kms",
                  SSEKMSKeyId=key_arn)
    bob = s3_client(server, "bob")
    code, status, message = error_of(bob.get_object, Bucket=bucket, Key="bob-cannot-read")
    assert (code, status) == ("AccessDenied", 403)
    assert "kms:Decrypt" in message and key_arn in message
    assert s3_client(server, "alice").get_object(Bucket=bucket, Key="bob-cannot-read")["Body"].read() == data
    # bob may still write with the key (GenerateDataKey is not denied)
    assert bob.put_object(Bucket=bucket, Key="bob-wrote", Body=b"x", ServerSideEncryption="aws:kms",
                          SSEKMSKeyId=key_arn)["SSEKMSKeyId"] == key_arn


# --- audit and the backend ------------------------------------------------------------------------


def test_audit_shows_kms_calls_invoked_by_s3_for_the_caller(server: TrentServer, bucket: str) -> None:
    alice = s3_client(server, "alice")
    alice.put_object(Bucket=bucket, Key="audited", Body=body(10), ServerSideEncryption="aws:kms")
    alice.get_object(Bucket=bucket, Key="audited")["Body"].read()
    arn = f"arn:aws:s3:::{bucket}/audited"
    deadline = time.monotonic() + 10
    while True:
        events = server.audit_events()
        kms = [e for e in events if e.get("eventSource") == "kms.amazonaws.com"
               and (e.get("requestParameters") or {}).get("encryptionContext", {}).get("aws:s3:arn") == arn]
        s3_events = [e for e in events if e.get("eventSource") == "s3.amazonaws.com"
                     and (e.get("requestParameters") or {}).get("key") == "audited"]
        if len(kms) >= 2 and len(s3_events) >= 2 or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert sorted(e["eventName"] for e in kms) == ["Decrypt", "GenerateDataKey"]
    for event in kms:
        identity = event["userIdentity"]
        assert identity["arn"] == f"arn:aws:iam::{ACCOUNT_ID}:user/alice"
        assert identity["invokedBy"] == "s3.amazonaws.com"
        assert event["sourceIPAddress"] == "s3.amazonaws.com" and event["userAgent"] == "s3.amazonaws.com"
    assert sorted(e["eventName"] for e in s3_events) == ["GetObject", "PutObject"]
    put_event = next(e for e in s3_events if e["eventName"] == "PutObject")
    assert put_event["requestParameters"]["x-amz-server-side-encryption"] == "aws:kms"
    assert put_event["userIdentity"]["arn"].endswith(":user/alice") and put_event["eventCategory"] == "Data"
    assert USERS["alice"][1] not in json.dumps(events)


def test_the_object_store_holds_only_ciphertext(server: TrentServer, s3, bucket: str) -> None:
    key, _ = sse_c_key()
    s3.put_object(Bucket=bucket, Key="scan-s3", Body=body(5000))
    s3.put_object(Bucket=bucket, Key="scan-kms", Body=body(5000), ServerSideEncryption="aws:kms")
    s3.put_object(Bucket=bucket, Key="scan-c", Body=body(5000), SSECustomerAlgorithm="AES256", SSECustomerKey=key)
    root = Path(server.data_dir) / "objects"
    scanned = assert_no_plaintext(p.read_bytes() for p in blob_files(root))
    assert scanned >= 3
    # names say nothing about buckets or keys
    assert not any(bucket in str(p) or "scan" in str(p) for p in blob_files(root))
    assert key not in (server.data_dir / "trent.db").read_bytes()


def test_small_objects_are_kept_in_the_database_as_ciphertext(server: TrentServer, s3) -> None:
    """At most TRENT_S3_INLINE_MAX bytes (4 KiB): the ciphertext goes into the object's row,
    nothing into the object store; the database files hold no plaintext; every mode, a
    Range, HEAD, and a copy that re-encrypts read it back."""
    s3.create_bucket(Bucket="sse-small")
    root = Path(server.data_dir) / "objects"
    before = set(blob_files(root))
    key, _ = sse_c_key()
    data = {"s3": body(1), "kms": body(1024), "bk": body(2048), "c": body(4096)}
    s3.put_object(Bucket="sse-small", Key="s3", Body=data["s3"])
    s3.put_object(Bucket="sse-small", Key="kms", Body=data["kms"], ServerSideEncryption="aws:kms")
    s3.put_object(Bucket="sse-small", Key="bk", Body=data["bk"], ServerSideEncryption="aws:kms",
                  BucketKeyEnabled=True)
    s3.put_object(Bucket="sse-small", Key="c", Body=data["c"], SSECustomerAlgorithm="AES256", SSECustomerKey=key)
    assert set(blob_files(root)) == before
    for name in ("s3", "kms", "bk"):
        assert s3.get_object(Bucket="sse-small", Key=name)["Body"].read() == data[name]
    got = s3.get_object(Bucket="sse-small", Key="c", SSECustomerAlgorithm="AES256", SSECustomerKey=key,
                        Range="bytes=4000-")
    assert got["Body"].read() == data["c"][4000:] and got["ContentRange"] == "bytes 4000-4095/4096"
    head = s3.head_object(Bucket="sse-small", Key="kms")
    assert head["ContentLength"] == 1024 and head["ServerSideEncryption"] == "aws:kms"
    s3.copy_object(Bucket="sse-small", Key="kms", CopySource={"Bucket": "sse-small", "Key": "kms"},
                   ServerSideEncryption="AES256")
    assert s3.get_object(Bucket="sse-small", Key="kms")["Body"].read() == data["kms"]
    assert set(blob_files(root)) == before
    database = [p.read_bytes() for p in Path(server.data_dir).glob("trent.db*")]
    assert len(database) >= 1 and assert_no_plaintext(iter(database)) == len(database)
    assert not any(key in part for part in database)


def test_overwrite_and_delete_remove_the_old_content_after_the_grace(server: TrentServer, s3) -> None:
    s3.create_bucket(Bucket="sse-overwrite")
    root = Path(server.data_dir) / "objects"
    before = set(blob_files(root))
    s3.put_object(Bucket="sse-overwrite", Key="k", Body=body(5000))  # above TRENT_S3_INLINE_MAX
    first = set(blob_files(root)) - before
    assert len(first) == 1
    s3.put_object(Bucket="sse-overwrite", Key="k", Body=body(6000))
    both = set(blob_files(root)) - before
    # the replaced blob stays for the reaper's grace period: a GET that read the old row
    # may be about to open it (service/s3/blob_reaper.py)
    assert len(both) == 2 and first < both
    s3.delete_object(Bucket="sse-overwrite", Key="k")
    assert set(blob_files(root)) - before == both
    server.advance_clock("1s")  # a sweep: stamps both as garbage at the dev clock's now
    assert set(blob_files(root)) - before == both
    server.advance_clock("1h")  # the default grace is over: both unlinked
    assert set(blob_files(root)) - before == set()


def test_an_anonymous_request_is_access_denied(s3, bucket: str) -> None:
    """No Authorization header and no query-string signature: S3's answer to an anonymous
    request, 403 AccessDenied. (Presigned URLs, which sign the query instead, are served:
    tests/wire/test_s3_presigned.py.)"""
    import urllib.error
    import urllib.request

    s3.put_object(Bucket=bucket, Key="anonymous", Body=b"x")
    url = s3.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": "anonymous"}, ExpiresIn=60)
    with pytest.raises(urllib.error.HTTPError) as info:
        urllib.request.urlopen(url.split("?", 1)[0], timeout=10)  # noqa: S310 - the test server
    assert info.value.code == 403 and b"<Code>AccessDenied</Code>" in info.value.read()


def test_tampered_content_is_never_served(server: TrentServer, s3, bucket: str) -> None:
    """A stored segment that does not authenticate: a read that starts there is a 500; a
    read that reaches it after the headers left is cut short, never answered with wrong
    bytes."""
    from botocore.exceptions import BotoCoreError

    from trent.crypto.segments import HEADER_LEN, SEGMENT_SIZE, TAG_LEN

    root = Path(server.data_dir) / "objects"
    before = set(blob_files(root))
    data = body(48 * SEGMENT_SIZE)  # 3 MiB: the store reads 256 KiB at a time
    s3.put_object(Bucket=bucket, Key="tampered", Body=data)
    (blob,) = set(blob_files(root)) - before
    raw = bytearray(blob.read_bytes())
    bad = 40  # a segment well past the first piece read
    raw[HEADER_LEN + bad * (SEGMENT_SIZE + TAG_LEN) + 10] ^= 1
    blob.write_bytes(bytes(raw))
    assert s3.get_object(Bucket=bucket, Key="tampered", Range="bytes=0-99")["Body"].read() == data[:100]
    code, status, _ = error_of(s3.get_object, Bucket=bucket, Key="tampered",
                               Range=f"bytes={bad * SEGMENT_SIZE + 5}-{bad * SEGMENT_SIZE + 50}")
    assert (code, status) == ("InternalError", 500)
    got = s3_client(server).get_object(Bucket=bucket, Key="tampered")
    assert got["ResponseMetadata"]["HTTPStatusCode"] == 200  # the headers left before the bad segment
    received = bytearray()
    with pytest.raises((BotoCoreError, ConnectionError, ValueError)):
        while piece := got["Body"].read(8192):
            received += piece
    assert len(received) <= bad * SEGMENT_SIZE and bytes(received) == data[: len(received)]


def test_request_documents_are_checked_against_their_checksum(server: TrentServer, bucket: str) -> None:
    s3 = s3_client(server)
    s3.put_object(Bucket=bucket, Key="doc-check", Body=b"x")

    def corrupt(request, **_):
        for name in list(request.headers.keys()):
            if name.lower().startswith("x-amz-checksum-") or name.lower() == "content-md5":
                del request.headers[name]
                request.headers[name] = "AAAAAA=="

    s3.meta.events.register("before-sign.s3.DeleteObjects", corrupt)
    code, status, _ = error_of(s3.delete_objects, Bucket=bucket, Delete={"Objects": [{"Key": "doc-check"}]})
    assert (code, status) == ("BadDigest", 400)
    assert s3_client(server).head_object(Bucket=bucket, Key="doc-check")["ContentLength"] == 1


def test_concurrent_writers_and_readers(server: TrentServer) -> None:
    """Uploads and downloads in parallel (each mode), with the KMS API in between: nothing
    waits on another request's transaction, every object reads back as written."""
    from concurrent.futures import ThreadPoolExecutor

    s3 = s3_client(server)
    s3.create_bucket(Bucket="sse-parallel")
    key, _ = sse_c_key()
    modes = [{}, {"ServerSideEncryption": "aws:kms"}, {"ServerSideEncryption": "aws:kms", "BucketKeyEnabled": True},
             {"SSECustomerAlgorithm": "AES256", "SSECustomerKey": key}]

    def one(i: int) -> bool:
        client = s3_client(server)
        extra = modes[i % len(modes)]
        data = body(50_000 + 997 * i)
        client.put_object(Bucket="sse-parallel", Key=f"o{i}", Body=data, **extra)
        read = {k: v for k, v in extra.items() if k.startswith("SSECustomer")}
        server.client("kms").list_keys(Limit=1)
        return client.get_object(Bucket="sse-parallel", Key=f"o{i}", **read)["Body"].read() == data

    with ThreadPoolExecutor(8) as pool:
        assert all(pool.map(one, range(40)))
    assert s3.list_objects_v2(Bucket="sse-parallel")["KeyCount"] == 40
