"""Accounts, IAM users and access keys (spec §1.6).

Secret access keys are stored only wrapped under the root of trust, with the
access key id as AAD (a wrapped secret copied onto another access key row does
not unwrap). The server needs the plaintext secret to check a SigV4 signature,
so unwrapped secrets are kept in memory, keyed by the wrapped blob they came
from so a rotated or deleted key is never served stale.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import threading
from dataclasses import dataclass, field

from trent.domain.frozen import fast_init
from trent.domain.principals import (
    ACCOUNT_ID_RE,
    IAM_NAME_RE,
    AccessKey,
    AccessKeyStatus,
    Account,
    Principal,
    PrincipalKind,
)
from trent.errors import AlreadyExists, ExpiredToken, NotFound, UnrecognizedClient, ValidationError
from trent.keystores.base import KeyStoreError
from trent.service.deps import ServiceDeps
from trent.storage.repositories import Duplicate

_SECRET_AAD = b"trent/secret-access-key/v1\x00"
_ID_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"  # base32, as AWS ids look


@dataclass(frozen=True, slots=True)
class Credentials:
    """What `trent admin create-access-key` prints once."""

    access_key_id: str
    secret_access_key: str = field(repr=False)
    principal_arn: str
    session_token: str | None = field(default=None, repr=False)


@fast_init
@dataclass(frozen=True, slots=True)
class Authenticated:
    principal: Principal
    access_key: AccessKey
    secret: str = field(repr=False)


def _random_id(deps: ServiceDeps, prefix: str, length: int) -> str:
    raw = deps.rng(length)
    return prefix + "".join(_ID_ALPHABET[b % 32] for b in raw)


def _secret_aad(access_key_id: str) -> bytes:
    return _SECRET_AAD + access_key_id.encode()


secret_aad = _secret_aad  # public: `trent admin rewrap-root` re-wraps these rows


def create_account(deps: ServiceDeps, account_id: str, name: str, now: float) -> Account:
    if not ACCOUNT_ID_RE.match(account_id):
        raise ValidationError(f"Account id {account_id!r} must be 12 digits")
    account = Account(account_id, name, now)
    try:
        deps.storage.create_account(account)
    except Duplicate:
        raise AlreadyExists(f"Account {account_id} already exists") from None
    root = Principal(Principal.root_arn(account_id), account_id, PrincipalKind.ROOT, "root", account_id)
    deps.storage.create_principal(root)
    return account


def create_user(deps: ServiceDeps, account_id: str, name: str, partition: str = "aws") -> Principal:
    if deps.storage.get_account(account_id) is None:
        raise NotFound(f"Account {account_id} does not exist")
    if not IAM_NAME_RE.match(name):
        raise ValidationError(f"User name {name!r} is not a valid IAM user name")
    user = Principal(
        Principal.user_arn(account_id, name, partition), account_id, PrincipalKind.IAM_USER, name,
        _random_id(deps, "AIDA", 17),
    )
    try:
        deps.storage.create_principal(user)
    except Duplicate:
        raise AlreadyExists(f"User {user.arn} already exists") from None
    return user


def create_access_key(
    deps: ServiceDeps,
    principal_arn: str,
    now: float,
    *,
    access_key_id: str | None = None,
    secret: str | None = None,
) -> Credentials:
    """New access key for a principal. Fixed id/secret only for the ``--dev`` well-known pair."""
    principal = deps.storage.get_principal(principal_arn)
    if principal is None:
        raise NotFound(f"Principal {principal_arn} does not exist")
    access_key_id = access_key_id or _random_id(deps, "AKIA", 16)
    secret = secret or base64.b64encode(deps.rng(30)).decode()
    key = AccessKey(
        access_key_id=access_key_id,
        principal_arn=principal.arn,
        account_id=principal.account_id,
        wrapped_secret=deps.root_key.wrap(secret.encode(), _secret_aad(access_key_id)),
        status=AccessKeyStatus.ACTIVE,
        created_at=now,
    )
    try:
        deps.storage.create_access_key(key)
    except Duplicate:
        raise AlreadyExists(f"Access key {access_key_id} already exists") from None
    return Credentials(access_key_id, secret, principal.arn)


class Authenticator:
    """Access key id -> (principal, secret) for SigV4, with unwrapped secrets cached."""

    def __init__(self, deps: ServiceDeps) -> None:
        self._deps = deps
        self._secrets: dict[str, tuple[bytes, str]] = {}
        self._lock = threading.Lock()

    def authenticate(self, access_key_id: str, session_token: str | None, now: float) -> Authenticated:
        storage = self._deps.storage
        key = storage.get_access_key(access_key_id)
        if key is None or key.status is not AccessKeyStatus.ACTIVE:
            raise UnrecognizedClient()
        # spec §1.6 step 3: a token must accompany exactly the keys that were issued one.
        if key.session_token_sha256 is not None:
            presented = hashlib.sha256(session_token.encode()).digest() if session_token else b""
            if not hmac.compare_digest(presented, key.session_token_sha256):
                raise UnrecognizedClient()
        elif session_token:
            raise UnrecognizedClient()
        if key.expires_at is not None and now >= key.expires_at:
            raise ExpiredToken()
        principal = storage.get_principal(key.principal_arn)
        if principal is None:
            raise UnrecognizedClient()
        return Authenticated(principal, key, self._secret(key))

    def _secret(self, key: AccessKey) -> str:
        cached = self._secrets.get(key.access_key_id)
        if cached is not None and cached[0] == key.wrapped_secret:
            return cached[1]
        try:
            secret = self._deps.root_key.unwrap(key.wrapped_secret, _secret_aad(key.access_key_id)).decode()
        except KeyStoreError:
            raise UnrecognizedClient() from None
        with self._lock:
            if len(self._secrets) > 10_000:
                self._secrets.clear()
            self._secrets[key.access_key_id] = (key.wrapped_secret, secret)
        return secret

    def clear(self) -> None:
        with self._lock:
            self._secrets.clear()
