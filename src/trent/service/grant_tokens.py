"""Grant tokens (spec §8): opaque strings CreateGrant returns, naming one grant.

A token is the grant id sealed under the root of trust (AES-GCM with a fresh nonce, so
every CreateGrant call returns a new token and all of them name the same grant, as AWS
does). Nothing is stored: whoever holds a token can only make an *existing* grant
effective at once, never more, and a token that does not unseal is refused with
InvalidGrantTokenException. Unsealed tokens are remembered per process.
"""

from __future__ import annotations

import base64
import binascii

from trent.errors import InvalidGrantToken
from trent.keystores.base import KeyStoreError
from trent.service.deps import ServiceDeps

_AAD = b"trent/grant-token/v1\x00"


def issue(deps: ServiceDeps, grant_id: str) -> str:
    sealed = deps.root_key.wrap(grant_id.encode("ascii"), _AAD)
    return base64.urlsafe_b64encode(sealed).decode("ascii").rstrip("=")


def grant_id_of(deps: ServiceDeps, token: str) -> str:
    """The grant a token names; InvalidGrantToken if it is not one of ours."""
    known = deps.authz.grant_id_for_token(token)
    if known is not None:
        return known
    try:
        sealed = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        grant_id = deps.root_key.unwrap(sealed, _AAD).decode("ascii")
    except (binascii.Error, ValueError, KeyStoreError, UnicodeDecodeError):
        raise InvalidGrantToken("Invalid grant token.") from None  # [?: exact text, spec §8]
    deps.authz.remember_token(token, grant_id)
    return grant_id
