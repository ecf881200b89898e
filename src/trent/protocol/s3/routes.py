"""S3's routes: method + path + query -> operation (issue 16; issue 17 adds its own).

Addressing is path-style (``/bucket`` and ``/bucket/key``; what SDKs use against a
custom endpoint). A request names a *subresource* by a query key (``?location``,
``?acl``, ...); a route matches when the method, the target (service, bucket or object)
and the subresource agree, and every required query value is there (``list-type=2``).
The first matching route wins, so the more specific come first. A write to a read-only
bucket is AccessDenied (what a bucket policy denying it answers); any other request
nothing here implements is NotImplemented — never silently another operation.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, unquote

from trent import errors
from trent.domain.frozen import fast_init


class Target(enum.Enum):
    SERVICE = "service"  # GET /
    BUCKET = "bucket"  # /bucket
    OBJECT = "object"  # /bucket/key


# Query keys that select a sub-resource or another operation on the same path.
SUBRESOURCES = frozenset({
    "accelerate", "acl", "analytics", "attributes", "cors", "delete", "encryption", "intelligent-tiering",
    "inventory", "legal-hold", "lifecycle", "location", "logging", "metrics", "notification", "object-lock",
    "ownershipControls", "partNumber", "policy", "policyStatus", "publicAccessBlock", "replication",
    "requestPayment", "restore", "retention", "select", "tagging", "torrent", "uploadId", "uploads",
    "versionId", "versioning", "versions", "website",
})


@fast_init
@dataclass(frozen=True, slots=True)
class S3Request:
    method: str
    target: Target
    bucket: str | None
    key: str | None
    query: Mapping[str, str]
    headers: Mapping[bytes, bytes] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Route:
    method: str
    target: Target
    operation: str
    subresource: str | None = None
    query: tuple[tuple[str, str], ...] = ()
    # issue 17: more sub-resource keys this route needs (UploadPart: partNumber) or
    # tolerates (GetObject: partNumber, versionId); whether x-amz-copy-source must be
    # present (True: CopyObject, UploadPartCopy), absent (False) or either (None)
    requires: frozenset[str] = frozenset()
    allows: frozenset[str] = frozenset()
    copy_source: bool | None = None

    @property
    def needed(self) -> frozenset[str]:
        """The sub-resource keys the request must carry."""
        return self.requires | ({self.subresource} if self.subresource is not None else frozenset())

    def accepts(self, request: S3Request, present: frozenset[str], needed: frozenset[str]) -> bool:
        """Whether a request of this route's method and target (``route`` looks no further)
        is this route's: ``present``, its sub-resource keys; ``needed``, :attr:`needed`."""
        if not needed <= present or present - needed - self.allows:
            return False
        if self.copy_source is not None and (b"x-amz-copy-source" in request.headers) is not self.copy_source:
            return False
        return all(request.query.get(k) == v for k, v in self.query)


ROUTES: tuple[Route, ...] = (
    Route("GET", Target.SERVICE, "ListBuckets"),
    Route("GET", Target.BUCKET, "GetBucketLocation", subresource="location"),
    Route("GET", Target.BUCKET, "ListObjectsV2", query=(("list-type", "2"),)),
    Route("GET", Target.BUCKET, "ListObjects"),
    Route("HEAD", Target.BUCKET, "HeadBucket"),
    Route("GET", Target.OBJECT, "GetObject"),
    Route("HEAD", Target.OBJECT, "HeadObject"),
)

# Issue 17: every bucket but the trail's (S3 API reference, one route per operation).
_READ_OBJECT = frozenset({"partNumber", "versionId"})
SSE_ROUTES: tuple[Route, ...] = (
    Route("GET", Target.SERVICE, "ListBuckets"),
    Route("PUT", Target.BUCKET, "PutBucketEncryption", subresource="encryption"),
    Route("GET", Target.BUCKET, "GetBucketEncryption", subresource="encryption"),
    Route("DELETE", Target.BUCKET, "DeleteBucketEncryption", subresource="encryption"),
    Route("PUT", Target.BUCKET, "PutBucketPolicy", subresource="policy"),
    Route("GET", Target.BUCKET, "GetBucketPolicy", subresource="policy"),
    Route("DELETE", Target.BUCKET, "DeleteBucketPolicy", subresource="policy"),
    Route("GET", Target.BUCKET, "GetBucketLocation", subresource="location"),
    Route("GET", Target.BUCKET, "ListMultipartUploads", subresource="uploads"),
    Route("POST", Target.BUCKET, "DeleteObjects", subresource="delete"),
    Route("GET", Target.BUCKET, "ListObjectsV2", query=(("list-type", "2"),)),
    Route("GET", Target.BUCKET, "ListObjects"),
    Route("HEAD", Target.BUCKET, "HeadBucket"),
    Route("PUT", Target.BUCKET, "CreateBucket"),
    Route("DELETE", Target.BUCKET, "DeleteBucket"),
    Route("PUT", Target.OBJECT, "UploadPartCopy", subresource="uploadId", requires=frozenset({"partNumber"}),
          copy_source=True),
    Route("PUT", Target.OBJECT, "UploadPart", subresource="uploadId", requires=frozenset({"partNumber"}),
          copy_source=False),
    Route("PUT", Target.OBJECT, "CopyObject", copy_source=True),
    Route("PUT", Target.OBJECT, "PutObject", copy_source=False),
    Route("POST", Target.OBJECT, "CreateMultipartUpload", subresource="uploads"),
    Route("POST", Target.OBJECT, "CompleteMultipartUpload", subresource="uploadId"),
    Route("DELETE", Target.OBJECT, "AbortMultipartUpload", subresource="uploadId"),
    Route("GET", Target.OBJECT, "ListParts", subresource="uploadId"),
    Route("GET", Target.OBJECT, "GetObject", allows=_READ_OBJECT),
    Route("HEAD", Target.OBJECT, "HeadObject", allows=_READ_OBJECT),
    Route("DELETE", Target.OBJECT, "DeleteObject", allows=frozenset({"versionId"})),
)

