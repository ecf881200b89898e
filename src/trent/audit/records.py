"""Events -> the rows of the trail (issue 16): canonical bytes and the lookup columns.

Which trail an event belongs to: the account that owns the call (``recipientAccountId``)
in the call's region. A call that never got that far (no valid signature, so no known
account or region) is recorded in the *audit account's* trail in its home region: every
response still has its event (spec cloudtrail.md; "no response without its event").

LookupEvents' ``Username`` (spec cloudtrail.md §5) is the IAM user name, the session
name of an assumed role, ``root`` for an account root, and absent otherwise.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import orjson

from trent.domain.audit_chain import AuditRecord, TrailKey


@dataclass(frozen=True, slots=True)
class AuditEntry:
    """One event to record and the epoch it happened at (its ``eventTime`` is that second)."""

    event: dict[str, Any]
    time: float


@dataclass(frozen=True, slots=True)
class TrailPlacement:
    """Where events without an owner go (the audit account, in its home region)."""

    audit_account_id: str
    home_region: str

    def trail_of(self, event: Mapping[str, Any]) -> TrailKey:
        account = event.get("recipientAccountId") or self.audit_account_id
        region = event.get("awsRegion") or self.home_region
        return TrailKey(account, region)


def canonical(event: Mapping[str, Any]) -> bytes:
    """The event's canonical bytes (``domain.audit_chain``): orjson's compact form."""
    return orjson.dumps(event)


def username_of(identity: Mapping[str, Any] | None) -> str | None:
    if not identity:
        return None
    kind = identity.get("type")
    if kind == "IAMUser":
        return identity.get("userName")
    if kind == "Root":
        return "root"
    if kind == "AssumedRole":
        arn = identity.get("arn") or ""
        return arn.rsplit("/", 1)[-1] or None
    return identity.get("userName")


def to_record(event: Mapping[str, Any], event_time: float, placement: TrailPlacement) -> AuditRecord:
    """``event_time``: the epoch behind the event's ``eventTime``; stored as that whole
    second, so LookupEvents' StartTime/EndTime agree with the ``eventTime`` shown."""
    identity = event.get("userIdentity")
    resources = tuple(
        (str(r.get("type", "")), str(r.get("ARN", ""))) for r in event.get("resources") or () if isinstance(r, Mapping)
    )
    return AuditRecord(
        trail=placement.trail_of(event),
        event_time=float(int(event_time)),
        event_id=event["eventID"],
        event_name=event["eventName"],
        event_source=event["eventSource"],
        read_only=bool(event.get("readOnly")),
        username=username_of(identity),
        access_key_id=identity.get("accessKeyId") if identity else None,
        resources=resources,
        body=canonical(event),
    )
