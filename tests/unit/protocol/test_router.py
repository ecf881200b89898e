"""The one router (issue 16): which service a request is for."""

from __future__ import annotations

from trent.protocol.router import Service, route, scope_service


def auth(service: str) -> tuple[bytes, bytes]:
    return (b"authorization", f"AWS4-HMAC-SHA256 Credential=AKID/20260101/us-east-1/{service}/aws4_request, "
                               "SignedHeaders=host, Signature=00".encode())


def test_scope_service() -> None:
    assert scope_service(auth("cloudtrail")[1]) == b"cloudtrail"
    assert scope_service(b"X-Amz-Credential=AKID%2F20260101%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Date=1") == b"s3"
    assert scope_service(b"garbage") is None


def test_routes() -> None:
    kms_target = (b"x-amz-target", b"TrentService.Encrypt")
    ct_target = (b"x-amz-target", b"com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101.LookupEvents")
    assert route("POST", "/", b"", [auth("kms"), kms_target]) is Service.KMS
    assert route("POST", "/", b"", [auth("cloudtrail"), ct_target]) is Service.CLOUDTRAIL
    assert route("POST", "/", b"", [ct_target]) is Service.CLOUDTRAIL  # unsigned: by its target
    # a KMS call signed for another service is still KMS's (it answers the scope error)
    assert route("POST", "/", b"", [auth("s3"), kms_target]) is Service.KMS
    assert route("GET", "/bucket/key", b"", [auth("s3")]) is Service.S3
    assert route("HEAD", "/bucket/key", b"", []) is Service.S3  # anonymous S3
    assert route("GET", "/bucket", b"X-Amz-Credential=AKID%2Fd%2Fr%2Fs3%2Faws4_request", []) is Service.S3
    form = (b"content-type", b"application/x-www-form-urlencoded")
    assert route("POST", "/", b"", [form]) is Service.STS
    assert route("POST", "/", b"", [auth("sts"), form]) is Service.STS
    assert route("POST", "/", b"", [(b"x-amz-target", b"Nope.Op")]) is Service.KMS  # KMS answers UnknownOperation
    assert route("POST", "/", b"", []) is Service.KMS
    # unsigned, virtual-hosted: a bucket's POST /?delete is S3's (KMS calls carry no query)
    assert route("POST", "/", b"delete", []) is Service.S3
    assert route("POST", "/", b"delete=", [(b"content-type", b"application/xml")]) is Service.S3
    # STS's query protocol with its parameters in the query string
    assert route("POST", "/", b"Action=GetCallerIdentity&Version=2011-06-15", []) is Service.STS
    assert route("POST", "/", b"Version=2011-06-15&Action=GetCallerIdentity", []) is Service.STS
