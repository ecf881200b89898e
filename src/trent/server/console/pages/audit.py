"""The audit browser (issue 21 phase 2): CloudTrail's LookupEvents as a page, and one
event's detail.

Every lookup is the CloudTrail API's own (``ConsoleCaller.cloudtrail``), made as the
signed-in principal: authorized by ``cloudtrail:LookupEvents``, throttled like the wire,
audited. The browser filters by a time window and one lookup attribute at a time (AWS
allows only one, spec cloudtrail.md §5) and pages with NextToken. A NextToken belongs to
its exact query, so the window is pinned to whole seconds in every link.

Keys and events link both ways: a key's page links to the browser filtered by the key's
ARN (``ResourceName``), and an event links to each KMS key it names.
"""

from __future__ import annotations

import calendar
import json
import math
import re
import time
from dataclasses import dataclass
from typing import Any

import orjson

from trent.protocol.pipeline import partition_for
from trent.server.console.calls import CallFailed, ConsoleCaller
from trent.server.console.http import Reply
from trent.server.console.page import Page

PAGE_SIZE = 50
DEFAULT_WINDOW = 7 * 86_400.0
ATTRIBUTES = (  # (LookupAttributes key, what the form calls it)
    ("EventName", "Event name"),
    ("Username", "User name"),
    ("ResourceName", "Key (ARN or key ID)"),
    ("ReadOnly", "Read-only (true or false)"),
    ("EventSource", "Event source"),
    ("AccessKeyId", "Access key ID"),
    ("EventId", "Event ID"),
)
_ATTRIBUTE_KEYS = {key for key, _ in ATTRIBUTES}
_KEY_ID = re.compile(r"^(?:mrk-[0-9a-f]{32}|[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})$")
_KEY_ARN = re.compile(r"^arn:[a-z-]+:kms:([a-z0-9-]+):(\d{12}):key/([A-Za-z0-9-]+)$")
_TIME_FORMATS = ("%Y-%m-%dT%H:%M:%S", "%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%d")


class BadQuery(ValueError):
    """A filter the page cannot send (its message is shown)."""


def parse_time(text: str) -> float | None:
    """A UTC time from a form (``datetime-local`` value, or ISO with a Z), whole seconds."""
    text = text.strip().removesuffix("Z").removesuffix("z")
    if not text:
        return None
    for fmt in _TIME_FORMATS:
        try:
            return float(calendar.timegm(time.strptime(text, fmt)))
        except ValueError:
            continue
    raise BadQuery(f"{text[:40]!r} is not a time (YYYY-MM-DDTHH:MM:SS, UTC).")


def form_time(epoch: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(epoch))


def service_now(page: Page) -> float:
    """Events carry the service clock's time (the --dev clock can be moved)."""
    return page.console.deps.clock.now()


@dataclass(frozen=True, slots=True)
class Query:
    start: float
    end: float
    attribute: str
    value: str  # as typed
    lookup_value: str  # as sent (a key ID becomes its ARN)

    def link(self) -> dict[str, str]:
        """The query as URL parameters (url('audit', **query.link()))."""
        return {"start": form_time(self.start), "end": form_time(self.end), "attribute": self.attribute,
                "value": self.value}

    def params(self) -> dict[str, Any]:
        params: dict[str, Any] = {"StartTime": self.start, "EndTime": self.end, "MaxResults": PAGE_SIZE}
        if self.attribute and self.lookup_value:
            params["LookupAttributes"] = [{"AttributeKey": self.attribute, "AttributeValue": self.lookup_value}]
        return params


def read_query(page: Page) -> Query:
    arg = page.request.arg
    now = service_now(page)
    end = parse_time(arg("end"))
    # whole seconds, past the current one: the same window in the next page's link
    end = float(math.floor(now) + 1) if end is None else end
    start = parse_time(arg("start"))
    start = end - DEFAULT_WINDOW if start is None else start
    if start > end:
        raise BadQuery("The start of the window is after its end.")
    attribute = arg("attribute").strip()
    value = arg("value").strip()
    if attribute and attribute not in _ATTRIBUTE_KEYS:
        raise BadQuery("Choose one of the listed attributes.")
    if value and not attribute:
        attribute = "EventName"
    lookup_value = value
    if attribute == "ResourceName" and _KEY_ID.match(value):
        # LookupEvents' ResourceName is the key's ARN; a key ID means the session's account and Region.
        who = page.api.identity
        lookup_value = f"arn:{partition_for(who.region)}:kms:{who.region}:{who.principal.account_id}:key/{value}"
    return Query(start, end, attribute, value, lookup_value)


