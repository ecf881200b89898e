"""Events -> the rows of the trail (issue 16): canonical bytes and the lookup columns.

Which trail an event belongs to: the account that owns the call (``recipientAccountId``)
in the call's region. A call that never got that far (no valid signature, so no known
account or region) is recorded in the *audit account's* trail in its home region: every
response still has its event (spec cloudtrail.md; "no response without its event").

The LookupEvents attributes each event carries (``domain.audit_chain.tokens_of_event``)
are computed here, once, with its canonical bytes.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, NamedTuple

import orjson

from trent.domain.audit_chain import AuditRecord, TrailKey, tokens_of_event, username_of

__all__ = ["AuditEntry", "TrailPlacement", "canonical", "to_record", "username_of"]


class AuditEntry(NamedTuple):
    """One event to record and the epoch it happened at (its ``eventTime`` is that second).
    A NamedTuple: one per request on the hot path."""

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


def to_record(event: Mapping[str, Any], event_time: float, placement: TrailPlacement) -> AuditRecord:
    """``event_time``: the epoch behind the event's ``eventTime``; stored as that whole
    second, so LookupEvents' StartTime/EndTime agree with the ``eventTime`` shown."""
    return AuditRecord(placement.trail_of(event), float(int(event_time)), tokens_of_event(event), orjson.dumps(event))
