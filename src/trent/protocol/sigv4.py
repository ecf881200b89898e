"""AWS Signature Version 4 verification as pure, separately testable steps.

The steps follow spec §1.6 (and habits §2): each is a plain function so a known-answer
test can name the step that broke:

    parse_authorization()  -> AuthorizationHeader          §1.6 step 1
    parse_request_auth()   -> ParsedAuth                   §1.6 steps 1-2 (+ token)
    check_scope_and_time()                                  §1.6 steps 2 and 7
    canonical_request()    -> str                          §1.6 step 4
    string_to_sign()       -> str                          §1.6 step 5
    signing_key()          -> bytes                        §1.6 step 6
    signature()            -> str                          §1.6 step 6
    verify_signature()                                      all of the above, constant-time compare

The server drives them in this order::

    parsed = parse_request_auth(headers)           # MissingAuthenticationToken / IncompleteSignature
    secret = <resolve parsed.authorization.access_key_id through storage>
                                                   # caller raises UnrecognizedClient / checks token
    check_scope_and_time(parsed, now, region_ok)   # InvalidSignature (exact AWS texts, §1.5)
    verify_signature(parsed, secret, method, path, query, parsed.headers, body)

(``parsed.headers`` is the :class:`HeaderIndex` built while parsing; passing the raw
ASGI list instead is equally correct, it is just indexed a second time.)

Performance (the server must sustain ≥10k req/s on one core): headers are indexed once
without decoding, the botocore-shaped Authorization header takes a str-op fast path,
SignedHeaders plans and X-Amz-Date parses are memoized, and the derived signing key is
cached with its HMAC pads pre-absorbed (:class:`SigningKeyCache`).

:class:`SigV4Verifier` bundles the same sequence for callers that can hand it a
``lookup_secret`` callable. Nothing here reads a clock: ``now`` is a parameter (habits §3).

Choices the spec leaves open (documented here, pinned by tests):

* ``host`` must be among ``SignedHeaders``; otherwise :class:`IncompleteSignature` with
  AWS's front-end text ``'Host' or ':authority' must be a 'SignedHeader' in the AWS
  Authorization.`` It is raised while parsing, so it needs no secret lookup.
* An unsupported algorithm (anything but ``AWS4-HMAC-SHA256``) is :class:`IncompleteSignature`.
* A ``Date`` header that is not RFC 1123 counts as absent (the "requires existence of either
  a 'X-Amz-Date' or a 'Date' header" text). A malformed ``X-Amz-Date`` gets AWS's
  "Date must be in ISO-8601 'basic format'" text.
* The payload hash is always computed from the exact body bytes received; an
  ``X-Amz-Content-SHA256`` header is never trusted in its place (KMS signs the payload).
* Clock skew is ±5 minutes, inclusive (spec §1.5 "Clock skew").
"""

from __future__ import annotations

import calendar
import hashlib
import hmac
import re
from collections.abc import Callable, Container, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from email.utils import parsedate_tz
from time import gmtime, strftime
from typing import Union
from urllib.parse import quote

from trent import errors

ALGORITHM = "AWS4-HMAC-SHA256"
TERMINATOR = "aws4_request"
DEFAULT_SERVICE = "kms"
#: ±5 minutes: what JSON/Coral services enforce in observed traffic (spec §1.5, §14).
MAX_SKEW_SECONDS = 300
#: SHA-256 of the empty string: the payload hash of a request without a body.
EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()

# An echoed Authorization value is capped so a huge header is not reflected verbatim.
_MAX_ECHO_CHARS = 2048
# Lone surrogates (possible only in str input, never in ASGI bytes) must not raise
# UnicodeEncodeError out of a verifier; they just produce a non-matching signature.
_ENC_ERRORS = "surrogatepass"
_AMZ_DATE_RE = re.compile(r"\d{8}T\d{6}Z", re.ASCII)

HeaderList = Sequence[tuple[Union[bytes, str], Union[bytes, str]]]
HeaderInput = Union[HeaderList, Mapping[str, Sequence[str]]]
RegionCheck = Union[Callable[[str], bool], Container[str]]


