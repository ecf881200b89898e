"""One S3 request, end to end (issue 16): authenticate (SigV4, scope ``s3``: the declared
payload hash, the literal path) -> route -> use case -> event -> XML or object bytes.

Every handler is named by its route's operation (``HANDLERS``). The call is recorded in
the trail like any other (eventSource ``s3.amazonaws.com``; object reads are data events)
through the server's group commit (:class:`~trent.protocol.recording.Concluded`).
"""

from __future__ import annotations

import base64
import binascii
import logging
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from trent import errors
from trent.audit.events import api_call_event
from trent.audit.records import AuditEntry
from trent.domain.ids import new_uuid4
from trent.protocol.pipeline import KmsPipeline, Response, partition_for
from trent.protocol.recording import Concluded, atomically
from trent.protocol.s3 import xml
from trent.protocol.s3.errors import error_document
from trent.protocol.s3.routes import S3Request, operation_name, parse, route
from trent.service.context import RequestContext
from trent.service.trail_bucket import objects
from trent.service.trail_bucket.buckets import BucketRegistry

log = logging.getLogger("trent.s3")

SIGNING_SERVICE = "s3"
EVENT_SOURCE = "s3.amazonaws.com"
OBJECT_CONTENT_TYPE = b"application/octet-stream"
_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")
_DATA_EVENTS = frozenset({"GetObject", "HeadObject", "ListObjects", "ListObjectsV2"})


@dataclass(slots=True)
class Answer:
    status: int = 200
    body: bytes = b""
    content_type: bytes = xml.XML_CONTENT_TYPE
    headers: list[tuple[bytes, bytes]] = field(default_factory=list)
    content_length: int | None = None


@dataclass(slots=True)
class _Call:
    request_id: str
    started: float
    operation: str = "Unknown"
    ctx: RequestContext | None = None
    access_key_id: str | None = None
    request: S3Request | None = None


