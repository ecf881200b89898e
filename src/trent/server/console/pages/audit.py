"""The audit browser: PHASE 2 of issue 21 (after the audit branch, issue 16, lands).

Reserved here so the navigation and the route exist. Phase 2 replaces ``page`` with a
LookupEvents-style browser (time window, event name, user, key, read-only filter, the
event's JSON), the chain/digest verification status, and the SVG chart of requests per
minute by operation with the error rate — all through CloudTrail LookupEvents called as
the signed-in principal, like every other console page (``ConsoleCaller``).
"""

from __future__ import annotations

from trent.server.console.http import Reply
from trent.server.console.page import Page


def page(page: Page) -> Reply:
    return page.render("audit.html", section="audit")
