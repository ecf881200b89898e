"""The console's audit pages (issue 21 phase 2), rendered on the server from real
CloudTrail calls made as the signed-in principal: the LookupEvents browser (each lookup
attribute, the time window, NextToken paging), an event's detail and its links to keys,
the bounded integrity check (intact, then a tampered log file, a deleted digest and an
edited event row each detected), the activity chart, denial for a principal without
``cloudtrail:LookupEvents``, throttling, and no secret on any of them."""

from __future__ import annotations

import base64
import json
import sqlite3
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

from trent import bootstrap
from trent.audit import logfiles
from trent.config import Settings
from trent.server.console import Console, TrailAccess
from trent.service.cloudtrail import LookupThrottle

from .client import Answer, ConsoleClient, audit_events
from .conftest import ACCOUNT, DEV_ARN, READER, READER_ARN, READER_KEY, READER_POLICY, READER_SECRET
from .html import page_problems
from .test_pages import client_api, create_key

AUDITOR = "auditor"
AUDITOR_KEY = "AKIAAUDITOR000000001"
AUDITOR_SECRET = "auditor-secret-for-tests-only"
# May read the trail's events, nothing else (no KMS, no DescribeTrails/ListPublicKeys).
AUDITOR_POLICY = {"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Action": ["cloudtrail:LookupEvents"], "Resource": "*"}]}
SEED = {"accounts": [{"id": ACCOUNT, "users": [
    {"name": READER, "access_keys": [{"id": READER_KEY, "secret": READER_SECRET}],
     "policies": {"ReadOnly": READER_POLICY}},
    {"name": AUDITOR, "access_keys": [{"id": AUDITOR_KEY, "secret": AUDITOR_SECRET}],
     "policies": {"Audit": AUDITOR_POLICY}}]}]}


def _build(tmp: Path) -> bootstrap.Runtime:
    seed = tmp / "seed.json"
    seed.write_text(json.dumps(SEED))
    return bootstrap.build(Settings(dev=True, data_dir=tmp / "data", seed_file=seed).validate())


@pytest.fixture(scope="module")
def runtime(tmp_path_factory: pytest.TempPathFactory) -> Iterator[bootstrap.Runtime]:
    """This module's own server (overrides conftest's): the seed adds an auditor."""
    rt = _build(tmp_path_factory.mktemp("console-audit"))
    yield rt
    rt.audit.close()
    rt.deps.storage.close()


@pytest.fixture()
def fresh(tmp_path: Path) -> Iterator[tuple[bootstrap.Runtime, ConsoleClient]]:
    """A server of its own (the tamper tests alter its bucket and database) and its dev user."""
    rt = _build(tmp_path)
    assert rt.http.console is not None
    client = ConsoleClient(rt.http.console)
    client.sign_in_dev()
    yield rt, client
    rt.audit.close()
    rt.deps.storage.close()


def ok(answer: Answer, status: int = 200) -> Answer:
    assert answer.status == status, (answer.status, answer.text[:3000])
    assert answer.header("content-type") == "text/html; charset=utf-8"
    assert page_problems(answer.doc) == []
    return answer


def rows(answer: Answer) -> list[dict[str, str]]:
    return [{"id": r.attrs["data-event-id"], "name": r.attrs["data-event-name"], "text": r.text}
            for r in answer.doc.find_all("tr") if "data-event-id" in r.attrs]


def key_arn(key_id: str) -> str:
    return f"arn:aws:kms:us-east-1:{ACCOUNT}:key/{key_id}"


def sign_in(console: Console, key: str, secret: str) -> ConsoleClient:
    client = ConsoleClient(console)
    assert client.sign_in(key, secret).status == 303
    return client


# -- the browser ---------------------------------------------------------------------------


def test_the_browser_shows_console_actions_newest_first(dev: ConsoleClient) -> None:
    key_id = create_key(dev, Description="audit me")
    dev.follow(dev.post(f"/console/keys/{key_id}/disable"))
    page = ok(dev.get("/console/audit"))
    found = rows(page)
    names = [r["name"] for r in found]
    assert names.index("DisableKey") < names.index("CreateKey")  # newest first
    disable = found[names.index("DisableKey")]
    assert "dev" in disable["text"] and "kms.amazonaws.com" in disable["text"] and key_id in disable["text"]
    nav = page.doc.find("nav", aria_label="Main")
    assert nav is not None and nav.find("a", aria_current="page").text == "Audit"
    assert page.by_id("tab-events").attrs["aria-current"] == "page"
    assert page.by_id("f-start").attrs["type"] == "datetime-local"


