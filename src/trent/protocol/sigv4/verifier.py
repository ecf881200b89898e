"""Verification: recompute the signature over the exact request, compare in constant time
(spec §1.6, all steps; mismatch text from §1.5).

The payload hash is always computed from the exact body bytes received; an
``X-Amz-Content-SHA256`` header is never trusted in its place (KMS signs the payload).
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
from trent.protocol.sigv4.headers import HeaderIndex, HeaderInput
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
) -> None:
    """Recompute the signature over the exact request and compare in constant time.

    Mismatch -> :class:`errors.InvalidSignature` with AWS's default text (spec §1.5).
    """
    auth = parsed.authorization
    creq = canonical_request(
        method, path, query, headers, auth.signed_headers, hashlib.sha256(body).hexdigest()
    )
    sts = string_to_sign(parsed.amz_date, auth.scope, creq)
    prepared = (cache or _DEFAULT_CACHE).prepared(
        auth.access_key_id, secret, auth.date, auth.region, auth.service
    )
    expected = prepared.hexdigest(sts.encode("utf-8", ENCODE_ERRORS))
    # habits §5: constant-time compare; bytes so that non-ASCII input cannot raise TypeError
    if not hmac.compare_digest(expected.encode("ascii"), auth.signature.encode("utf-8", ENCODE_ERRORS)):
        raise errors.InvalidSignature(audit_reason="signature mismatch")


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