@dataclass(frozen=True, slots=True)
class EventRow:
    """One LookupEvents entry, as the table shows it."""

    event_id: str
    name: str
    time: float
    source: str
    username: str
    access_key_id: str
    read_only: bool
    error_code: str | None
    resources: tuple[tuple[str, str, str | None], ...]  # (type, name, console key id or None)


def key_id_of(arn: str, api: ConsoleCaller) -> str | None:
    """The key ID of a KMS key ARN in the session's account and Region (it has a console page)."""
    m = _KEY_ARN.match(arn or "")
    who = api.identity
    if m is None or m.group(1) != who.region or m.group(2) != who.principal.account_id:
        return None
    return m.group(3)


def row_of(entry: dict[str, Any], api: ConsoleCaller) -> EventRow:
    try:
        event = orjson.loads(entry.get("CloudTrailEvent") or "{}")
    except orjson.JSONDecodeError:
        event = {}
    resources = tuple((str(r.get("ResourceType") or ""), str(r.get("ResourceName") or ""),
                       key_id_of(str(r.get("ResourceName") or ""), api)) for r in entry.get("Resources") or ())
    return EventRow(
        str(entry.get("EventId")), str(entry.get("EventName")), float(entry.get("EventTime") or 0),
        str(entry.get("EventSource") or ""), str(entry.get("Username") or ""), str(entry.get("AccessKeyId") or ""),
        entry.get("ReadOnly") == "true", event.get("errorCode") if isinstance(event, dict) else None, resources,
    )


def page(page: Page) -> Reply:
    api = page.api
    values: dict[str, Any] = {"section": "audit", "attributes": ATTRIBUTES, "rows": [], "next_token": None,
                              "query": None, "paged": False}
    try:
        query = read_query(page)
    except BadQuery as bad:
        raw = {name: page.request.arg(name) for name in ("start", "end", "attribute", "value")}
        return page.render("audit.html", 400, error=str(bad), form=raw, throttled=False, **values)
    values["query"] = query
    form = query.link()
    params = query.params()
    token = page.request.arg("token")
    if token:
        params["NextToken"] = token
        values["paged"] = True
    try:
        body = api.cloudtrail("LookupEvents", params)
    except CallFailed as failed:
        throttled = failed.code == "ThrottlingException"
        return page.render("audit.html", 429 if throttled else 200, error=failed, form=form, throttled=throttled,
                           **values)
    values["rows"] = [row_of(e, api) for e in body.get("Events", ())]
    values["next_token"] = body.get("NextToken")
    return page.render("audit.html", form=form, throttled=False, **values)


def event(page: Page, event_id: str) -> Reply:
    """One event: its summary, the CloudTrail event JSON (pretty, escaped), links to its keys."""
    api = page.api
    try:
        body = api.cloudtrail("LookupEvents", {
            "LookupAttributes": [{"AttributeKey": "EventId", "AttributeValue": event_id[:2000] or "-"}],
            "MaxResults": 1})
    except CallFailed as failed:
        return page.render("problem.html", failed.status, section="audit", title="Event not available",
                           message="", error=failed)
    events = body.get("Events") or []
    if not events:
        return page.render("problem.html", 404, section="audit", title="No such event",
                           message="No event with this ID is in the trail's lookup window.")
    entry = events[0]
    try:
        document = json.dumps(json.loads(entry.get("CloudTrailEvent") or "{}"), indent=2, ensure_ascii=False)
        parsed = json.loads(document)
    except ValueError:
        document, parsed = str(entry.get("CloudTrailEvent")), {}
    return page.render("audit_event.html", section="audit", row=row_of(entry, api), event=parsed,
                       document=document)