class S3FrontDoor:
    def __init__(self, pipeline: KmsPipeline, buckets: BucketRegistry) -> None:
        self.pipeline = pipeline
        self.buckets = buckets
        self.handlers: dict[str, Callable[[RequestContext, S3Request], Answer]] = {
            "ListBuckets": self._list_buckets,
            "GetBucketLocation": self._get_bucket_location,
            "ListObjectsV2": self._list_objects_v2,
            "ListObjects": self._list_objects,
            "HeadBucket": self._head_bucket,
            "GetObject": self._get_object,
            "HeadObject": self._head_object,
        }

    def handle(
        self, method: str, path: str, query: str, headers: Sequence[tuple[bytes, bytes]], body: bytes, source_ip: str
    ) -> Concluded[Response]:
        pipeline = self.pipeline
        deps = pipeline.deps
        call = _Call(pipeline.new_request_id(), deps.clock.now())
        user_agent = next((v.decode("latin-1") for n, v in headers if n == b"user-agent"), None)

        def work() -> Answer:
            request = call.request = parse(method, path, query, headers)
            call.operation = operation_name(request)
            principal, access_key_id, region = pipeline.authenticate(
                method, path, query, headers, body, service=SIGNING_SERVICE
            )
            call.access_key_id = access_key_id
            call.ctx = RequestContext(principal, access_key_id, region, partition_for(region), call.request_id,
                                      call.started, source_ip, user_agent)
            return self.handlers[route(request).operation](call.ctx, request)

        def conclude(answer: Answer | None, error: errors.TrentError | None) -> tuple[AuditEntry, Response]:
            code = message = None
            if error is not None:
                request = call.request
                status, payload, code, message = error_document(
                    error, call.request_id, bucket=request.bucket if request else None,
                    key=request.key if request else None, resource=path,
                )
                answer = Answer(status, b"" if method == "HEAD" else payload)
            assert answer is not None
            entry = AuditEntry(self._event(call, source_ip, user_agent, code, message), call.started)
            extra = (b"x-amz-request-id", call.request_id.encode()), (b"x-amz-id-2", call.request_id.encode())
            return entry, Response(answer.status, answer.body, call.request_id, answer.content_type,
                                   tuple(answer.headers) + extra, answer.content_length)

        return atomically(deps.storage, pipeline.outbox, work, conclude, f"S3 {call.operation} ({call.request_id})")

    @staticmethod
    def refuse(response: Response) -> Response:
        """Fail closed: the call's event could not be recorded."""
        status, payload, _, _ = error_document(errors.KMSInternal(), response.request_id)
        return Response(status, payload, response.request_id, xml.XML_CONTENT_TYPE,
                        ((b"x-amz-request-id", response.request_id.encode()),))

    # -- operations -----------------------------------------------------------------------

    def _list_buckets(self, ctx: RequestContext, request: S3Request) -> Answer:
        deps = self.pipeline.deps
        found = objects.list_buckets(deps, ctx, self.buckets)
        fields = [
            ("Owner", [("ID", ctx.account_id)]),
            ("Buckets", [("Bucket", [("Name", b.name), ("CreationDate", xml.iso_millis(b.created_at))])
                         for b in found]),
        ]
        return Answer(body=xml.document("ListAllMyBucketsResult", fields))

    def _get_bucket_location(self, ctx: RequestContext, request: S3Request) -> Answer:
        bucket = self.buckets.get(request.bucket or "")
        location = objects.get_bucket_location(self.pipeline.deps, ctx, bucket)
        body = (xml.DECLARATION + f'<LocationConstraint xmlns="{xml.NAMESPACE}">{location or ""}'
                "</LocationConstraint>").encode()
        return Answer(body=body)

    def _head_bucket(self, ctx: RequestContext, request: S3Request) -> Answer:
        bucket = objects.head_bucket(self.pipeline.deps, ctx, self.buckets.get(request.bucket or ""))
        return Answer(headers=[(b"x-amz-bucket-region", bucket.region.encode())], content_length=0)

    def _listing(self, ctx: RequestContext, request: S3Request, start_after: str) -> tuple[objects.Listing, int]:
        bucket = self.buckets.get(request.bucket or "")
        raw = request.query.get("max-keys", str(objects.MAX_KEYS))
        if not raw.isdigit():
            raise errors.ValidationError("Provided max-keys not an integer or within integer range")
        max_keys = int(raw)
        delimiter = request.query.get("delimiter") or None
        listing = objects.list_objects(self.pipeline.deps, ctx, bucket, prefix=request.query.get("prefix", ""),
                                       start_after=start_after, max_keys=max_keys, delimiter=delimiter)
        return listing, max_keys

    @staticmethod
    def _contents(listing: objects.Listing, encode: bool) -> list[tuple[str, Any]]:
        fields: list[tuple[str, Any]] = [
            ("Contents", [("Key", xml.url_encoded(o.key, encode)), ("LastModified", xml.iso_millis(o.last_modified)),
                          ("ETag", f'"{o.etag}"'), ("Size", o.size), ("StorageClass", "STANDARD")])
            for o in listing.objects
        ]
        fields += [("CommonPrefixes", [("Prefix", xml.url_encoded(p, encode))]) for p in listing.common_prefixes]
        return fields

    def _list_objects(self, ctx: RequestContext, request: S3Request) -> Answer:
        q = request.query
        encode = q.get("encoding-type") == "url"
        marker = q.get("marker", "")
        listing, max_keys = self._listing(ctx, request, marker)
        delimiter = q.get("delimiter") or None
        last = max([*(o.key for o in listing.objects), *listing.common_prefixes], key=lambda k: k.encode(),
                   default=None)
        fields: list[tuple[str, Any]] = [
            ("Name", request.bucket), ("Prefix", xml.url_encoded(q.get("prefix", ""), encode)),
            ("Marker", xml.url_encoded(marker, encode)), ("MaxKeys", max_keys),
            ("Delimiter", xml.url_encoded(delimiter, encode)), ("IsTruncated", listing.truncated),
            # S3 sends NextMarker only with a delimiter; SDKs continue after the last key otherwise.
            ("NextMarker", xml.url_encoded(last, encode) if listing.truncated and delimiter else None),
            ("EncodingType", "url" if encode else None),
            *self._contents(listing, encode),
        ]
        return Answer(body=xml.document("ListBucketResult", fields))

    def _list_objects_v2(self, ctx: RequestContext, request: S3Request) -> Answer:
        q = request.query
        encode = q.get("encoding-type") == "url"
        token = q.get("continuation-token")
        start_after = _continue_after(token) if token is not None else q.get("start-after", "")
        listing, max_keys = self._listing(ctx, request, start_after)
        last = max([*(o.key for o in listing.objects), *listing.common_prefixes], key=lambda k: k.encode(),
                   default=None)
        fields: list[tuple[str, Any]] = [
            ("Name", request.bucket), ("Prefix", xml.url_encoded(q.get("prefix", ""), encode)),
            ("MaxKeys", max_keys), ("KeyCount", len(listing.objects) + len(listing.common_prefixes)),
            ("Delimiter", xml.url_encoded(q.get("delimiter") or None, encode)),
            ("IsTruncated", listing.truncated), ("ContinuationToken", token),
            ("NextContinuationToken", _token_after(last) if listing.truncated and last else None),
            ("StartAfter", xml.url_encoded(q.get("start-after"), encode) if "start-after" in q else None),
            ("EncodingType", "url" if encode else None),
            *self._contents(listing, encode),
        ]
        return Answer(body=xml.document("ListBucketResult", fields))

    def _object_headers(self, info: Any) -> list[tuple[bytes, bytes]]:
        headers = [
            (b"etag", f'"{info.etag}"'.encode()),
            (b"last-modified", xml.http_date(info.last_modified).encode()),
            (b"accept-ranges", b"bytes"),
        ]
        headers += [(b"x-amz-meta-" + k.encode("latin-1"), v.encode("latin-1")) for k, v in sorted(info.metadata.items())]
        return headers

    def _get_object(self, ctx: RequestContext, request: S3Request) -> Answer:
        bucket = self.buckets.get(request.bucket or "")
        assert request.key is not None
        wanted = _byte_range(request.headers.get(b"range"))
        stored = objects.get_object(self.pipeline.deps, ctx, bucket, request.key, wanted)
        headers = self._object_headers(stored.info)
        if stored.byte_range is not None:
            first, last = stored.byte_range
            headers.append((b"content-range", f"bytes {first}-{last}/{stored.info.size}".encode()))
            return Answer(206, stored.body, OBJECT_CONTENT_TYPE, headers)
        return Answer(200, stored.body, OBJECT_CONTENT_TYPE, headers)

    def _head_object(self, ctx: RequestContext, request: S3Request) -> Answer:
        bucket = self.buckets.get(request.bucket or "")
        assert request.key is not None
        info = objects.head_object(self.pipeline.deps, ctx, bucket, request.key)
        return Answer(200, b"", OBJECT_CONTENT_TYPE, self._object_headers(info), content_length=info.size)

    # -- the event --------------------------------------------------------------------------

    def _event(self, call: _Call, source_ip: str, user_agent: str | None, code: str | None,
               message: str | None) -> dict[str, Any]:
        ctx, request = call.ctx, call.request
        params: dict[str, Any] | None = None
        extra: list[tuple[str, str, str]] = []
        if request is not None and request.bucket is not None:
            params = {"bucketName": request.bucket}
            if request.key is not None:
                params["key"] = request.key
            params.update({k: v for k, v in request.query.items() if k in ("prefix", "marker", "list-type",
                                                                           "delimiter", "max-keys", "start-after")})
            if ctx is not None:
                owner = self._owner(request.bucket) or ""
                if request.key is not None:
                    extra.append((owner, "AWS::S3::Object", f"arn:{ctx.partition}:s3:::{request.bucket}/{request.key}"))
                extra.append((owner, "AWS::S3::Bucket", f"arn:{ctx.partition}:s3:::{request.bucket}"))
        return api_call_event(
            event_id=new_uuid4(), request_id=call.request_id, event_time=call.started, operation=call.operation,
            region=ctx.region if ctx else "", caller=self.pipeline.caller(ctx.principal if ctx else None,
                                                                          call.access_key_id),
            source_ip=source_ip, user_agent=user_agent, request_parameters=params, response_elements=None,
            error_code=code, error_message=message, resources=(), recipient_account_id=ctx.account_id if ctx else None,
            event_source=EVENT_SOURCE, event_category="Data" if call.operation in _DATA_EVENTS else "Management",
            extra_resources=extra,
        )

    def _owner(self, name: str) -> str | None:
        try:
            return self.buckets.get(name).owner_account_id
        except errors.NoSuchBucket:
            return None


def _byte_range(header: bytes | None) -> tuple[int | None, int | None] | None:
    """``Range: bytes=a-b`` / ``a-`` / ``-n``; anything else (several ranges, other
    units, garbage) is ignored and the whole object served, as S3 does."""
    if header is None:
        return None
    m = _RANGE.match(header.decode("latin-1").strip())
    if m is None or (not m[1] and not m[2]):
        return None
    first = int(m[1]) if m[1] else None
    last = int(m[2]) if m[2] else None
    if first is not None and last is not None and last < first:
        return None
    return first, last


def _token_after(key: str) -> str:
    return base64.urlsafe_b64encode(key.encode("utf-8")).decode("ascii")


def _continue_after(token: str) -> str:
    try:
        return base64.urlsafe_b64decode(token.encode("ascii")).decode("utf-8")
    except (binascii.Error, UnicodeError, ValueError):
        raise errors.ValidationError("The continuation token provided is incorrect") from None
