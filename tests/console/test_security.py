"""The console's security (issue 21 "Security"): headers on every answer, cookie flags,
CSRF on every state change, cross-site requests refused, sign-in audited and throttled,
sessions short-lived, bound to their credential and ended by sign-out."""

from __future__ import annotations

from pathlib import Path

import pytest

from trent import errors
from trent.domain.clock import ControllableClock
from trent.server.console import Console
from trent.server.console.security import CONTENT_SECURITY_POLICY

from .client import ConsoleClient, audit_events
from .conftest import DEV_ARN, READER_ARN, READER_KEY, READER_SECRET
from .test_pages import client_api, create_key, ok

EXPECTED_HEADERS = {
    "content-security-policy": CONTENT_SECURITY_POLICY,
    "x-frame-options": "DENY",
    "x-content-type-options": "nosniff",
    "referrer-policy": "same-origin",
    "cross-origin-opener-policy": "same-origin",
}


def _cookie(answer, name: str) -> str:
    [value] = [v for v in answer.all("set-cookie") if v.startswith(name + "=")]
    return value


def test_csp_is_strict() -> None:
    directives = dict(d.strip().split(" ", 1) for d in CONTENT_SECURITY_POLICY.split(";"))
    assert directives["default-src"] == "'none'"
    assert directives["script-src"] == "'self'" and directives["style-src"] == "'self'"
    assert directives["frame-ancestors"] == "'none'" and directives["form-action"] == "'self'"
    assert "unsafe" not in CONTENT_SECURITY_POLICY and "http" not in CONTENT_SECURITY_POLICY


def test_every_answer_carries_the_security_headers(console: Console) -> None:
    client = ConsoleClient(console)
    answers = [client.get("/console/signin"), client.get("/console/keys"), client.get("/console/nope"),
               client.get("/console/static/console.js")]
    client.sign_in_dev()
    key_id = create_key(client)
    answers += [client.get("/console/keys"), client.get(f"/console/keys/{key_id}"),
                client.post(f"/console/keys/{key_id}/disable"), client.post(f"/console/keys/{key_id}/enable", csrf=False),
                client.post(f"/console/keys/{key_id}/import/parameters",
                            {"algorithm": "RSAES_OAEP_SHA_256", "wrapping_key_spec": "RSA_2048"})]
    for answer in answers:
        for name, value in EXPECTED_HEADERS.items():
            assert answer.header(name) == value, (name, answer.status)
        expected_cache = "private, max-age=300" if answer.header("content-type", ).startswith("text/javascript") \
            else "no-store"
        assert answer.header("cache-control") == expected_cache
        assert answer.header("strict-transport-security") is None  # plain HTTP here


def test_session_cookie_flags(console: Console) -> None:
    client = ConsoleClient(console)
    form = client.get("/console/signin")
    assert _cookie(form, "trent-console-signin").endswith("; Path=/console; Max-Age=1800; HttpOnly; SameSite=Strict")
    signed_in = client.sign_in_dev()
    session = _cookie(signed_in, "trent-console")
    assert session.endswith("; Path=/console; Max-Age=3600; HttpOnly; SameSite=Strict")
    assert "Secure" not in session
    token = client.cookies["trent-console"]
    assert len(token) >= 43  # 256 random bits
    assert client.cookies.get("trent-console-signin") is None  # the sign-in token is spent


def test_over_tls_cookies_are_secure_and_prefixed(console: Console) -> None:
    def handle(method, path, body=b"", cookie=""):
        headers = [(b"host", b"trent.test"), (b"origin", b"https://trent.test")]
        if cookie:
            headers.append((b"cookie", cookie.encode()))
        if body:
            headers.append((b"content-type", b"application/x-www-form-urlencoded"))
        return console.handle(method, path, "", headers, body, "127.0.0.1", secure=True)

    form = handle("GET", "/console/signin")
    cookies = [v.decode() for k, v in form.headers if k == b"set-cookie"]
    assert cookies[0].startswith("__Secure-trent-console-signin=") and cookies[0].endswith("; Secure")
    assert (b"strict-transport-security", b"max-age=31536000") in form.headers
    token = cookies[0].split(";")[0].split("=", 1)[1]
    signed = handle("POST", "/console/signin/dev", f"signin_token={token}".encode(), cookies[0].split(";")[0])
    assert signed.status == 303
    [session] = [v.decode() for k, v in signed.headers if k == b"set-cookie" and v.startswith(b"__Secure-trent-console=")]
    assert session.endswith("HttpOnly; SameSite=Strict; Secure")


def test_post_without_csrf_token_is_refused(dev: ConsoleClient, audit_log: Path) -> None:
    key_id = create_key(dev)
    before = len(audit_events(audit_log))
    for form in ({}, {"csrf": "forged"}, {"csrf": ""}):
        refused = dev.post(f"/console/keys/{key_id}/disable", form, csrf=False)
        assert refused.status == 403 and "did not come from this console" in refused.text
    other = ConsoleClient(dev.console)
    other.sign_in_dev()
    stolen = dev.post(f"/console/keys/{key_id}/disable", {"csrf": other.csrf()}, csrf=False)
    assert stolen.status == 403  # a token is good for its own session only
    assert client_api(dev).call("DescribeKey", {"KeyId": key_id})["KeyMetadata"]["KeyState"] == "Enabled"
    assert [e for e in audit_events(audit_log)[before:] if e["eventName"] == "DisableKey"] == []


