"""Sign-in, the --dev one-click sign-in, sign-out and the region switch (issue 21).

The sign-in form has no session to bind a CSRF token to, so it uses a double-submit
token: a random value in an HttpOnly SameSite=Strict cookie and in the form, compared in
constant time. Every attempt, success or failure, is written to the audit trail before
the answer (fail-closed: no session is handed out unrecorded).
"""

from __future__ import annotations

from trent.audit.records import AuditEntry
from trent.audit.sink import AuditWriteError
from trent.server.console import security
from trent.server.console.calls import AuditUnavailable
from trent.server.console.http import PREFIX, Reply, redirect
from trent.server.console.page import Page
from trent.server.console.render import url
from trent.server.console.sign_in_events import FAILED, THROTTLED, console_login_event
from trent.service import console_sign_in
from trent.service.console_sign_in import SignedIn, SignInFailed, SignInThrottled


def _next(page: Page) -> str:
    """Where to go after signing in: a console page, never anywhere else."""
    request = page.request
    target = request.arg("next") or (page.form.get("next") if request.method == "POST" else "")
    if not target or not target.startswith(PREFIX + "/") or target.startswith("//") or "\\" in target:
        return url("keys")
    return target


def form(page: Page, *, error: str | None = None, status: int = 200, retry_after: int | None = None) -> Reply:
    request = page.request
    if page.signed_in is not None and error is None:
        return redirect(_next(page))
    token = security.new_sign_in_token(page.console.deps.rng)
    headers = [security.set_cookie(security.SIGN_IN_COOKIE, token, security.SIGN_IN_COOKIE_SECONDS, request.secure)]
    if retry_after is not None:
        headers.append(("retry-after", str(retry_after)))
    return page.render(
        "signin.html", status, tuple(headers),
        signin_token=token, next=_next(page), sign_in_error=error,
        default_region=page.console.default_region, section="signin",
    )


def _record(page: Page, event: dict) -> None:
    try:
        pipeline = page.console.pipeline
        pipeline.outbox.record([AuditEntry(event, pipeline.deps.clock.now())])
    except AuditWriteError:
        raise AuditUnavailable("ConsoleLogin") from None


def _login_to(page: Page) -> str:
    host = page.request.header(b"host") or "localhost"
    return f"{'https' if page.request.secure else 'http'}://{host}{PREFIX}"


def _signed_in(page: Page, signed_in: SignedIn) -> Reply:
    session = signed_in.session
    _record(page, console_login_event(
        page.console.pipeline, principal=signed_in.principal, access_key_id=session.access_key_id,
        region=session.region, source_ip=page.request.source_ip, login_to=_login_to(page),
    ))
    secure = page.request.secure
    lifetime = max(1, int(session.expires_at - session.created_at))
    return redirect(_next(page),
                    security.set_cookie(security.SESSION_COOKIE, signed_in.token, lifetime, secure),
                    security.clear_cookie(security.SIGN_IN_COOKIE, secure))


def submit(page: Page) -> Reply:
    console = page.console
    request = page.request
    fields = page.form
    if not security.double_submit_ok(request, fields.get("signin_token")):
        return form(page, error="The sign-in form expired. Please try again.", status=403)
    region = fields.get("region").strip() or console.default_region
    if not console.region_ok(region):
        return form(page, error=f"This server does not serve the region {region!r}.", status=400)
    try:
        signed_in = console_sign_in.sign_in(
            console.deps, console.authenticator, fields.get("access_key_id"), fields.get("secret_access_key"),
            fields.get("session_token").strip() or None, region, request.source_ip, console.now(), console.policy,
        )
    except SignInThrottled as refused:
        _record(page, console_login_event(console.pipeline, principal=None, access_key_id=None, region=region,
                                          source_ip=request.source_ip, login_to=_login_to(page), failure=THROTTLED))
        return form(page, error="Too many sign-in attempts. Wait a few minutes and try again.", status=429,
                    retry_after=refused.retry_after_seconds)
    except SignInFailed as failed:
        _record(page, console_login_event(console.pipeline, principal=failed.principal,
                                          access_key_id=failed.access_key_id, region=region,
                                          source_ip=request.source_ip, login_to=_login_to(page), failure=FAILED))
        return form(page, error="Sign-in failed: check the access key id, the secret and the session token.",
                    status=401)
    return _signed_in(page, signed_in)


def dev(page: Page) -> Reply:
    """--dev only: sign in as the well-known dev user without typing its (public) secret."""
    console = page.console
    akid = console.dev_access_key_id
    if akid is None:
        return page.render("problem.html", 404, title="Not found", message="There is no such page in the console.")
    if not security.double_submit_ok(page.request, page.form.get("signin_token")):
        return form(page, error="The sign-in form expired. Please try again.", status=403)
    storage = console.deps.storage
    key = storage.get_access_key(akid)
    principal = storage.get_principal(key.principal_arn) if key is not None else None
    if key is None or principal is None:
        return form(page, error="The dev user does not exist (yet).", status=503)
    signed_in = console_sign_in.open_session(console.deps, principal, key, console.default_region, console.now(),
                                             console.policy)
    return _signed_in(page, signed_in)


def sign_out(page: Page) -> Reply:
    assert page.signed_in is not None
    console_sign_in.sign_out(page.console.deps, page.signed_in.token)
    return redirect(url("signin", notice="signed-out"), security.clear_cookie(security.SESSION_COOKIE, page.request.secure))


def switch_region(page: Page) -> Reply:
    assert page.signed_in is not None
    region = page.form.get("region").strip()
    if not page.console.region_ok(region):
        return page.render("problem.html", 400, title="Unknown region",
                           message=f"This server does not serve the region {region!r}.")
    console_sign_in.switch_region(page.console.deps, page.signed_in, region)
    return page.back("keys", notice="region-switched")