@dataclass(frozen=True, slots=True)
class AuthorizationHeader:
    """The fields of ``Authorization: AWS4-HMAC-SHA256 Credential=…, SignedHeaders=…, Signature=…``."""

    access_key_id: str
    date: str  # yyyymmdd from the credential scope
    region: str
    service: str
    terminal: str
    signed_headers: tuple[str, ...]
    signature: str  # lowercase hex as sent by the client

    @property
    def scope(self) -> str:
        """``<date>/<region>/<service>/<terminal>``: the credential scope in the string to sign."""
        return f"{self.date}/{self.region}/{self.service}/{self.terminal}"


@dataclass(frozen=True, slots=True)
class ParsedAuth:
    """Everything authentication needs from the request headers, before any secret is known."""

    authorization: AuthorizationHeader
    amz_date: str  # basic ISO-8601 (yyyymmddThhmmssZ), as used in the string to sign
    request_time: int  # epoch seconds of ``amz_date``
    security_token: str | None  # X-Amz-Security-Token, if sent
    #: the indexed request headers, so verify_signature need not index them again
    headers: HeaderIndex = field(
        default_factory=lambda: HeaderIndex({}, None), repr=False, compare=False
    )


# --- step 1: the Authorization header ---------------------------------------------------


def _echo(header: str) -> str:
    return header if len(header) <= _MAX_ECHO_CHARS else header[:_MAX_ECHO_CHARS] + "..."


def _parse_authorization(header: str, *, date_present: bool) -> AuthorizationHeader:
    fast = _parse_botocore_shape(header) if date_present else None
    return fast if fast is not None else _parse_general(header, date_present=date_present)


def _parse_general(header: str, *, date_present: bool) -> AuthorizationHeader:
    algorithm, _, rest = header.strip().partition(" ")
    if algorithm != ALGORITHM:
        raise errors.IncompleteSignature(
            f"Unsupported AWS 'algorithm': '{_echo(algorithm)}'. Authorization={_echo(header)}"
        )
    params: dict[str, str] = {}
    for token in rest.split(","):
        token = token.strip()
        if not token:
            continue
        name, eq, value = token.partition("=")
        if not eq:
            # spec §1.5: AWS's own wording for a parameter without '='
            raise errors.IncompleteSignature(
                f"'{_echo(token)}' not a valid key=value pair (missing equal-sign) "
                f"in Authorization header: '{_echo(header)}'."
            )
        params.setdefault(name.strip(), value.strip())

    # spec §1.5: every missing part is listed, in this order, then the header is echoed
    missing = [
        f"Authorization header requires '{part}' parameter."
        for part in ("Credential", "Signature", "SignedHeaders")
        if not params.get(part)
    ]
    if not date_present:
        missing.append(
            "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header."
        )
    if missing:
        raise errors.IncompleteSignature(" ".join(missing) + f" Authorization={_echo(header)}")

    credential = params["Credential"]
    parts = credential.split("/")
    if len(parts) != 5:
        raise errors.IncompleteSignature(
            "Credential must have exactly 5 slash-delimited elements, "
            f"e.g. keyid/date/region/service/term, got '{_echo(credential)}'"
        )
    signed_headers = tuple(params["SignedHeaders"].split(";"))
    # We require host to be signed (spec §1.6 step 4); otherwise a signature could be
    # replayed against another endpoint. AWS's front end uses this exact sentence.
    if "host" not in signed_headers and "host" not in (h.lower() for h in signed_headers):
        raise errors.IncompleteSignature(
            "'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization."
        )
    akid, date, region, service, terminal = parts
    return AuthorizationHeader(
        access_key_id=akid,
        date=date,
        region=region,
        service=service,
        terminal=terminal,
        signed_headers=signed_headers,
        signature=params["Signature"],
    )


_FAST_PREFIX = ALGORITHM + " Credential="