@pytest.mark.parametrize("attribute", ["EventName", "Username", "ResourceName", "ResourceName-id", "ReadOnly",
                                       "EventSource", "AccessKeyId", "EventId"])
def test_one_lookup_attribute_at_a_time(dev: ConsoleClient, attribute: str) -> None:
    key_id = create_key(dev)
    other = create_key(dev)
    dev.follow(dev.post(f"/console/keys/{key_id}/disable"))
    everything = rows(ok(dev.get("/console/audit")))
    disable = next(r for r in everything if r["name"] == "DisableKey")
    value, check = {
        "EventName": ("DisableKey", lambda r: r["name"] == "DisableKey"),
        "Username": ("dev", lambda r: "dev" in r["text"]),
        "ResourceName": (key_arn(key_id), lambda r: key_id in r["text"] and other not in r["text"]),
        "ResourceName-id": (key_id, lambda r: key_id in r["text"] and other not in r["text"]),
        "ReadOnly": ("false", lambda r: r["text"].split()[-2] == "no"),
        "EventSource": ("kms.amazonaws.com", lambda r: "kms.amazonaws.com" in r["text"]),
        "AccessKeyId": ("test", lambda r: True),
        "EventId": (disable["id"], lambda r: r["id"] == disable["id"]),
    }[attribute]
    page = ok(dev.get("/console/audit?" + f"attribute={attribute.split('-')[0]}&value={value}"))
    found = rows(page)
    assert found and all(check(r) for r in found), found
    assert disable["id"] in {r["id"] for r in found}
    if attribute == "ReadOnly":
        assert not any(r["name"] in ("DescribeKey", "LookupEvents") for r in found)
    if attribute.startswith("ResourceName"):
        assert {r["name"] for r in found} >= {"CreateKey", "DisableKey"}
    if attribute == "EventId":
        assert len(found) == 1


def test_the_time_window_and_bad_filters(dev: ConsoleClient) -> None:
    create_key(dev)
    page = ok(dev.get("/console/audit?start=2001-01-01T00:00:00&end=2001-01-02T00:00"))
    assert rows(page) == [] and "No events match" in page.by_id("events-table").text
    assert page.by_id("f-start").attrs["value"] == "2001-01-01T00:00:00"
    bad = ok(dev.get("/console/audit?start=yesterday"), 400)
    assert "is not a time" in bad.by_id("error").text
    backwards = ok(dev.get("/console/audit?start=2002-01-01T00:00&end=2001-01-01T00:00"), 400)
    assert "after its end" in backwards.by_id("error").text
    unknown = ok(dev.get("/console/audit?attribute=Nope&value=x"), 400)
    assert "listed attributes" in unknown.by_id("error").text


def test_paging_with_next_token(dev: ConsoleClient) -> None:
    key_id = create_key(dev)
    api = client_api(dev)
    for _ in range(57):
        api.call("DescribeKey", {"KeyId": key_id})
    query = f"/console/audit?attribute=ResourceName&value={key_id}"
    first = ok(dev.get(query))
    page_one = rows(first)
    assert len(page_one) == 50 and first.doc.find(id="first-page") is None
    link = first.by_id("next-page").attrs["href"]
    args = parse_qs(urlsplit(link).query)
    assert args["value"] == [key_id] and args["token"] and args["start"] and args["end"]
    second = ok(dev.get(link))
    page_two = rows(second)
    assert len(page_two) == 58 - 50 and second.doc.find(id="next-page") is None  # 57 DescribeKey + CreateKey
    assert {r["id"] for r in page_one}.isdisjoint(r["id"] for r in page_two)
    assert page_two[-1]["name"] == "CreateKey"
    assert second.by_id("first-page").attrs["href"].startswith("/console/audit?")
    forged = ok(dev.get(link.replace("token=", "token=x")), 400)
    assert forged.by_id("error").text.startswith("InvalidNextTokenException")


# -- an event, and keys <-> events ------------------------------------------------------------


