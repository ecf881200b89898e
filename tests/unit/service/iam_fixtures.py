"""Shared deps for the IAM/STS/seed service tests: real SqlStorage on in-memory SQLite."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator, Mapping, Sequence

from trent.domain.clock import FixedClock
from trent.keystores.root_key import AesRootKey
from trent.keystores.software import SoftwareKeyStore
from trent.service import identity
from trent.service.deps import ServiceDeps
from trent.storage.sql import SqlStorage

NOW = 1_800_000_000.0
A = "111122223333"
B = "444455556666"
ALICE = f"arn:aws:iam::{A}:user/alice"
BOB = f"arn:aws:iam::{B}:user/bob"


def doc(*statements: dict[str, object]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def trusting(principal: object, **extra: object) -> str:
    return doc({"Effect": "Allow", "Principal": {"AWS": principal}, "Action": "sts:AssumeRole", **extra})


def make_deps(
    users: Mapping[str, Sequence[str]] | None = None,
) -> Iterator[ServiceDeps]:
    """Body of each test module's ``deps`` fixture (``yield from make_deps(...)``): real
    storage and root key, the accounts named in ``users`` (account id -> user names;
    default: alice in A, bob in B) created with their users."""
    root = AesRootKey(os.urandom(32))
    storage = SqlStorage("sqlite://", upgrade=True)
    deps = ServiceDeps(storage=storage, keystore=SoftwareKeyStore(root), clock=FixedClock(NOW), root_key=root)
    for account, names in (users if users is not None else {A: ("alice",), B: ("bob",)}).items():
        identity.create_account(deps, account, account, NOW)
        for name in names:
            identity.create_user(deps, account, name)
    yield deps
    storage.close()