def _parse_botocore_shape(header: str) -> AuthorizationHeader | None:
    """The exact shape botocore writes, parsed with a few str ops (~4x faster).

    Returns None unless the general parser would return the *same* result: exactly two
    commas (so its ``split(",")`` sees the same three tokens), no whitespace anywhere but
    the two separators and the one after the algorithm (so its strip()s are no-ops),
    non-empty parts, a 5-part credential and a signed ``host``.
    """
    if not header.startswith(_FAST_PREFIX) or header.count(",") != 2:
        return None
    pieces = header[len(_FAST_PREFIX):].split(", ")
    if len(pieces) != 3:
        return None
    credential, signed, sig = pieces
    if not (signed.startswith("SignedHeaders=") and sig.startswith("Signature=")):
        return None
    signed = signed[14:]
    sig = sig[10:]
    joined = credential + signed + sig
    # no whitespace anywhere in the parts (a non-empty str without any splits to itself)
    if not (credential and signed and sig) or joined.split() != [joined]:
        return None
    parts = credential.split("/")
    signed_headers = tuple(signed.split(";"))
    if len(parts) != 5 or "host" not in signed_headers:
        return None
    return AuthorizationHeader(parts[0], parts[1], parts[2], parts[3], parts[4], signed_headers, sig)


def parse_authorization(header: str) -> AuthorizationHeader:
    """Parse an ``Authorization`` header value (spec §1.6 step 1).

    Raises :class:`errors.IncompleteSignature` for anything malformed; never anything
    that is not a :class:`errors.TrentError`.
    """
    return _parse_authorization(header, date_present=True)


# --- step 2: the request time -------------------------------------------------------------


_amz_date_memo: dict[str, int] = {}


def parse_amz_date(value: str) -> int:
    """``yyyymmddThhmmssZ`` -> epoch seconds; malformed -> IncompleteSignature (AWS text)."""
    # Under load thousands of requests share each second's X-Amz-Date: memoize (bounded).
    cached = _amz_date_memo.get(value)
    if cached is not None:
        return cached
    result = _parse_amz_date(value)
    if len(_amz_date_memo) >= 256:
        _amz_date_memo.clear()
    _amz_date_memo[value] = result
    return result


def _parse_amz_date(value: str) -> int:
    if _AMZ_DATE_RE.fullmatch(value):
        try:
            # datetime validates the calendar (no 31 February); timegm gives UTC epoch.
            dt = datetime(
                int(value[0:4]), int(value[4:6]), int(value[6:8]),
                int(value[9:11]), int(value[11:13]), int(value[13:15]),
            )
            return calendar.timegm(dt.timetuple())
        except ValueError:
            pass
    raise errors.IncompleteSignature(
        f"Date must be in ISO-8601 'basic format'. Got '{_echo(value)}'. "
        "See http://en.wikipedia.org/wiki/ISO_8601"
    )


def format_amz_date(epoch: float) -> str:
    """Epoch seconds -> ``yyyymmddThhmmssZ`` (seconds truncated, as AWS prints them)."""
    return strftime("%Y%m%dT%H%M%SZ", gmtime(int(epoch)))


def _parse_http_date(value: str) -> int | None:
    """RFC 1123 ``Date`` header -> epoch seconds, or None if unparseable."""
    try:
        t = parsedate_tz(value)
        if t is None:
            return None
        epoch = calendar.timegm(t[:9]) - (t[9] or 0)
        format_amz_date(epoch)  # range check: gmtime/strftime reject absurd years
        return epoch
    except (ValueError, OverflowError, TypeError, IndexError):
        return None


class HeaderIndex:
    """Request headers indexed once, cheaply (this is a large part of per-request cost).

    Keys are the lowercase raw header names (``bytes``, as ASGI gives them); values stay
    raw and are decoded (latin-1, which maps every byte and never fails) only when a step
    needs them: the verifier touches ~4 headers plus the signed ones, not all of them.
    Built only by :func:`index_headers`.
    """

    __slots__ = ("_first", "_dups")

    def __init__(
        self, first: dict[bytes, bytes | str], dups: dict[bytes, list[bytes | str]] | None
    ) -> None:
        self._first = first
        self._dups = dups

    def first(self, name: str | bytes) -> str | None:
        raw = self._first.get(name if type(name) is bytes else _name_key(name))
        return None if raw is None else _text(raw)

    def get_all(self, name: str) -> list[str]:
        key = _name_key(name)
        if self._dups is not None and key in self._dups:
            return [_text(v) for v in self._dups[key]]
        raw = self._first.get(key)
        return [] if raw is None else [_text(raw)]


