"""The audit trail's hash chain and the rows it is made of (issue 16, spec cloudtrail.md).

Every event is stored as its **canonical bytes**: the compact JSON that ``orjson``
writes for the event object (RFC 8259, UTF-8, no insignificant whitespace, members in
the order the event was built, non-ASCII characters unescaped, floats in their
shortest round-trip form). Parsing those bytes and writing them again with ``orjson``
gives the same bytes, which is what lets a verifier recompute the chain from delivered
log files (``trent.audit.logfiles``) as well as from the database.

Each trail (one per account and region) numbers its events 1, 2, 3, ... without gaps
and chains them::

    hash_0 = 32 zero bytes
    hash_n = SHA-256(hash_{n-1} || canonical bytes of event n)

The number and the hash are decided inside the database transaction that stores the
event (``trent.storage.sql_audit``), under the trail row's lock, so they hold with
several processes and nodes on one database. Deleting, inserting, editing or
reordering a stored event changes every later hash.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass

HASH_LEN = 32
GENESIS_HASH = bytes(HASH_LEN)


def chain_hash(previous: bytes, canonical: bytes) -> bytes:
    """``SHA-256(previous || canonical)``: the hash of the next event."""
    digest = hashlib.sha256(previous)
    digest.update(canonical)
    return digest.digest()


def chain_over(previous: bytes, bodies: Iterable[bytes]) -> bytes:
    """The hash after chaining every body in order onto ``previous``."""
    sha256 = hashlib.sha256
    for body in bodies:
        digest = sha256(previous)
        digest.update(body)
        previous = digest.digest()
    return previous


@dataclass(frozen=True, slots=True)
class TrailKey:
    """Which trail an event belongs to: one per account and region being audited."""

    account_id: str
    region: str


@dataclass(frozen=True, slots=True)
class AuditRecord:
    """An event ready to be stored: its canonical bytes and the columns LookupEvents
    filters on (spec cloudtrail.md §5), extracted once when the event is built."""

    trail: TrailKey
    event_time: float
    event_id: str
    event_name: str
    event_source: str
    read_only: bool
    username: str | None
    access_key_id: str | None
    # (ResourceType, ResourceName) of every resource the event names, in order.
    resources: tuple[tuple[str, str], ...]
    body: bytes


@dataclass(frozen=True, slots=True)
class StoredEvent:
    """An event as the trail holds it: its place in the chain and its bytes."""

    account_id: str
    region: str
    sequence: int
    event_time: float
    chain_hash: bytes
    body: bytes


@dataclass(frozen=True, slots=True)
class TrailHead:
    """A trail's newest event number and hash (the chain's tip)."""

    account_id: str
    region: str
    name: str
    created_at: float
    last_sequence: int
    last_hash: bytes
    # Events up to here were delivered into log files.
    delivered_sequence: int = 0
    # Events up to here were pruned from the database (--audit-retention-days);
    # ``pruned_hash`` is the chain hash of the last pruned event (the new anchor).
    pruned_sequence: int = 0
    pruned_hash: bytes = GENESIS_HASH

    @property
    def key(self) -> TrailKey:
        return TrailKey(self.account_id, self.region)
