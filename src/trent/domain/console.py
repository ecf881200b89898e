"""Web console sign-in sessions, as plain data (issue 21).

A session is what a signed-in browser holds instead of a SigV4 signature: a random
token in an HttpOnly cookie. Only its SHA-256 is stored, so a database reader cannot
replay a session; the row binds it to the principal and the access key it was opened
with (re-checked on every request) and to absolute and idle deadlines.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class ConsoleSession:
    token_sha256: str = field(repr=False)  # lowercase hex of SHA-256(cookie token)
    principal_arn: str
    access_key_id: str
    region: str
    created_at: float
    expires_at: float  # absolute end: min(created + lifetime, the credentials' expiry)
    last_seen_at: float  # idle timeout is judged from here

    def alive(self, now: float, idle_seconds: float) -> bool:
        return now < self.expires_at and now - self.last_seen_at < idle_seconds
