"""Web console sign-in (issue 21): access key id + secret in, a session out.

The credential is checked as SigV4 checks it (``identity.Authenticator``: the key must be
active, its session token must match if it has one, temporary keys must not have
expired), then the secret is compared in constant time — where SigV4 would use it to
recompute a signature. Success opens a :class:`ConsoleSession`: a random 256-bit token
for the cookie, stored only as its SHA-256, bound to the principal and the access key
and re-checked on every request (:func:`resume`), ending at the earlier of its lifetime
and the credentials' expiry, or after ``idle_seconds`` without a request.

Guessing is throttled per access key id and per source address in the database
(``take_sign_in_attempt``: one atomic statement), so the limits hold across threads,
processes and nodes. An attempt is taken *before* the secret is checked, so racing
requests cannot all slip in under the limit; a successful sign-in gives its attempt back.

The CSRF token of a session is HMAC-SHA256(token, label): unforgeable without the
HttpOnly cookie, stable for the session, nothing stored.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from dataclasses import dataclass, field, replace

from trent.domain.console import ConsoleSession
from trent.domain.principals import AccessKey, AccessKeyStatus, Principal
from trent.errors import AuthError
from trent.service.deps import ServiceDeps
from trent.service.identity import Authenticator

_CSRF_LABEL = b"trent-console/csrf/v1"
MAX_ACCESS_KEY_ID_CHARS = 128  # longer input is not an access key id (model: 16..128)
# A session's last-seen time is written at most this often (a write per page is waste).
_TOUCH_EVERY_SECONDS = 60.0


@dataclass(frozen=True, slots=True)
class SignInPolicy:
    lifetime_seconds: float = 3600.0  # short-lived (issue 21): one hour at most
    idle_seconds: float = 900.0  # ... and 15 minutes without a request
    window_seconds: float = 300.0  # throttling window
    attempts_per_access_key: int = 5
    attempts_per_source: int = 20


class SignInFailed(Exception):
    """Wrong access key id, secret or session token, or an inactive or expired key. One
    class for all of them: the page never says which (``principal`` is known only when
    the access key id was, for the audit event's userIdentity)."""

    def __init__(self, principal: Principal | None = None, access_key_id: str | None = None) -> None:
        super().__init__("Failed authentication")
        self.principal = principal
        self.access_key_id = access_key_id


class SignInThrottled(Exception):
    """Too many attempts for this access key id or from this address; try again later."""

    def __init__(self, retry_after_seconds: int) -> None:
        super().__init__("Too many sign-in attempts")
        self.retry_after_seconds = retry_after_seconds


@dataclass(frozen=True, slots=True)
class SignedIn:
    session: ConsoleSession
    principal: Principal
    token: str = field(repr=False)  # the cookie value: shown to the browser once, never stored

    @property
    def csrf_token(self) -> str:
        return csrf_token(self.token)


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode("ascii", "replace")).hexdigest()


def csrf_token(token: str) -> str:
    mac = hmac.new(token.encode("ascii", "replace"), _CSRF_LABEL, hashlib.sha256).digest()
    return base64.urlsafe_b64encode(mac).rstrip(b"=").decode()


def csrf_matches(token: str, presented: str | None) -> bool:
    return presented is not None and hmac.compare_digest(csrf_token(token).encode(), presented.encode("utf-8", "replace"))


def _subjects(access_key_id: str, source_ip: str) -> tuple[str, str]:
    return f"key:{access_key_id}", f"ip:{source_ip}"


def sign_in(
    deps: ServiceDeps, authenticator: Authenticator, access_key_id: str, secret: str, session_token: str | None,
    region: str, source_ip: str, now: float, policy: SignInPolicy = SignInPolicy(),
) -> SignedIn:
    """SignInFailed / SignInThrottled, or a new session."""
    access_key_id = access_key_id.strip()[:MAX_ACCESS_KEY_ID_CHARS]
    by_key, by_source = _subjects(access_key_id, source_ip)
    storage = deps.storage
    window = policy.window_seconds
    if not storage.take_sign_in_attempt(by_source, now, window, policy.attempts_per_source):
        raise SignInThrottled(int(window))
    if not storage.take_sign_in_attempt(by_key, now, window, policy.attempts_per_access_key):
        raise SignInThrottled(int(window))
    try:
        who = authenticator.authenticate(access_key_id, session_token or None, now)
    except AuthError:
        known = storage.get_access_key(access_key_id)
        raise SignInFailed(storage.get_principal(known.principal_arn) if known else None,
                           access_key_id if known else None) from None
    if not hmac.compare_digest(who.secret.encode(), secret.encode("utf-8", "replace")):
        raise SignInFailed(who.principal, access_key_id)
    storage.clear_sign_in_attempts(by_key)
    storage.give_back_sign_in_attempt(by_source)
    return open_session(deps, who.principal, who.access_key, region, now, policy)


def open_session(
    deps: ServiceDeps, principal: Principal, access_key: AccessKey, region: str, now: float,
    policy: SignInPolicy = SignInPolicy(),
) -> SignedIn:
    """A new session for an already verified credential (``sign_in``; the --dev one-click
    login, which is for the well-known dev key only)."""
    storage = deps.storage
    storage.delete_console_sessions_ending(now)  # housekeeping: no sweeper needed
    token = base64.urlsafe_b64encode(deps.rng(32)).rstrip(b"=").decode()
    ends = now + policy.lifetime_seconds
    if access_key.expires_at is not None:
        ends = min(ends, access_key.expires_at)
    session = ConsoleSession(token_digest(token), principal.arn, access_key.access_key_id, region, now, ends, now)
    storage.create_console_session(session)
    return SignedIn(session, principal, token)


def resume(deps: ServiceDeps, token: str | None, now: float, policy: SignInPolicy = SignInPolicy()) -> SignedIn | None:
    """The live session a cookie names, or None (then it is gone for good). Bound to the
    principal: if its access key was deleted, deactivated or has expired, or the principal
    is gone, the session ends with it."""
    if not token or len(token) > 128:
        return None
    storage = deps.storage
    digest = token_digest(token)
    session = storage.get_console_session(digest)
    if session is None:
        return None
    key = storage.get_access_key(session.access_key_id)
    principal = storage.get_principal(session.principal_arn)
    if (
        not session.alive(now, policy.idle_seconds)
        or key is None
        or key.status is not AccessKeyStatus.ACTIVE
        or key.principal_arn != session.principal_arn
        or (key.expires_at is not None and now >= key.expires_at)
        or principal is None
    ):
        storage.delete_console_session(digest)
        return None
    if now - session.last_seen_at >= _TOUCH_EVERY_SECONDS:
        session = replace(session, last_seen_at=now)
        storage.update_console_session(session)
    return SignedIn(session, principal, token)


def switch_region(deps: ServiceDeps, signed_in: SignedIn, region: str) -> SignedIn:
    session = replace(signed_in.session, region=region)
    deps.storage.update_console_session(session)
    return replace(signed_in, session=session)


def sign_out(deps: ServiceDeps, token: str) -> None:
    deps.storage.delete_console_session(token_digest(token))