def _text(value: bytes | str) -> str:
    return value.decode("latin-1") if type(value) is bytes else str(value)


def _name_key(name: bytes | str) -> bytes:
    """Lowercase raw name. str names (from the Authorization header or non-ASGI callers)
    are re-encoded as latin-1, the inverse of how ASGI bytes were decoded."""
    if isinstance(name, (bytes, bytearray)):
        return bytes(name).lower()
    text = str(name).lower()
    try:
        return text.encode("latin-1")
    except UnicodeEncodeError:
        return text.encode("utf-8", _ENC_ERRORS)


def index_headers(headers: HeaderInput | HeaderIndex) -> HeaderIndex:
    """ASGI ``[(b"name", b"value"), …]`` (or str pairs, or a mapping name -> values) -> index."""
    if isinstance(headers, HeaderIndex):
        return headers
    pairs: Iterable[tuple[bytes | str, bytes | str]]
    if isinstance(headers, Mapping):
        pairs = [(name, v) for name, values in headers.items() for v in values]
    else:
        pairs = headers
    first: dict[bytes, bytes | str] = {}
    dups: dict[bytes, list[bytes | str]] | None = None
    for name, value in pairs:
        key = name.lower() if type(name) is bytes else _name_key(name)
        if type(value) is not bytes and type(value) is not str:
            value = _text(bytes(value)) if isinstance(value, (bytes, bytearray)) else str(value)
        if key in first:
            if dups is None:
                dups = {}
            dups.setdefault(key, [first[key]]).append(value)
        else:
            first[key] = value
    return HeaderIndex(first, dups)


def parse_request_auth(headers: HeaderInput | HeaderIndex) -> ParsedAuth:
    """Read ``Authorization``, ``X-Amz-Date`` / ``Date`` and ``X-Amz-Security-Token``.

    No Authorization header -> :class:`errors.MissingAuthenticationToken` (spec §1.5).
    """
    idx = index_headers(headers)
    header = idx.first(b"authorization")
    if header is None:
        raise errors.MissingAuthenticationToken()

    amz_date = idx.first(b"x-amz-date")
    http_time = None if amz_date is not None else _parse_http_date(idx.first(b"date") or "")
    auth = _parse_authorization(
        header, date_present=amz_date is not None or http_time is not None
    )
    if amz_date is not None:
        request_time = parse_amz_date(amz_date)
    else:
        assert http_time is not None  # guaranteed by date_present above
        request_time = http_time
        amz_date = format_amz_date(http_time)
    return ParsedAuth(
        authorization=auth,
        amz_date=amz_date,
        request_time=request_time,
        security_token=idx.first(b"x-amz-security-token"),
        headers=idx,
    )


# --- steps 2 and 7: scope and clock ---------------------------------------------------------