WRITE_METHODS = frozenset({"PUT", "POST", "DELETE"})


def virtual_host_bucket(host: str | None, s3_domain: str | None) -> str | None:
    """Virtual-hosted-style addressing (issue 17): ``Host: <bucket>.<s3 domain>[:port]``
    names the bucket; the path is then the whole key. None: path-style."""
    if not host or not s3_domain:
        return None
    name = host.rsplit(":", 1)[0] if not host.endswith("]") else host
    name = name.lower().rstrip(".")
    suffix = "." + s3_domain.lower().strip(".")
    if name.endswith(suffix) and len(name) > len(suffix):
        return name[: -len(suffix)]
    return None


def parse(method: str, path: str, query: str, headers: Any, virtual_bucket: str | None = None) -> S3Request:
    """Path-style request -> bucket and key (percent-decoded) and the query;
    ``virtual_bucket`` (virtual-hosted style): the bucket, the path is the key."""
    rest = path[1:] if path.startswith("/") else path
    if virtual_bucket is not None:
        bucket: str | None = virtual_bucket
        key = unquote(rest) if rest else None
    else:
        bucket_part, slash, key_part = rest.partition("/")
        bucket = unquote(bucket_part) or None
        key = unquote(key_part) if slash and key_part else None
    target = Target.SERVICE if bucket is None else (Target.OBJECT if key is not None else Target.BUCKET)
    params = dict(parse_qsl(query, keep_blank_values=True))
    index = {name: value for name, value in headers}
    return S3Request(method, target, bucket, key, params, index)


# Per routes table: its routes by (method, target), each with the sub-resource keys it
# needs, in the table's order. Every request is routed, and a GetObject was the 24th
# route tried of SSE_ROUTES (1.9 % of a small GET's server CPU, bench/S3_SSE.md
# issue-17r). Keyed by the table's id, the table kept with its index (so the id is its).
_Candidates = tuple[tuple[Route, frozenset[str]], ...]
_INDEXES: dict[int, tuple[tuple[Route, ...], dict[tuple[str, Target], _Candidates]]] = {}


def _candidates(routes: tuple[Route, ...], method: str, target: Target) -> _Candidates:
    entry = _INDEXES.get(id(routes))
    if entry is None or entry[0] is not routes:
        index: dict[tuple[str, Target], list[tuple[Route, frozenset[str]]]] = {}
        for r in routes:
            index.setdefault((r.method, r.target), []).append((r, r.needed))
        entry = routes, {k: tuple(v) for k, v in index.items()}
        _INDEXES[id(routes)] = entry
    return entry[1].get((method, target), ())


def route(request: S3Request, routes: tuple[Route, ...] = ROUTES) -> Route:
    """The trail bucket's routes by default (read-only); ``SSE_ROUTES`` for the others."""
    present = SUBRESOURCES.intersection(request.query) if request.query else frozenset()
    for candidate, needed in _candidates(routes, request.method, request.target):
        if candidate.accepts(request, present, needed):
            return candidate
    if routes is ROUTES and request.method in WRITE_METHODS and request.bucket is not None:
        raise errors.AccessDenied("Access Denied", audit_reason="this bucket is read-only")
    raise errors.FeatureNotImplemented()


def resolve(request: S3Request, routes: tuple[Route, ...] = ROUTES) -> tuple[str, errors.TrentError | None]:
    """The operation, and the error ``route`` raised if no route matched (the operation is
    then the event's name for it): routed once, the error raised by the caller when its
    turn comes (after authentication)."""
    try:
        return route(request, routes).operation, None
    except errors.TrentError as exc:
        name = {"PUT": "PutObject", "DELETE": "DeleteObject", "POST": "PostObject"}.get(request.method, "Unknown")
        return name, exc


def operation_name(request: S3Request, routes: tuple[Route, ...] = ROUTES) -> str:
    """The event's name for a request that may not have matched a route."""
    return resolve(request, routes)[0]

