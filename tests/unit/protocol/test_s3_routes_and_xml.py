"""S3 routing (issue 17: every SSE operation from method + path + query + copy-source
header; the trail bucket's read-only table untouched; virtual-hosted addressing) and the
request documents S3 accepts (``protocol/s3/xml_in.py``: MalformedXML for anything else)."""

from __future__ import annotations

import pytest

from trent import errors
from trent.domain.s3.records import SseMode
from trent.protocol.s3 import xml_in
from trent.protocol.s3.routes import (
    ROUTES,
    SSE_ROUTES,
    SUBRESOURCES,
    Route,
    S3Request,
    operation_name,
    parse,
    resolve,
    route,
    virtual_host_bucket,
)

COPY = [(b"x-amz-copy-source", b"src/key")]


@pytest.mark.parametrize(
    ("method", "path", "query", "headers", "operation"),
    [
        ("GET", "/", "", [], "ListBuckets"),
        ("PUT", "/bkt", "", [], "CreateBucket"),
        ("DELETE", "/bkt", "", [], "DeleteBucket"),
        ("HEAD", "/bkt", "", [], "HeadBucket"),
        ("GET", "/bkt", "location", [], "GetBucketLocation"),
        ("GET", "/bkt", "list-type=2&prefix=a", [], "ListObjectsV2"),
        ("GET", "/bkt", "prefix=a&marker=b", [], "ListObjects"),
        ("GET", "/bkt", "uploads", [], "ListMultipartUploads"),
        ("POST", "/bkt", "delete", [], "DeleteObjects"),
        ("PUT", "/bkt", "encryption", [], "PutBucketEncryption"),
        ("GET", "/bkt", "encryption", [], "GetBucketEncryption"),
        ("DELETE", "/bkt", "encryption", [], "DeleteBucketEncryption"),
        ("PUT", "/bkt", "policy", [], "PutBucketPolicy"),
        ("GET", "/bkt", "policy", [], "GetBucketPolicy"),
        ("DELETE", "/bkt", "policy", [], "DeleteBucketPolicy"),
        ("PUT", "/bkt/a/b", "", [], "PutObject"),
        ("PUT", "/bkt/a/b", "", COPY, "CopyObject"),
        ("GET", "/bkt/a/b", "", [], "GetObject"),
        ("GET", "/bkt/a/b", "partNumber=2", [], "GetObject"),
        ("HEAD", "/bkt/a/b", "partNumber=1", [], "HeadObject"),
        ("DELETE", "/bkt/a/b", "", [], "DeleteObject"),
        ("POST", "/bkt/a/b", "uploads", [], "CreateMultipartUpload"),
        ("PUT", "/bkt/a/b", "partNumber=1&uploadId=u", [], "UploadPart"),
        ("PUT", "/bkt/a/b", "partNumber=1&uploadId=u", COPY, "UploadPartCopy"),
        ("POST", "/bkt/a/b", "uploadId=u", [], "CompleteMultipartUpload"),
        ("DELETE", "/bkt/a/b", "uploadId=u", [], "AbortMultipartUpload"),
        ("GET", "/bkt/a/b", "uploadId=u", [], "ListParts"),
    ],
)
def test_every_sse_operation_routes(method, path, query, headers, operation) -> None:
    assert route(parse(method, path, query, headers), SSE_ROUTES).operation == operation


@pytest.mark.parametrize(
    ("method", "path", "query"),
    [("GET", "/bkt", "acl"), ("PUT", "/bkt/k", "tagging"), ("GET", "/bkt/k", "torrent"), ("POST", "/bkt/k", ""),
     ("PUT", "/bkt/k", "uploadId=u")],  # UploadPart without partNumber
)
def test_what_is_not_served_is_not_implemented_never_another_operation(method, path, query) -> None:
    with pytest.raises(errors.FeatureNotImplemented):
        route(parse(method, path, query, []), SSE_ROUTES)


def test_the_trail_bucket_stays_read_only() -> None:
    assert route(parse("GET", "/trail/k", "", []), ROUTES).operation == "GetObject"
    with pytest.raises(errors.AccessDenied):
        route(parse("PUT", "/trail/k", "", []), ROUTES)


def test_keys_are_percent_decoded_and_virtual_hosts_name_the_bucket() -> None:
    request = parse("GET", "/bkt/a%20b/c%2Bd", "", [])
    assert (request.bucket, request.key) == ("bkt", "a b/c+d")
    assert virtual_host_bucket("photos.s3.example.test:8443", "s3.example.test") == "photos"
    assert virtual_host_bucket("PHOTOS.S3.Example.Test", "s3.example.test") == "photos"
    assert virtual_host_bucket("s3.example.test:8443", "s3.example.test") is None
    assert virtual_host_bucket("127.0.0.1:8080", "s3.example.test") is None
    assert virtual_host_bucket("photos.s3.example.test", None) is None
    virtual = parse("PUT", "/dir/a%2Fb", "", [], "photos")
    assert (virtual.bucket, virtual.key) == ("photos", "dir/a/b")
    assert parse("GET", "/", "list-type=2", [], "photos").key is None


