"""Verification: recompute the signature over the exact request, compare in constant time
(spec §1.6, all steps; mismatch text from §1.5).

KMS: the payload hash is always computed from the exact body bytes received; an
``X-Amz-Content-SHA256`` header is never trusted in its place (KMS signs the payload).

S3 (issue 17): the canonical request's last line is the ``x-amz-content-sha256`` header
as sent (``payload_hash=``), and the body is then checked by its payload mode
(``payload.py``: a SHA-256 compare, or ``chunked.py``'s chunk signatures); the canonical
URI is the path exactly as sent (``path_as_sent=True``: S3 is the one service botocore
does not double-encode, ``S3SigV4Auth._normalize_url_path``).

The trail bucket's reads (issue 16) use :func:`s3_payload_hash` until S3's HTTP front
(issue 17) routes every S3 request through ``payload.py``.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable
from dataclasses import dataclass

from trent import errors
from trent.protocol.sigv4.authorization import ParsedAuth, parse_request_auth
from trent.protocol.sigv4.canonical import canonical_request, string_to_sign
from trent.protocol.sigv4.constants import (
    DEFAULT_SERVICE,
    ENCODE_ERRORS,
    MAX_SKEW_SECONDS,
)
from trent.protocol.sigv4.headers import HeaderIndex, HeaderInput, index_headers
from trent.protocol.sigv4.scope import RegionCheck, check_scope_and_time
from trent.protocol.sigv4.signing_keys import SigningKeyCache

_DEFAULT_CACHE = SigningKeyCache()


def verify_signature(
    parsed: ParsedAuth,
    secret: str,
    method: str,
    path: str,
    query: str,
    headers: HeaderInput | HeaderIndex,
    body: bytes,
    *,
    cache: SigningKeyCache | None = None,
    payload_hash: str | None = None,
    path_as_sent: bool = False,
) -> None:
    """Recompute the signature over the exact request and compare in constant time.

    ``payload_hash`` (S3): the ``x-amz-content-sha256`` value to sign instead of the
    body's SHA-256 (``body`` is then not read); ``path_as_sent`` (S3): use ``path``
    (already percent-encoded, as on the request line) as the canonical URI.
    Mismatch -> :class:`errors.InvalidSignature` with AWS's default text (spec §1.5).
    """
    auth = parsed.authorization
    digest = payload_hash if payload_hash is not None else hashlib.sha256(body).hexdigest()
    creq = canonical_request(
        method, path, query, headers, auth.signed_headers, digest, path_as_sent=path_as_sent
    )
    sts = string_to_sign(parsed.amz_date, auth.scope, creq)
    prepared = (cache or _DEFAULT_CACHE).prepared(
        auth.access_key_id, secret, auth.date, auth.region, auth.service
    )
    expected = prepared.hexdigest(sts.encode("utf-8", ENCODE_ERRORS))
    # habits §5: constant-time compare; bytes so that non-ASCII input cannot raise TypeError
    if not hmac.compare_digest(expected.encode("ascii"), auth.signature.encode("utf-8", ENCODE_ERRORS)):
        raise errors.InvalidSignature(audit_reason="signature mismatch")


UNSIGNED_PAYLOAD = "UNSIGNED-PAYLOAD"


def s3_payload_hash(headers: HeaderInput | HeaderIndex, body: bytes) -> str:
    """What an S3 request's signature covers as its payload: the ``X-Amz-Content-SHA256``
    header — the body's SHA-256 (checked) or UNSIGNED-PAYLOAD. Missing, or a streaming
    mode: IncompleteSignature / InvalidSignature."""
    declared = index_headers(headers).first("x-amz-content-sha256")
    if declared is None:
        raise errors.IncompleteSignature("Missing required header for this request: x-amz-content-sha256")
    if declared == UNSIGNED_PAYLOAD:
        return declared
    if declared.startswith("STREAMING-"):
        raise errors.InvalidSignature("Streaming payloads (aws-chunked) are not supported by this Trent server yet.")
    if not hmac.compare_digest(declared.encode("ascii", "replace"), hashlib.sha256(body).hexdigest().encode()):
        raise errors.InvalidSignature(
            "The provided 'x-amz-content-sha256' header does not match what was computed.",
            audit_reason="payload hash mismatch",
        )
    return declared


@dataclass(frozen=True, slots=True)
class SigV4Verifier:
    """The whole check for callers that can resolve a secret with a plain callable.

    ``lookup_secret(access_key_id)`` returns the secret or ``None`` (-> UnrecognizedClient).
    Session-token checks stay with the caller: they need storage, not SigV4.
    """

    region_ok: RegionCheck
    service: str = DEFAULT_SERVICE
    max_skew: int = MAX_SKEW_SECONDS
    cache: SigningKeyCache = _DEFAULT_CACHE

    def verify(
        self,
        method: str,
        path: str,
        query: str,
        headers: HeaderInput | HeaderIndex,
        body: bytes,
        now: float,
        lookup_secret: Callable[[str], str | None],
    ) -> ParsedAuth:
        parsed = parse_request_auth(headers)
        secret = lookup_secret(parsed.authorization.access_key_id)
        if secret is None:
            raise errors.UnrecognizedClient()
        check_scope_and_time(parsed, now, self.region_ok, service=self.service, max_skew=self.max_skew)
        verify_signature(parsed, secret, method, path, query, parsed.headers, body, cache=self.cache)
        return parsed