def check_scope_and_time(
    parsed: ParsedAuth,
    now: float,
    region_ok: RegionCheck,
    *,
    service: str = DEFAULT_SERVICE,
    max_skew: int = MAX_SKEW_SECONDS,
) -> None:
    """Checks that need no secret; raise :class:`errors.InvalidSignature` with AWS's texts.

    ``region_ok`` is a predicate or a container of served regions.
    """
    auth = parsed.authorization
    if auth.date != parsed.amz_date[:8]:
        raise errors.InvalidSignature(
            "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date "
            f"from HTTP: '{_echo(auth.date)}' != '{parsed.amz_date[:8]}', from '{parsed.amz_date}'."
        )
    served = region_ok(auth.region) if callable(region_ok) else auth.region in region_ok
    if not served:
        # spec §1.5: note the trailing space, AWS sends it
        raise errors.InvalidSignature("Credential should be scoped to a valid region. ")
    if auth.service != service:
        raise errors.InvalidSignature(f"Credential should be scoped to correct service: '{service}'. ")
    if auth.terminal != TERMINATOR:
        raise errors.InvalidSignature(
            f"Credential should be scoped with a valid terminator: '{TERMINATOR}', "
            f"not '{_echo(auth.terminal)}'. "
        )
    whole_now = int(now)
    minutes = max_skew // 60
    if parsed.request_time < whole_now - max_skew:
        raise errors.InvalidSignature(
            f"Signature expired: {parsed.amz_date} is now earlier than "
            f"{format_amz_date(whole_now - max_skew)} ({format_amz_date(whole_now)} - {minutes} min.)"
        )
    if parsed.request_time > whole_now + max_skew:
        raise errors.InvalidSignature(
            f"Signature not yet current: {parsed.amz_date} is still later than "
            f"{format_amz_date(whole_now + max_skew)} ({format_amz_date(whole_now)} + {minutes} min.)"
        )


# --- steps 4-6: the cryptographic core ------------------------------------------------------


def canonical_path(path: str) -> str:
    """Canonical URI. KMS always uses ``/``; other paths are percent-encoded like botocore."""
    if path in ("", "/"):
        return "/"
    return quote(path, safe="/~")


def canonical_query(query: str) -> str:
    """Canonical query string: ``k=v`` pairs sorted (KMS sends none, spec §1.1)."""
    if not query:
        return ""
    pairs = sorted(p.partition("=")[::2] for p in query.split("&"))
    return "&".join(f"{k}={v}" for k, v in pairs)


def canonical_headers(headers: HeaderInput | HeaderIndex, signed_headers: Sequence[str]) -> str:
    """Canonical header block (without the trailing blank line).

    Each signed header: lowercase name, ``:``, its values trimmed and comma-joined, in
    sorted order (spec §1.6 step 4). A signed header missing from the request contributes
    an empty value (the signature will then simply not match).
    """
    idx = index_headers(headers)
    first, dups = idx._first, idx._dups  # noqa: SLF001 - hot path, same module
    lines = []
    for name, key in _signed_plan(tuple(signed_headers)):
        if dups is not None and key in dups:
            # repeated header: values comma-joined in arrival order
            value = ",".join(_trimall(_text(v)) for v in dups[key])
        else:
            raw = first.get(key)
            if raw is None:
                value = ""
            else:  # _trimall(_text(raw)), inlined: this loop runs for every signed header
                value = " ".join((raw.decode("latin-1") if isinstance(raw, bytes) else raw).split())
        lines.append(name + ":" + value)
    return "\n".join(lines)


_plan_memo: dict[tuple[str, ...], tuple[tuple[str, bytes], ...]] = {}


def _signed_plan(signed_headers: tuple[str, ...]) -> tuple[tuple[str, bytes], ...]:
    """SignedHeaders -> sorted (lowercase name, index key) pairs; memoized (bounded)
    because a client sends the same SignedHeaders list on every call."""
    plan = _plan_memo.get(signed_headers)
    if plan is None:
        plan = tuple((name, _name_key(name)) for name in sorted(h.lower() for h in signed_headers))
        if len(_plan_memo) >= 256:
            _plan_memo.clear()
        _plan_memo[signed_headers] = plan
    return plan


def _trimall(value: str) -> str:
    """Trimall (spec §1.6 step 4) exactly as botocore does it: strip, and collapse every
    whitespace run (str.split() semantics: tabs, \\x1c-\\x1f, NBSP, … too) to one space."""
    return " ".join(value.split())


def canonical_request(
    method: str,
    path: str,
    query: str,
    headers: HeaderInput | HeaderIndex,
    signed_headers: Sequence[str],
    payload_sha256_hex: str,
) -> str:
    """Spec §1.6 step 4."""
    return "\n".join(
        (
            method.upper(),
            canonical_path(path),
            canonical_query(query),
            canonical_headers(headers, signed_headers) + "\n",
            ";".join(signed_headers),
            payload_sha256_hex,
        )
    )


