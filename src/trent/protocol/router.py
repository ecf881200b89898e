"""Which AWS service a request is for (architecture.md, "several services on one endpoint").

One port answers KMS, STS, CloudTrail and S3, like an AWS regional endpoint behind one
name. A JSON service's ``X-Amz-Target`` prefix (``TrentService.`` KMS, CloudTrail's
target prefix) names its service outright — only those services send one, and a KMS
call signed for the wrong scope then gets KMS's own "Credential should be scoped to
correct service: 'kms'" rather than another protocol's error. Otherwise the SigV4
credential scope's service decides (``Credential=AKID/date/region/<service>/
aws4_request`` in the Authorization header, or ``X-Amz-Credential`` in a presigned
URL's query: S3, STS); an unsigned request goes by its shape: a form-encoded ``POST /``,
or one naming an ``Action`` in its query, is STS's query protocol; any other path, a
GET/HEAD/PUT/DELETE, or a ``POST /`` with a query string (a virtual-hosted bucket's
``POST /?delete``: KMS calls never carry one) is S3's REST protocol; whatever is left is
KMS's, which answers it with its own error. Each service then authenticates with the
one SigV4 verifier, which checks that the scope names it.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence

KMS_TARGET_PREFIX = b"TrentService."
CLOUDTRAIL_TARGET_PREFIX = b"com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101."
_FORM = b"application/x-www-form-urlencoded"
_SCOPE_END = b"/aws4_request"


class Service(enum.Enum):
    KMS = "kms"
    STS = "sts"
    CLOUDTRAIL = "cloudtrail"
    S3 = "s3"


_BY_SCOPE = {b"kms": Service.KMS, b"sts": Service.STS, b"cloudtrail": Service.CLOUDTRAIL, b"s3": Service.S3}


def scope_service(credential: bytes) -> bytes | None:
    """The service part of a credential scope found in ``credential`` (an Authorization
    header or a query string), or None."""
    end = credential.find(_SCOPE_END)
    if end < 0:
        end = credential.find(b"%2Faws4_request")  # presigned: the scope is URL-encoded
        if end < 0:
            return None
        start = credential.rfind(b"%2F", 0, end)
        return credential[start + 3 : end] if start >= 0 else None
    start = credential.rfind(b"/", 0, end)
    return credential[start + 1 : end] if start >= 0 else None


def route(method: str, path: str, query: bytes, headers: Sequence[tuple[bytes, bytes]]) -> Service:
    authorization = target = content_type = None
    for name, value in headers:
        if name == b"authorization":
            authorization = value
        elif name == b"x-amz-target":
            target = value
        elif name == b"content-type":
            content_type = value
    if target is not None:
        if target.startswith(KMS_TARGET_PREFIX):
            return Service.KMS
        if target.startswith(CLOUDTRAIL_TARGET_PREFIX):
            return Service.CLOUDTRAIL
    signed_for = scope_service(authorization) if authorization is not None else None
    if signed_for is None and b"X-Amz-Credential=" in query:
        signed_for = scope_service(query)
    if signed_for is not None:
        service = _BY_SCOPE.get(signed_for)
        if service is not None:
            return service
    if target is not None:
        return Service.KMS  # an unknown target: KMS answers UnknownOperationException
    if path != "/" or method in ("GET", "HEAD", "PUT", "DELETE"):
        return Service.S3
    if method == "POST" and (content_type is not None and content_type.startswith(_FORM)
                             or query.startswith(b"Action=") or b"&Action=" in query):
        return Service.STS
    if query:
        return Service.S3
    return Service.KMS
