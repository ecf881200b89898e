"""The S3 use cases against real pieces: SQLite storage, the real KMS use cases and
software key store under a real root key, the real authorization engine; only the
object store is a fake (tests/unit/service/s3/fake_store.py)."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from typing import Any

import pytest

from trent.domain.clock import ControllableClock, FixedClock
from trent.domain.keys import Alias
from trent.domain.principals import IdentityPolicy
from trent.keystores.root_key import AesRootKey
from trent.keystores.software import SoftwareKeyStore
from trent.service import identity, keys
from trent.service.context import RequestContext
from trent.service.deps import ServiceDeps
from trent.service.s3 import S3Deps, S3Settings
from trent.service.s3.kms_calls import KmsCall
from trent.storage.sql import SqlStorage
from trent.storage.sql_s3 import SqlS3Repository

from .fake_store import MemoryObjectStore

NOW = 1_800_000_000.0
A = "111122223333"
B = "444455556666"
ALICE = f"arn:aws:iam::{A}:user/alice"
BOB = f"arn:aws:iam::{A}:user/bob"
CAROL = f"arn:aws:iam::{B}:user/carol"
ROOT_A = f"arn:aws:iam::{A}:root"
ROOT_B = f"arn:aws:iam::{B}:root"
ALLOW_ALL = json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]})


def doc(*statements: dict[str, Any]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


@dataclass
class World:
    s3: S3Deps
    store: MemoryObjectStore
    kms_calls: list[KmsCall] = field(default_factory=list)

    @property
    def kms(self) -> ServiceDeps:
        return self.s3.kms

    def ctx(self, arn: str = ALICE, *, secure: bool = False, region: str = "us-east-1") -> RequestContext:
        principal = self.kms.storage.get_principal(arn)
        assert principal is not None, arn
        return RequestContext(principal, "AKIATEST", region, "aws", os.urandom(8).hex(), self.kms.clock.now(),
                              "10.0.0.7", "test-agent", (), None, secure)

    def allow_all(self, arn: str) -> None:
        self.kms.storage.put_identity_policy(IdentityPolicy(arn, "all", ALLOW_ALL))

    def create_key(self, policy: str | None = None, arn: str = ROOT_A) -> str:
        key = keys.create_key(self.kms, self.ctx(arn), keys.CreateKeyRequest(policy=policy))
        return key.arn

    def alias(self, name: str, key_arn: str, account: str = A) -> None:
        self.kms.storage.create_alias(Alias(account, "us-east-1", "aws", name, key_arn.rsplit("/", 1)[1], NOW, NOW))

    def calls(self, operation: str | None = None) -> list[KmsCall]:
        return [c for c in self.kms_calls if operation is None or c.operation == operation]

    def with_settings(self, **changes: Any) -> World:
        return replace(self, s3=replace(self.s3, settings=replace(self.s3.settings, **changes)))


def make_world(url: str) -> Iterator[World]:
    root = AesRootKey(os.urandom(32))
    storage = SqlStorage(url, upgrade=True)
    clock = ControllableClock(FixedClock(NOW))
    kms = ServiceDeps(storage=storage, keystore=SoftwareKeyStore(root), clock=clock, root_key=root)
    for account, names in ((A, ("alice", "bob")), (B, ("carol",))):
        identity.create_account(kms, account, account, NOW)
        for name in names:
            identity.create_user(kms, account, name)
    store = MemoryObjectStore()
    calls: list[KmsCall] = []
    s3 = S3Deps(kms=kms, repo=SqlS3Repository.for_storage(storage), store=store, kms_audit=calls.append,
                settings=S3Settings(sse_c_requires_tls=False))
    w = World(s3, store, calls)
    w.allow_all(ALICE)
    yield w
    storage.close()


@pytest.fixture()
def world() -> Iterator[World]:
    yield from make_world("sqlite://")


@pytest.fixture()
def pg_world(postgres_database_url: str) -> Iterator[World]:
    """The same world on a fresh PostgreSQL database: real concurrent connections."""
    yield from make_world(postgres_database_url)
