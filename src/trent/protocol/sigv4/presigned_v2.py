"""S3's legacy query-string authentication (Signature Version 2): the presigned URLs boto3
makes by default (``generate_presigned_url`` without ``signature_version='s3v4'``, botocore's
``HmacV1QueryAuth``), so they work against Trent unchanged.

    ?AWSAccessKeyId=AKID & Expires=<epoch seconds> & Signature=<base64 HMAC-SHA1>

    StringToSign = VERB \\n Content-MD5 \\n Content-Type \\n Expires \\n
                   CanonicalizedAmzHeaders CanonicalizedResource

(Amazon S3 "Authenticating requests: query string", the REST authentication of
Signature Version 2.) ``x-amz-*`` values come from the headers *and* from the query: botocore
moves them into the URL (the SSE-C key headers, ``x-amz-security-token``), and S3 reads them
there. CanonicalizedResource is the path with the bucket (``/bucket/key`` even for a
virtual-hosted request) and the sub-resources S3 lists, sorted, values decoded.

Nothing here needs a clock or a secret store: ``now`` and the secret are parameters; the
compare is constant-time.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from dataclasses import dataclass
from urllib.parse import unquote

from trent import errors
from trent.protocol.sigv4.echo import echo
from trent.protocol.sigv4.presigned import iso_time, refuse_authorization_header
from trent.protocol.sigv4.headers import HeaderIndex, HeaderInput, index_headers

#: S3's sub-resources and response overrides that belong in the CanonicalizedResource
#: (the list botocore's HmacV1Auth signs, which is S3's documented one).
SUBRESOURCES = frozenset({
    "accelerate", "acl", "cors", "defaultObjectAcl", "location", "logging", "partNumber", "policy",
    "requestPayment", "torrent", "versioning", "versionId", "versions", "website", "uploads", "uploadId",
    "response-content-type", "response-content-language", "response-expires", "response-cache-control",
    "response-content-disposition", "response-content-encoding", "delete", "lifecycle", "tagging", "restore",
    "storageClass", "notification", "replication", "analytics", "metrics", "inventory", "select",
    "select-type", "object-lock",
})


_V2_PARAMS = frozenset({"AWSAccessKeyId", "Signature"})


def is_presigned_v2(query: str) -> bool:
    """Does this query string try SigV2 query-string authentication? Either parameter is
    enough (a URL missing the other gets S3's AccessDenied naming all three, not the
    anonymous answer); names are compared whole, so ``X-Amz-Signature`` is not one."""
    if "AWSAccessKeyId" not in query and "Signature" not in query:  # the common case, cheaply
        return False
    return any(pair.partition("=")[0] in _V2_PARAMS for pair in query.split("&"))


@dataclass(frozen=True, slots=True)
class PresignedV2:
    access_key_id: str
    signature: str  # base64, as sent
    expires: int  # epoch seconds
    security_token: str | None
    string_to_sign: str


def parse_presigned_v2(
    method: str, path: str, query: str, headers: HeaderInput | HeaderIndex, now: float, *, bucket_from_host: str | None
) -> PresignedV2:
    """The parameters and the string to sign; refuses an expired URL (S3's AccessDenied
    "Request has expired") and a missing parameter before any secret is looked up."""
    idx = index_headers(headers)
    refuse_authorization_header(idx)
    params: dict[str, str] = {}
    amz: dict[str, list[str]] = {}
    for pair in query.split("&"):
        if not pair:
            continue
        raw_name, has_value, raw_value = pair.partition("=")
        name, value = unquote(raw_name), unquote(raw_value)
        params.setdefault(name, value)
        if name.lower().startswith("x-amz-"):
            amz.setdefault(name.lower(), []).append(value.strip())
        elif name in SUBRESOURCES:
            params[name] = value if has_value else "\0"  # "\0": a bare sub-resource, no '='
    if not (params.get("AWSAccessKeyId") and params.get("Signature") and params.get("Expires")):
        raise errors.AccessDenied("Query-string authentication requires the Signature, Expires and AWSAccessKeyId "
                                  "parameters")
    if not params["Expires"].isdigit():
        raise errors.AccessDenied("Invalid date (should be seconds since epoch): " + echo(params["Expires"]))
    expires = int(params["Expires"])
    if int(now) > expires:
        raise errors.PresignedUrlNotValidNow(details={"Expires": iso_time(expires), "ServerTime": iso_time(int(now))})
    for header_name in idx.names():
        if header_name.startswith(b"x-amz-"):
            key = header_name.decode("latin-1")
            sent = [v.strip() for v in idx.get_all(key)]
            # botocore copies the x-amz-* headers it signed into the URL, and a client
            # then sends them as headers too (the SSE-C key, which S3 reads from headers):
            # the same value in both places counts once; any other value is part of what
            # must have been signed, so an unsigned header fails the signature check.
            if amz.get(key) != sent:
                amz.setdefault(key, []).extend(sent)
    amz_lines = "".join(f"{name}:{','.join(amz[name])}\n" for name in sorted(amz))
    resource = canonicalized_resource_path(path, bucket_from_host)
    sub = sorted((n, v) for n, v in params.items() if n in SUBRESOURCES)
    if sub:
        resource += "?" + "&".join(n if v == "\0" else f"{n}={v}" for n, v in sub)
    string_to_sign = "\n".join((
        method.upper(), idx.first(b"content-md5") or params.get("content-md5", ""),
        idx.first(b"content-type") or params.get("content-type", ""), params["Expires"],
    )) + "\n" + amz_lines + resource
    token = amz.get("x-amz-security-token")
    return PresignedV2(params["AWSAccessKeyId"], params["Signature"], expires, token[0] if token else None,
                       string_to_sign)


def canonicalized_resource_path(path: str, bucket_from_host: str | None) -> str:
    """The path part of SigV2's CanonicalizedResource: ``/bucket/key`` whichever the
    addressing style, and ``/bucket/`` for a request to the bucket itself (Amazon S3
    "Constructing the CanonicalizedResource element": a path-style ``GET /bucket?prefix=...``
    and a virtual-hosted ``GET /?prefix=...`` both sign ``/bucket/``, as botocore's
    HmacV1QueryAuth does); ``/`` for a request that names no bucket (ListBuckets)."""
    if bucket_from_host:
        return f"/{bucket_from_host}{path or '/'}"
    if path.count("/") == 1 and len(path) > 1:  # "/bucket": path-style, bucket only
        return path + "/"
    return path or "/"


def verify_presigned_v2(presigned: PresignedV2, secret: str) -> None:
    """HMAC-SHA1 of the string to sign under the secret, compared in constant time."""
    expected = base64.b64encode(
        hmac.new(secret.encode("utf-8"), presigned.string_to_sign.encode("utf-8"), hashlib.sha1).digest()
    )
    if not hmac.compare_digest(expected, presigned.signature.encode("utf-8", "replace")):
        raise errors.InvalidSignature(audit_reason="signature mismatch (query-string v2)")
