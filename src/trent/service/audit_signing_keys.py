"""The digest signing key pair over time (issue 16, spec cloudtrail.md §3).

One key is current (``valid_to`` None). It is created on first use, and replaced by
:func:`rotate` (``trent audit rotate-signing-key``, or automatically when this server's
root of trust cannot use it — the root was switched). A replaced key's validity ends
when its successor's begins; it stays listed (ListPublicKeys) for the digests it signed.
Two nodes rotating at once: the storage accepts one (``add_signing_key``'s expected
current key), the other uses the winner's key.
"""

from __future__ import annotations

from collections.abc import Sequence

from trent.crypto.digest_signing import fingerprint
from trent.domain.audit_delivery import SigningKeyRecord
from trent.keystores.audit_signing import DigestSigner
from trent.storage.repositories import Storage


def current_key(storage: Storage, signer: DigestSigner, now: float) -> SigningKeyRecord:
    """The key to sign with now, created (or replaced) if this signer cannot use it."""
    for _ in range(3):
        current = _current(storage.signing_keys())
        if current is not None and current.signer == signer.kind:
            return current
        created = _new(signer, now, current)
        if storage.add_signing_key(created, current.fingerprint if current else None):
            return created
    raise RuntimeError("could not settle on a digest signing key")


def rotate(storage: Storage, signer: DigestSigner, now: float) -> SigningKeyRecord:
    """Replace the current key by a new one (the old one stays listed)."""
    current = _current(storage.signing_keys())
    created = _new(signer, now, current)
    if not storage.add_signing_key(created, current.fingerprint if current else None):
        return current_key(storage, signer, now)
    return created


def keys_valid_between(storage: Storage, start: float | None, end: float | None) -> list[SigningKeyRecord]:
    """Every key whose validity overlaps [start, end] (ListPublicKeys)."""
    found = []
    for key in storage.signing_keys():
        if end is not None and key.valid_from > end:
            continue
        if start is not None and key.valid_to is not None and key.valid_to < start:
            continue
        found.append(key)
    return found


def _current(keys: Sequence[SigningKeyRecord]) -> SigningKeyRecord | None:
    return next((k for k in keys if k.valid_to is None), None)


def _new(signer: DigestSigner, now: float, current: SigningKeyRecord | None) -> SigningKeyRecord:
    public, blob = signer.new_key()
    # Validity never runs backwards, even if this node's clock is behind the last one's.
    valid_from = max(now, current.valid_from) if current is not None else now
    return SigningKeyRecord(fingerprint(public), public, blob, signer.kind, valid_from)