def test_event_detail_shows_the_event_json_escaped_and_links_its_key(dev: ConsoleClient) -> None:
    marker = "<script>alert('x')</script>"
    key_id = create_key(dev, Description=marker)
    found = rows(ok(dev.get("/console/audit?attribute=EventName&value=CreateKey")))
    create = next(r for r in found if key_id in r["text"])
    page = ok(dev.get(f"/console/audit/events/{create['id']}"))
    document = json.loads(page.by_id("event-json").text)
    assert document["eventID"] == create["id"] and document["eventName"] == "CreateKey"
    assert document["requestParameters"]["description"] == marker
    assert document["userAgent"].startswith("trent-console/") and document["sessionCredentialFromConsole"] == "true"
    assert marker not in page.text and "&lt;script&gt;" in page.text  # escaped, never markup
    assert "\n  &#34;eventName&#34;: &#34;CreateKey&#34;,\n" in page.text  # pretty, escaped
    key_link = page.by_id("event-resources").find("a")
    assert key_link.attrs["href"] == f"/console/keys/{key_id}"
    assert ok(dev.get(key_link.attrs["href"])).by_id("key-events") is not None
    assert page.by_id("user-events").attrs["href"] == "/console/audit?attribute=Username&value=dev"
    others = page.doc.find("a", class_="key-events")
    assert others is not None and key_id in others.text
    listed = rows(ok(dev.get(others.attrs["href"])))
    assert create["id"] in {r["id"] for r in listed}


def test_a_key_page_links_to_its_events(dev: ConsoleClient) -> None:
    key_id = create_key(dev)
    other = create_key(dev)
    dev.follow(dev.post(f"/console/keys/{key_id}/disable"))
    link = ok(dev.get(f"/console/keys/{key_id}")).by_id("key-events").attrs["href"]
    assert parse_qs(urlsplit(link).query) == {"attribute": ["ResourceName"], "value": [key_arn(key_id)]}
    found = rows(ok(dev.get(link)))
    assert {"CreateKey", "DisableKey", "DescribeKey"} <= {r["name"] for r in found}
    assert not any(other in r["text"] for r in found)


def test_an_unknown_event_is_404(dev: ConsoleClient) -> None:
    page = ok(dev.get("/console/audit/events/00000000-0000-4000-8000-000000000000"), 404)
    assert page.doc.find("h1").text == "No such event"


# -- integrity -----------------------------------------------------------------------------


def test_integrity_is_intact_after_delivery(fresh: tuple[bootstrap.Runtime, ConsoleClient]) -> None:
    rt, dev = fresh
    key_id = create_key(dev)
    dev.follow(dev.post(f"/console/keys/{key_id}/disable"))
    before = ok(dev.get("/console/audit/integrity"))
    assert before.by_id("integrity-status").attrs["data-status"] == "ok"
    assert "No digest delivered yet" in before.by_id("digests-table").text
    rt.delivery.run(force_digest=True)
    create_key(dev)  # delivered after the digest: checked as "not yet" in a digest
    rt.delivery.run()
    page = ok(dev.get("/console/audit/integrity"))
    assert page.by_id("integrity-status").attrs["data-status"] == "ok", page.by_id("integrity-status").text
    assert "Intact" in page.by_id("integrity-status").text
    bounds = page.by_id("integrity-bounds").text
    assert "newest 5000 events" in bounds and "newest 3 signed digests" in bounds and "at most 30" in bounds
    digests = page.by_id("digests-table").find_all("tr", data_ok="true")
    files = page.by_id("log-files-table").find_all("tr", data_ok="true")
    assert len(digests) == 1 and len(files) == 2
    assert "not yet" in files[-1].text and "yes" in files[0].text
    assert page.by_id("trail-facts").find("code").text == f"arn:aws:cloudtrail:us-east-1:{ACCOUNT}:trail/trent"


def _delivered_log_keys(rt: bootstrap.Runtime) -> list[str]:
    return sorted(f.object_key for f in rt.deps.storage.log_files())


def test_integrity_detects_a_tampered_log_file(fresh: tuple[bootstrap.Runtime, ConsoleClient]) -> None:
    rt, dev = fresh
    key_id = create_key(dev)
    dev.follow(dev.post(f"/console/keys/{key_id}/disable"))
    rt.delivery.run(force_digest=True)
    assert ok(dev.get("/console/audit/integrity")).by_id("integrity-status").attrs["data-status"] == "ok"
    store = rt.delivery.store
    [log_key] = _delivered_log_keys(rt)
    body = logfiles.decompress(store.get(log_key).body)
    assert b'"DisableKey"' in body
    store.put(log_key, logfiles.compress(body.replace(b'"DisableKey"', b'"EnableKey"')))  # edit one field
    page = ok(dev.get("/console/audit/integrity"))
    status = page.by_id("integrity-status")
    assert status.attrs["data-status"] == "problems" and status.attrs["role"] == "alert"
    [bad] = page.by_id("log-files-table").find_all("tr", data_ok="false")
    assert log_key in bad.text and "hash value doesn't match" in bad.text