def string_to_sign(amz_date: str, scope: str, canonical_request: str) -> str:
    """Spec §1.6 step 5; ``scope`` is ``<date>/<region>/<service>/aws4_request``."""
    digest = hashlib.sha256(canonical_request.encode("utf-8", _ENC_ERRORS)).hexdigest()
    return f"{ALGORITHM}\n{amz_date}\n{scope}\n{digest}"


def signing_key(secret: str, date: str, region: str, service: str) -> bytes:
    """Spec §1.6 step 6: HMAC chain ``"AWS4"+secret`` -> date -> region -> service -> aws4_request."""
    k = hmac.digest(("AWS4" + secret).encode("utf-8", _ENC_ERRORS), date.encode("utf-8", _ENC_ERRORS), "sha256")
    k = hmac.digest(k, region.encode("utf-8", _ENC_ERRORS), "sha256")
    k = hmac.digest(k, service.encode("utf-8", _ENC_ERRORS), "sha256")
    return hmac.digest(k, TERMINATOR.encode("ascii"), "sha256")


def signature(key: bytes, string_to_sign: str) -> str:
    """Spec §1.6 step 6: lowercase hex HMAC-SHA256 of the string to sign."""
    return hmac.digest(key, string_to_sign.encode("utf-8", _ENC_ERRORS), "sha256").hex()


class _PreparedKey:
    """A signing key with its HMAC inner/outer pads already absorbed (RFC 2104 §2).

    Copying two prepared SHA-256 states is ~2x faster than ``hmac.digest`` under
    OpenSSL 3, whose per-call HMAC setup dominates for short messages.
    """

    __slots__ = ("_inner", "_outer")

    def __init__(self, key: bytes) -> None:
        block = key.ljust(64, b"\0")  # SHA-256 block size; a derived key is 32 bytes
        self._inner = hashlib.sha256(block.translate(_IPAD))
        self._outer = hashlib.sha256(block.translate(_OPAD))

    def hexdigest(self, message: bytes) -> str:
        inner = self._inner.copy()
        inner.update(message)
        outer = self._outer.copy()
        outer.update(inner.digest())
        return outer.hexdigest()


_IPAD = bytes(x ^ 0x36 for x in range(256))
_OPAD = bytes(x ^ 0x5C for x in range(256))


class SigningKeyCache:
    """Bounded cache of derived signing keys (they change only daily per scope).

    The cache key is ``(access key id, hash(secret), date, region, service)``. ``hash()``
    of a str is SipHash under a per-process random key (unless PYTHONHASHSEED pins it),
    so the secret itself is never a dict key and nothing offline-checkable is stored;
    a rotated secret gets a new entry. Oldest entries are evicted first.
    """

    __slots__ = ("_entries", "_max")

    def __init__(self, max_entries: int = 1024) -> None:
        self._entries: dict[tuple[str, int, str, str, str], _PreparedKey] = {}
        self._max = max_entries

    def prepared(
        self, access_key_id: str, secret: str, date: str, region: str, service: str
    ) -> _PreparedKey:
        cache_key = (access_key_id, hash(secret), date, region, service)
        prepared = self._entries.get(cache_key)
        if prepared is None:
            prepared = _PreparedKey(signing_key(secret, date, region, service))
            if len(self._entries) >= self._max:
                try:
                    del self._entries[next(iter(self._entries))]
                except (StopIteration, KeyError, RuntimeError):
                    self._entries.clear()
            self._entries[cache_key] = prepared
        return prepared

    def __len__(self) -> int:
        return len(self._entries)


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
    expected = prepared.hexdigest(sts.encode("utf-8", _ENC_ERRORS))
    # habits §5: constant-time compare; bytes so that non-ASCII input cannot raise TypeError
    if not hmac.compare_digest(expected.encode("ascii"), auth.signature.encode("utf-8", _ENC_ERRORS)):
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
