"""Browser-facing security of the console (issue 21 "Security"): response headers,
cookies, and the checks every state-changing request passes.

- Content-Security-Policy: scripts and styles only from Trent itself (``'self'``), no
  inline script or style, no plugins, no framing (``frame-ancestors 'none'``, plus
  ``X-Frame-Options: DENY`` for old browsers), forms post only back to Trent.
- Cookies: HttpOnly, SameSite=Strict, Path=/console, Secure (and the ``__Secure-``
  name prefix) when the request came over TLS.
- CSRF: every POST carries the session's token (``service.console_sign_in.csrf_token``)
  in a form field; the sign-in form, which has no session yet, uses a double-submit
  cookie. A cross-site ``Origin`` or ``Sec-Fetch-Site`` is refused before anything else.
"""

from __future__ import annotations

import base64
import hmac
from collections.abc import Callable

from trent.server.console.http import PREFIX, ConsoleRequest

CONTENT_SECURITY_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)
_PAGE_HEADERS = (
    ("content-security-policy", CONTENT_SECURITY_POLICY),
    ("x-frame-options", "DENY"),
    ("x-content-type-options", "nosniff"),
    ("referrer-policy", "same-origin"),
    ("cross-origin-opener-policy", "same-origin"),
    ("cross-origin-resource-policy", "same-origin"),
    ("permissions-policy", "camera=(), microphone=(), geolocation=(), payment=(), usb=()"),
)
_HSTS = ("strict-transport-security", "max-age=31536000")

SESSION_COOKIE = "trent-console"
SIGN_IN_COOKIE = "trent-console-signin"  # the sign-in form's double-submit CSRF token
SIGN_IN_COOKIE_SECONDS = 1800
CSRF_FIELD = "csrf"


def security_headers(secure: bool, cacheable: bool) -> list[tuple[str, str]]:
    headers = list(_PAGE_HEADERS)
    headers.append(("cache-control", "private, max-age=300" if cacheable else "no-store"))
    if secure:
        headers.append(_HSTS)
    return headers


def cookie_name(base: str, secure: bool) -> str:
    # __Secure-: browsers accept the cookie only with Secure from an https origin.
    return f"__Secure-{base}" if secure else base


def set_cookie(base: str, value: str, max_age: int, secure: bool) -> tuple[str, str]:
    attributes = [f"{cookie_name(base, secure)}={value}", f"Path={PREFIX}", f"Max-Age={max_age}", "HttpOnly",
                  "SameSite=Strict"]
    if secure:
        attributes.append("Secure")
    return "set-cookie", "; ".join(attributes)


def clear_cookie(base: str, secure: bool) -> tuple[str, str]:
    return set_cookie(base, "", 0, secure)


def new_sign_in_token(rng: Callable[[int], bytes]) -> str:
    return base64.urlsafe_b64encode(rng(24)).rstrip(b"=").decode()


def same_origin(request: ConsoleRequest) -> bool:
    """False for a request a browser marked as coming from another site. Browsers send
    Origin on every POST; a request without it (not a browser) still needs the CSRF token."""
    fetch_site = request.header(b"sec-fetch-site")
    if fetch_site is not None and fetch_site not in ("same-origin", "none"):
        return False
    origin = request.header(b"origin")
    if origin is None:
        return True
    host = request.header(b"host")
    scheme = "https" if request.secure else "http"
    return host is not None and origin == f"{scheme}://{host}"


def double_submit_ok(request: ConsoleRequest, presented: str | None) -> bool:
    cookie = request.cookies.get(cookie_name(SIGN_IN_COOKIE, request.secure))
    if not cookie or presented is None:
        return False
    return hmac.compare_digest(cookie.encode(), presented.encode())
