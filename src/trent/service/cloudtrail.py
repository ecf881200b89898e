"""The CloudTrail API's use cases (issue 16, spec cloudtrail.md §3-§5): LookupEvents,
DescribeTrails, GetTrail, GetTrailStatus, ListPublicKeys.

Each caller sees its own account's trail in the region it calls (one trail per account
and region, named ``--audit-trail-name``); the decisions are the one authorization
engine's, on the caller's identity policies (``cloudtrail:LookupEvents``, ...).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import orjson

from trent.domain.audit_chain import StoredEvent, TrailKey
from trent.domain.audit_delivery import DeliveryState, LookupAttribute, LookupQuery, SigningKeyRecord
from trent.errors import (
    CloudTrailArnInvalid,
    InvalidEventCategory,
    InvalidLookupAttributes,
    InvalidMaxResults,
    InvalidNextToken,
    InvalidTimeRange,
    InvalidTrailName,
    Throttling,
    TrailNotFound,
)
from trent.service import audit_signing_keys
from trent.service.authorization import authorize_iam
from trent.service.context import RequestContext
from trent.service.deps import ServiceDeps

SERVICE = "cloudtrail"
DAY = 86_400.0
DEFAULT_MAX_RESULTS = 50
_TRAIL_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{1,126}[A-Za-z0-9]$")
_TRAIL_ARN = re.compile(r"^arn:[a-z-]+:cloudtrail:([a-z0-9-]+):(\d{12}):trail/(.+)$")


class LookupThrottle:
    """A token bucket per (account, region) for LookupEvents (spec cloudtrail.md §5: AWS
    allows 2 requests/s; Trent's rate is ``--audit-lookup-rate``), on a monotonic clock."""

    def __init__(self, rate: float, burst: float | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._rate = rate
        self._burst = burst if burst is not None else max(1.0, rate)
        self._clock = clock
        self._buckets: dict[tuple[str, str], tuple[float, float]] = {}
        self._lock = threading.Lock()

    def take(self, account_id: str, region: str) -> None:
        if self._rate <= 0:
            return
        now = self._clock()
        with self._lock:
            tokens, at = self._buckets.get((account_id, region), (self._burst, now))
            tokens = min(self._burst, tokens + (now - at) * self._rate)
            if tokens < 1.0:
                self._buckets[(account_id, region)] = (tokens, now)
                raise Throttling("Rate exceeded")
            self._buckets[(account_id, region)] = (tokens - 1.0, now)
            if len(self._buckets) > 100_000:
                self._buckets.clear()


@dataclass(frozen=True, slots=True)
class TrailSettings:
    """What the server was configured with (``--audit-*``)."""

    name: str
    bucket: str
    prefix: str | None
    lookup_days: float = 90.0  # LookupEvents' default window (and the retention default)
    # LookupEvents per second per account and region (AWS: 2); None = no limit.
    throttle: LookupThrottle | None = None


@dataclass(frozen=True, slots=True)
class Trail:
    name: str
    arn: str
    account_id: str
    region: str
    bucket: str
    prefix: str | None


@dataclass(frozen=True, slots=True)
class TrailStatus:
    trail: Trail
    started: float | None
    latest_delivery: float | None
    latest_digest: float | None


def trail_of(ctx: RequestContext, settings: TrailSettings, deps: ServiceDeps) -> Trail:
    head = deps.storage.get_trail_head(TrailKey(ctx.account_id, ctx.region))
    name = head.name if head is not None else settings.name
    arn = f"arn:{ctx.partition}:cloudtrail:{ctx.region}:{ctx.account_id}:trail/{name}"
    return Trail(name, arn, ctx.account_id, ctx.region, settings.bucket, settings.prefix)


# -- trails --------------------------------------------------------------------------------


def describe_trails(deps: ServiceDeps, ctx: RequestContext, settings: TrailSettings,
                    names: Sequence[str] | None) -> list[Trail]:
    authorize_iam(deps, ctx, SERVICE, "DescribeTrails")
    trail = trail_of(ctx, settings, deps)
    if not names:
        return [trail]
    for name in names:
        _check_name(name)
    return [trail] if any(n in (trail.name, trail.arn) for n in names) else []


def _check_name(name: str) -> None:
    if name.startswith("arn:"):
        if not _TRAIL_ARN.match(name):
            raise CloudTrailArnInvalid(f"Invalid trail ARN: {name}")
    elif not _TRAIL_NAME.match(name):
        raise InvalidTrailName(
            "Trail name must starts with a letter or number, end with a letter or number, and be between 3 and "
            "128 characters. Trail name can contain only ASCII letters (a-z, A-Z), numbers (0-9), periods (.), "
            "underscores (_), or dashes (-)."
        )


def get_trail(deps: ServiceDeps, ctx: RequestContext, settings: TrailSettings, name: str) -> Trail:
    trail = trail_of(ctx, settings, deps)
    authorize_iam(deps, ctx, SERVICE, "GetTrail", trail.arn)
    _check_name(name)
    if name not in (trail.name, trail.arn):
        shown = name if name.startswith("arn:") else trail.arn.rsplit("/", 1)[0] + "/" + name
        raise TrailNotFound(f"Unknown trail: {shown} for the user: {ctx.account_id}")
    return trail


def get_trail_status(deps: ServiceDeps, ctx: RequestContext, settings: TrailSettings, name: str) -> TrailStatus:
    trail = trail_of(ctx, settings, deps)
    authorize_iam(deps, ctx, SERVICE, "GetTrailStatus", trail.arn)
    _check_name(name)
    if name not in (trail.name, trail.arn):
        raise TrailNotFound(f"Unknown trail: {name} for the user: {ctx.account_id}")
    key = TrailKey(ctx.account_id, ctx.region)
    head = deps.storage.get_trail_head(key)
    files = deps.storage.log_files(key, state=DeliveryState.DELIVERED) if head is not None else []
    (digest,) = deps.storage.digests(key, newest_only=True) or (None,)
    return TrailStatus(
        trail,
        head.created_at if head is not None else None,
        max((f.delivered_at for f in files), default=None),
        digest.end_time if digest is not None and digest.state is DeliveryState.DELIVERED else None,
    )


def list_public_keys(deps: ServiceDeps, ctx: RequestContext, start: float | None,
                     end: float | None) -> list[SigningKeyRecord]:
    authorize_iam(deps, ctx, SERVICE, "ListPublicKeys")
    if start is not None and end is not None and start > end:
        raise InvalidTimeRange("Start time must be earlier than end time.")
    return audit_signing_keys.keys_valid_between(deps.storage, start, end)


# -- LookupEvents --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class LookupRequest:
    attributes: Sequence[Mapping[str, Any]] | None = None
    start_time: float | None = None
    end_time: float | None = None
    event_category: str | None = None
    max_results: int | None = None
    next_token: str | None = None


@dataclass(frozen=True, slots=True)
class LookupPage:
    events: list[StoredEvent]
    next_token: str | None


def lookup_events(deps: ServiceDeps, ctx: RequestContext, settings: TrailSettings,
                  request: LookupRequest) -> LookupPage:
    authorize_iam(deps, ctx, SERVICE, "LookupEvents")
    if settings.throttle is not None:
        settings.throttle.take(ctx.account_id, ctx.region)
    attribute, value = _attribute(request.attributes)
    if request.event_category is not None and request.event_category != "insight":
        raise InvalidEventCategory(f"Event category {request.event_category} is not valid.")
    limit = DEFAULT_MAX_RESULTS if request.max_results is None else request.max_results
    if not 1 <= limit <= DEFAULT_MAX_RESULTS:
        raise InvalidMaxResults("Max results must be between 1 and 50.")
    now = ctx.now
    end = request.end_time if request.end_time is not None else now
    start = request.start_time if request.start_time is not None else now - settings.lookup_days * DAY
    if start > end:
        raise InvalidTimeRange("Start time must be earlier than end time.")
    fingerprint = _query_fingerprint(attribute, value, start, end, request.event_category)
    after = _decode_token(request.next_token, fingerprint) if request.next_token else None
    if request.event_category == "insight":
        return LookupPage([], None)  # Trent records no Insights events
    query = LookupQuery(ctx.account_id, ctx.region, start, end, limit, attribute, value, after)
    events, more = deps.storage.lookup_audit_events(query)
    token = _encode_token(events[-1].event_time, events[-1].sequence, fingerprint) if more and events else None
    return LookupPage(events, token)


def _attribute(attributes: Sequence[Mapping[str, Any]] | None) -> tuple[LookupAttribute | None, str | None]:
    if not attributes:
        return None, None
    if len(attributes) > 1:
        raise InvalidLookupAttributes("You cannot specify more than one lookup attribute.")
    (only,) = attributes
    key: Any = only.get("AttributeKey")  # any JSON value: LookupAttribute refuses all but its own
    value = only.get("AttributeValue")
    try:
        attribute = LookupAttribute(key)
    except ValueError:
        raise InvalidLookupAttributes(f"Lookup attribute key {key} is not valid.") from None
    if not isinstance(value, str) or not 1 <= len(value) <= 2000:
        raise InvalidLookupAttributes("Lookup attribute value must be between 1 and 2000 characters.")
    if attribute is LookupAttribute.READ_ONLY:
        if value.lower() not in ("true", "false"):
            raise InvalidLookupAttributes("ReadOnly lookup attribute value must be true or false.")
        value = value.lower()
    return attribute, value


def _query_fingerprint(*parts: object) -> bytes:
    return hashlib.sha256(orjson.dumps(list(parts))).digest()[:8]


def _encode_token(event_time: float, sequence: int, fingerprint: bytes) -> str:
    raw = orjson.dumps({"t": event_time, "s": sequence, "q": fingerprint.hex()})
    return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


def _decode_token(token: str, fingerprint: bytes) -> tuple[float, int]:
    """(event_time, sequence) to continue after; InvalidNextToken for a token this query
    did not issue (another filter or time window, or not ours at all)."""
    try:
        raw = orjson.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
        if raw["q"] != fingerprint.hex():
            raise ValueError("another query's token")
        return float(raw["t"]), int(raw["s"])
    except (binascii.Error, orjson.JSONDecodeError, KeyError, TypeError, ValueError):
        raise InvalidNextToken("Invalid NextToken.") from None
