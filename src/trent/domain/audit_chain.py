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
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, NamedTuple

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


class TrailKey(NamedTuple):
    """Which trail an event belongs to: one per account and region being audited. (A
    NamedTuple rather than a dataclass: built for every event on the hot path.)"""

    account_id: str
    region: str


class AuditRecord(NamedTuple):
    """An event ready to be stored: its trail, the second it happened, its canonical
    bytes, and the LookupEvents attribute tokens it carries (:func:`tokens_of_event`).
    A NamedTuple: one is built per audited request on the hot path."""

    trail: TrailKey
    event_time: float
    tokens: tuple[str, ...]
    body: bytes


# LookupEvents attributes (spec cloudtrail.md §5) as tokens: "<prefix><value>".
TOKEN_PREFIX = {
    "EventId": "i:", "EventName": "n:", "ReadOnly": "o:", "Username": "u:", "ResourceType": "t:",
    "ResourceName": "r:", "EventSource": "s:", "AccessKeyId": "k:",
}
TOKEN_SEPARATOR = "\x1f"


def attribute_token(attribute: str, value: str) -> str:
    """The token an event carries for ``attribute`` = ``value`` (``attribute`` is a
    LookupAttributes key)."""
    return TOKEN_PREFIX[attribute] + value.replace(TOKEN_SEPARATOR, "?")


def username_of(identity: Mapping[str, Any] | None) -> str | None:
    """LookupEvents' Username: the IAM user name, an assumed role's session name, ``root``
    for an account root; absent otherwise."""
    if not identity:
        return None
    kind = identity.get("type")
    if kind == "IAMUser":
        return identity.get("userName")
    if kind == "Root":
        return "root"
    if kind == "AssumedRole":
        arn = identity.get("arn") or ""
        return arn.rsplit("/", 1)[-1] or None
    return identity.get("userName")


def looked_up(event: Mapping[str, Any]) -> bool:
    """Whether LookupEvents can return ``event``: management events only. CloudTrail's
    event history, which LookupEvents reads, holds management (and Insights) events; data
    events (S3 object calls, ``eventCategory: Data``) are in the trail's log files only
    (CloudTrail User Guide, "Working with CloudTrail event history"; LookupEvents API
    reference: "Looks up management events or CloudTrail Insights events")."""
    return event.get("eventCategory") != "Data"


def tokens_of_event(event: Mapping[str, Any]) -> tuple[str, ...]:
    """Every attribute token of a CloudTrail-shaped event (what LookupEvents can filter on);
    none for a data event, which LookupEvents never returns (:func:`looked_up`). Runs
    once per audited request: plain string building, one separator check at the end."""
    if not looked_up(event):
        return ()
    identity = event.get("userIdentity")
    tokens = [
        f"i:{event.get('eventID')}",
        f"n:{event.get('eventName')}",
        "o:true" if event.get("readOnly") else "o:false",
        f"s:{event.get('eventSource')}",
    ]
    if identity:
        user = username_of(identity)
        if user:
            tokens.append("u:" + user)
        akid = identity.get("accessKeyId")
        if akid:
            tokens.append("k:" + akid)
    for resource in event.get("resources") or ():
        tokens.append(f"t:{resource.get('type')}")
        tokens.append(f"r:{resource.get('ARN')}")
    if TOKEN_SEPARATOR in "".join(tokens):
        return tuple(t.replace(TOKEN_SEPARATOR, "?") for t in tokens)
    return tuple(tokens)


class EventSegment(NamedTuple):
    """The events one append stored for one trail, as stored (verification reads these
    directly: no object per event). ``times``: 8-byte big-endian seconds per event;
    ``hashes``: 32 bytes per event; ``bodies``: canonical bytes per event."""

    first_sequence: int
    last_sequence: int
    times: bytes
    hashes: bytes
    bodies: list[bytes]


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
