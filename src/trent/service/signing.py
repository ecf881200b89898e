"""Sign, Verify and GetPublicKey (spec §3.3, §3.7).

MessageType rules (spec §3.3): RAW hashes the message; DIGEST means the message is
already the hash, of exactly the algorithm's length; EXTERNAL_MU is ML-DSA's 64-byte
μ. ED25519_SHA_512 is RAW only and ED25519_PH_SHA_512 DIGEST only; ML-DSA takes RAW or
EXTERNAL_MU. AWS's wording for a wrong pairing is not recorded (spec §14 item 18):
ours is a plain ValidationException sentence naming both values.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from trent.crypto import private_keys, signing
from trent.domain.key_specs import KEY_SPECS, KeyFamily
from trent.domain.key_states import check_state
from trent.domain.keys import Key, KeyUsage
from trent.errors import (
    DryRunOperation,
    KMSInvalidSignature,
    UnsupportedOperation,
    ValidationError,
)
from trent.service import asymmetric_checks, key_material
from trent.service.authorization import authorized_key
from trent.service.context import RequestContext
from trent.service.deps import ServiceDeps

RAW, DIGEST, EXTERNAL_MU = "RAW", "DIGEST", "EXTERNAL_MU"

# Which message types each algorithm accepts; absent = RAW and DIGEST.
_MESSAGE_TYPES = {
    "ED25519_SHA_512": (RAW,),
    "ED25519_PH_SHA_512": (DIGEST,),
    "ML_DSA_SHAKE_256": (RAW, EXTERNAL_MU),
}


@dataclass(frozen=True, slots=True)
class Signed:
    key: Key
    signature: bytes = field(repr=False)
    algorithm: str


@dataclass(frozen=True, slots=True)
class PublicKey:
    key: Key
    der: bytes


def _check_message(algorithm: str, message_type: str, message: bytes) -> None:
    if message_type not in _MESSAGE_TYPES.get(algorithm, (RAW, DIGEST)):
        raise ValidationError(f"MessageType {message_type} is not valid for signing algorithm {algorithm}.")
    if message_type != RAW and len(message) != signing.DIGEST_LENGTHS[algorithm]:
        raise ValidationError(f"Digest is invalid length for algorithm {algorithm}.")


def _prepare(
    deps: ServiceDeps, ctx: RequestContext, operation: str, key_id: str, message: bytes,
    message_type: str | None, algorithm: str, dry_run: bool,
) -> tuple[Key, str]:
    key = authorized_key(
        deps, ctx, key_id, operation, signing_algorithm=algorithm, message_type=message_type or RAW
    )
    asymmetric_checks.require(key, operation, KeyUsage.SIGN_VERIFY, algorithm)
    message_type = message_type or RAW
    _check_message(algorithm, message_type, message)
    if dry_run:
        raise DryRunOperation()
    return key, message_type


def sign(
    deps: ServiceDeps, ctx: RequestContext, key_id: str, message: bytes, message_type: str | None,
    algorithm: str, dry_run: bool = False,
) -> Signed:
    key, message_type = _prepare(deps, ctx, "Sign", key_id, message, message_type, algorithm, dry_run)
    private = key_material.loaded(deps, key)
    return Signed(key, signing.sign(private, algorithm, message_type, message), algorithm)


def verify(
    deps: ServiceDeps, ctx: RequestContext, key_id: str, message: bytes, message_type: str | None,
    signature: bytes, algorithm: str, dry_run: bool = False,
) -> Key:
    """Returns the key on success; a bad signature is never ``False`` (spec §3.3)."""
    key, message_type = _prepare(deps, ctx, "Verify", key_id, message, message_type, algorithm, dry_run)
    private = key_material.loaded(deps, key)
    if not signing.verify(private, algorithm, message_type, message, signature):
        raise KMSInvalidSignature(audit_reason="signature does not verify")
    return key


def get_public_key(deps: ServiceDeps, ctx: RequestContext, key_id: str) -> PublicKey:
    key = authorized_key(deps, ctx, key_id, "GetPublicKey")
    # spec §14 item 7: DisabledException on a disabled key, per the developer guide.
    check_state("GetPublicKey", key)
    if KEY_SPECS[key.key_spec].family in (KeyFamily.SYMMETRIC, KeyFamily.HMAC):
        # spec §3.7: symmetric/HMAC keys have no public key; AWS's text is unrecorded.
        raise UnsupportedOperation(f"{key.arn} key spec is {key.key_spec} which is not valid for GetPublicKey.")
    return PublicKey(key, private_keys.public_key_der(key_material.loaded(deps, key)))
