"""STS query protocol (protocol/sts.py): routing, parsing, validation, XML read back by botocore."""

from __future__ import annotations

import botocore.session
import pytest
from botocore.parsers import QueryParser

from trent import errors
from trent.protocol import sts

MODEL = botocore.session.get_session().get_service_model("sts")


def parse_with_botocore(operation: str, status: int, body: bytes) -> dict:
    shape = MODEL.operation_model(operation).output_shape
    return QueryParser().parse({"status_code": status, "headers": {}, "body": body}, shape)


def test_routing():
    """STS goes through the one router (protocol/router.py, issue 16)."""
    from trent.protocol.router import Service, route

    form = [(b"content-type", b"application/x-www-form-urlencoded; charset=utf-8")]
    assert route("POST", "/", b"", form) is Service.STS
    assert route("POST", "/", b"", form + [(b"x-amz-target", b"TrentService.Encrypt")]) is Service.KMS
    assert route("POST", "/", b"", [(b"content-type", b"application/x-amz-json-1.1")]) is Service.KMS
    scoped = [(b"authorization", b"AWS4-HMAC-SHA256 Credential=AKID/20260101/us-east-1/sts/aws4_request, ...")]
    assert route("POST", "/", b"", scoped) is Service.STS


def test_parse_query_and_operation():
    params = sts.parse_query(b"Action=AssumeRole&Version=2011-06-15&RoleArn=arn%3Aaws%3Aiam%3A%3A111122223333%3Arole%2Fapp"
                             b"&RoleSessionName=s1&DurationSeconds=900")
    assert sts.operation_of(params) == "AssumeRole"
    parsed = sts.assume_role_input(params)
    assert parsed.role_arn == "arn:aws:iam::111122223333:role/app"
    assert (parsed.role_session_name, parsed.duration_seconds, parsed.external_id) == ("s1", 900, None)
    with pytest.raises(errors.UnknownOperation, match="Could not find operation AssumeRole for version 2010-01-01"):
        sts.operation_of({"Action": "AssumeRole", "Version": "2010-01-01"})
    with pytest.raises(errors.UnknownOperation):
        sts.operation_of({"Action": "GetSessionToken", "Version": "2011-06-15"})


BASE = {"Action": "AssumeRole", "Version": "2011-06-15", "RoleArn": "arn:aws:iam::111122223333:role/app",
        "RoleSessionName": "s1"}


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"RoleSessionName": "x"}, "Value 'x' at 'roleSessionName' failed to satisfy constraint: "
                                   "Member must have length greater than or equal to 2"),
        ({"RoleSessionName": "a" * 65}, "Member must have length less than or equal to 64"),
        ({"RoleSessionName": "bad name"}, "Member must satisfy regular expression pattern: [\\w+=,.@-]*"),
        ({"DurationSeconds": "899"}, "Value '899' at 'durationSeconds' failed to satisfy constraint: "
                                     "Member must have value greater than or equal to 900"),
        ({"DurationSeconds": "43201"}, "Member must have value less than or equal to 43200"),
        ({"ExternalId": "a"}, "at 'externalId' failed to satisfy constraint"),
        ({"RoleArn": "short"}, "at 'roleArn' failed to satisfy constraint: Member must have length greater"),
    ],
)
def test_validation(change, message):
    with pytest.raises(errors.ValidationError) as info:
        sts.assume_role_input({**BASE, **change})
    assert message in info.value.message
    assert info.value.message.startswith("1 validation error detected: ")


def test_missing_required_member():
    params = {k: v for k, v in BASE.items() if k != "RoleSessionName"}
    with pytest.raises(errors.ValidationError, match="Value null at 'roleSessionName'.*must not be null"):
        sts.assume_role_input(params)


@pytest.mark.parametrize("member", ["Policy", "PolicyArns.member.1.arn", "Tags.member.1.Key", "SerialNumber",
                                    "SourceIdentity", "TransitiveTagKeys.member.1"])
def test_unimplemented_members_are_refused_not_ignored(member):
    with pytest.raises(errors.ValidationError, match="does not implement"):
        sts.assume_role_input({**BASE, member: "x"})


def test_result_xml_reads_back_in_botocore():
    body = sts.result_xml("GetCallerIdentity", [("UserId", "AIDAEXAMPLE"), ("Account", "111122223333"),
                                                ("Arn", "arn:aws:iam::111122223333:user/a&b")], "req-1")
    assert b'xmlns="https://sts.amazonaws.com/doc/2011-06-15/"' in body
    out = parse_with_botocore("GetCallerIdentity", 200, body)
    assert out["Arn"] == "arn:aws:iam::111122223333:user/a&b"
    assert out["UserId"] == "AIDAEXAMPLE" and out["Account"] == "111122223333"
    assert out["ResponseMetadata"]["RequestId"] == "req-1"
    body = sts.result_xml("AssumeRole", [
        ("Credentials", [("AccessKeyId", "ASIAEXAMPLE"), ("SecretAccessKey", "s"), ("SessionToken", "t"),
                         ("Expiration", sts.iso8601(1_800_000_000))]),
        ("AssumedRoleUser", [("AssumedRoleId", "AROAX:s1"), ("Arn", "arn:aws:sts::111122223333:assumed-role/app/s1")]),
    ], "req-2")
    out = parse_with_botocore("AssumeRole", 200, body)
    assert out["Credentials"]["AccessKeyId"] == "ASIAEXAMPLE"
    assert out["Credentials"]["Expiration"].timestamp() == 1_800_000_000
    assert out["AssumedRoleUser"]["AssumedRoleId"] == "AROAX:s1"


@pytest.mark.parametrize(
    ("exc", "status", "code"),
    [
        (errors.AccessDenied("User: x is not authorized"), 403, "AccessDenied"),
        (errors.ExpiredToken(), 400, "ExpiredToken"),
        (errors.UnrecognizedClient(), 403, "InvalidClientTokenId"),
        (errors.InvalidSignature(), 403, "SignatureDoesNotMatch"),
        (errors.ValidationError("bad <value>"), 400, "ValidationError"),
        (errors.KMSInternal(), 500, "InternalFailure"),
        (errors.NotFound("unmapped"), 500, "InternalFailure"),
    ],
)
def test_error_envelope(exc, status, code):
    got_status, body, got_code, _ = sts.error_xml(exc, "req-3")
    assert (got_status, got_code) == (status, code)
    assert body.startswith(b'<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><Error><Type>')
    assert (b"<Type>Receiver</Type>" if status >= 500 else b"<Type>Sender</Type>") in body
    parsed = QueryParser().parse({"status_code": status, "headers": {}, "body": body}, None)
    assert parsed["Error"]["Code"] == code
    assert parsed["ResponseMetadata"]["RequestId"] == "req-3"
    if isinstance(exc, errors.ValidationError):
        assert parsed["Error"]["Message"] == "bad <value>"
    if isinstance(exc, errors.UnrecognizedClient):
        assert parsed["Error"]["Message"] == "The security token included in the request is invalid."
