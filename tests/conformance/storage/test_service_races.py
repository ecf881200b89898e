"""Background steps and admin-only rules under races (issue 20), on every storage backend.

The sweeper's steps (deletions due, rotations due, import expiry) run on whichever
process holds the lease, but a lease can change hands mid-sweep and a user's call can
race a sweep: each step therefore re-checks under the key's row lock. The IAM rules
here are reached only through `trent admin` (no wire API), so they are raced in
threads against the real store rather than over HTTP.
"""

from __future__ import annotations

import os
import threading

import pytest

from trent.domain.clock import FixedClock
from trent.domain.keys import KeyState
from trent.domain.lifecycle import DAY, RotationSchedule
from trent.errors import AlreadyExists, LimitExceeded
from trent.keystores.root_key import AesRootKey
from trent.keystores.software import SoftwareKeyStore
from trent.service import iam, identity
from trent.service.context import RequestContext
from trent.service.deps import ServiceDeps
from trent.service.keys import CreateKeyRequest, cancel_key_deletion, create_key, delete_due_keys, schedule_key_deletion
from trent.service.rotation import rotate_due_keys
from trent.storage.repositories import Storage

from .builders import T0

ACCOUNT = "111122223333"
REGION = "us-east-1"
THREADS = 32


@pytest.fixture
def deps(storage: Storage) -> ServiceDeps:
    root = AesRootKey(os.urandom(32))
    deps = ServiceDeps(storage=storage, keystore=SoftwareKeyStore(root), clock=FixedClock(T0), root_key=root)
    identity.create_account(deps, ACCOUNT, "races", T0)
    return deps


def _ctx(now: float = T0) -> RequestContext:
    from trent.domain.principals import Principal, PrincipalKind

    root = Principal(Principal.root_arn(ACCOUNT), ACCOUNT, PrincipalKind.ROOT, "root", ACCOUNT)
    return RequestContext(principal=root, access_key_id="AKIATEST", region=REGION, partition="aws",
                          request_id="r", now=now, source_ip="127.0.0.1")


def _at_once(n: int, body) -> list[BaseException | None]:
    barrier = threading.Barrier(n)
    errors: list[BaseException | None] = [None] * n

    def run(i: int) -> None:
        barrier.wait()
        try:
            body(i)
        except BaseException as exc:  # noqa: BLE001
            errors[i] = exc

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    return errors


def test_concurrent_sweeps_rotate_a_due_key_once(deps: ServiceDeps) -> None:
    keys = [create_key(deps, _ctx(), CreateKeyRequest()) for _ in range(3)]
    for key in keys:
        deps.storage.put_rotation_schedule(RotationSchedule(REGION, key.key_id, True, 90, T0 + 90 * DAY))
    later = T0 + 91 * DAY
    rotated: list[str] = []
    lock = threading.Lock()

    def sweep(_: int) -> None:
        def record(key, _material) -> None:
            with lock:
                rotated.append(key.key_id)
        rotate_due_keys(deps, later, record)

    assert _at_once(8, sweep) == [None] * 8
    assert sorted(rotated) == sorted(k.key_id for k in keys)  # each exactly once
    for key in keys:
        assert sum(m.rotation_type == "AUTOMATIC" for m in deps.storage.list_materials(key.key_id)) == 1


def test_concurrent_sweeps_delete_a_due_key_once(deps: ServiceDeps) -> None:
    keys = [create_key(deps, _ctx(), CreateKeyRequest()) for _ in range(3)]
    for key in keys:
        schedule_key_deletion(deps, _ctx(), key.key_id, 7)
    deleted: list[str] = []
    lock = threading.Lock()

    def sweep(_: int) -> None:
        def record(key) -> None:
            with lock:
                deleted.append(key.key_id)
        delete_due_keys(deps, T0 + 8 * DAY, record)

    assert _at_once(8, sweep) == [None] * 8
    assert sorted(deleted) == sorted(k.key_id for k in keys)


def test_a_cancel_that_wins_the_race_keeps_the_key(deps: ServiceDeps) -> None:
    """The sweep found the key due; CancelKeyDeletion commits before the sweep deletes it."""
    key = create_key(deps, _ctx(), CreateKeyRequest())
    schedule_key_deletion(deps, _ctx(), key.key_id, 7)
    real = deps.storage.keys_due_for_deletion

    class Interleaved:
        def __getattr__(self, name):
            return getattr(deps.storage, name)

        def keys_due_for_deletion(self, now, limit=100):
            due = real(now, limit)
            if due:
                cancel_key_deletion(deps, _ctx(), key.key_id)  # lands between the scan and the delete
            return due

    racing = ServiceDeps(storage=Interleaved(), keystore=deps.keystore, clock=deps.clock, root_key=deps.root_key)
    deleted: list[str] = []
    delete_due_keys(racing, T0 + 8 * DAY, lambda k: deleted.append(k.key_id))
    assert deleted == []
    assert deps.storage.get_key(REGION, key.key_id).state is KeyState.DISABLED


def test_role_names_are_unique_regardless_of_case_under_races(deps: ServiceDeps) -> None:
    trust = '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"%s"},"Action":"sts:AssumeRole"}]}' % ACCOUNT
    names = ["App" if i % 2 else "app" for i in range(THREADS)]
    errors = _at_once(THREADS, lambda i: iam.create_role(deps, ACCOUNT, names[i], trust))
    assert sum(e is None for e in errors) == 1
    assert all(isinstance(e, AlreadyExists) for e in errors if e is not None)
    assert len(deps.storage.list_roles(ACCOUNT)) == 1


def test_inline_policy_size_limit_holds_under_races(deps: ServiceDeps) -> None:
    user = identity.create_user(deps, ACCOUNT, "alice")
    # Users may hold 2,048 characters of inline policy (IAM); each of these is ~190.
    statement = '{"Effect":"Allow","Action":"kms:Encrypt","Resource":"arn:aws:kms:us-east-1:%s:key/%s"}'
    docs = [
        '{"Version":"2012-10-17","Statement":[%s]}' % (statement % (ACCOUNT, f"{i:036d}"))
        for i in range(THREADS)
    ]
    errors = _at_once(THREADS, lambda i: iam.put_principal_policy(deps, user.arn, f"p{i}", docs[i]))
    stored = deps.storage.list_identity_policies(user.arn)
    assert all(isinstance(e, LimitExceeded) for e in errors if e is not None)
    assert sum(e is None for e in errors) == len(stored)
    assert 0 < sum(iam.policy_size(p.document) for p in stored) <= iam.USER_INLINE_POLICIES_MAX_CHARS
    assert sum(iam.policy_size(p.document) for p in stored) + iam.policy_size(docs[0]) > iam.USER_INLINE_POLICIES_MAX_CHARS
