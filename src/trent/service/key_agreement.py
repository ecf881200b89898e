"""DeriveSharedSecret (spec §3.5): ECDH with the key's private half and the caller's
SubjectPublicKeyInfo; the output is the raw shared x-coordinate. An unusable peer
key (unparseable, other curve, not EC) is a ValidationException with no message."""

from __future__ import annotations

from dataclasses import dataclass, field

from trent.crypto import ecdh
from trent.domain.keys import Key, KeyUsage
from trent.errors import DryRunOperation, ValidationError
from trent.service import asymmetric_checks, key_material
from trent.service.authorization import authorized_key
from trent.service.context import RequestContext
from trent.service.deps import ServiceDeps


@dataclass(frozen=True, slots=True)
class SharedSecret:
    key: Key
    secret: bytes = field(repr=False)
    algorithm: str


def derive_shared_secret(
    deps: ServiceDeps, ctx: RequestContext, key_id: str, algorithm: str, peer_public_key: bytes,
    dry_run: bool = False,
) -> SharedSecret:
    key = authorized_key(deps, ctx, key_id, "DeriveSharedSecret", key_agreement_algorithm=algorithm)
    asymmetric_checks.require(key, "DeriveSharedSecret", KeyUsage.KEY_AGREEMENT, algorithm)
    private = key_material.loaded(deps, key)
    try:
        secret = ecdh.derive(private, peer_public_key)
    except ecdh.PeerKeyError:
        raise ValidationError(None) from None
    if dry_run:
        raise DryRunOperation()
    return SharedSecret(key, secret, algorithm)
