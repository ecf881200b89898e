"""One S3 request, end to end: authenticate (SigV4, scope ``s3``: the declared payload
hash, the literal path) -> route -> use case -> event -> XML or object bytes.

Two kinds of bucket share the door: the audit *trail bucket* (issue 16; read-only, its
own handlers below) and every other bucket, served with server-side encryption by the
issue-17 use cases (``sse_operations.HANDLERS``, routes ``SSE_ROUTES``). Addressing is
path-style, or virtual-hosted under ``s3_domain``.

The call is recorded in the trail like any other (eventSource ``s3.amazonaws.com``;
object-level calls are data events). A call that changes something commits its change,
its S3 event and the KMS events of that call in one transaction (``recording.atomically``;
issue 16: nothing changes without its event) — the operations that stream object bytes
(``sse_operations.STREAMING``: PutObject, UploadPart, the copies) included, in two phases:

1. the slow part outside any write transaction: authorize, new data key, stream and
   encrypt the blob into the object store (or, for a small object, into memory: its
   ciphertext is kept in its row, ``service/s3/content.py``). A long upload must not
   hold the database's write transaction open (on SQLite that would stall every other writer, the audit
   group commit included): the transaction begins only at the first write
   (``storage/transaction.py``), and a preliminary write made before the stream (the
   S3-owned key or ``aws/s3`` created on first use) is committed on its own just before
   the body is read (``S3Deps.before_content`` -> ``commit_so_far``);
2. one short write transaction: the object / part row (If-None-Match and NoSuchBucket
   decided there; a small object's ciphertext with it), then the events, then the commit.
   On SQLite, PutObject's is shared with the other PUTs waiting at that moment
   (``grouped_puts.py``: its row is held, then applied with theirs in one transaction,
   refusals per row). A small PutObject served on the event loop (:meth:`S3FrontDoor.on_loop`)
   leaves with its row still held (``Concluded.change``), and the server applies it in
   its audit group commit's transaction, before that batch's events.

If phase 2 fails (a conflict, an audit write failure, a crash) nothing of the change
committed and the freshly written blob is an orphan: ``DeferredDeletes.end`` deletes it
(best effort; a crash leaves unreferenced ciphertext). A replaced object's blobs are
deleted only after the commit.

The KMS calls S3 makes for the caller (SSE-KMS GenerateDataKey / Decrypt, s3-sse spec
§4) reach ``S3Deps.kms_audit``; they are collected per call (thread-local: one call per
worker thread at a time) and recorded as KMS events of their own
(``via_service_audit.kms_event``: the caller's identity, invokedBy s3.amazonaws.com),
in the same append as the S3 event, just before it: in the change's transaction, or
(a call that changed nothing) as ``Concluded.companions`` of its unrecorded S3 event,
group-committed with it by the server (``server/audit_batcher.py``) or by ``record_now``.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import logging
import re
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, cast

from trent import errors
from trent.audit.events import api_call_event
from trent.audit.records import AuditEntry
from trent.domain.frozen import fast_init
from trent.domain.ids import new_uuid4
from trent.domain.principals import Principal
from trent.protocol import sigv4
from trent.protocol.header_lines import header_value
from trent.protocol.pipeline import KmsPipeline, Response, partition_for
from trent.protocol.recording import Concluded, atomically
from trent.protocol.s3 import sse_operations, xml
from trent.protocol.s3.answer import Answer
from trent.protocol.s3.body import BodySource, BytesBody, Payload, decoded
from trent.protocol.s3.deferred_deletes import DeferredDeletes
from trent.protocol.s3.errors import error_document, sse_wire_error
from trent.protocol.s3.grouped_puts import GroupedPut, GroupedPuts, HeldRow, HeldRows, LoopPut
from trent.protocol.s3.seen_buckets import SeenBuckets
from trent.protocol.s3.routes import SSE_ROUTES, ROUTES, S3Request, operation_name, parse, resolve, virtual_host_bucket
from trent.protocol.via_service_audit import kms_event
from trent.service.context import RequestContext
from trent.service.s3 import buckets as sse_buckets
from trent.service.s3.deps import S3Deps
from trent.service.s3.kms_calls import KmsCall
from trent.service.s3.object_headers import http_date
from trent.service.trail_bucket import objects
from trent.service.trail_bucket.buckets import BucketRegistry
from trent.storage.s3_repository import S3Repository

log = logging.getLogger("trent.s3")

SIGNING_SERVICE = "s3"
EVENT_SOURCE = "s3.amazonaws.com"
OBJECT_CONTENT_TYPE = b"application/octet-stream"
_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")
_DATA_EVENTS = frozenset({
    "GetObject", "HeadObject", "ListObjects", "ListObjectsV2", "PutObject", "DeleteObject", "DeleteObjects",
    "CopyObject", "CreateMultipartUpload", "UploadPart", "UploadPartCopy", "CompleteMultipartUpload",
    "AbortMultipartUpload", "ListParts", "ListMultipartUploads",
})
# Request headers an S3 event's requestParameters carry (never the SSE-C key itself).
# The request headers an S3 event's requestParameters carry: (parameter name, wire name).
_EVENT_HEADERS = tuple((name, name.encode()) for name in (
    "x-amz-server-side-encryption", "x-amz-server-side-encryption-aws-kms-key-id",
    "x-amz-server-side-encryption-bucket-key-enabled", "x-amz-server-side-encryption-customer-algorithm",
    "x-amz-copy-source"))
_EVENT_QUERY = frozenset(("prefix", "marker", "list-type", "delimiter", "max-keys", "start-after", "uploadId",
                          "partNumber"))


@dataclass(slots=True)
class _Call:
    request_id: str
    started: float
    operation: str = "Unknown"
    ctx: RequestContext | None = None
    access_key_id: str | None = None
    request: S3Request | None = None
    #: CloudTrail's additionalEventData for S3 data events: how the request was signed
    #: (``SignatureVersion`` SigV2/SigV4, ``AuthenticationMethod`` AuthHeader/QueryString);
    #: set once authentication succeeded
    signed_by: dict[str, str] | None = None
    #: the bucket's owner as the request read it, for an event built after it ended
    owner: str | None = None


# Served on the event loop when reads are local (``S3FrontDoor.on_loop``).
_LOOP_READS = frozenset({"GetObject", "HeadObject"})


#: (principal, access key id, region, payload): who signed a request, and how its body is checked
Authentication = tuple[Principal, str, str, Payload]


@fast_init
@dataclass(frozen=True, slots=True)
class OnLoop:
    """A request ``on_loop`` accepted: parsed and routed once, handed to ``handle``."""

    request: S3Request
    operation: str  # GetObject, HeadObject or PutObject, of an SSE bucket
    #: its signature checked ahead of ``handle`` (``S3FrontDoor.authenticate``): who signed
    #: it, or why it is refused (raised where ``handle`` would have raised it); None: not yet
    authenticated: Authentication | Exception | None = None


class S3FrontDoor:
    def __init__(self, pipeline: KmsPipeline, buckets: BucketRegistry, sse: S3Deps | None = None,
                 s3_domain: str | None = None, *, reads_on_loop: bool = False) -> None:
        self.pipeline = pipeline
        self.buckets = buckets
        self.s3_domain = s3_domain
        # GetObject / HeadObject (and a small PutObject) of an SSE bucket may run on the
        # event loop (on_loop): only when every read they make is local (embedded SQLite,
        # file object store)
        self.reads_on_loop = reads_on_loop and sse is not None
        self._local = threading.local()
        self._trail_names = frozenset(b.name for b in buckets.all())
        # issue 17: every other bucket, with server-side encryption; its KMS calls come here,
        # and its blob deletions wait for the commit (deferred_deletes.py)
        self.blobs: DeferredDeletes | None = None
        self.sse: S3Deps | None = None
        self.seen: SeenBuckets | None = None
        self.held: HeldRows | None = None
        self.puts: GroupedPuts | None = None
        if sse is not None:
            self.blobs = DeferredDeletes(sse.store)
            # the event names the bucket's owner from the row the use case read (seen_buckets.py)
            self.seen = SeenBuckets(sse.repo)
            # On SQLite, PutObject's row and events commit with other PUTs' in one
            # transaction (grouped_puts.py): its one writer at a time made each PUT's
            # transaction a queue of its own. PostgreSQL runs writers side by side and groups
            # their WAL flushes itself; a leader applying rows one round trip after another
            # only serialized them there (bench/S3_SSE.md, issue-17s).
            storage = pipeline.deps.storage
            repo = cast(S3Repository, self.seen)
            if storage.embedded:
                self.held = HeldRows(repo, storage.in_write_transaction)
                self.puts = GroupedPuts(storage, pipeline.outbox, sse.repo)
                repo = cast(S3Repository, self.held)
            self.sse = dataclasses.replace(sse, kms_audit=self._kms_call, store=self.blobs, repo=repo,
                                           before_content=self._before_stream)
        self.handlers: dict[str, Callable[[RequestContext, S3Request], Answer]] = {
            "ListBuckets": self._list_buckets,
            "GetBucketLocation": self._get_bucket_location,
            "ListObjectsV2": self._list_objects_v2,
            "ListObjects": self._list_objects,
            "HeadBucket": self._head_bucket,
            "GetObject": self._get_object,
            "HeadObject": self._head_object,
        }

    def on_loop(
        self, method: str, path: str, query: str, headers: Sequence[tuple[bytes, bytes]]
    ) -> OnLoop | None:
        """The request, parsed and routed, if it is one the server may serve on its event
        loop instead of handing it to a worker thread; ``handle`` then does neither again.
        Only when ``reads_on_loop``: every read is then local and short (one-row SELECTs on
        embedded SQLite, cached keys, a file's first segment), as the KMS calls served on
        the loop are. A trail-bucket request keeps the thread (its objects come from the
        trail's own store).

        * GetObject and HeadObject of an SSE bucket: the hand-off and its wake-ups were
          ~20 % of a small GET's CPU (bench/S3_SSE.md issue-17m); what follows the first
          64 KiB of a larger object is streamed by a worker, as before.
        * PutObject of an object kept inline in its row (a declared length of at most
          ``inline_max_bytes``: no blob is written, nothing waits on a disk), on embedded
          SQLite: its row is held and committed by the server's audit group commit
          (``Concluded.change``) instead of a worker thread waiting on PutObject's own
          group commit: ~550 -> ~340 µs of CPU per 1 KiB PUT (bench/S3_SSE.md, 2026-12-06
          22:16)."""
        if not self.reads_on_loop or method not in ("GET", "HEAD", "PUT"):
            return None
        if method == "PUT" and (self.held is None or not self._kept_inline(headers)):
            return None
        request = parse(method, path, query, headers, virtual_host_bucket(header_value(headers, b"host"), self.s3_domain))
        if request.bucket is None or request.key is None or request.bucket in self._trail_names:
            return None
        operation = operation_name(request, SSE_ROUTES)
        if operation in _LOOP_READS or operation == "PutObject":
            return OnLoop(request, operation)
        return None

    def authenticate(
        self, parsed: OnLoop, method: str, path: str, query: str, headers: Sequence[tuple[bytes, bytes]]
    ) -> OnLoop:
        """``parsed`` with its signature checked now, ahead of ``handle``: the server checks
        the signatures of every request it read in one loop tick before it handles any of
        them, as it prepares its KMS calls (``server/http11.py``: the SigV4 code and its
        caches stay warm across the tick's requests). A refusal, or a bug, is kept and
        raised inside ``handle``, where it would have been raised: the call concludes and
        is audited the same."""
        try:
            outcome: Authentication | Exception = self.pipeline.authenticate_s3(
                method, path, query, headers, virtual_host_bucket(header_value(headers, b"host"), self.s3_domain))
        except Exception as exc:  # noqa: BLE001 - raised again in handle (above)
            outcome = exc
        return OnLoop(parsed.request, parsed.operation, outcome)  # not dataclasses.replace: once per request

    def _kept_inline(self, headers: Sequence[tuple[bytes, bytes]]) -> bool:
        """Whether the declared length of the object (``x-amz-decoded-content-length`` of
        an aws-chunked body, else Content-Length) keeps it inline (content.write_blob
        decides the same from the same headers; a body that turns out longer fails)."""
        assert self.sse is not None
        declared = header_value(headers, b"x-amz-decoded-content-length") or header_value(headers, b"content-length")
        return declared is not None and declared.isdigit() and int(declared) <= self.sse.settings.inline_max_bytes

    def handle(
        self, method: str, path: str, query: str, headers: Sequence[tuple[bytes, bytes]],
        body: bytes | BodySource, source_ip: str, secure: bool = False, parsed: OnLoop | None = None,
    ) -> Concluded[Response]:
        """``parsed``: the request as ``on_loop`` parsed and routed it (neither done again);
        its PutObject leaves with its row held (``Concluded.change``: module doc)."""
        pipeline = self.pipeline
        deps = pipeline.deps
        call = _Call(pipeline.new_request_id(), deps.clock.now())
        host, user_agent = _host_and_user_agent(headers)
        source = BytesBody(body) if isinstance(body, bytes) else body
        sse = self.sse
        unroutable: errors.TrentError | None
        if parsed is not None:  # an SSE bucket's GetObject / HeadObject / PutObject (on_loop)
            request = call.request = parsed.request
            trail = False
            call.operation, unroutable = parsed.operation, None
        else:
            request = call.request = parse(method, path, query, headers, virtual_host_bucket(host, self.s3_domain))
            trail = sse is None or (request.bucket is not None and request.bucket in self._trail_names)
            call.operation, unroutable = resolve(request, ROUTES if trail else SSE_ROUTES)
        kms_calls: list[KmsCall] = []
        self._local.calls = kms_calls
        blobs = self.blobs if not trail else None
        if blobs is not None:
            blobs.begin()
        seen = self.seen
        if seen is not None:
            seen.begin()
        held = self.held if not trail and call.operation == "PutObject" else None
        if held is not None:
            held.hold()

        def authenticate() -> Payload:
            checked = parsed.authenticated if parsed is not None else None
            if checked is None:
                checked = pipeline.authenticate_s3(method, path, query, headers, virtual_host_bucket(host, self.s3_domain))
            elif isinstance(checked, Exception):
                raise checked
            principal, access_key_id, region, payload = checked
            call.access_key_id = access_key_id
            call.signed_by = _signed_by(query)
            call.ctx = RequestContext(principal, access_key_id, region, partition_for(region), call.request_id,
                                      call.started, source_ip, user_agent, secure_transport=secure)
            return payload

        def work() -> Answer:
            payload = authenticate()
            assert call.ctx is not None
            if unroutable is not None:  # after authentication, as S3 answers
                raise unroutable
            operation = call.operation
            text_headers = {n.decode("latin-1"): v.decode("latin-1") for n, v in headers}
            if operation not in _BODY_OPERATIONS:
                for _ in decoded(source.chunks(), payload, text_headers):  # an empty body, still checked
                    pass
            if trail:
                return self.handlers[operation](call.ctx, request)
            assert sse is not None
            if operation == "ListBuckets":
                return self._list_all_buckets(sse, call.ctx)
            handler = sse_operations.HANDLERS[operation]
            return handler(sse, sse_operations.Call(call.ctx, request, text_headers, source, payload))

        def conclude(answer: Answer | None, error: errors.TrentError | None) -> tuple[AuditEntry, Response]:
            code = message = None
            if error is not None:
                status, payload, code, message = error_document(
                    error, call.request_id, bucket=request.bucket, key=request.key, resource=path,
                    wire=sse_wire_error(error) if not trail and call.ctx is not None else None,
                )
                answer = Answer(status, b"" if method == "HEAD" else payload)
            assert answer is not None
            entry = AuditEntry(self._event(call, source_ip, user_agent, code, message), call.started)
            extra = (b"x-amz-request-id", call.request_id.encode()), (b"x-amz-id-2", call.request_id.encode())
            return entry, Response(answer.status, answer.body, call.request_id, answer.content_type,
                                   tuple(answer.headers) + extra, answer.content_length, answer.stream)

        what = f"S3 {call.operation} ({call.request_id})"
        committed = False
        try:
            concluded = atomically(deps.storage, pipeline.outbox, work, conclude, what,
                                   companions=lambda: self._kms_entries(kms_calls, call))
            if held is not None and (row := held.take()) is not None:
                if parsed is not None:  # on the loop: the server commits it (module doc)
                    assert blobs is not None
                    concluded = self._held_for_the_server(concluded, row, conclude, kms_calls, call, blobs)
                else:
                    concluded = self._group_commit(concluded, GroupedPut(row, (*self._kms_entries(kms_calls, call),
                                                                               concluded.entry)), conclude)
            # recorded: committed with its events; else nothing was written (or rolled back).
            # Held for the server: the blobs it wrote are settled with its row (LoopPut).
            committed = concluded.recorded or concluded.response.status < 300
        finally:
            self._local.calls = None
            if held is not None:
                held.take()
            if seen is not None:
                seen.end()
            if blobs is not None:
                blobs.end(committed)
        return self._with_kms_events(concluded, kms_calls, call)

    def _group_commit(
        self, concluded: Concluded[Response], put: GroupedPut,
        conclude: Callable[[Answer | None, errors.TrentError | None], tuple[AuditEntry, Response]],
    ) -> Concluded[Response]:
        """PutObject's phase 2 (grouped_puts.py): its held row and events (``concluded``
        as if committed) in a batch's transaction; a refused row or a failed batch
        concludes the call with that error instead, its event unrecorded as any failure's."""
        assert self.puts is not None and not concluded.recorded  # held: nothing of it was written
        if concluded.response.status >= 300:  # failed after the row was held: nothing to apply
            return concluded
        refusal = self.puts.submit(put)
        if refusal is None:
            return Concluded(concluded.entry, concluded.response, True)
        entry, response = conclude(None, refusal)
        return Concluded(entry, response, False)

    def _held_for_the_server(
        self, concluded: Concluded[Response], row: HeldRow,
        conclude: Callable[[Answer | None, errors.TrentError | None], tuple[AuditEntry, Response]],
        kms_calls: list[KmsCall], call: _Call, blobs: DeferredDeletes,
    ) -> Concluded[Response]:
        """An on-loop PutObject's phase 2: its held row and events leave with the call, for
        the server's group commit (``audit_batcher.py``); if the database refuses the row
        there, the call concludes with that refusal (its error event with the KMS calls
        it made), as in ``_group_commit``."""
        assert self.puts is not None and not concluded.recorded  # held: nothing of it was written
        if concluded.response.status >= 300:  # failed after the row was held: nothing to apply
            return concluded
        assert call.request is not None and call.request.bucket is not None
        # the event of a refusal is built in the batch, after this request's SeenBuckets ended
        call.owner = self._owner(call.request.bucket)

        def refused(error: errors.TrentError) -> Concluded[Response]:
            entry, response = conclude(None, error)
            return self._with_kms_events(Concluded(entry, response, False), kms_calls, call)

        change = LoopPut(self.puts, row, refused, blobs.written(), blobs.delete_unreferenced)
        # its KMS events join it in handle's return (_with_kms_events)
        return Concluded(concluded.entry, concluded.response, False, concluded.companions, change)

    def _before_stream(self) -> None:
        """Phase 1 ends with the blob streamed outside any write transaction (module doc)."""
        storage = self.pipeline.deps.storage
        if storage.in_write_transaction():
            storage.commit_so_far()

    def _kms_call(self, call: KmsCall) -> None:
        calls = getattr(self._local, "calls", None)
        if calls is not None:
            calls.append(call)

    def _kms_entries(self, calls: list[KmsCall], call: _Call) -> list[AuditEntry]:
        return [AuditEntry(kms_event(c, self.pipeline.caller(c.ctx.principal, call.access_key_id)), c.started)
                for c in calls]

    def _with_kms_events(self, concluded: Concluded[Response], calls: list[KmsCall], call: _Call) -> Concluded[Response]:
        """The KMS calls S3 made for the caller, as KMS events (spec §4): a committed change
        recorded them with its S3 event; otherwise they ride with the unrecorded S3 event
        as its companions, so a read (an SSE-KMS GetObject's Decrypt) joins the server's
        group commit like any other read instead of a write transaction of its own; the
        answer still waits for them, and a failed commit refuses it (fail-closed)."""
        if not calls or concluded.recorded:
            return concluded
        return Concluded(concluded.entry, concluded.response, False, tuple(self._kms_entries(calls, call)),
                         concluded.change)

    def refused(
        self, method: str, path: str, query: str, headers: Sequence[tuple[bytes, bytes]], source_ip: str,
        error: errors.TrentError,
    ) -> tuple[AuditEntry, Response]:
        """An S3 request the server refused before :meth:`handle` (plain HTTP where only
        HTTPS is accepted, ``protocol/transport.py``): S3's error document (an S3 client
        cannot read KMS's JSON) and an S3 event named by the operation the request asked
        for, its caller unknown (nothing was authenticated). The server records the event
        (fail-closed, :meth:`refuse`) before the answer leaves, as for any S3 call."""
        call = _Call(self.pipeline.new_request_id(), self.pipeline.deps.clock.now())
        host, user_agent = _host_and_user_agent(headers)
        request = call.request = parse(method, path, query, headers, virtual_host_bucket(host, self.s3_domain))
        trail = self.sse is None or (request.bucket is not None and request.bucket in self._trail_names)
        call.operation, _ = resolve(request, ROUTES if trail else SSE_ROUTES)
        status, payload, code, message = error_document(error, call.request_id, bucket=request.bucket,
                                                        key=request.key, resource=path)
        entry = AuditEntry(self._event(call, source_ip, user_agent, code, message), call.started)
        return entry, Response(status, b"" if method == "HEAD" else payload, call.request_id, xml.XML_CONTENT_TYPE,
                               ((b"x-amz-request-id", call.request_id.encode()),
                                (b"x-amz-id-2", call.request_id.encode())))

    @staticmethod
    def refuse(response: Response) -> Response:
        """Fail closed: the call's event could not be recorded."""
        status, payload, _, _ = error_document(errors.KMSInternal(), response.request_id)
        return Response(status, payload, response.request_id, xml.XML_CONTENT_TYPE,
                        ((b"x-amz-request-id", response.request_id.encode()),))

    # -- operations -----------------------------------------------------------------------

    def _list_all_buckets(self, sse: S3Deps, ctx: RequestContext) -> Answer:
        """ListBuckets: the caller's SSE buckets and the trail bucket(s) it may read."""
        mine = sse_buckets.list_buckets(sse, ctx)
        trail = objects.list_buckets(self.pipeline.deps, ctx, self.buckets)
        found = sorted([(b.name, b.created_at) for b in mine.buckets] + [(b.name, b.created_at) for b in trail])
        fields = [
            ("Owner", [("ID", mine.owner_id), ("DisplayName", mine.owner_display_name)]),
            ("Buckets", [("Bucket", [("Name", name), ("CreationDate", xml.iso_millis(created))])
                         for name, created in found]),
        ]
        return Answer(body=xml.document("ListAllMyBucketsResult", fields))

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
            (b"last-modified", http_date(info.last_modified).encode()),
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
            params.update({k: v for k, v in request.query.items() if k in _EVENT_QUERY})
            headers = request.headers
            params.update({name: headers[wire].decode("latin-1") for name, wire in _EVENT_HEADERS if wire in headers})
            if ctx is not None:
                owner = call.owner or self._owner(request.bucket) or ""
                if request.key is not None:
                    extra.append((owner, "AWS::S3::Object", f"arn:{ctx.partition}:s3:::{request.bucket}/{request.key}"))
                extra.append((owner, "AWS::S3::Bucket", f"arn:{ctx.partition}:s3:::{request.bucket}"))
        event = api_call_event(
            event_id=new_uuid4(), request_id=call.request_id, event_time=call.started, operation=call.operation,
            region=ctx.region if ctx else "", caller=self.pipeline.caller(ctx.principal if ctx else None,
                                                                          call.access_key_id),
            source_ip=source_ip, user_agent=user_agent, request_parameters=params, response_elements=None,
            error_code=code, error_message=message, resources=(), recipient_account_id=ctx.account_id if ctx else None,
            event_source=EVENT_SOURCE, event_category="Data" if call.operation in _DATA_EVENTS else "Management",
            extra_resources=extra,
        )
        if call.signed_by is not None:
            event["additionalEventData"] = dict(call.signed_by)
        return event

    def _owner(self, name: str) -> str | None:
        if self.seen is not None and (owner := self.seen.owner(name)) is not None:
            return owner
        try:
            return self.buckets.get(name).owner_account_id
        except errors.NoSuchBucket:
            pass
        if self.sse is not None:
            bucket = self.sse.repo.get_bucket(name)
            return bucket.account_id if bucket is not None else None
        return None


def _host_and_user_agent(headers: Sequence[tuple[bytes, bytes]]) -> tuple[str | None, str | None]:
    host = user_agent = None
    for name, value in headers:
        if name == b"user-agent":
            user_agent = value.decode("latin-1")
        elif name == b"host":
            host = value.decode("latin-1")
    return host, user_agent


def _signed_by(query: str) -> dict[str, str]:
    """How an authenticated request was signed, as CloudTrail's S3 data events say it
    (``additionalEventData``): a presigned URL is ``QueryString``, SigV2 or SigV4."""
    if sigv4.is_presigned_v2(query):
        return {"SignatureVersion": "SigV2", "AuthenticationMethod": "QueryString"}
    method = "QueryString" if sigv4.is_presigned(query) else "AuthHeader"
    return {"SignatureVersion": "SigV4", "AuthenticationMethod": method}


_BODY_OPERATIONS = frozenset({"PutObject", "UploadPart", "CreateBucket", "PutBucketEncryption", "PutBucketPolicy",
                              "DeleteObjects", "CompleteMultipartUpload"})


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
