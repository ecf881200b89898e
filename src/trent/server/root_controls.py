"""Trent's own endpoints for a sealed root (issue 7): status, unseal, seal.

    GET  /_trent/seal-status            -> {"sealed", "threshold", "shares", "progress"}
    POST /_trent/unseal {"share": "..."} -> the same, after taking one share
    POST /_trent/seal   {"token": "..."} -> seals; the token is <data-dir>/admin.token

Unseal needs no credential: the shares are the credential (a wrong share is refused
and says so). Sealing needs the admin token, so only someone who can read the data
dir can take the server down. Shares and tokens are never logged.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import orjson

from trent.keystores.sealed import SealedRootKey, UnsealError, token_matches

Reply = tuple[int, dict[str, Any]]


@dataclass(frozen=True)
class RootControls:
    root: SealedRootKey
    admin_token: bytes = field(repr=False)
    # After every unseal that completes / every seal (bootstrap: identities, HSM
    # connections, cache flushes). Runs on a worker thread.
    after_change: Callable[[bool], None] = field(default=lambda sealed: None)

    def status(self) -> Reply:
        return 200, self.root.status().as_dict()

    def unseal(self, body: bytes) -> Reply:
        share = _field(body, "share")
        if share is None:
            return 400, {"message": 'expected {"share": "<unseal share words>"}'}
        was_sealed = self.root.sealed
        try:
            status = self.root.unseal(share)
        except UnsealError as exc:
            return 400, {"message": str(exc), **self.root.status().as_dict()}
        if was_sealed and not status.sealed:
            self.after_change(False)
        return 200, status.as_dict()

    def seal(self, body: bytes) -> Reply:
        if not token_matches(self.admin_token, _field(body, "token")):
            return 403, {"message": "sealing needs the admin token from the data dir (trent seal --data-dir ...)"}
        status = self.root.seal()
        self.after_change(True)
        return 200, status.as_dict()


def _field(body: bytes, name: str) -> str | None:
    try:
        doc = orjson.loads(body or b"{}")
    except orjson.JSONDecodeError:
        return None
    value = doc.get(name) if isinstance(doc, dict) else None
    return value if isinstance(value, str) else None
