"""Encapsulate and Decapsulate with ML-KEM keys (issue 19; model docs, FIPS 203).

Encapsulate makes a fresh 32-byte shared secret and its ciphertext under the key pair's
public key; Decapsulate recovers it with the private key. Both run the usual checks in
AWS's order (state, usage, algorithm). A ciphertext of the wrong length is
InvalidCiphertextException; any other ciphertext yields a 32-byte value (implicit
rejection), exactly as the model documents.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from trent.crypto import ml_kem
from trent.domain.keys import Key, KeyUsage
from trent.errors import DryRunOperation, InvalidCiphertext
from trent.service import asymmetric_checks, key_material
from trent.service.authorization import authorized_key
from trent.service.context import RequestContext
from trent.service.deps import ServiceDeps


@dataclass(frozen=True, slots=True)
class Encapsulated:
    key: Key
    secret: bytes = field(repr=False)
    ciphertext: bytes
    algorithm: str


def encapsulate(deps: ServiceDeps, ctx: RequestContext, key_id: str, algorithm: str, dry_run: bool = False) -> Encapsulated:
    key = authorized_key(deps, ctx, key_id, "Encapsulate")
    asymmetric_checks.require(key, "Encapsulate", KeyUsage.ENCAPSULATE_DECAPSULATE, algorithm)
    if dry_run:
        raise DryRunOperation()
    secret, ciphertext = ml_kem.encapsulate(key_material.loaded(deps, key))
    return Encapsulated(key, secret, ciphertext, algorithm)


def decapsulate(
    deps: ServiceDeps, ctx: RequestContext, key_id: str, ciphertext: bytes, algorithm: str, dry_run: bool = False
) -> Encapsulated:
    key = authorized_key(deps, ctx, key_id, "Decapsulate")
    asymmetric_checks.require(key, "Decapsulate", KeyUsage.ENCAPSULATE_DECAPSULATE, algorithm)
    try:
        secret = ml_kem.decapsulate(key_material.loaded(deps, key), str(key.key_spec), ciphertext)
    except ml_kem.CiphertextLengthError:
        raise InvalidCiphertext(audit_reason="ciphertext length does not match the ML-KEM key spec") from None
    if dry_run:
        raise DryRunOperation()
    return Encapsulated(key, secret, ciphertext, algorithm)
