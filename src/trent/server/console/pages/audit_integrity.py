"""Audit integrity (issue 21 phase 2): is the trail intact? A bounded verification
(``service.audit_integrity``: the newest events, digests and log files; the page states
the bounds) of what ``trent audit verify`` checks in full.

As the signed-in principal, through the CloudTrail API: DescribeTrails (which trail, which
bucket), GetTrailStatus (deliveries) and ListPublicKeys (the keys digests are checked
against, as ``aws cloudtrail validate-logs`` does) — each authorized and audited. A
principal denied any of them sees the denial and no verification.
"""

from __future__ import annotations

import base64

from trent.domain.audit_chain import TrailKey
from trent.server.console.calls import CallFailed
from trent.server.console.http import Reply
from trent.server.console.page import Page
from trent.service.audit_integrity import IntegrityBounds, check

BOUNDS = IntegrityBounds(events=5000, digests=3, log_files=30)


def page(page: Page) -> Reply:
    api = page.api
    console = page.console
    try:
        trails = api.cloudtrail("DescribeTrails", {}).get("trailList") or []
        trail = trails[0] if trails else None
        status = api.cloudtrail("GetTrailStatus", {"Name": trail["TrailARN"]}) if trail else {}
        keys = api.cloudtrail("ListPublicKeys", {}).get("PublicKeyList") or []
    except CallFailed as failed:
        return page.render("audit_integrity.html", section="audit", error=failed, trail=None, trail_status={},
                           report=None, bounds=BOUNDS)
    if trail is None or console.trail is None:
        return page.render("audit_integrity.html", section="audit", trail=None, trail_status={}, report=None,
                           bounds=BOUNDS)
    public_keys = {str(k["Fingerprint"]): base64.b64decode(k["Value"]) for k in keys}
    who = api.identity
    report = check(console.deps.storage, console.trail.bucket, trail["S3BucketName"],
                   TrailKey(who.principal.account_id, who.region), public_keys, BOUNDS)
    return page.render("audit_integrity.html", section="audit", trail=trail, trail_status=status, report=report,
                       bounds=BOUNDS)
