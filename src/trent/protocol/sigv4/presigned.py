"""Query-string authentication: S3 presigned URLs (SigV4 "authenticating requests by query
parameters"; s3-sse spec §6: a presigned URL may carry SSE-C, whose key headers still travel
as headers).

A presigned URL carries what the ``Authorization`` header would in six query parameters::

    X-Amz-Algorithm=AWS4-HMAC-SHA256 & X-Amz-Credential=AKID%2F<date>%2F<region>%2Fs3%2Faws4_request
    & X-Amz-Date=<yyyymmddThhmmssZ> & X-Amz-Expires=<seconds> & X-Amz-SignedHeaders=host[;...]
    & X-Amz-Signature=<hex>   (& X-Amz-Security-Token=... for temporary credentials)

and differs from header authentication in three ways that matter here:

* the canonical query string is every parameter *but* ``X-Amz-Signature``;
* the payload is ``UNSIGNED-PAYLOAD`` (botocore's ``S3SigV4QueryAuth``);
* there is no ±5 minute clock skew: the URL is valid from ``X-Amz-Date`` for
  ``X-Amz-Expires`` seconds (at most 604,800, a week), and S3 refuses it afterwards with
  403 AccessDenied "Request has expired".

Errors are S3's: ``AuthorizationQueryParametersError`` (400) for missing or malformed
parameters, with S3's texts; the signature itself goes through the one verifier
(``verify_signature``), so a mismatch is SignatureDoesNotMatch as for any S3 request.
Nothing here reads a clock: ``now`` is a parameter (habits §3).
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import unquote

from trent import errors
from trent.protocol.sigv4.authorization import AuthorizationHeader, ParsedAuth
from trent.protocol.sigv4.constants import ALGORITHM, TERMINATOR
from trent.protocol.sigv4.dates import format_amz_date, parse_amz_date
from trent.protocol.sigv4.echo import echo
from trent.protocol.sigv4.headers import HeaderInput, HeaderIndex, index_headers

#: S3's ceiling for X-Amz-Expires: seven days.
MAX_EXPIRES_SECONDS = 604_800
_SIGNATURE = "X-Amz-Signature"
_REQUIRED = ("X-Amz-Algorithm", "X-Amz-Credential", _SIGNATURE, "X-Amz-Date", "X-Amz-SignedHeaders", "X-Amz-Expires")


_DETECT = frozenset({"X-Amz-Algorithm", _SIGNATURE, "X-Amz-Credential"})


def is_presigned(query: str) -> bool:
    """Does this query string try SigV4 query-string authentication? Any of its three
    defining parameters is enough (a URL missing the others gets S3's
    AuthorizationQueryParametersError, not the anonymous answer); names compare whole."""
    if "X-Amz-" not in query:  # the common case, cheaply
        return False
    return any(pair.partition("=")[0] in _DETECT for pair in query.split("&"))


@dataclass(frozen=True, slots=True)
class PresignedAuth:
    """A presigned request's authentication, shaped for the one verifier."""

    parsed: ParsedAuth
    #: the query the signature covers: every parameter as sent except X-Amz-Signature
    signed_query: str
    expires_at: int  # epoch seconds


def refuse_authorization_header(idx: HeaderIndex) -> None:
    """S3 answers a request signed both in the query and in a header with InvalidArgument
    (one auth mechanism per request), whichever query signature version it carries."""
    if idx.first(b"authorization") is not None:
        raise errors.InvalidArgument(
            "Only one auth mechanism allowed; only the X-Amz-Algorithm query parameter, Signature query "
            "string parameter or the Authorization header should be specified",
            details={"ArgumentName": "Authorization", "ArgumentValue": "null"},
        )


