"""Object metadata, conditional requests and ranges as pure functions (S3 API reference:
PutObject, GetObject, HeadObject; "Working with object metadata"; RFC 9110 §13 as S3
applies it). Phase 2 calls these from the S3 HTTP front; the use cases take their
typed results.

    parse_metadata(headers) -> ObjectMetadata      x-amz-meta-*, Content-Type & friends
    metadata_response_headers(metadata) -> dict    what GET/HEAD return
    parse_conditions(headers, copy_source=False)   If-Match ... (or x-amz-copy-source-if-*)
    parse_range(header) -> ByteRange | None        a single bytes= range; others ignored
    http_date(epoch) / parse_http_date(text)
"""

from __future__ import annotations

import email.utils
import functools
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass

from trent import errors
from trent.domain.s3.records import ObjectMetadata

USER_PREFIX = "x-amz-meta-"
MAX_USER_METADATA_BYTES = 2048  # S3: sum of UTF-8 bytes of each name and value
DEFAULT_CONTENT_TYPE = "binary/octet-stream"
# Stored as sent and returned on GET/HEAD (S3 "System-defined object metadata").
SYSTEM_HEADERS = (
    "cache-control",
    "content-disposition",
    "content-encoding",
    "content-language",
    "expires",
    "x-amz-website-redirect-location",
)
_CANONICAL = {
    "cache-control": "Cache-Control",
    "content-disposition": "Content-Disposition",
    "content-encoding": "Content-Encoding",
    "content-language": "Content-Language",
    "expires": "Expires",
    "x-amz-website-redirect-location": "x-amz-website-redirect-location",
}


def parse_metadata(headers: Mapping[str, str]) -> ObjectMetadata:
    user: dict[str, str] = {}
    size = 0
    for name, value in headers.items():
        if name.startswith(USER_PREFIX):
            short = name[len(USER_PREFIX) :]
            user[short] = value
            size += len(short.encode("utf-8")) + len(value.encode("utf-8"))
    if size > MAX_USER_METADATA_BYTES:
        raise errors.MetadataTooLarge(details={"Size": str(size), "MaxSizeAllowed": str(MAX_USER_METADATA_BYTES)})
    system: dict[str, str] = {}
    for name in SYSTEM_HEADERS:
        given = headers.get(name)
        if given is None:
            continue
        if name == "content-encoding":
            # aws-chunked is the transfer framing, not the object's encoding (S3 strips it)
            given = ",".join(v.strip() for v in given.split(",") if v.strip() and v.strip() != "aws-chunked")
            if not given:
                continue
        system[_CANONICAL[name]] = given
    return ObjectMetadata(headers.get("content-type") or DEFAULT_CONTENT_TYPE, user, system)


def metadata_response_headers(metadata: ObjectMetadata) -> dict[str, str]:
    out = {"Content-Type": metadata.content_type}
    out.update(metadata.system)
    out.update({USER_PREFIX + name: value for name, value in metadata.user.items()})
    return out


_DAY_NAMES = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTH_NAMES = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def http_date(epoch: float) -> str:
    """RFC 9110 IMF-fixdate, whole seconds (Last-Modified)."""
    return _imf_fixdate(int(epoch))


@functools.lru_cache(maxsize=4096)
def _imf_fixdate(second: int) -> str:
    """What ``email.utils.formatdate(second, usegmt=True)`` writes, in a quarter of its time
    (it goes through a datetime), and remembered: every GET and HEAD answers the
    Last-Modified of an object, and the same objects are read again and again (2.6 % of a
    small SSE-KMS GET's server CPU before, bench/S3_SSE.md issue-17r). English names from
    tables, never the locale's (as ``formatdate`` does too)."""
    t = time.gmtime(second)
    return (f"{_DAY_NAMES[t.tm_wday]}, {t.tm_mday:02d} {_MONTH_NAMES[t.tm_mon - 1]} {t.tm_year:04d} "
            f"{t.tm_hour:02d}:{t.tm_min:02d}:{t.tm_sec:02d} GMT")


def parse_http_date(text: str) -> float | None:
    try:
        parsed = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    return None if parsed is None or parsed.tzinfo is None else parsed.timestamp()


