"""The S3 operations of server-side encryption over HTTP (issue 17 phase 2): each handler
turns one routed request into a phase-1 use case call (``service/s3``) and its answer.

Handlers read headers (lower-case names) through the pure header rules
(``sse_headers``, ``object_headers``), request documents through ``xml_in``, and the
body through ``body.decoded`` (checked by its payload mode while it streams into the
segment encryptor). What each operation echoes follows the botocore model's output
members and s3-sse spec §2.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from trent import errors
from trent.crypto.checksums import Checksum
from trent.domain.frozen import fast_init
from trent.domain.s3.records import ObjectRecord, SseRecord, Upload
from trent.protocol.s3 import xml, xml_in
from trent.protocol.s3.answer import Answer
from trent.protocol.s3.body import BodySource, Payload, body_facts, decoded
from trent.protocol.s3.errors import sse_wire_error
from trent.protocol.s3.routes import S3Request
from trent.service.context import RequestContext
from trent.service.s3 import buckets, bucket_config, copy, listing, multipart, objects
from trent.service.s3.content import decode_content_md5
from trent.service.s3.deps import S3Deps
from trent.service.s3.object_headers import (
    http_date,
    metadata_response_headers,
    parse_conditions,
    parse_metadata,
    parse_range,
)
from trent.service.s3.sse_headers import Operation, parse_customer_key, parse_sse_request, sse_response_headers

MAX_DOCUMENT_BYTES = xml_in.MAX_DOCUMENT_BYTES
# GetObject bodies up to this size are answered from memory, not streamed (``_primed``):
# one segment, so the body is the first piece decrypt_range yields.
IN_MEMORY_ANSWER_MAX = 64 << 10
# GetObject's response-* query parameters: the header each overrides (S3 API reference).
_OVERRIDES = {
    "response-content-type": "Content-Type",
    "response-content-language": "Content-Language",
    "response-expires": "Expires",
    "response-cache-control": "Cache-Control",
    "response-content-disposition": "Content-Disposition",
    "response-content-encoding": "Content-Encoding",
}


@fast_init
@dataclass(frozen=True, slots=True)
class Call:
    """One routed SSE request as the handlers see it."""

    ctx: RequestContext
    request: S3Request
    headers: Mapping[str, str]  # lower-case names, latin-1 values
    body: BodySource
    payload: Payload

    @property
    def bucket(self) -> str:
        assert self.request.bucket is not None
        return self.request.bucket

    @property
    def key(self) -> str:
        assert self.request.key is not None
        return self.request.key

    def query(self, name: str) -> str | None:
        return self.request.query.get(name)

    def document(self, limit: int = MAX_DOCUMENT_BYTES) -> bytes:
        """A small request document, its payload checked like any body, and its
        Content-MD5 / x-amz-checksum-* header if it has one (DeleteObjects requires one)."""
        out = bytearray()
        for piece in decoded(self.body.chunks(), self.payload, self.headers):
            out += piece
            if len(out) > limit:
                raise errors.MalformedXML(audit_reason=f"request document over {limit} bytes")
        data = bytes(out)
        md5 = decode_content_md5(self.headers.get("content-md5"))
        if md5 is not None and not hmac.compare_digest(hashlib.md5(data).digest(), md5):  # noqa: S324 - S3's
            raise errors.BadDigest()
        facts = body_facts(self.headers, self.payload)
        if facts.checksum_algorithm and facts.checksum_value:
            checksum = Checksum(facts.checksum_algorithm)
            checksum.update(data)
            checksum.verify(facts.checksum_value)
        return data


Handler = Callable[[S3Deps, Call], Answer]


def _int_query(call: Call, name: str, default: int | None = None) -> int | None:
    raw = call.query(name)
    if raw is None:
        return default
    if not raw.strip().lstrip("-").isdigit():
        raise errors.InvalidArgument(
            f"Provided {name} not an integer or within integer range",
            details={"ArgumentName": name, "ArgumentValue": raw[:64]},
        )
    return int(raw)


def _sse(answer: Answer, sse: SseRecord, operation: Operation) -> Answer:
    for name, value in sse_response_headers(sse, operation).items():
        answer.header(name, value)
    return answer


def _checksum(answer: Answer, algorithm: str | None, value: str | None) -> None:
    if algorithm and value:
        answer.header(f"x-amz-checksum-{algorithm}", value)


def _part_number(call: Call) -> int:
    number = _int_query(call, "partNumber")
    assert number is not None
    return number


# --- buckets ---------------------------------------------------------------------------


def create_bucket(deps: S3Deps, call: Call) -> Answer:
    constraint = xml_in.create_bucket_configuration(call.document())
    created = buckets.create_bucket(deps, call.ctx, call.bucket, constraint)
    answer = Answer(content_length=0)
    answer.header("Location", created.location)
    return answer


def delete_bucket(deps: S3Deps, call: Call) -> Answer:
    buckets.delete_bucket(deps, call.ctx, call.bucket)
    return Answer(204)


def head_bucket(deps: S3Deps, call: Call) -> Answer:
    bucket = buckets.head_bucket(deps, call.ctx, call.bucket)
    answer = Answer(content_length=0)
    answer.header("x-amz-bucket-region", bucket.region)
    return answer


def get_bucket_location(deps: S3Deps, call: Call) -> Answer:
    location = buckets.get_bucket_location(deps, call.ctx, call.bucket)
    body = (xml.DECLARATION + f'<LocationConstraint xmlns="{xml.NAMESPACE}">{location or ""}'
            "</LocationConstraint>").encode()
    return Answer(body=body)


def put_bucket_encryption(deps: S3Deps, call: Call) -> Answer:
    rules = xml_in.encryption_rules(call.document())
    bucket_config.put_bucket_encryption(deps, call.ctx, call.bucket, rules)
    return Answer(content_length=0)


def get_bucket_encryption(deps: S3Deps, call: Call) -> Answer:
    config = bucket_config.get_bucket_encryption(deps, call.ctx, call.bucket)
    default: list[tuple[str, Any]] = [("SSEAlgorithm", str(config.algorithm))]
    if config.kms_master_key_id is not None:
        default.append(("KMSMasterKeyID", config.kms_master_key_id))
    rule = [("ApplyServerSideEncryptionByDefault", default), ("BucketKeyEnabled", config.bucket_key_enabled)]
    return Answer(body=xml.document("ServerSideEncryptionConfiguration", [("Rule", rule)]))


def delete_bucket_encryption(deps: S3Deps, call: Call) -> Answer:
    bucket_config.delete_bucket_encryption(deps, call.ctx, call.bucket)
    return Answer(204)


def put_bucket_policy(deps: S3Deps, call: Call) -> Answer:
    text = call.document(bucket_config.MAX_POLICY_BYTES * 2)
    try:
        policy = text.decode("utf-8")
    except UnicodeDecodeError:
        raise errors.MalformedPolicy("Policies must be valid JSON and the first byte must be '{'") from None
    bucket_config.put_bucket_policy(deps, call.ctx, call.bucket, policy)
    return Answer(204)


def get_bucket_policy(deps: S3Deps, call: Call) -> Answer:
    text = bucket_config.get_bucket_policy(deps, call.ctx, call.bucket)
    return Answer(body=text.encode("utf-8"), content_type=b"application/json")


def delete_bucket_policy(deps: S3Deps, call: Call) -> Answer:
    bucket_config.delete_bucket_policy(deps, call.ctx, call.bucket)
    return Answer(204)


# --- listings --------------------------------------------------------------------------


def _encode(value: str | None, encode: bool) -> str | None:
    return xml.url_encoded(value, encode)


def _contents(records: list[ObjectRecord] | Any, encode: bool) -> list[tuple[str, Any]]:
    return [
        ("Contents", [("Key", _encode(r.key, encode)), ("LastModified", xml.iso_millis(r.last_modified)),
                      ("ETag", r.etag), ("Size", r.size), ("StorageClass", r.storage_class)])
        for r in records
    ]


def list_objects(deps: S3Deps, call: Call) -> Answer:
    encode = call.query("encoding-type") == "url"
    prefix, delimiter, marker = call.query("prefix") or "", call.query("delimiter") or None, call.query("marker") or ""
    max_keys = _int_query(call, "max-keys")
    page = listing.list_objects(deps, call.ctx, call.bucket, prefix=prefix, delimiter=delimiter, marker=marker,
                                max_keys=max_keys)
    fields: list[tuple[str, Any]] = [
        ("Name", call.bucket), ("Prefix", _encode(prefix, encode)), ("Marker", _encode(marker, encode)),
        ("MaxKeys", listing.MAX_KEYS if max_keys is None else min(max_keys, listing.MAX_KEYS)),
        ("Delimiter", _encode(delimiter, encode)), ("IsTruncated", page.is_truncated),
        ("NextMarker", _encode(page.last, encode) if page.is_truncated and delimiter else None),
        ("EncodingType", "url" if encode else None),
        *_contents(page.contents, encode),
        *[("CommonPrefixes", [("Prefix", _encode(p, encode))]) for p in page.common_prefixes],
    ]
    return Answer(body=xml.document("ListBucketResult", fields))


def list_objects_v2(deps: S3Deps, call: Call) -> Answer:
    encode = call.query("encoding-type") == "url"
    prefix, delimiter = call.query("prefix") or "", call.query("delimiter") or None
    token, start_after = call.query("continuation-token"), call.query("start-after")
    max_keys = _int_query(call, "max-keys")
    result = listing.list_objects_v2(deps, call.ctx, call.bucket, prefix=prefix, delimiter=delimiter,
                                     continuation_token=token, start_after=start_after, max_keys=max_keys)
    page = result.page
    fields: list[tuple[str, Any]] = [
        ("Name", call.bucket), ("Prefix", _encode(prefix, encode)),
        ("MaxKeys", listing.MAX_KEYS if max_keys is None else min(max_keys, listing.MAX_KEYS)),
        ("KeyCount", page.key_count), ("Delimiter", _encode(delimiter, encode)), ("IsTruncated", page.is_truncated),
        ("ContinuationToken", token), ("NextContinuationToken", result.next_continuation_token),
        ("StartAfter", _encode(start_after, encode)), ("EncodingType", "url" if encode else None),
        *_contents(page.contents, encode),
        *[("CommonPrefixes", [("Prefix", _encode(p, encode))]) for p in page.common_prefixes],
    ]
    return Answer(body=xml.document("ListBucketResult", fields))


def _initiator(upload: Upload) -> list[tuple[str, Any]]:
    return [("ID", upload.initiator_arn), ("DisplayName", upload.initiator_arn.rsplit("/", 1)[-1])]


def _owner(account_id: str) -> list[tuple[str, Any]]:
    return [("ID", buckets.canonical_user_id(account_id)), ("DisplayName", account_id)]


def list_multipart_uploads(deps: S3Deps, call: Call) -> Answer:
    prefix, delimiter = call.query("prefix") or "", call.query("delimiter") or None
    key_marker, id_marker = call.query("key-marker"), call.query("upload-id-marker")
    max_uploads = _int_query(call, "max-uploads")
    page = listing.list_multipart_uploads(deps, call.ctx, call.bucket, prefix=prefix, delimiter=delimiter,
                                          key_marker=key_marker, upload_id_marker=id_marker, max_uploads=max_uploads)
    fields: list[tuple[str, Any]] = [
        ("Bucket", call.bucket), ("KeyMarker", key_marker or ""), ("UploadIdMarker", id_marker or ""),
        ("NextKeyMarker", page.next_key_marker if page.is_truncated else None),
        ("NextUploadIdMarker", page.next_upload_id_marker if page.is_truncated else None),
        ("Prefix", prefix), ("Delimiter", delimiter),
        ("MaxUploads", listing.MAX_KEYS if max_uploads is None else min(max_uploads, listing.MAX_KEYS)),
        ("IsTruncated", page.is_truncated),
        *[("Upload", [("Key", u.key), ("UploadId", u.upload_id), ("Initiator", _initiator(u)),
                      ("Owner", _owner(u.account_id)), ("StorageClass", u.storage_class),
                      ("Initiated", xml.iso_millis(u.initiated))]) for u in page.uploads],
        *[("CommonPrefixes", [("Prefix", p)]) for p in page.common_prefixes],
    ]
    return Answer(body=xml.document("ListMultipartUploadsResult", fields))


# --- objects ---------------------------------------------------------------------------


def put_object(deps: S3Deps, call: Call) -> Answer:
    facts = body_facts(call.headers, call.payload)
    request = objects.PutObjectRequest(
        bucket=call.bucket, key=call.key, metadata=parse_metadata(call.headers), sse=parse_sse_request(call.headers),
        content_md5=call.headers.get("content-md5"), checksum_algorithm=facts.checksum_algorithm,
        checksum_value=facts.checksum_value, content_length=facts.length,
        if_none_match=call.headers.get("if-none-match"), storage_class=call.headers.get("x-amz-storage-class"),
    )
    result = objects.put_object(deps, call.ctx, request, decoded(call.body.chunks(), call.payload, call.headers))
    answer = Answer(content_length=0)
    answer.header("ETag", result.etag)
    _checksum(answer, result.record.checksum_algorithm, result.record.checksum_value)
    return _sse(answer, result.sse, Operation.PUT_OBJECT)


def _object_answer(record: ObjectRecord, call: Call, status: int, operation: Operation) -> Answer:
    """GET/HEAD headers. The full-object checksum only with x-amz-checksum-mode: ENABLED
    and for the whole object (a Range or a part answers none, as S3)."""
    answer = Answer(status, content_type=b"")
    headers = metadata_response_headers(record.metadata)
    for name, header in _OVERRIDES.items():
        if (value := call.query(name)) is not None:
            headers[header] = value
    content_type = headers.pop("Content-Type")
    answer.content_type = content_type.encode("latin-1", "replace")
    for name, value in headers.items():
        answer.header(name, value)
    answer.header("ETag", record.etag)
    answer.header("Last-Modified", http_date(record.last_modified))
    answer.header("Accept-Ranges", "bytes")
    if record.storage_class != "STANDARD":
        answer.header("x-amz-storage-class", record.storage_class)
    if call.headers.get("x-amz-checksum-mode", "").upper() == "ENABLED" and status == 200:
        _checksum(answer, record.checksum_algorithm, record.checksum_value)
    return _sse(answer, record.sse, operation)


def _get_request(call: Call) -> objects.GetObjectRequest:
    return objects.GetObjectRequest(
        bucket=call.bucket, key=call.key, customer_key=parse_customer_key(call.headers),
        conditions=parse_conditions(call.headers), range=parse_range(call.headers.get("range")),
        part_number=_int_query(call, "partNumber"),
    )


def get_object(deps: S3Deps, call: Call, *, head: bool = False) -> Answer:
    request = _get_request(call)
    try:
        result = objects.get_object(deps, call.ctx, request, head=head)
    except errors.NotModified:
        # 304 carries the validators, no body (RFC 9110 §15.4.5)
        record = deps.repo.get_object(call.bucket, call.key)
        answer = Answer(304, content_type=b"", content_length=0)
        if record is not None:
            answer.header("ETag", record.etag)
            answer.header("Last-Modified", http_date(record.last_modified))
        return answer
    record = result.record
    answer = _object_answer(record, call, 206 if result.partial else 200,
                            Operation.HEAD_OBJECT if head else Operation.GET_OBJECT)
    if result.content_range is not None:
        answer.header("Content-Range", result.content_range)
    if request.part_number is not None and record.parts_count is not None:
        answer.header("x-amz-mp-parts-count", str(record.parts_count))
    answer.content_length = result.content_length if record.size else 0
    if not head:
        answer.body, answer.stream = _primed(result.body, answer.content_length)
    return answer


def _primed(
    stream: Iterator[bytes | memoryview], length: int
) -> tuple[bytes, Iterator[bytes | memoryview] | None]:
    """The first piece is read (and its segment authenticated) before the headers leave,
    so a content blob that is missing or fails at its start is a proper 500; a failure
    later can only cut the connection (the server aborts it: a short body, never wrong
    bytes).

    A small body (at most ``IN_MEMORY_ANSWER_MAX`` bytes, all of it in the first piece) is
    answered in memory, with the stream run to its end here (its last checks done, the blob
    closed): a streamed answer costs the server two more thread hand-offs (a worker to
    write it, the loop to take each write), which were half of a 1 KiB GET's CPU
    (bench/S3_SSE.md, issue-17i). If finishing the stream fails, the answer stays a stream
    that fails after its first piece, so the connection is cut exactly as before."""
    try:
        first = next(stream)
    except StopIteration:
        return b"", None
    except errors.TrentError:
        raise
    except Exception as exc:  # noqa: BLE001 - the object store's own errors
        raise errors.KMSInternal(audit_reason=f"object content unreadable: {type(exc).__name__}") from None
    if length > IN_MEMORY_ANSWER_MAX or len(first) < length:
        return b"", _then(first, stream)
    try:
        more = next(stream)
    except StopIteration:
        return bytes(first), None
    except Exception as exc:  # noqa: BLE001 - re-raised where a streamed answer would have met it
        return b"", _then(first, _failing(exc))
    return b"", _then(first, _then(more, stream))


def _then(first: bytes | memoryview, rest: Iterator[bytes | memoryview]) -> Iterator[bytes | memoryview]:
    """``first``, then ``rest``; closing it closes ``rest`` (the blob file). Not
    ``itertools.chain``: a chain keeps its arguments until its end, so a large GET's first
    MiB of plaintext stayed alive for the whole transfer, and it has no ``close``."""
    yield first
    del first
    yield from rest


def _failing(exc: Exception) -> Iterator[bytes | memoryview]:
    raise exc
    yield b""  # pragma: no cover - makes this a generator: it raises when iterated


def head_object(deps: S3Deps, call: Call) -> Answer:
    return get_object(deps, call, head=True)


def delete_object(deps: S3Deps, call: Call) -> Answer:
    objects.delete_object(deps, call.ctx, call.bucket, call.key)
    return Answer(204)


def delete_objects(deps: S3Deps, call: Call) -> Answer:
    keys, quiet = xml_in.delete_request(call.document(xml_in.MAX_DELETE_DOCUMENT_BYTES))
    outcomes = objects.delete_objects(deps, call.ctx, call.bucket, keys)
    fields: list[tuple[str, Any]] = []
    for outcome in outcomes:
        if outcome.error is None:
            if not quiet:
                fields.append(("Deleted", [("Key", outcome.key)]))
            continue
        wire = sse_wire_error(outcome.error)
        fields.append(("Error", [("Key", outcome.key), ("Code", wire.code),
                                 ("Message", wire.message or outcome.error.message)]))
    return Answer(body=xml.document("DeleteResult", fields))


# --- copies ----------------------------------------------------------------------------


def _copy_source(call: Call) -> tuple[str, str]:
    return copy.parse_copy_source(call.headers["x-amz-copy-source"])


def copy_object(deps: S3Deps, call: Call) -> Answer:
    source_bucket, source_key = _copy_source(call)
    request = copy.CopyObjectRequest(
        bucket=call.bucket, key=call.key, source_bucket=source_bucket, source_key=source_key,
        metadata_directive=call.headers.get("x-amz-metadata-directive", "COPY").upper(),
        metadata=parse_metadata(call.headers), sse=parse_sse_request(call.headers),
        # the source's own SSE-C key travels in the x-amz-copy-source-* headers (spec §1)
        source_customer_key=parse_customer_key(call.headers, source=True),
        source_conditions=parse_conditions(call.headers, copy_source=True),
        storage_class=call.headers.get("x-amz-storage-class"),
        checksum_algorithm=(call.headers.get("x-amz-checksum-algorithm") or "").lower() or None,
    )
    record = copy.copy_object(deps, call.ctx, request)
    body = xml.document("CopyObjectResult", [("ETag", record.etag),
                                              ("LastModified", xml.iso_millis(record.last_modified))])
    return _sse(Answer(body=body), record.sse, Operation.COPY_OBJECT)


# --- multipart -------------------------------------------------------------------------


def create_multipart_upload(deps: S3Deps, call: Call) -> Answer:
    request = multipart.CreateMultipartUploadRequest(
        bucket=call.bucket, key=call.key, metadata=parse_metadata(call.headers), sse=parse_sse_request(call.headers),
        checksum_algorithm=call.headers.get("x-amz-checksum-algorithm"),
        storage_class=call.headers.get("x-amz-storage-class"),
    )
    upload = multipart.create_multipart_upload(deps, call.ctx, request)
    body = xml.document("InitiateMultipartUploadResult",
                        [("Bucket", upload.bucket), ("Key", upload.key), ("UploadId", upload.upload_id)])
    answer = Answer(body=body)
    if upload.checksum_algorithm:
        answer.header("x-amz-checksum-algorithm", upload.checksum_algorithm.upper())
    return _sse(answer, upload.sse, Operation.CREATE_MULTIPART_UPLOAD)


def upload_part(deps: S3Deps, call: Call) -> Answer:
    facts = body_facts(call.headers, call.payload)
    request = multipart.UploadPartRequest(
        bucket=call.bucket, key=call.key, upload_id=call.query("uploadId") or "", part_number=_part_number(call),
        customer_key=parse_customer_key(call.headers), content_md5=call.headers.get("content-md5"),
        checksum_algorithm=facts.checksum_algorithm, checksum_value=facts.checksum_value,
        content_length=facts.length,
    )
    part, upload = multipart.upload_part(deps, call.ctx, request,
                                         decoded(call.body.chunks(), call.payload, call.headers))
    answer = Answer(content_length=0)
    answer.header("ETag", part.etag)
    _checksum(answer, upload.checksum_algorithm, part.checksum_value)
    return _sse(answer, upload.sse, Operation.UPLOAD_PART)


def upload_part_copy(deps: S3Deps, call: Call) -> Answer:
    source_bucket, source_key = _copy_source(call)
    request = multipart.UploadPartCopyRequest(
        bucket=call.bucket, key=call.key, upload_id=call.query("uploadId") or "", part_number=_part_number(call),
        source_bucket=source_bucket, source_key=source_key,
        source_range=parse_range(call.headers.get("x-amz-copy-source-range")),
        customer_key=parse_customer_key(call.headers),
        source_customer_key=parse_customer_key(call.headers, source=True),
        source_conditions=parse_conditions(call.headers, copy_source=True),
    )
    part, upload = multipart.upload_part_copy(deps, call.ctx, request)
    body = xml.document("CopyPartResult", [("ETag", part.etag), ("LastModified", xml.iso_millis(part.last_modified))])
    return _sse(Answer(body=body), upload.sse, Operation.UPLOAD_PART_COPY)


def complete_multipart_upload(deps: S3Deps, call: Call) -> Answer:
    request = multipart.CompleteMultipartUploadRequest(
        bucket=call.bucket, key=call.key, upload_id=call.query("uploadId") or "",
        parts=xml_in.completed_parts(call.document(xml_in.MAX_COMPLETE_DOCUMENT_BYTES)),
        customer_key=parse_customer_key(call.headers),
    )
    record = multipart.complete_multipart_upload(deps, call.ctx, request)
    location = f"/{quote(call.bucket)}/{quote(call.key)}"
    body = xml.document("CompleteMultipartUploadResult",
                        [("Location", location), ("Bucket", record.bucket), ("Key", record.key),
                         ("ETag", record.etag)])
    return _sse(Answer(body=body), record.sse, Operation.COMPLETE_MULTIPART_UPLOAD)


def abort_multipart_upload(deps: S3Deps, call: Call) -> Answer:
    multipart.abort_multipart_upload(deps, call.ctx, call.bucket, call.key, call.query("uploadId") or "")
    return Answer(204)


def list_parts(deps: S3Deps, call: Call) -> Answer:
    marker = _int_query(call, "part-number-marker", 0) or 0
    max_parts = _int_query(call, "max-parts", 1000)
    assert max_parts is not None
    found = multipart.list_parts(deps, call.ctx, call.bucket, call.key, call.query("uploadId") or "", max_parts, marker)
    upload = found.upload
    fields: list[tuple[str, Any]] = [
        ("Bucket", upload.bucket), ("Key", upload.key), ("UploadId", upload.upload_id),
        ("Initiator", _initiator(upload)), ("Owner", _owner(upload.account_id)),
        ("StorageClass", upload.storage_class), ("PartNumberMarker", found.part_number_marker),
        ("NextPartNumberMarker", found.next_part_number_marker or 0), ("MaxParts", found.max_parts),
        ("IsTruncated", found.is_truncated),
        ("ChecksumAlgorithm", upload.checksum_algorithm.upper() if upload.checksum_algorithm else None),
        *[("Part", _part_fields(p, upload)) for p in found.parts],
    ]
    return Answer(body=xml.document("ListPartsResult", fields))


def _part_fields(part: Any, upload: Upload) -> list[tuple[str, Any]]:
    fields: list[tuple[str, Any]] = [("PartNumber", part.part_number), ("LastModified", xml.iso_millis(part.last_modified)),
                                     ("ETag", part.etag), ("Size", part.size)]
    if upload.checksum_algorithm and part.checksum_value:
        fields.append((f"Checksum{upload.checksum_algorithm.upper()}", part.checksum_value))
    return fields


HANDLERS: dict[str, Handler] = {
    "CreateBucket": create_bucket,
    "DeleteBucket": delete_bucket,
    "HeadBucket": head_bucket,
    "GetBucketLocation": get_bucket_location,
    "PutBucketEncryption": put_bucket_encryption,
    "GetBucketEncryption": get_bucket_encryption,
    "DeleteBucketEncryption": delete_bucket_encryption,
    "PutBucketPolicy": put_bucket_policy,
    "GetBucketPolicy": get_bucket_policy,
    "DeleteBucketPolicy": delete_bucket_policy,
    "ListObjects": list_objects,
    "ListObjectsV2": list_objects_v2,
    "ListMultipartUploads": list_multipart_uploads,
    "DeleteObjects": delete_objects,
    "PutObject": put_object,
    "GetObject": get_object,
    "HeadObject": head_object,
    "DeleteObject": delete_object,
    "CopyObject": copy_object,
    "CreateMultipartUpload": create_multipart_upload,
    "UploadPart": upload_part,
    "UploadPartCopy": upload_part_copy,
    "CompleteMultipartUpload": complete_multipart_upload,
    "AbortMultipartUpload": abort_multipart_upload,
    "ListParts": list_parts,
}
# Operations whose work streams object bytes: the stream runs outside any write
# transaction (a long upload or copy must not hold a write lock), then one short
# transaction commits the row with the events (front_door.py's two phases).
STREAMING = frozenset({"PutObject", "UploadPart", "CopyObject", "UploadPartCopy"})
