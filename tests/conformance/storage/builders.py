"""Small builders for domain objects used by the storage suites (valid, distinct, terse)."""

from __future__ import annotations

import contextlib
import itertools
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from trent.domain.keys import (
    Alias,
    Key,
    KeyMaterial,
    KeySpec,
    KeyState,
    KeyUsage,
    MaterialState,
    Origin,
)
from trent.domain.principals import AccessKey, AccessKeyStatus, Account, Principal, PrincipalKind
from trent.storage.cache import CachedStorage
from trent.storage.change_feed import listener_for, wait_healthy

ACCOUNT = "111122223333"
OTHER_ACCOUNT = "444455556666"
REGION = "us-east-1"
OTHER_REGION = "eu-west-1"
T0 = 1_715_250_000.123456  # epoch seconds with microseconds

_serial = itertools.count(1)


def key_id() -> str:
    return str(uuid.uuid4())


def material_id() -> str:
    return uuid.uuid4().hex + uuid.uuid4().hex  # 64 lowercase hex (spec §2.1)


def key(**changes: Any) -> Key:
    fields: dict[str, Any] = {
        "key_id": key_id(),
        "account_id": ACCOUNT,
        "region": REGION,
        "partition": "aws",
        "key_spec": KeySpec.SYMMETRIC_DEFAULT,
        "key_usage": KeyUsage.ENCRYPT_DECRYPT,
        "origin": Origin.AWS_KMS,
        "state": KeyState.ENABLED,
        "created_at": T0,
    }
    fields.update(changes)
    return Key(**fields)


def material(for_key: Key | str, **changes: Any) -> KeyMaterial:
    fields: dict[str, Any] = {
        "key_id": for_key if isinstance(for_key, str) else for_key.key_id,
        "material_id": material_id(),
        "wrapped": b"\x00wrapped\xff" + next(_serial).to_bytes(4, "big"),
        "state": MaterialState.CURRENT,
        "created_at": T0,
    }
    fields.update(changes)
    return KeyMaterial(**fields)


def alias(name: str, target: Key | str | None, **changes: Any) -> Alias:
    fields: dict[str, Any] = {
        "account_id": ACCOUNT,
        "region": REGION,
        "partition": "aws",
        "name": name,
        "target_key_id": target.key_id if isinstance(target, Key) else target,
        "created_at": T0,
        "updated_at": T0,
    }
    fields.update(changes)
    return Alias(**fields)


def account(account_id: str = ACCOUNT, **changes: Any) -> Account:
    fields: dict[str, Any] = {"account_id": account_id, "name": f"acct-{account_id}", "created_at": T0}
    fields.update(changes)
    return Account(**fields)


def principal(account_id: str = ACCOUNT, name: str = "alice", **changes: Any) -> Principal:
    fields: dict[str, Any] = {
        "arn": Principal.user_arn(account_id, name),
        "account_id": account_id,
        "kind": PrincipalKind.IAM_USER,
        "name": name,
        "principal_id": f"AIDA{next(_serial):016d}",
    }
    fields.update(changes)
    return Principal(**fields)


def access_key(owner: Principal, **changes: Any) -> AccessKey:
    fields: dict[str, Any] = {
        "access_key_id": f"AKIA{next(_serial):016d}",
        "principal_arn": owner.arn,
        "account_id": owner.account_id,
        "wrapped_secret": b"\x01secret-wrapped\x00" + next(_serial).to_bytes(4, "big"),
        "status": AccessKeyStatus.ACTIVE,
        "created_at": T0,
    }
    fields.update(changes)
    return AccessKey(**fields)


def within(seconds: float, check: Callable[[], bool]) -> float:
    """Poll ``check`` until it holds (what another process's cache does once the feed
    delivers); the time it took. Fails after ``seconds``."""
    started = time.monotonic()
    while not check():
        assert time.monotonic() - started < seconds, "not invalidated in time"
        time.sleep(0.002)
    return time.monotonic() - started


@contextlib.contextmanager
def listening(url: str, caches: Sequence[CachedStorage]) -> Iterator[None]:
    """Each of ``caches`` hears the invalidation feed of ``url`` on a listener of its own,
    as a process does (storage/change_feed.py); the caches are closed at the end."""
    listeners = [listener_for(url, cache.apply, lambda up: None) for cache in caches]
    try:
        for listener in listeners:
            listener.start()
            assert wait_healthy(listener)
        yield
    finally:
        for listener in listeners:
            listener.stop()
        for cache in caches:
            cache.close()