NS = 'xmlns="http://s3.amazonaws.com/doc/2006-03-01/"'


def test_documents_with_and_without_the_namespace() -> None:
    assert xml_in.create_bucket_configuration(b"") is None
    body = f"<CreateBucketConfiguration {NS}><LocationConstraint>eu-west-1</LocationConstraint>" \
           "</CreateBucketConfiguration>"
    assert xml_in.create_bucket_configuration(body.encode()) == "eu-west-1"
    keys, quiet = xml_in.delete_request(
        b"<Delete><Quiet>true</Quiet><Object><Key>a</Key></Object><Object><Key>b &amp; c</Key></Object></Delete>")
    assert (keys, quiet) == (["a", "b & c"], True)
    parts = xml_in.completed_parts(
        f'<CompleteMultipartUpload {NS}><Part><ETag>"e1"</ETag><PartNumber>1</PartNumber></Part>'
        "<Part><PartNumber>2</PartNumber><ETag>e2</ETag></Part></CompleteMultipartUpload>".encode())
    assert [(p.part_number, p.etag) for p in parts] == [(1, '"e1"'), (2, "e2")]
    rules = xml_in.encryption_rules(
        f"<ServerSideEncryptionConfiguration {NS}><Rule><ApplyServerSideEncryptionByDefault>"
        "<SSEAlgorithm>aws:kms</SSEAlgorithm><KMSMasterKeyID>alias/x</KMSMasterKeyID>"
        "</ApplyServerSideEncryptionByDefault><BucketKeyEnabled>true</BucketKeyEnabled></Rule>"
        "</ServerSideEncryptionConfiguration>".encode())
    assert [(r.algorithm, r.kms_master_key_id, r.bucket_key_enabled) for r in rules] == [
        (SseMode.SSE_KMS, "alias/x", True)]


@pytest.mark.parametrize(
    ("parse_", "body"),
    [
        (xml_in.delete_request, b"<Delete></Delete>"),
        (xml_in.delete_request, b"<Delete><Object><Key>a</Key>"),
        (xml_in.delete_request, b"<Remove><Object><Key>a</Key></Object></Remove>"),
        (xml_in.delete_request, b'<!DOCTYPE d [<!ENTITY x "y">]><Delete><Object><Key>&x;</Key></Object></Delete>'),
        (xml_in.completed_parts, b"<CompleteMultipartUpload><Part><PartNumber>x</PartNumber><ETag>e</ETag></Part>"
                                 b"</CompleteMultipartUpload>"),
        (xml_in.completed_parts, b"<CompleteMultipartUpload></CompleteMultipartUpload>"),
        (xml_in.encryption_rules, b"<ServerSideEncryptionConfiguration><Rule></Rule></ServerSideEncryptionConfiguration>"),
        (xml_in.encryption_rules, b"<ServerSideEncryptionConfiguration><Rule><ApplyServerSideEncryptionByDefault>"
                                  b"<SSEAlgorithm>AES128</SSEAlgorithm></ApplyServerSideEncryptionByDefault></Rule>"
                                  b"</ServerSideEncryptionConfiguration>"),
        (xml_in.create_bucket_configuration, b"not xml"),
    ],
)
def test_anything_else_is_malformed_xml(parse_, body: bytes) -> None:
    with pytest.raises(errors.MalformedXML):
        parse_(body)


def _delete(keys: list[str], escaped: str) -> bytes:
    """A DeleteObjects document naming ``keys``, each character ``c`` of theirs written ``escaped``."""
    return (f"<Delete {NS}>" + "".join("<Object><Key>" + key.replace("c", escaped) + "</Key></Object>" for key in keys)
            + "</Delete>").encode()


@pytest.mark.parametrize("escaped", ["c", "&amp;", "&quot;"], ids=["plain", "ampersands", "quotes"])
def test_a_delete_of_1000_keys_of_1024_bytes_is_read_whatever_their_escaping(escaped: str) -> None:
    """S3 takes 1000 keys of up to 1024 bytes each: over 1 MiB of XML already, up to six
    times that with escaped characters (botocore writes ``&`` as ``&amp;``)."""
    keys = [f"{i:04d}-".ljust(1024, "c") for i in range(1000)]
    body = _delete(keys, escaped)
    assert xml_in.MAX_DOCUMENT_BYTES < len(body) <= xml_in.MAX_DELETE_DOCUMENT_BYTES
    expected = [key.replace("c", {"c": "c", "&amp;": "&", "&quot;": '"'}[escaped]) for key in keys]
    assert xml_in.delete_request(body) == (expected, False)


