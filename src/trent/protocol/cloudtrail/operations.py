"""THE CloudTrail operation table: wire name -> handler (issue 16, botocore cloudtrail model).

A handler takes the parsed JSON request and returns the response body and the trail ARN
the call concerned (the event's ``resources``). Members are checked for their JSON types
here (a wrong type is SerializationException, as AWS JSON services answer); the rules are
the use cases' (``service/cloudtrail.py``).
"""

from __future__ import annotations

import base64
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import orjson

from trent import errors
from trent.audit.digests import iso as _iso
from trent.audit.records import username_of
from trent.domain.audit_chain import StoredEvent
from trent.service import cloudtrail
from trent.service.context import RequestContext
from trent.service.deps import ServiceDeps

Request = Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class Result:
    body: dict[str, Any]
    resources: tuple[str, ...] = ()  # trail ARNs


Handler = Callable[[ServiceDeps, RequestContext, cloudtrail.TrailSettings, Request], Result]

def _typed(request: Request, name: str, kind: type | tuple[type, ...], *, required: bool = False) -> Any:
    value = request.get(name)
    if value is None:
        if required:
            raise errors.ValidationError(
                f"1 validation error detected: Value null at '{name[:1].lower() + name[1:]}' failed to satisfy "
                "constraint: Member must not be null"
            )
        return None
    if isinstance(value, bool) and kind is not bool or not isinstance(value, kind):
        raise errors.SerializationError(f"Unexpected type for member {name}")
    return value


def _timestamp(request: Request, name: str) -> float | None:
    value = _typed(request, name, (int, float))
    return None if value is None else float(value)


def _trail_json(trail: cloudtrail.Trail) -> dict[str, Any]:
    body: dict[str, Any] = {"Name": trail.name, "S3BucketName": trail.bucket}
    if trail.prefix:
        body["S3KeyPrefix"] = trail.prefix
    body.update({
        "IncludeGlobalServiceEvents": True,
        "IsMultiRegionTrail": False,
        "HomeRegion": trail.region,
        "TrailARN": trail.arn,
        "LogFileValidationEnabled": True,
        "HasCustomEventSelectors": False,
        "HasInsightSelectors": False,
        "IsOrganizationTrail": False,
    })
    return body


def event_json(event: StoredEvent) -> dict[str, Any]:
    """One LookupEvents entry (spec cloudtrail.md §5): summary fields + the event itself."""
    raw = orjson.loads(event.body)
    identity = raw.get("userIdentity") or {}
    entry: dict[str, Any] = {
        "EventId": raw.get("eventID"),
        "EventName": raw.get("eventName"),
        "ReadOnly": "true" if raw.get("readOnly") else "false",
    }
    if identity.get("accessKeyId"):
        entry["AccessKeyId"] = identity["accessKeyId"]
    entry["EventTime"] = event.event_time
    entry["EventSource"] = raw.get("eventSource")
    username = username_of(identity)
    if username:
        entry["Username"] = username
    entry["Resources"] = [
        {"ResourceType": r.get("type"), "ResourceName": r.get("ARN")} for r in raw.get("resources") or ()
    ]
    entry["CloudTrailEvent"] = event.body.decode("utf-8")
    return entry


def _lookup_events(deps: ServiceDeps, ctx: RequestContext, settings: cloudtrail.TrailSettings, r: Request) -> Result:
    attributes = _typed(r, "LookupAttributes", list)
    for item in attributes or ():
        if not isinstance(item, dict):
            raise errors.SerializationError("Unexpected type for member LookupAttributes")
    max_results = _typed(r, "MaxResults", int)
    page = cloudtrail.lookup_events(deps, ctx, settings, cloudtrail.LookupRequest(
        attributes=attributes, start_time=_timestamp(r, "StartTime"), end_time=_timestamp(r, "EndTime"),
        event_category=_typed(r, "EventCategory", str), max_results=max_results,
        next_token=_typed(r, "NextToken", str),
    ))
    body: dict[str, Any] = {"Events": [event_json(e) for e in page.events]}
    if page.next_token is not None:
        body["NextToken"] = page.next_token
    return Result(body)


def _describe_trails(deps: ServiceDeps, ctx: RequestContext, settings: cloudtrail.TrailSettings,
                     r: Request) -> Result:
    names = _typed(r, "trailNameList", list)
    if names is not None and not all(isinstance(n, str) for n in names):
        raise errors.SerializationError("Unexpected type for member trailNameList")
    _typed(r, "includeShadowTrails", bool)
    trails = cloudtrail.describe_trails(deps, ctx, settings, names)
    return Result({"trailList": [_trail_json(t) for t in trails]}, tuple(t.arn for t in trails))


def _get_trail(deps: ServiceDeps, ctx: RequestContext, settings: cloudtrail.TrailSettings, r: Request) -> Result:
    trail = cloudtrail.get_trail(deps, ctx, settings, _typed(r, "Name", str, required=True))
    return Result({"Trail": _trail_json(trail)}, (trail.arn,))


def _get_trail_status(deps: ServiceDeps, ctx: RequestContext, settings: cloudtrail.TrailSettings,
                      r: Request) -> Result:
    status = cloudtrail.get_trail_status(deps, ctx, settings, _typed(r, "Name", str, required=True))
    body: dict[str, Any] = {"IsLogging": True}
    if status.latest_delivery is not None:
        body["LatestDeliveryTime"] = status.latest_delivery
        body["LatestDeliveryAttemptTime"] = _iso(status.latest_delivery)
        body["LatestDeliveryAttemptSucceeded"] = _iso(status.latest_delivery)
    if status.started is not None:
        body["StartLoggingTime"] = status.started
        body["TimeLoggingStarted"] = _iso(status.started)
    if status.latest_digest is not None:
        body["LatestDigestDeliveryTime"] = status.latest_digest
    return Result(body, (status.trail.arn,))


def _list_public_keys(deps: ServiceDeps, ctx: RequestContext, settings: cloudtrail.TrailSettings,
                      r: Request) -> Result:
    _typed(r, "NextToken", str)
    keys = cloudtrail.list_public_keys(deps, ctx, _timestamp(r, "StartTime"), _timestamp(r, "EndTime"))
    listed = []
    for key in keys:
        # Value is a blob: the DER PKCS#1 key, base64 on the wire (once). The AWS CLI keeps
        # blobs as their base64 text (awscli/customizations/scalarparse.py), which is why its
        # validator base64-decodes Value itself; boto3 hands callers the DER bytes.
        entry: dict[str, Any] = {
            "Value": base64.b64encode(key.public_der).decode("ascii"),
            "ValidityStartTime": key.valid_from,
        }
        if key.valid_to is not None:
            entry["ValidityEndTime"] = key.valid_to
        entry["Fingerprint"] = key.fingerprint
        listed.append(entry)
    return Result({"PublicKeyList": listed})


OPERATIONS: dict[str, Handler] = {
    "LookupEvents": _lookup_events,
    "DescribeTrails": _describe_trails,
    "GetTrail": _get_trail,
    "GetTrailStatus": _get_trail_status,
    "ListPublicKeys": _list_public_keys,
}