def test_cross_site_posts_are_refused_even_with_a_token(dev: ConsoleClient) -> None:
    key_id = create_key(dev)
    csrf = dev.csrf()
    body = f"csrf={csrf}".encode()
    for headers in ({"origin": "http://evil.example"}, {"sec-fetch-site": "cross-site"},
                    {"origin": "https://trent.test"}):
        answer = dev.request("POST", f"/console/keys/{key_id}/disable", body, "application/x-www-form-urlencoded",
                             headers=headers, origin=False)
        assert answer.status == 403, headers
    assert client_api(dev).call("DescribeKey", {"KeyId": key_id})["KeyMetadata"]["KeyState"] == "Enabled"
    same = dev.request("POST", f"/console/keys/{key_id}/disable", body, "application/x-www-form-urlencoded",
                       headers={"sec-fetch-site": "same-origin"})
    assert same.status == 303


def test_sign_in_form_needs_its_double_submit_token(console: Console) -> None:
    client = ConsoleClient(console)
    client.get("/console/signin")
    answer = client.post("/console/signin", {"signin_token": "guess", "access_key_id": READER_KEY,
                                             "secret_access_key": READER_SECRET}, csrf=False)
    assert answer.status == 403 and "trent-console" not in client.cookies
    fresh = ConsoleClient(console)  # no cookie at all (a cross-site form)
    answer = fresh.post("/console/signin", {"signin_token": "x", "access_key_id": READER_KEY,
                                            "secret_access_key": READER_SECRET}, csrf=False)
    assert answer.status == 403


def test_sign_in_success_and_failure_are_audited(console: Console, audit_log: Path) -> None:
    client = ConsoleClient(console, source_ip="10.1.2.3")
    before = len(audit_events(audit_log))
    wrong = client.sign_in(READER_KEY, "not-the-secret")
    assert wrong.status == 401 and "not-the-secret" not in wrong.text
    typo = client.sign_in("wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", "x")  # a secret pasted as the id
    assert typo.status == 401
    good = client.sign_in(READER_KEY, READER_SECRET)
    assert good.status == 303 and good.location == "/console/keys"
    events = [e for e in audit_events(audit_log)[before:] if e["eventName"] == "ConsoleLogin"]
    assert [e["responseElements"]["ConsoleLogin"] for e in events] == ["Failure", "Failure", "Success"]
    failed, hidden, success = events
    for event in events:
        assert event["eventSource"] == "signin.amazonaws.com" and event["eventType"] == "AwsConsoleSignIn"
        assert event["sourceIPAddress"] == "10.1.2.3" and event["userAgent"].startswith("trent-console/")
        assert event["additionalEventData"] == {"LoginTo": "http://trent.test/console", "MobileVersion": "No",
                                                "MFAUsed": "No"}
        assert "not-the-secret" not in str(event) and READER_SECRET not in str(event)
    assert failed["errorMessage"] == "Failed authentication" and failed["userIdentity"]["arn"] == READER_ARN
    assert hidden["userIdentity"] == {"type": "IAMUser", "userName": "HIDDEN_DUE_TO_SECURITY_REASONS"}
    assert "EXAMPLEKEY" not in str(hidden)
    assert "errorMessage" not in success and success["userIdentity"]["accessKeyId"] == READER_KEY


def test_sign_in_is_throttled_per_access_key(console: Console, clock: ControllableClock, audit_log: Path) -> None:
    client = ConsoleClient(console)
    for _ in range(5):
        assert client.sign_in(READER_KEY, "wrong").status == 401
    throttled = client.sign_in(READER_KEY, READER_SECRET)  # even the right secret, while throttled
    assert throttled.status == 429 and throttled.header("retry-after") == "300"
    assert "Too many sign-in attempts" in throttled.by_id("signin-error").text
    assert audit_events(audit_log)[-1]["errorMessage"] == "Too many sign-in attempts"
    other = ConsoleClient(console, source_ip="10.9.9.9")
    assert other.sign_in(READER_KEY, READER_SECRET).status == 429  # from anywhere
    clock.advance(300)
    assert client.sign_in(READER_KEY, READER_SECRET).status == 303


def test_sign_in_is_throttled_per_source_address(console: Console, clock: ControllableClock) -> None:
    client = ConsoleClient(console, source_ip="10.0.0.66")
    for i in range(20):
        assert client.sign_in(f"AKIAGUESS{i:011d}", "x").status == 401
    assert client.sign_in(READER_KEY, READER_SECRET).status == 429
    assert ConsoleClient(console, source_ip="10.0.0.67").sign_in(READER_KEY, READER_SECRET).status == 303