def parse_presigned(query: str, headers: HeaderInput | HeaderIndex, now: float, *, service: str) -> PresignedAuth:
    """Read and check a presigned URL's parameters (everything but the signature itself).

    Raises :class:`errors.InvalidArgument` when an Authorization header is sent too,
    :class:`errors.AuthorizationQueryParametersError` for missing or malformed parameters
    and :class:`errors.PresignedUrlNotValidNow` outside the URL's validity window.
    """
    idx = index_headers(headers)
    refuse_authorization_header(idx)
    values: dict[str, str] = {}
    kept: list[str] = []
    for pair in query.split("&"):
        if not pair:
            continue
        raw_name, _, raw_value = pair.partition("=")
        name = unquote(raw_name)
        if name in values and name.startswith("X-Amz-"):
            raise errors.AuthorizationQueryParametersError(f"Duplicate query parameter {echo(name)}")
        values[name] = unquote(raw_value)
        if name != _SIGNATURE:
            kept.append(pair)
    if any(not values.get(name) for name in _REQUIRED):
        raise errors.AuthorizationQueryParametersError()
    if values["X-Amz-Algorithm"] != ALGORITHM:
        raise errors.AuthorizationQueryParametersError(f'X-Amz-Algorithm only supports "{ALGORITHM}"')
    credential = values["X-Amz-Credential"].split("/")
    if len(credential) != 5 or credential[4] != TERMINATOR:
        raise errors.AuthorizationQueryParametersError(
            "Error parsing the X-Amz-Credential parameter; the Credential is mal-formed; "
            'expecting "<YOUR-AKID>/YYYYMMDD/REGION/SERVICE/aws4_request".'
        )
    akid, date, region, scope_service, terminal = credential
    if scope_service != service:
        raise errors.AuthorizationQueryParametersError(
            f'Error parsing the X-Amz-Credential parameter; incorrect service "{echo(scope_service)}". '
            f'This endpoint belongs to "{service}".'
        )
    expires = _expires(values["X-Amz-Expires"])
    try:
        request_time = parse_amz_date(values["X-Amz-Date"])
    except errors.TrentError:
        raise errors.AuthorizationQueryParametersError(
            'X-Amz-Date must be in the ISO8601 Long Format "yyyyMMdd\'T\'HHmmss\'Z\'"'
        ) from None
    if date != values["X-Amz-Date"][:8]:
        # the signing key is derived from the scope's date: S3 refuses a scope of another
        # day before any signature is computed [?: text as reported by S3 users]
        raise errors.AuthorizationQueryParametersError("Invalid credential date. Date is not the same as X-Amz-Date.")
    signed_headers = tuple(values["X-Amz-SignedHeaders"].split(";"))
    if "host" not in signed_headers:
        raise errors.AuthorizationQueryParametersError(
            "Query-string authentication requires the Host header to be signed"  # [?: text]
        )
    _require_signed_amz_headers(idx, signed_headers)
    whole_now = int(now)
    expires_at = request_time + expires
    if whole_now < request_time:
        raise errors.PresignedUrlNotValidNow("Request is not yet valid")  # [?: text]
    if whole_now > expires_at:
        raise errors.PresignedUrlNotValidNow(details={
            "X-Amz-Expires": str(expires),
            "Expires": iso_time(expires_at),
            "ServerTime": iso_time(whole_now),
        })
    auth = AuthorizationHeader(akid, date, region, scope_service, terminal, signed_headers, values[_SIGNATURE])
    parsed = ParsedAuth(auth, values["X-Amz-Date"], request_time, values.get("X-Amz-Security-Token"), idx)
    return PresignedAuth(parsed, "&".join(kept), expires_at)


def _require_signed_amz_headers(idx: HeaderIndex, signed_headers: tuple[str, ...]) -> None:
    """The rule of header authentication -- every ``x-amz-*`` header sent is signed -- with
    S3's answer to a presigned request that breaks it: 403 AccessDenied naming the headers
    in ``HeadersNotSigned`` (not the header-auth AuthorizationHeaderMalformed; [?: the
    element's separator for several headers is assumed to be ", "])."""
    signed = {name.lower() for name in signed_headers}
    unsigned = sorted(n.decode("latin-1") for n in idx.names() if n.startswith(b"x-amz-")
                      and n.decode("latin-1") not in signed)
    if unsigned:
        raise errors.HeadersNotSigned(details={"HeadersNotSigned": ", ".join(unsigned)})


def _expires(text: str) -> int:
    if not text.lstrip("-").isdigit():
        raise errors.AuthorizationQueryParametersError("X-Amz-Expires should be a number")
    seconds = int(text)
    if seconds < 0:
        raise errors.AuthorizationQueryParametersError("X-Amz-Expires must be non-negative")
    if seconds > MAX_EXPIRES_SECONDS:
        raise errors.AuthorizationQueryParametersError(
            "X-Amz-Expires must be less than a week (in seconds) that is; 604800 seconds"
        )
    return seconds


def iso_time(epoch: int) -> str:
    """Epoch seconds as S3 prints them in an error's ``Expires`` / ``ServerTime``."""
    basic = format_amz_date(epoch)  # yyyymmddThhmmssZ
    return f"{basic[0:4]}-{basic[4:6]}-{basic[6:8]}T{basic[9:11]}:{basic[11:13]}:{basic[13:15]}Z"