# --- conditional requests ------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Conditions:
    if_match: str | None = None
    if_none_match: str | None = None
    if_modified_since: float | None = None  # epoch seconds; an unparseable date is ignored
    if_unmodified_since: float | None = None
    copy_source: bool = False  # x-amz-copy-source-if-*: every failure is 412

    @property
    def empty(self) -> bool:
        return not (self.if_match or self.if_none_match or self.if_modified_since is not None
                    or self.if_unmodified_since is not None)


def parse_conditions(headers: Mapping[str, str], *, copy_source: bool = False) -> Conditions:
    prefix = "x-amz-copy-source-" if copy_source else ""

    def date(name: str) -> float | None:
        raw = headers.get(prefix + name)
        return None if raw is None else parse_http_date(raw)

    return Conditions(
        headers.get(prefix + "if-match"),
        headers.get(prefix + "if-none-match"),
        date("if-modified-since"),
        date("if-unmodified-since"),
        copy_source,
    )


def _etag_matches(header: str, etag: str) -> bool:
    bare = etag.strip('"')
    for candidate in header.split(","):
        candidate = candidate.strip()
        if candidate.startswith("W/"):
            candidate = candidate[2:]
        if candidate == "*" or candidate.strip('"') == bare:
            return True
    return False


def check_conditions(conditions: Conditions, etag: str, last_modified: float) -> None:
    """S3's evaluation (GetObject "conditional requests"): If-Match decides over
    If-Unmodified-Since (412), If-None-Match over If-Modified-Since (304 for GET/HEAD;
    412 for a copy source). Dates compare at whole seconds (HTTP dates have no more)."""
    if conditions.empty:
        return
    modified = float(int(last_modified))
    if conditions.if_match is not None:
        if not _etag_matches(conditions.if_match, etag):
            raise errors.PreconditionFailed(details={"Condition": "If-Match"})
    elif conditions.if_unmodified_since is not None and modified > conditions.if_unmodified_since:
        raise errors.PreconditionFailed(details={"Condition": "If-Unmodified-Since"})
    not_modified: errors.S3Error | None = None
    if conditions.if_none_match is not None:
        if _etag_matches(conditions.if_none_match, etag):
            not_modified = errors.PreconditionFailed(details={"Condition": "If-None-Match"}) if conditions.copy_source \
                else errors.NotModified()
    elif conditions.if_modified_since is not None and modified <= conditions.if_modified_since:
        not_modified = errors.PreconditionFailed(details={"Condition": "If-Modified-Since"}) if conditions.copy_source \
            else errors.NotModified()
    if not_modified is not None:
        raise not_modified


# --- ranges --------------------------------------------------------------------------

_RANGE_RE = re.compile(r"^bytes=(?:(\d+)-(\d*)|-(\d+))$")


@dataclass(frozen=True, slots=True)
class ByteRange:
    """``bytes=first-last``, ``bytes=first-`` or ``bytes=-suffix`` as sent."""

    first: int | None
    last: int | None
    suffix: int | None
    text: str

    def resolve(self, size: int) -> tuple[int, int]:
        """(start, end inclusive) within an object of ``size`` bytes; InvalidRange (416)
        when unsatisfiable (RFC 9110 §14.1.2, as S3 answers it)."""
        if self.suffix is not None:
            if self.suffix == 0 or size == 0:
                raise self._invalid(size)
            return max(0, size - self.suffix), size - 1
        assert self.first is not None
        if self.first >= size:
            raise self._invalid(size)
        last = size - 1 if self.last is None else min(self.last, size - 1)
        return self.first, last

    def _invalid(self, size: int) -> errors.InvalidRange:
        return errors.InvalidRange(details={"RangeRequested": self.text, "ActualObjectSize": str(size)})


def parse_range(header: str | None) -> ByteRange | None:
    """None for no Range, and for one S3 ignores (several ranges, other units, a syntax
    it does not understand, first > last): the whole object is returned."""
    if header is None:
        return None
    match = _RANGE_RE.match(header.strip())
    if match is None:
        return None
    first, last, suffix = match.groups()
    if suffix is not None:
        return ByteRange(None, None, int(suffix), header)
    if last and int(last) < int(first):
        return None
    return ByteRange(int(first), int(last) if last else None, None, header)
