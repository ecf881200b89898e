"""The console's audit pages in headless Chromium (issue 21 phase 2), against a real
``trent serve --dev``: key actions taken in the console are found in the audit browser
(from the key's page, and by a lookup typed with the keyboard), an event's detail leads
back to its key, the trail is verified intact after a delivery, the activity chart is
drawn, and a principal without ``cloudtrail:LookupEvents`` is refused. Every page is
watched for JavaScript errors and CSP violations (conftest's ``Watched``)."""

from __future__ import annotations

import json
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.fixtures.trent_server import TrentServer, start_trent, stop_trent

from .conftest import ACCOUNT, ALICE, Watched, _seed
from .test_console_chromium import dev_sign_in, key_id_from, sign_in, walk_wizard


@pytest.fixture(scope="module")
def console_server() -> Iterator[TrentServer]:
    """This module's server (overrides conftest's: no HSM needed here)."""
    with tempfile.TemporaryDirectory(prefix="trent-console-audit-") as tmp:
        seed = Path(tmp) / "seed.json"
        seed.write_text(json.dumps(_seed()))
        server = start_trent(Path(tmp) / "data", "--seed", str(seed))
        try:
            yield server
        finally:
            stop_trent(server)


def event_rows(page) -> list[tuple[str, str]]:
    rows = page.locator("#events-table tbody tr[data-event-id]")
    return [(rows.nth(i).get_attribute("data-event-name"), rows.nth(i).get_attribute("data-event-id"))
            for i in range(rows.count())]


def test_key_actions_are_found_in_the_audit_browser(watched: Watched) -> None:
    page = dev_sign_in(watched)
    walk_wizard(page, watched.base_url, key_type="symmetric", usage="ENCRYPT_DECRYPT", spec="SYMMETRIC_DEFAULT",
                description="audited in chromium")
    page.click("#create-key")
    page.wait_for_url("**notice=created")
    key_id = key_id_from(page)
    page.click("#disable-key")
    page.wait_for_url("**notice=disabled")
    page.click("#key-events")  # key -> its events
    page.wait_for_selector("#events-table")
    names = [name for name, _ in event_rows(page)]
    assert names.index("DisableKey") < names.index("CreateKey")  # newest first
    assert page.locator("nav[aria-label=Main] a[aria-current=page]").inner_text() == "Audit"
    page.click("#events-table tr[data-event-name=DisableKey] a")  # an event's detail
    page.wait_for_selector("#event-json")
    document = json.loads(page.locator("#event-json").inner_text())
    assert document["eventName"] == "DisableKey" and document["requestParameters"] == {"keyId": key_id}
    assert document["userAgent"].startswith("trent-console/") and document["sessionCredentialFromConsole"] == "true"
    page.click(f"#event-resources a[href='/console/keys/{key_id}']")  # event -> its key
    page.wait_for_url(f"**/console/keys/{key_id}")
    assert page.locator("#key-state").inner_text() == "Disabled"


def test_a_lookup_typed_with_the_keyboard(watched: Watched) -> None:
    page = dev_sign_in(watched)
    page.goto(watched.base_url + "/console/audit")
    page.focus("#f-attribute")
    page.select_option("#f-attribute", "EventName")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.id") == "f-value"
    page.keyboard.type("ConsoleLogin")
    page.keyboard.press("Enter")  # submits the search form
    page.wait_for_url("**attribute=EventName**value=ConsoleLogin**")
    rows = event_rows(page)
    assert rows and {name for name, _ in rows} == {"ConsoleLogin"}
    assert page.locator("#f-value").input_value() == "ConsoleLogin"


def test_integrity_and_activity_pages(watched: Watched, console_server: TrentServer) -> None:
    page = dev_sign_in(watched)
    kms = console_server.client()
    key_id = kms.create_key()["KeyMetadata"]["KeyId"]
    kms.encrypt(KeyId=key_id, Plaintext=b"x")
    try:
        kms.describe_key(KeyId="11111111-2222-3333-4444-555555555555")
    except kms.exceptions.NotFoundException:
        pass
    console_server.admin("/_trent/audit/flush", {})  # deliver log files and sign a digest now
    page.goto(watched.base_url + "/console/audit")
    page.click("#tab-integrity")
    page.wait_for_selector("#integrity-status")
    assert page.locator("#integrity-status").get_attribute("data-status") == "ok"
    assert page.locator("#digests-table tr[data-ok=true]").count() >= 1
    assert page.locator("#log-files-table tr[data-ok=false]").count() == 0
    assert "newest 5000 events" in page.locator("#integrity-bounds").inner_text()
    page.click("#tab-activity")
    chart = page.locator("svg#activity-chart")
    chart.wait_for()
    assert chart.locator("rect.bar").count() >= 1
    assert chart.locator("polyline.error-rate").count() == 1
    assert chart.bounding_box()["width"] > 300  # drawn, with the served stylesheet
    assert page.locator("#by-operation tr[data-operation=Encrypt]").count() == 1
    page.select_option("#a-minutes", "15")
    page.click("#show-window")
    page.wait_for_url("**minutes=15")
    assert page.locator("svg#activity-chart").count() == 1


def test_a_principal_without_lookup_events_is_refused(watched: Watched) -> None:
    page = sign_in(watched, ALICE)  # kms read-only, no cloudtrail:*
    page.goto(watched.base_url + "/console/audit")
    assert page.locator("#error .code").inner_text() == "AccessDeniedException"
    assert page.locator("#events-table").count() == 0
    assert f"arn:aws:iam::{ACCOUNT}:user/alice" in page.locator("#error").inner_text()
