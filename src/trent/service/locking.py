"""Check-then-act rules, made atomic (issue 20).

A rule such as "a key already PendingDeletion cannot be scheduled again", "at most 25
on-demand rotations" or "the same grant Name returns the same GrantId" reads state and
then writes. Checked on a cached or merely earlier read, it breaks as soon as two
requests race — on two threads, two worker processes or two nodes. So every such
use case re-reads what its rule depends on *inside one database transaction*, under
a lock on the row that owns the rule (the key, the custom key store, the account or
principal), decides, writes, and commits (``storage.Transactions``):

    key = authorized_key(deps, ctx, key_id, "ScheduleKeyDeletion")   # cached: fast refusals
    with locked_key(deps, key) as stored:                             # the row as it is now
        check_state("ScheduleKeyDeletion", effective(deps, stored))
        deps.storage.update_key(stored.with_changes(...))

Authorization stays before the lock (it needs no lock: a policy change racing a call
is ordered either way, as in AWS). The block yields the *stored* row: writes must go
over it, never over a copy carrying the Unavailable overlay (service/availability.py).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from trent.domain.custom_key_stores import CustomKeyStore
from trent.domain.keys import Key
from trent.domain.principals import Account, Principal
from trent.errors import CustomKeyStoreNotFound, NotFound
from trent.service.deps import ServiceDeps


@contextlib.contextmanager
def locked_key(deps: ServiceDeps, key: Key) -> Iterator[Key]:
    """``key``'s row as stored now, locked until the block ends (one transaction)."""
    with deps.storage.transaction():
        stored = deps.storage.lock_key(key.region, key.key_id)
        if stored is None:  # deleted since it was resolved
            raise NotFound(f"Key '{key.arn}' does not exist")
        yield stored


@contextlib.contextmanager
def locked_member(deps: ServiceDeps, key: Key) -> Iterator[Key]:
    """:func:`locked_key` for a use case that reads or changes the material versions a
    multi-Region key's members share (imports, rotation; issue 19, spec §9, §12): the
    primary's row guards them, so it is locked first — always primary, then replica, so
    two such use cases never wait for each other in opposite orders."""
    with deps.storage.transaction():
        if key.is_replica and key.primary_region is not None:
            deps.storage.lock_key(key.primary_region, key.key_id)
        stored = deps.storage.lock_key(key.region, key.key_id)
        if stored is None:
            raise NotFound(f"Key '{key.arn}' does not exist")
        yield stored


@contextlib.contextmanager
def locked_store(deps: ServiceDeps, store_id: str) -> Iterator[CustomKeyStore]:
    """A custom key store's row as stored now, locked until the block ends."""
    with deps.storage.transaction():
        stored = deps.storage.lock_custom_key_store(store_id)
        if stored is None:
            raise CustomKeyStoreNotFound(f"Custom key store ID {store_id} is not found.")
        yield stored


@contextlib.contextmanager
def locked_account(deps: ServiceDeps, account_id: str) -> Iterator[Account]:
    """The account row, locked: per-account limits and name rules (roles, key stores)."""
    with deps.storage.transaction():
        account = deps.storage.lock_account(account_id)
        if account is None:
            raise NotFound(f"Account {account_id} does not exist")
        yield account


@contextlib.contextmanager
def locked_principal(deps: ServiceDeps, arn: str) -> Iterator[Principal]:
    """A user's or role's principal row, locked: its inline policies' total size."""
    with deps.storage.transaction():
        principal = deps.storage.lock_principal(arn)
        if principal is None:
            raise NotFound(f"Principal {arn} does not exist")
        yield principal
