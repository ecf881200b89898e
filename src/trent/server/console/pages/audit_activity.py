"""Audit activity (issue 21 phase 2): requests per minute by operation with the error
rate, as a server-drawn SVG chart and, for screen readers and keyboard users, the same
numbers as tables.

The events come from LookupEvents called as the signed-in principal, page after page
(at most ``MAX_EVENTS`` events, newest first, so a busy window shows its most recent
part; the page says when it was cut). Windows are 15 to 120 minutes: one bar a minute.
"""

from __future__ import annotations

import math
from typing import Any

from trent.server.console import activity
from trent.server.console.calls import CallFailed
from trent.server.console.http import Reply
from trent.server.console.page import Page
from trent.server.console.pages.audit import PAGE_SIZE, service_now

MAX_EVENTS = 500
WINDOWS = (15, 30, 60, 120)  # minutes
DEFAULT_WINDOW = 60


def page(page: Page) -> Reply:
    api = page.api
    try:
        minutes = int(page.request.arg("minutes") or DEFAULT_WINDOW)
    except ValueError:
        minutes = DEFAULT_WINDOW
    if minutes not in WINDOWS:
        minutes = DEFAULT_WINDOW
    end = float(math.floor(service_now(page)) + 1)
    start = end - minutes * 60
    params: dict[str, Any] = {"StartTime": start, "EndTime": end, "MaxResults": PAGE_SIZE}
    entries: list[dict[str, Any]] = []
    error: CallFailed | None = None
    cut = False
    while True:
        try:
            body = api.cloudtrail("LookupEvents", params)
        except CallFailed as failed:
            error = failed
            break
        entries += body.get("Events", ())
        token = body.get("NextToken")
        if not token:
            break
        if len(entries) >= MAX_EVENTS:
            cut = True
            break
        params["NextToken"] = token
    if error is not None and not entries:
        return page.render("audit_activity.html", section="audit", error=error, windows=WINDOWS, minutes=minutes,
                           data=None, chart=None, cut=False, partial=False, swatch=activity.swatch)
    # cut: only the newest MAX_EVENTS are known, so the chart starts at the oldest of them
    shown_from = min(float(e["EventTime"]) for e in entries) if cut else start
    data = activity.aggregate(entries, shown_from, end)
    return page.render("audit_activity.html", section="audit", windows=WINDOWS, minutes=minutes, data=data,
                       chart=activity.chart(data), cut=cut, partial=error is not None, partial_error=error,
                       swatch=activity.swatch, max_events=MAX_EVENTS)