def test_integrity_detects_a_deleted_digest_and_an_edited_event_row(
        fresh: tuple[bootstrap.Runtime, ConsoleClient]) -> None:
    rt, dev = fresh
    create_key(dev)
    rt.delivery.run(force_digest=True)
    create_key(dev)
    rt.delivery.run(force_digest=True)
    [_, newest] = [d.object_key for d in rt.deps.storage.digests()]
    rt.delivery.store.delete(newest)  # CloudTrail cannot tell; Trent can
    database = rt.deps.storage.inner.engine.url.database  # type: ignore[attr-defined]
    con = sqlite3.connect(database)
    try:
        segments = con.execute("SELECT rowid, bodies FROM audit_segments ORDER BY rowid").fetchall()
        assert len(segments) >= 3
        rowid, bodies = segments[len(segments) // 2]
        edited = bytes(bodies).replace(b'"readOnly":', b'"readOnly" :', 1)
        assert edited != bytes(bodies)
        con.execute("UPDATE audit_segments SET bodies = ? WHERE rowid = ?", (edited, rowid))
        con.commit()
    finally:
        con.close()
    page = ok(dev.get("/console/audit/integrity"))
    assert page.by_id("integrity-status").attrs["data-status"] == "problems"
    [missing] = page.by_id("digests-table").find_all("tr", data_ok="false")
    assert newest in missing.text and "not in the bucket" in missing.text
    assert "does not chain" in page.by_id("database-problems").text


# -- activity ------------------------------------------------------------------------------


def test_activity_chart_by_operation_with_error_rate(fresh: tuple[bootstrap.Runtime, ConsoleClient]) -> None:
    _, dev = fresh
    key_id = create_key(dev)
    api = client_api(dev)
    for _ in range(3):
        api.call("DescribeKey", {"KeyId": key_id})
    for _ in range(2):
        api.attempt("DescribeKey", {"KeyId": "11111111-2222-3333-4444-555555555555"})  # NotFoundException
    page = ok(dev.get("/console/audit/activity?minutes=15"))
    chart = page.by_id("activity-chart")
    assert chart.tag == "svg" and chart.attrs["role"] == "img"
    assert chart.find("title").text.startswith("Requests per minute")
    assert chart.find_all("rect", class_="bar") and chart.find("polyline", class_="error-rate") is not None
    assert "requests over 16 minutes" in chart.find("desc").text  # the minutes a 15-minute window touches
    table = {r.attrs["data-operation"]: [c.text for c in r.find_all("td")]
             for r in page.by_id("by-operation").find_all("tr") if "data-operation" in r.attrs}
    assert table["DescribeKey"][1:] == ["5", "2", "40%"]
    assert table["CreateKey"][1:3] == ["1", "0"]
    legend = page.by_id("chart-legend").text
    assert "DescribeKey" in legend and "Error rate" in legend
    assert page.by_id("per-minute").find("caption") is not None
    assert page.doc.find("option", value="15").attrs.get("selected") is not None
    assert ok(dev.get("/console/audit/activity?minutes=99999")).doc.find("option", value="60").attrs.get(
        "selected") is not None  # only the offered windows (<= 120 bars)


def test_activity_chart_is_bounded() -> None:
    from trent.server.console.activity import MAX_BARS, aggregate, chart

    entries = [{"EventTime": 1_000_000.0 + 7 * i, "EventName": f"Op{i % 9}",
                "CloudTrailEvent": json.dumps({"errorCode": "X"} if i % 4 == 0 else {})} for i in range(3000)]
    data = aggregate(entries, 1_000_000.0, 1_000_000.0 + 7 * 3000)
    assert len(data.minutes) == MAX_BARS
    assert [name for name, _ in data.legend][-1] == "Other" and len(data.legend) == 6
    svg = str(chart(data))
    assert svg.count('class="bar"') <= MAX_BARS * len(data.legend) and "<script" not in svg


# -- who may see it ------------------------------------------------------------------------


def test_a_principal_without_lookup_events_is_denied_and_the_denial_is_audited(
        console: Console, audit_log: Path) -> None:
    reader = sign_in(console, READER_KEY, READER_SECRET)
    before = len(audit_events(audit_log))
    for path, status in (("/console/audit", 403), ("/console/audit/activity", 403),
                         ("/console/audit/integrity", 403), ("/console/audit/events/abc", 403)):
        page = ok(reader.get(path), status)
        assert page.by_id("error").text.startswith("AccessDeniedException"), path
        assert page.doc.find(id="events-table") is None and page.doc.find(id="activity-chart") is None
    denied = [e for e in audit_events(audit_log)[before:] if e["eventSource"] == "cloudtrail.amazonaws.com"]
    assert {e["eventName"] for e in denied} == {"LookupEvents", "DescribeTrails"}
    assert all(e["errorCode"] == "AccessDeniedException" and e["userIdentity"]["arn"] == READER_ARN
               and e["sessionCredentialFromConsole"] == "true" and e["userAgent"].startswith("trent-console/")
               for e in denied)


def test_an_auditor_sees_events_but_not_what_its_policy_leaves_out(console: Console) -> None:
    dev = ConsoleClient(console)
    dev.sign_in_dev()
    key_id = create_key(dev)
    auditor = sign_in(console, AUDITOR_KEY, AUDITOR_SECRET)
    found = rows(ok(auditor.get(f"/console/audit?attribute=ResourceName&value={key_id}")))
    assert [r["name"] for r in found] == ["CreateKey"]
    assert ok(auditor.get(f"/console/audit/events/{found[0]['id']}")).by_id("event-json") is not None
    assert ok(auditor.get(f"/console/keys/{key_id}"), 403)  # no kms:DescribeKey
    integrity = ok(auditor.get("/console/audit/integrity"), 403)
    assert "cloudtrail:DescribeTrails" in integrity.by_id("error").text


def test_lookups_are_console_events_of_cloudtrail(dev: ConsoleClient, audit_log: Path) -> None:
    before = len(audit_events(audit_log))
    ok(dev.get("/console/audit?attribute=EventName&value=CreateKey"))
    [event] = audit_events(audit_log)[before:]
    assert event["eventName"] == "LookupEvents" and event["eventSource"] == "cloudtrail.amazonaws.com"
    assert event["userIdentity"]["arn"] == DEV_ARN and event["sessionCredentialFromConsole"] == "true"
    assert event["requestParameters"]["lookupAttributes"] == [{"AttributeKey": "EventName",
                                                               "AttributeValue": "CreateKey"}]
    assert event["readOnly"] is True


def test_throttled_lookups_are_retried_then_shown_as_a_notice(console: Console) -> None:
    assert console.trail is not None
    door = console.trail.door
    slow = type(door)(door.pipeline, replace(door.settings, throttle=LookupThrottle(0.01, burst=1)))
    throttled = Console(console.pipeline, console.authenticator, region_ok=console.region_ok,
                        dev_access_key_id=console.dev_access_key_id, policy=console.policy,
                        clock=console._clock, trail=TrailAccess(slow, console.trail.bucket))
    client = ConsoleClient(throttled)
    client.sign_in_dev()
    ok(client.get("/console/audit"))  # the bucket's one token
    page = ok(client.get("/console/audit"), 429)
    assert page.by_id("throttled").attrs["role"] == "status"
    assert page.by_id("error").text.startswith("ThrottlingException")


# -- security ------------------------------------------------------------------------------


def test_no_secret_on_any_audit_page(dev: ConsoleClient) -> None:
    key_id = create_key(dev)
    api = client_api(dev)
    secret = b"the plaintext nobody may see"
    blob = api.call("Encrypt", {"KeyId": key_id, "Plaintext": base64.b64encode(secret).decode()})["CiphertextBlob"]
    data_key = api.call("GenerateDataKey", {"KeyId": key_id, "KeySpec": "AES_256"})["Plaintext"]
    api.call("Decrypt", {"CiphertextBlob": blob})
    pages = [ok(dev.get("/console/audit")), ok(dev.get("/console/audit/activity"))]
    for r in rows(pages[0]):
        if r["name"] in ("Encrypt", "GenerateDataKey", "Decrypt"):
            pages.append(ok(dev.get(f"/console/audit/events/{r['id']}")))
    assert len(pages) == 5
    for page in pages:
        for forbidden in (secret.decode(), base64.b64encode(secret).decode(), data_key, blob, READER_SECRET, *dev.cookies.values()):
            assert forbidden not in page.text


def test_audit_pages_are_read_only(dev: ConsoleClient) -> None:
    for path in ("/console/audit", "/console/audit/activity", "/console/audit/integrity", "/console/audit/events/x"):
        assert dev.post(path).status == 405
        assert dev.post(path, csrf=False).status == 405
    for path in ("/console/audit", "/console/audit/activity", "/console/audit/integrity"):
        for form in ok(dev.get(path)).doc.find_all("form"):
            method = form.attrs.get("method", "get").lower()
            assert method == "get" or form.find("input", name="csrf") is not None
