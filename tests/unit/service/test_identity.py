"""Authenticator: access keys, session tokens where issued, expiry (spec §1.6 step 3)."""

from __future__ import annotations

import hashlib
import os
from dataclasses import replace

import pytest

from trent.domain.clock import FixedClock
from trent.errors import ExpiredToken, UnrecognizedClient
from trent.keystores.root_key import AesRootKey
from trent.keystores.software import SoftwareKeyStore
from trent.service import identity
from trent.service.deps import ServiceDeps
from trent.storage.sql import SqlStorage

NOW = 1_800_000_000.0


@pytest.fixture()
def deps():
    root = AesRootKey(os.urandom(32))
    storage = SqlStorage("sqlite://", upgrade=True)
    deps = ServiceDeps(storage=storage, keystore=SoftwareKeyStore(root), clock=FixedClock(NOW), root_key=root)
    identity.create_account(deps, "111122223333", "acct", NOW)
    identity.create_user(deps, "111122223333", "alice")
    yield deps
    storage.close()


def test_long_term_key(deps):
    creds = identity.create_access_key(deps, "arn:aws:iam::111122223333:user/alice", NOW)
    who = identity.Authenticator(deps).authenticate(creds.access_key_id, None, NOW)
    assert who.principal.arn == "arn:aws:iam::111122223333:user/alice"
    assert who.secret == creds.secret_access_key
    with pytest.raises(UnrecognizedClient):
        identity.Authenticator(deps).authenticate(creds.access_key_id, "a-token-nobody-issued", NOW)
    with pytest.raises(UnrecognizedClient):
        identity.Authenticator(deps).authenticate("AKIANOTKNOWN", None, NOW)


def test_secret_is_stored_wrapped(deps):
    creds = identity.create_access_key(deps, "arn:aws:iam::111122223333:user/alice", NOW)
    stored = deps.storage.get_access_key(creds.access_key_id)
    assert creds.secret_access_key.encode() not in stored.wrapped_secret
    assert creds.secret_access_key not in repr(stored)


def test_session_token_where_issued(deps):
    creds = identity.create_access_key(deps, "arn:aws:iam::111122223333:user/alice", NOW)
    key = deps.storage.get_access_key(creds.access_key_id)
    temporary = replace(
        key,
        access_key_id="ASIATEMPORARY000001",
        wrapped_secret=deps.root_key.wrap(b"temp-secret", b"trent/secret-access-key/v1\x00ASIATEMPORARY000001"),
        session_token_sha256=hashlib.sha256(b"the-session-token").digest(),
        expires_at=NOW + 3600,
    )
    deps.storage.create_access_key(temporary)
    auth = identity.Authenticator(deps)
    assert auth.authenticate("ASIATEMPORARY000001", "the-session-token", NOW).secret == "temp-secret"
    for wrong in (None, "", "another-token"):
        with pytest.raises(UnrecognizedClient):
            auth.authenticate("ASIATEMPORARY000001", wrong, NOW)
    with pytest.raises(ExpiredToken):
        auth.authenticate("ASIATEMPORARY000001", "the-session-token", NOW + 3600)
