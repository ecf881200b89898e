"""CopyObject (in-place re-encryption), multipart uploads (UploadPartCopy included) and the
AWS CLI against Trent's S3 endpoint (issue 17): `aws s3 cp` of a 200 MiB file (multipart)
up and down with the server's peak RSS checked, `aws s3api put-object --sse aws:kms
--sse-kms-key-id alias/x`, `--sse-c --sse-c-key fileb://`, and `aws s3 cp --sse AES256`
re-encrypting a copy."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from botocore.exceptions import ClientError

from tests.fixtures.trent_server import TrentServer, seeded_trent
from tests.wire.s3_helpers import SEED, body, s3_client, sse_c_key
from tests.wire.test_aws_cli import aws_binary

MIB = 1 << 20


@pytest.fixture(scope="module")
def server() -> Iterator[TrentServer]:
    with seeded_trent(SEED, prefix="trent-s3-copy-") as server:
        yield server


@pytest.fixture(scope="module")
def s3(server: TrentServer):
    client = s3_client(server)
    client.create_bucket(Bucket="copies")
    return client


@pytest.fixture(scope="module")
def key_arn(server: TrentServer) -> str:
    kms = server.client("kms")
    arn = kms.create_key()["KeyMetadata"]["Arn"]
    kms.create_alias(AliasName="alias/x", TargetKeyId=arn)
    return arn


def aws(server: TrentServer, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    env = {**os.environ, "AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test", "AWS_DEFAULT_REGION": "us-east-1",
           "AWS_CONFIG_FILE": os.devnull, "AWS_SHARED_CREDENTIALS_FILE": os.devnull}
    out = subprocess.run([aws_binary(), "--endpoint-url", server.endpoint_url, "--output", "json", *args],
                         capture_output=True, text=True, env=env, timeout=600)
    if check:
        assert out.returncode == 0, out.stderr
    return out


def peak_rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    raise AssertionError("no VmHWM")


# --- CopyObject -------------------------------------------------------------------------------


def test_in_place_copy_changes_the_mode_and_key(s3, key_arn: str) -> None:
    data = body(300_000)
    s3.put_object(Bucket="copies", Key="obj", Body=data, Metadata={"a": "1"})
    with pytest.raises(ClientError) as info:  # S3: an in-place copy must change something
        s3.copy_object(Bucket="copies", Key="obj", CopySource={"Bucket": "copies", "Key": "obj"})
    assert info.value.response["Error"]["Code"] == "InvalidRequest"
    copied = s3.copy_object(Bucket="copies", Key="obj", CopySource={"Bucket": "copies", "Key": "obj"},
                            ServerSideEncryption="aws:kms", SSEKMSKeyId="alias/x")
    assert copied["ServerSideEncryption"] == "aws:kms" and copied["SSEKMSKeyId"] == key_arn
    got = s3.get_object(Bucket="copies", Key="obj")
    assert got["Body"].read() == data and got["SSEKMSKeyId"] == key_arn and got["Metadata"] == {"a": "1"}
    # to SSE-C and back: the copy source's own key travels in x-amz-copy-source-*-customer-*
    key, key_md5 = sse_c_key()
    to_c = s3.copy_object(Bucket="copies", Key="obj", CopySource={"Bucket": "copies", "Key": "obj"},
                          SSECustomerAlgorithm="AES256", SSECustomerKey=key)
    assert to_c["SSECustomerKeyMD5"] == key_md5
    back = s3.copy_object(Bucket="copies", Key="obj2", CopySource={"Bucket": "copies", "Key": "obj"},
                          CopySourceSSECustomerAlgorithm="AES256", CopySourceSSECustomerKey=key,
                          ServerSideEncryption="AES256")
    assert back["ServerSideEncryption"] == "AES256"
    assert s3.get_object(Bucket="copies", Key="obj2")["Body"].read() == data
    with pytest.raises(ClientError) as info:  # the SSE-C source without its key
        s3.copy_object(Bucket="copies", Key="obj3", CopySource={"Bucket": "copies", "Key": "obj"})
    assert info.value.response["Error"]["Code"] == "InvalidRequest"


def test_copy_with_replaced_metadata(s3) -> None:
    s3.put_object(Bucket="copies", Key="meta", Body=b"m", Metadata={"old": "1"})
    s3.copy_object(Bucket="copies", Key="meta-copy", CopySource="copies/meta", MetadataDirective="REPLACE",
                   Metadata={"new": "2"}, ContentType="text/plain")
    got = s3.head_object(Bucket="copies", Key="meta-copy")
    assert got["Metadata"] == {"new": "2"} and got["ContentType"] == "text/plain"


# --- multipart --------------------------------------------------------------------------------


def test_multipart_with_upload_part_copy_and_sse_kms(s3, key_arn: str) -> None:
    first, source = body(5 * MIB + 123), body(6 * MIB)
    s3.put_object(Bucket="copies", Key="part-source", Body=source)
    upload = s3.create_multipart_upload(Bucket="copies", Key="mp", ServerSideEncryption="aws:kms", SSEKMSKeyId=key_arn)
    assert upload["ServerSideEncryption"] == "aws:kms" and upload["SSEKMSKeyId"] == key_arn
    uid = upload["UploadId"]
    p1 = s3.upload_part(Bucket="copies", Key="mp", UploadId=uid, PartNumber=1, Body=first)
    assert p1["ServerSideEncryption"] == "aws:kms"
    p2 = s3.upload_part_copy(Bucket="copies", Key="mp", UploadId=uid, PartNumber=2,
                             CopySource={"Bucket": "copies", "Key": "part-source"},
                             CopySourceRange=f"bytes=0-{5 * MIB - 1}")["CopyPartResult"]
    p3 = s3.upload_part(Bucket="copies", Key="mp", UploadId=uid, PartNumber=3, Body=b"tail")
    listed = s3.list_parts(Bucket="copies", Key="mp", UploadId=uid)
    assert [p["PartNumber"] for p in listed["Parts"]] == [1, 2, 3]
    assert uid in [u["UploadId"] for u in s3.list_multipart_uploads(Bucket="copies")["Uploads"]]
    done = s3.complete_multipart_upload(Bucket="copies", Key="mp", UploadId=uid, MultipartUpload={"Parts": [
        {"PartNumber": 1, "ETag": p1["ETag"]}, {"PartNumber": 2, "ETag": p2["ETag"]},
        {"PartNumber": 3, "ETag": p3["ETag"]}]})
    assert done["ETag"].endswith('-3"') and done["SSEKMSKeyId"] == key_arn
    expected = first + source[: 5 * MIB] + b"tail"
    got = s3.get_object(Bucket="copies", Key="mp")
    assert got["ContentLength"] == len(expected) and got["Body"].read() == expected
    part = s3.get_object(Bucket="copies", Key="mp", PartNumber=3)
    assert part["Body"].read() == b"tail" and part["PartsCount"] == 3
    ranged = s3.get_object(Bucket="copies", Key="mp", Range=f"bytes={5 * MIB}-{5 * MIB + 300}")
    assert ranged["Body"].read() == expected[5 * MIB : 5 * MIB + 301]


def test_abort_and_sse_c_parts_must_repeat_the_key(s3) -> None:
    key, _ = sse_c_key()
    uid = s3.create_multipart_upload(Bucket="copies", Key="mpc", SSECustomerAlgorithm="AES256",
                                     SSECustomerKey=key)["UploadId"]
    with pytest.raises(ClientError) as info:
        s3.upload_part(Bucket="copies", Key="mpc", UploadId=uid, PartNumber=1, Body=b"x")
    assert info.value.response["Error"]["Code"] == "InvalidRequest"
    s3.upload_part(Bucket="copies", Key="mpc", UploadId=uid, PartNumber=1, Body=b"x", SSECustomerAlgorithm="AES256",
                   SSECustomerKey=key)
    s3.abort_multipart_upload(Bucket="copies", Key="mpc", UploadId=uid)
    with pytest.raises(ClientError) as info:
        s3.list_parts(Bucket="copies", Key="mpc", UploadId=uid)
    assert info.value.response["Error"]["Code"] == "NoSuchUpload"
    assert info.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404


# --- the AWS CLI ------------------------------------------------------------------------------


def test_a_complete_listing_10000_parts_is_read(s3) -> None:
    """S3 takes up to 10,000 parts; botocore lists each with its ETag, number and checksum,
    ~1.3 MB for 10,000 (over the 1 MiB of other documents): the document is read and its
    parts checked, here refused as not uploaded (InvalidPart), not as MalformedXML."""
    upload = s3.create_multipart_upload(Bucket="copies", Key="many-parts")["UploadId"]
    s3.upload_part(Bucket="copies", Key="many-parts", UploadId=upload, PartNumber=1, Body=b"only one")
    parts = [{"PartNumber": n, "ETag": f'"{n:032x}"', "ChecksumCRC32": "AAAAAA=="} for n in range(1, 10_001)]
    with pytest.raises(ClientError) as refused:
        s3.complete_multipart_upload(Bucket="copies", Key="many-parts", UploadId=upload,
                                     MultipartUpload={"Parts": parts})
    error = refused.value.response
    assert (error["ResponseMetadata"]["HTTPStatusCode"], error["Error"]["Code"]) == (400, "InvalidPart")
    s3.abort_multipart_upload(Bucket="copies", Key="many-parts", UploadId=upload)


def test_aws_s3api_put_object_with_sse_kms_alias_and_sse_c(server: TrentServer, s3, key_arn: str, tmp_path: Path) -> None:
    source = tmp_path / "in.bin"
    source.write_bytes(body(100_000))
    out = json.loads(aws(server, "s3api", "put-object", "--bucket", "copies", "--key", "cli-kms", "--body", str(source),
                         "--server-side-encryption", "aws:kms", "--ssekms-key-id", "alias/x").stdout)
    assert out["ServerSideEncryption"] == "aws:kms" and out["SSEKMSKeyId"] == key_arn
    key_file = tmp_path / "key.bin"
    key, key_md5 = sse_c_key()
    key_file.write_bytes(key)
    out = json.loads(aws(server, "s3api", "put-object", "--bucket", "copies", "--key", "cli-c", "--body", str(source),
                         "--sse-customer-algorithm", "AES256", "--sse-customer-key", f"fileb://{key_file}").stdout)
    assert out["SSECustomerKeyMD5"] == key_md5
    target = tmp_path / "out.bin"
    aws(server, "s3", "cp", "s3://copies/cli-c", str(target), "--sse-c", "AES256", "--sse-c-key", f"fileb://{key_file}")
    assert target.read_bytes() == source.read_bytes()
    # aws s3 cp --sse AES256: a server-side copy that re-encrypts (SSE-KMS -> SSE-S3)
    aws(server, "s3", "cp", "s3://copies/cli-kms", "s3://copies/cli-kms", "--sse", "AES256")
    assert s3.head_object(Bucket="copies", Key="cli-kms")["ServerSideEncryption"] == "AES256"
    assert s3.get_object(Bucket="copies", Key="cli-kms")["Body"].read() == source.read_bytes()


def test_aws_s3_cp_200_mib_up_and_down_with_flat_rss(server: TrentServer, s3, tmp_path: Path) -> None:
    source = tmp_path / "big.bin"
    digest = hashlib.sha256()
    with source.open("wb") as out:
        for _ in range(200):
            piece = body(MIB)
            digest.update(piece)
            out.write(piece)
    aws(server, "s3", "cp", str(tmp_path / "small"), "s3://copies/warm", check=False)  # warm-up
    before = peak_rss_kib(server.process.pid)
    aws(server, "s3", "cp", str(source), "s3://copies/big.bin", "--sse", "aws:kms")
    target = tmp_path / "back.bin"
    aws(server, "s3", "cp", "s3://copies/big.bin", str(target))
    after = peak_rss_kib(server.process.pid)
    back = hashlib.sha256()
    with target.open("rb") as f:
        while piece := f.read(MIB):
            back.update(piece)
    assert back.hexdigest() == digest.hexdigest()
    growth_mib = (after - before) / 1024
    print(f"trent peak RSS before {before / 1024:.0f} MiB, after 200 MiB up+down {after / 1024:.0f} MiB "
          f"(+{growth_mib:.0f} MiB)")
    # streamed both ways: the peak grows by a few pipe buffers and parts in flight, not by the object
    assert growth_mib < 48, f"peak RSS grew by {growth_mib:.0f} MiB for a 200 MiB object"
    head = s3_client(server).head_object(Bucket="copies", Key="big.bin")
    assert head["ContentLength"] == 200 * MIB and head["ETag"].endswith('-25"')  # 8 MiB parts


def test_aws_s3_mb_sync_ls_rm_rb(server: TrentServer, tmp_path: Path) -> None:
    source = tmp_path / "tree"
    (source / "sub").mkdir(parents=True)
    files = {"a.txt": body(100), "b.bin": body(70_000), "sub/c.txt": body(10)}
    for name, data in files.items():
        (source / name).write_bytes(data)
    aws(server, "s3", "mb", "s3://cli-tree")
    aws(server, "s3", "sync", str(source), "s3://cli-tree/tree", "--sse", "aws:kms")
    listing = aws(server, "s3", "ls", "--recursive", "s3://cli-tree/").stdout
    assert sorted(line.split()[-1] for line in listing.splitlines()) == sorted(f"tree/{n}" for n in files)
    back = tmp_path / "back"
    aws(server, "s3", "sync", "s3://cli-tree/tree", str(back))
    assert {n: (back / n).read_bytes() for n in files} == files
    aws(server, "s3", "rm", "--recursive", "s3://cli-tree/tree")
    aws(server, "s3", "rb", "s3://cli-tree")
    assert "cli-tree" not in aws(server, "s3", "ls").stdout