def test_successful_sign_ins_do_not_count_against_an_address(console: Console) -> None:
    for _ in range(25):
        client = ConsoleClient(console, source_ip="10.0.0.5")
        assert client.sign_in(READER_KEY, READER_SECRET).status == 303


def test_sign_out_ends_the_session_for_good(dev: ConsoleClient) -> None:
    stolen = dict(dev.cookies)
    answer = dev.post("/console/signout")
    assert answer.status == 303 and answer.location == "/console/signin?notice=signed-out"
    assert _cookie(answer, "trent-console").startswith("trent-console=; Path=/console; Max-Age=0")
    assert dev.get("/console/keys").status == 303
    replay = ConsoleClient(dev.console)
    replay.cookies = stolen
    answer = replay.get("/console/keys")
    assert answer.status == 303 and "notice=expired" in answer.location


def test_idle_and_absolute_expiry(dev: ConsoleClient, clock: ControllableClock) -> None:
    clock.advance(899)
    assert dev.get("/console/keys").status == 200  # activity keeps it alive...
    for _ in range(4):
        clock.advance(600)
        assert dev.get("/console/audit").status == 200
    clock.advance(400)  # ...but never past its hour (3699 s now)
    assert dev.get("/console/keys").status == 303
    fresh = ConsoleClient(dev.console)
    fresh.sign_in_dev()
    clock.advance(901)
    assert fresh.get("/console/keys").status == 303  # 15 idle minutes


def test_a_session_ends_with_its_access_key(console: Console) -> None:
    from trent.service import identity

    deps = console.deps
    creds = identity.create_access_key(deps, READER_ARN, deps.clock.now())
    client = ConsoleClient(console)
    assert client.sign_in(creds.access_key_id, creds.secret_access_key).status == 303
    assert client.get("/console/keys").status == 200
    deps.storage.delete_access_key(creds.access_key_id)
    assert client.get("/console/keys").status == 303


def test_next_never_leaves_the_console(console: Console) -> None:
    for target in ("https://evil.example/", "//evil.example/console/", "/console\\@evil", "/elsewhere"):
        client = ConsoleClient(console)
        page = client.get("/console/signin?next=" + target)
        token = page.doc.find("input", name="signin_token").attrs["value"]
        answer = client.post("/console/signin/dev", {"signin_token": token, "next": target}, csrf=False)
        assert answer.location == "/console/keys", target


def test_region_switch(dev: ConsoleClient) -> None:
    create_key(dev)
    page = dev.follow(dev.post("/console/region", {"region": "eu-west-1"}))
    assert "No keys" in page.by_id("keys-table").text and "in eu-west-1" in page.doc.find("h1").text
    assert ok(dev.post("/console/region", {"region": "not a region"}), 400)


def test_sealed_server_serves_no_console_page(dev: ConsoleClient) -> None:
    pipeline = dev.console.pipeline
    pipeline.gate = lambda: errors.KMSInvalidState("This Trent server is sealed: supply shares.")
    try:
        answer = dev.get("/console/keys")
        assert answer.status == 503 and "This Trent server is sealed" in answer.text
        assert dev.get("/console/static/console.css").status == 200
    finally:
        pipeline.gate = None


def test_audit_failure_withholds_the_result(dev: ConsoleClient) -> None:
    from trent.audit.sink import AuditWriteError

    class RefusingOutbox:
        def record(self, entries: object) -> None:
            raise AuditWriteError("the trail refuses")

    pipeline = dev.console.pipeline
    key_id = create_key(dev)
    real = pipeline.outbox
    pipeline.outbox = RefusingOutbox()  # type: ignore[assignment]
    try:
        answer = dev.get(f"/console/keys/{key_id}")
        assert answer.status == 500 and "could not record" in answer.text and key_id not in answer.text.split("<main")[1]
    finally:
        pipeline.outbox = real


@pytest.mark.parametrize("body", [b"\xff\xfe=\x00", b"a=" + b"x&a=" * 1200])
def test_unreadable_forms_are_a_400(dev: ConsoleClient, body: bytes) -> None:
    answer = dev.request("POST", "/console/keys/new", body, "application/x-www-form-urlencoded")
    assert answer.status == 400


def test_secrets_typed_are_never_rendered(console: Console) -> None:
    client = ConsoleClient(console)
    answer = client.sign_in(READER_KEY, "hunter2-secret", token="a-session-token-value")
    assert answer.status == 401
    assert "hunter2-secret" not in answer.text and "a-session-token-value" not in answer.text
    assert answer.doc.find("input", name="secret_access_key").attrs.get("value") is None


def test_only_the_session_token_digest_is_stored(dev: ConsoleClient) -> None:
    import hashlib

    token = dev.cookies["trent-console"]
    [stored] = dev.console.deps.storage.list_console_sessions(DEV_ARN)
    assert stored.token_sha256 == hashlib.sha256(token.encode()).hexdigest()
    assert token not in repr(stored)
