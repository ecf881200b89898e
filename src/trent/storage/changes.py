"""What a write changed, as data (issue 20: cache coherence across processes and nodes).

Every write that goes through :class:`trent.storage.cache.CachedStorage` names what it
changed as :class:`Change` values. The same values are

- applied to this process's cache once the write's transaction ends, and
- published *inside* that transaction on the invalidation feed
  (:mod:`trent.storage.change_feed`), so every other process and node applies them
  too — exactly when the change commits, and never for a write that rolled back.

The encoding is a compact JSON list (``[["key", region, key_id], ...]``); a batch too
large for one PostgreSQL notification (8000 bytes) degrades to "everything changed".
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum

import orjson

# PostgreSQL's NOTIFY payload must be shorter than 8000 bytes; keep a margin.
MAX_PAYLOAD_BYTES = 7000


class ChangeKind(StrEnum):
    KEY = "key"  # (region, key_id): the key row
    KEY_DELETED = "key-deleted"  # (region, key_id): the key and everything hanging off it
    MATERIAL = "material"  # (key_id, material_id)
    KEY_MATERIALS = "key-materials"  # (key_id,): every material of the key (rotation)
    KEY_MEMBERS = "key-members"  # (key_id,): every Region's row of a (multi-Region) key id
    ALIAS = "alias"  # (account_id, region, name)
    TAGS = "tags"  # (region, key_id)
    ACCOUNT = "account"  # (account_id,)
    PRINCIPAL = "principal"  # (arn,)
    ACCESS_KEY = "access-key"  # (access_key_id,)
    ALL_ACCESS_KEYS = "all-access-keys"  # ()
    IDENTITY_POLICIES = "identity-policies"  # (principal_arn,)
    ROLE = "role"  # (arn,)
    ALL_IDENTITIES = "all-identities"  # (): roles, principals, access keys, identity policies
    KEY_GRANTS = "key-grants"  # (region, key_id)
    GRANT = "grant"  # (grant_id,)
    ALL_GRANTS = "all-grants"  # ()
    BUCKET = "bucket"  # (name,): an S3 bucket's row: owner, policy, default encryption (issue 17)
    EVERYTHING = "all"  # ()


@dataclass(frozen=True, slots=True)
class Change:
    kind: ChangeKind
    ids: tuple[str, ...] = ()


EVERYTHING = Change(ChangeKind.EVERYTHING)


def encode(changes: Sequence[Change]) -> str:
    payload = orjson.dumps([[str(c.kind), *c.ids] for c in dict.fromkeys(changes)])
    if len(payload) > MAX_PAYLOAD_BYTES:
        payload = orjson.dumps([[str(ChangeKind.EVERYTHING)]])
    return payload.decode()


def decode(payload: str | bytes) -> tuple[Change, ...]:
    """The changes in ``payload``; anything unreadable means "everything changed"
    (a node running a newer version may name a kind this one does not know)."""
    try:
        items = orjson.loads(payload)
        return tuple(Change(ChangeKind(item[0]), tuple(str(x) for x in item[1:])) for item in items)
    except (orjson.JSONDecodeError, ValueError, TypeError, IndexError, KeyError):
        return (EVERYTHING,)


def merge(batches: Iterable[Sequence[Change]]) -> tuple[Change, ...]:
    return tuple(dict.fromkeys(c for batch in batches for c in batch))