def test_a_complete_of_10000_parts_as_botocore_writes_it_is_read() -> None:
    """S3 takes 10,000 parts; botocore lists each with its ETag, number and checksum:
    ~1.6 MB with SHA-256 checksums, over the 1 MiB of other documents."""
    from botocore import serialize
    from botocore.session import get_session

    model = get_session().get_service_model("s3")
    parts = [{"PartNumber": n, "ETag": f'"{n:032x}"', "ChecksumSHA256": "A" * 43 + "="} for n in range(1, 10_001)]
    request = serialize.create_serializer("rest-xml").serialize_to_request(
        {"Bucket": "b", "Key": "k", "UploadId": "u", "MultipartUpload": {"Parts": parts}},
        model.operation_model("CompleteMultipartUpload"))
    body = request["body"]
    assert xml_in.MAX_DOCUMENT_BYTES < len(body) <= xml_in.MAX_COMPLETE_DOCUMENT_BYTES
    read = xml_in.completed_parts(body)
    assert [(p.part_number, p.etag) for p in read] == [(n, f'"{n:032x}"') for n in range(1, 10_001)]


def test_documents_over_their_limit_are_malformed_xml() -> None:
    """Each document's limit: DeleteObjects', CompleteMultipartUpload's, every other's."""
    over = _delete(["k"], "c").replace(b"</Delete>", b" " * xml_in.MAX_DELETE_DOCUMENT_BYTES + b"</Delete>")
    with pytest.raises(errors.MalformedXML):
        xml_in.delete_request(over)
    parts = b"<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>e</ETag></Part>%s" \
            b"</CompleteMultipartUpload>"
    assert xml_in.completed_parts(parts % b"")
    assert xml_in.completed_parts(parts % (b" " * xml_in.MAX_DOCUMENT_BYTES))
    with pytest.raises(errors.MalformedXML):
        xml_in.completed_parts(parts % (b" " * xml_in.MAX_COMPLETE_DOCUMENT_BYTES))
    rules = (b"<ServerSideEncryptionConfiguration><Rule><ApplyServerSideEncryptionByDefault><SSEAlgorithm>AES256"
             b"</SSEAlgorithm></ApplyServerSideEncryptionByDefault></Rule>%s</ServerSideEncryptionConfiguration>")
    assert xml_in.encryption_rules(rules % b"")
    with pytest.raises(errors.MalformedXML):
        xml_in.encryption_rules(rules % (b" " * xml_in.MAX_DOCUMENT_BYTES))


def test_resolve_routes_once_and_keeps_the_refusal_for_later() -> None:
    """The front door routes a request once: the operation names its event at once, and
    the error of a request no route matches is raised only after authentication."""
    get = parse("GET", "/bkt/k", "", [])
    assert resolve(get, SSE_ROUTES) == ("GetObject", None) and operation_name(get, SSE_ROUTES) == "GetObject"
    write = parse("PUT", "/trail-bucket/k", "", [])
    name, error = resolve(write, ROUTES)  # the trail bucket is read-only
    assert name == "PutObject" == operation_name(write, ROUTES) and isinstance(error, errors.AccessDenied)
    odd = parse("GET", "/bkt", "torrent", [])
    name, error = resolve(odd, SSE_ROUTES)
    assert name == "Unknown" and isinstance(error, errors.FeatureNotImplemented)
    with pytest.raises(errors.FeatureNotImplemented):
        route(odd, SSE_ROUTES)


def _first_match(request: S3Request, routes: tuple[Route, ...]) -> str | None:
    """The reference: the first route of the table, tried in order, that matches."""
    present = SUBRESOURCES.intersection(request.query)
    for candidate in routes:
        if (candidate.method == request.method and candidate.target is request.target
                and candidate.accepts(request, present, candidate.needed)):
            return candidate.operation
    return None


@pytest.mark.parametrize("routes", [ROUTES, SSE_ROUTES], ids=["trail", "sse"])
def test_indexed_routing_picks_what_the_ordered_scan_picks(routes: tuple[Route, ...]) -> None:
    """``route`` looks only at the routes of the request's method and target: every
    combination of method, target, sub-resources and copy source still gets the route the
    table's first match gives (or the same refusal)."""
    queries = ["", "location", "list-type=2", "uploads", "delete", "encryption", "policy", "uploadId=u",
               "uploadId=u&partNumber=2", "partNumber=1", "versionId=v", "acl", "tagging", "list-type=1"]
    for method in ("GET", "HEAD", "PUT", "POST", "DELETE", "PATCH"):
        for path in ("/", "/bkt", "/bkt/key"):
            for query in queries:
                for headers in ([], COPY):
                    request = parse(method, path, query, headers)
                    expected = _first_match(request, routes)
                    try:
                        got: str | None = route(request, routes).operation
                    except (errors.AccessDenied, errors.FeatureNotImplemented):
                        got = None
                    assert got == expected, (method, path, query, headers)
