"""GenerateMac and VerifyMac (spec §3.4): RFC 2104 HMAC under the key's material,
full-length tags, constant-time verification; a mismatch is KMSInvalidMacException
with no message, never ``MacValid: false``."""

from __future__ import annotations

from dataclasses import dataclass, field

from trent.crypto import mac
from trent.domain.keys import Key, KeyUsage
from trent.errors import DryRunOperation, KMSInvalidMac
from trent.service import asymmetric_checks, key_material
from trent.service.authorization import authorized_key
from trent.service.context import RequestContext
from trent.service.deps import ServiceDeps


@dataclass(frozen=True, slots=True)
class Mac:
    key: Key
    tag: bytes = field(repr=False)
    algorithm: str


def _prepare(deps: ServiceDeps, ctx: RequestContext, operation: str, key_id: str, algorithm: str, dry_run: bool) -> Key:
    key = authorized_key(deps, ctx, key_id, operation, mac_algorithm=algorithm)
    asymmetric_checks.require(key, operation, KeyUsage.GENERATE_VERIFY_MAC, algorithm)
    if dry_run:
        raise DryRunOperation()
    return key


def generate_mac(
    deps: ServiceDeps, ctx: RequestContext, key_id: str, message: bytes, algorithm: str, dry_run: bool = False
) -> Mac:
    key = _prepare(deps, ctx, "GenerateMac", key_id, algorithm, dry_run)
    return Mac(key, mac.generate(algorithm, key_material.loaded(deps, key), message), algorithm)


def verify_mac(
    deps: ServiceDeps, ctx: RequestContext, key_id: str, message: bytes, algorithm: str, tag: bytes,
    dry_run: bool = False,
) -> Key:
    key = _prepare(deps, ctx, "VerifyMac", key_id, algorithm, dry_run)
    if not mac.verify(algorithm, key_material.loaded(deps, key), message, tag):
        raise KMSInvalidMac(audit_reason="MAC does not verify")
    return key
