"""Move everything wrapped under one root of trust to another (issue 7, `trent admin rewrap-root`).

Each blob is tried under the *new* root first: a row that already opens there was moved
by an earlier, interrupted run and is left alone. Otherwise it is unwrapped under the
old root and wrapped under the new one. All rows change in one database transaction
(``Storage.rewrap_root_blobs``): a run that stops half-way changes nothing, and running
it again completes it. A blob that opens under neither root aborts the whole run.

HSM material of custom key stores is a reference, not a wrapped blob: it is skipped; so
is a digest signing key born in the HSM (issue 16) — a server whose new root cannot use
the current signing key makes a new one and keeps the old one listed.
"""

from __future__ import annotations

from dataclasses import dataclass

from trent.keystores.audit_signing import ROOT_WRAPPED, signing_key_aad
from trent.keystores.base import KeyStoreError
from trent.keystores.pkcs11 import parse_reference
from trent.keystores.root_key import RootKey
from trent.keystores.software import material_aad
from trent.service.custom_key_stores import password_aad
from trent.service.identity import secret_aad
from trent.service.s3.owned_keys import owned_key_aad
from trent.storage.repositories import Storage


class RewrapError(KeyStoreError):
    """A blob opens under neither root; nothing was changed."""


@dataclass(frozen=True, slots=True)
class RewrapReport:
    rewrapped: int
    already_moved: int
    skipped: int


def _aad(kind: str, ids: tuple[str, ...]) -> bytes:
    if kind == "material":
        return material_aad(ids[0], ids[1])
    if kind == "access_key":
        return secret_aad(ids[0])
    if kind == "custom_key_store_password":
        return password_aad(ids[0])
    if kind == "audit_signing_key":
        return signing_key_aad(ids[0])
    if kind == "s3_owned_key":
        return owned_key_aad(ids[0])
    raise RewrapError(f"unknown wrapped row kind {kind}")


def rewrap_root(storage: Storage, old: RootKey, new: RootKey) -> RewrapReport:
    counts = {"rewrapped": 0, "already_moved": 0, "skipped": 0}

    def rewrap(kind: str, ids: tuple[str, ...], blob: bytes) -> bytes | None:
        if not blob or (kind == "material" and parse_reference(blob) is not None) or (
            kind == "audit_signing_key" and ids[1] != ROOT_WRAPPED
        ):
            counts["skipped"] += 1  # no bytes (expired import) or an HSM reference (material, signing key)
            return None
        aad = _aad(kind, ids)
        try:
            new.unwrap(blob, aad)
            counts["already_moved"] += 1
            return None
        except KeyStoreError:
            pass
        try:
            plaintext = old.unwrap(blob, aad)
        except KeyStoreError:
            raise RewrapError(f"a {kind} row ({'/'.join(ids)}) opens under neither root; nothing changed") from None
        counts["rewrapped"] += 1
        return new.wrap(plaintext, aad)

    storage.rewrap_root_blobs(rewrap)
    return RewrapReport(**counts)
