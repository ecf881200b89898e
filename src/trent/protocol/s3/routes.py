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

    def matches(self, request: S3Request, present: frozenset[str]) -> bool:
        if self.method != request.method or self.target is not request.target:
            return False
        if (self.subresource is None and present) or (self.subresource is not None and self.subresource not in present):
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
WRITE_METHODS = frozenset({"PUT", "POST", "DELETE"})


def parse(method: str, path: str, query: str, headers: Any) -> S3Request:
    """Path-style request -> bucket and key (percent-decoded) and the query."""
    rest = path[1:] if path.startswith("/") else path
    bucket_part, slash, key_part = rest.partition("/")
    bucket = unquote(bucket_part) or None
    key = unquote(key_part) if slash and key_part else None
    target = Target.SERVICE if bucket is None else (Target.OBJECT if key is not None else Target.BUCKET)
    params = dict(parse_qsl(query, keep_blank_values=True))
    index = {name: value for name, value in headers}
    return S3Request(method, target, bucket, key, params, index)


def route(request: S3Request) -> Route:
    present = SUBRESOURCES.intersection(request.query)
    for candidate in ROUTES:
        if candidate.matches(request, present):
            return candidate
    if request.method in WRITE_METHODS and request.bucket is not None:
        raise errors.AccessDenied("Access Denied", audit_reason="this bucket is read-only")
    raise errors.FeatureNotImplemented()


def operation_name(request: S3Request) -> str:
    """The event's name for a request that may not have matched a route."""
    try:
        return route(request).operation
    except errors.TrentError:
        return {"PUT": "PutObject", "DELETE": "DeleteObject", "POST": "PostObject"}.get(request.method, "Unknown")

