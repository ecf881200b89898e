"""A PKCS#11 HSM key store (python-pkcs11): keys are born inside the token and never leave it.

Any PKCS#11 module works by configuration (:class:`TokenConfig`: module path, token
label or slot, user PIN). SoftHSM2 stands in for a real HSM in development and tests.

Key material (``KeyMaterial.wrapped``) is a *reference*, not key bytes::

    b"P11\\x01" | store ref (utf-8) | 0x00 | CKA_ID (16 random bytes)

so the row says which store holds the key (see :mod:`trent.keystores.router`) and
which object inside it. Keys are AES-256, ``CKA_SENSITIVE`` true, ``CKA_EXTRACTABLE``
false, ``CKA_TOKEN`` true (issue 7, habits §7).

Sealed payload (after the blob header, see ``trent.domain.ciphertext``)::

    IV 12 | CKM_AES_GCM ciphertext | tag 16        (computed inside the HSM)

The IV is random from the HSM's generator. Unlike the software store there is no
per-message key derivation (HKDF inside a PKCS#11 token is not portable), so the
NIST SP 800-38D §8.3 bound of 2^32 random-IV messages per key applies to each HSM
key; operators should plan key replacement well before that.

Every foreign exception (``PKCS11Error``) is translated here: a failed tag check is
an opaque InvalidCiphertext; anything else is a KeyStoreError.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import queue
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, cast

import pkcs11
from pkcs11 import Attribute, KeyType, Mechanism, MechanismFlag, ObjectClass
from pkcs11.exceptions import (
    NoSuchKey,
    NoSuchToken,
    PinIncorrect,
    PinInvalid,
    PinLenRange,
    PKCS11Error,
)
from pkcs11.mechanisms import GCMParams
from pkcs11.types import DecryptMixin, EncryptMixin, SignMixin

from trent.domain.keys import KeyMaterial
from trent.errors import InvalidCiphertext
from trent.keystores.base import KeyStoreCapabilities, KeyStoreError

MAGIC = b"P11\x01"
IV_LEN = 12
TAG_LEN = 16
_ID_LEN = 16
_POOL_SIZE = 2

if TYPE_CHECKING:
    # pkcs11.lib is a factory function; the class of what it returns lives here
    from pkcs11._pkcs11 import lib as Pkcs11Lib

    class AesKey(pkcs11.SecretKey, EncryptMixin, DecryptMixin):
        """What get_key returns for an AES key: python-pkcs11 mixes the capabilities in at run time."""

_libs: dict[str, Pkcs11Lib] = {}
_libs_lock = threading.Lock()
# python-pkcs11 calls C_Initialize(NULL): by the PKCS#11 spec the module may then
# assume a single-threaded caller (SoftHSM2 crashes otherwise), so every call into
# one module is serialized. The server's crypto runs on its event loop thread anyway.
_call_locks: dict[str, threading.Lock] = {}


@dataclass
class _Login:
    session: pkcs11.Session
    pin_digest: bytes = field(repr=False)
    refs: int = 1


# Guarded by the module's call lock.
_logins: dict[tuple[str, str | None, int | None], _Login] = {}


class TokenNotFound(KeyStoreError):
    """No token with the configured label/slot (CloudHSM: cluster not found)."""


class LoginFailed(KeyStoreError):
    """The token refused the PIN (CloudHSM: INVALID_CREDENTIALS)."""


@dataclass(frozen=True, slots=True)
class TokenConfig:
    """Where a token is: module path and token label (or slot id)."""

    module: str
    token_label: str | None = None
    slot: int | None = None

    def __post_init__(self) -> None:
        if (self.token_label is None) == (self.slot is None):
            raise ValueError("give exactly one of token_label or slot")


@dataclass(frozen=True, slots=True)
class HsmObject:
    """What a user sees of a key object through PKCS#11 (for tests and audits)."""

    label: str
    sensitive: bool
    extractable: bool
    never_extractable: bool
    key_type: str
    value_readable: bool = field(default=False)


def parse_cluster(spec: str) -> tuple[str, TokenConfig]:
    """``CLUSTER_ID=MODULE:token=LABEL`` or ``CLUSTER_ID=MODULE:slot=N`` (configuration)."""
    cluster_id, sep, rest = spec.partition("=")
    module, sep2, selector = rest.rpartition(":")
    kind, sep3, value = selector.partition("=")
    if not (sep and sep2 and sep3 and cluster_id and module and value) or kind not in ("token", "slot"):
        raise ValueError(f"HSM cluster {spec!r}: use CLUSTER_ID=MODULE:token=LABEL or CLUSTER_ID=MODULE:slot=N")
    if kind == "slot":
        return cluster_id, TokenConfig(module, slot=int(value))
    return cluster_id, TokenConfig(module, token_label=value)


def load_module(path: str) -> Pkcs11Lib:
    """One loaded module per path: C_Initialize may run once per process."""
    with _libs_lock:
        lib = _libs.get(path)
        if lib is None:
            try:
                lib = pkcs11.lib(path)
            except PKCS11Error as exc:
                raise KeyStoreError(f"cannot load PKCS#11 module {path}: {type(exc).__name__}") from None
            _libs[path] = lib
            _call_locks[path] = threading.Lock()
        return lib


def find_token(config: TokenConfig) -> pkcs11.Token:
    lib = load_module(config.module)
    with _call_locks[config.module]:
        return _find_token(lib, config)


def _find_token(lib: Pkcs11Lib, config: TokenConfig) -> pkcs11.Token:
    try:
        if config.slot is not None:
            for slot in lib.get_slots(token_present=True):
                if slot.slot_id == config.slot:
                    return slot.get_token()
            raise TokenNotFound(f"no token in slot {config.slot}")
        return lib.get_token(token_label=config.token_label)
    except (NoSuchToken, pkcs11.exceptions.MultipleTokensReturned):
        raise TokenNotFound(f"no single token labelled {config.token_label!r}") from None
    except PKCS11Error as exc:
        raise KeyStoreError(f"token lookup failed: {type(exc).__name__}") from None


def material_reference(store_ref: str, object_id: bytes) -> bytes:
    return MAGIC + store_ref.encode() + b"\x00" + object_id


def parse_reference(wrapped: bytes) -> tuple[str, bytes] | None:
    """(store ref, CKA_ID) if ``wrapped`` names an HSM object, else None."""
    if not wrapped.startswith(MAGIC):
        return None
    ref, sep, object_id = bytes(wrapped[len(MAGIC) :]).partition(b"\x00")
    if not sep or len(object_id) != _ID_LEN:
        return None
    return ref.decode(), object_id


class Pkcs11KeyStore:
    """A logged-in connection to one token, with a small pool of sessions.

    PKCS#11 login state is per application and token: the first session logs in and
    stays open for the store's lifetime (closing it would log every session out).
    """

    capabilities = KeyStoreCapabilities(
        name="pkcs11", material_extractable=False, accepts_external_material=False, hardware_backed=True
    )

    def __init__(self, config: TokenConfig, pin: str, store_ref: str, pool_size: int = _POOL_SIZE) -> None:
        self.store_ref = store_ref
        self._config = config
        token = find_token(config)
        self._call_lock = _call_locks[config.module]
        with self._call_lock:
            self._open_sessions(token, pin, pool_size)
        # Object handles by CKA_ID, per session (python-pkcs11 binds objects to a session).
        self._handles: dict[tuple[int, bytes], AesKey] = {}
        self._closed = False

    def _open_sessions(self, token: pkcs11.Token, pin: str, pool_size: int) -> None:
        # PKCS#11 login is per application and token: several stores on one token (two
        # custom key stores, or the HSM root beside one) share one login session, counted.
        self._token_key = (self._config.module, self._config.token_label, self._config.slot)
        digest = hashlib.sha256(pin.encode()).digest()
        login = _logins.get(self._token_key)
        if login is not None:
            if not hmac.compare_digest(login.pin_digest, digest):
                raise LoginFailed("the token refused the PIN")
            login.refs += 1
        else:
            try:
                session = token.open(rw=True, user_pin=pin)
            except (PinIncorrect, PinInvalid, PinLenRange):
                raise LoginFailed("the token refused the PIN") from None
            except PKCS11Error as exc:
                raise KeyStoreError(f"cannot open a session: {type(exc).__name__}") from None
            _logins[self._token_key] = _Login(session, digest)
        self._pool: queue.LifoQueue[pkcs11.Session] = queue.LifoQueue()
        self._all: list[pkcs11.Session] = []
        for _ in range(pool_size):
            try:
                s = token.open(rw=True)  # shares the login above
            except PKCS11Error:
                break
            self._all.append(s)
            self._pool.put(s)
        if not self._all:
            self._release_login()
            raise KeyStoreError("cannot open a session")

    def _release_login(self) -> None:
        login = _logins.get(self._token_key)
        if login is None:
            return
        login.refs -= 1
        if login.refs <= 0:
            del _logins[self._token_key]
            try:
                login.session.close()  # logs the token out
            except PKCS11Error:
                pass

    def __repr__(self) -> str:
        return f"Pkcs11KeyStore({self.store_ref!r})"

    def __reduce__(self):
        raise TypeError("key stores cannot be pickled")

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self._handles.clear()
        with self._call_lock:
            for s in self._all:
                try:
                    s.close()
                except PKCS11Error:
                    pass
            self._release_login()

    @contextmanager
    def _session(self) -> Iterator[pkcs11.Session]:
        if self._closed:
            raise KeyStoreError("the HSM store is disconnected")
        s = self._pool.get()
        try:
            with self._call_lock:
                yield s
        finally:
            self._pool.put(s)

    def _key(self, s: pkcs11.Session, object_id: bytes) -> AesKey:
        cache_key = (id(s), object_id)
        key = self._handles.get(cache_key)
        if key is None:
            try:
                key = cast("AesKey", s.get_key(object_class=ObjectClass.SECRET_KEY, id=object_id))
            except NoSuchKey:
                raise KeyStoreError("the HSM has no such key") from None
            self._handles[cache_key] = key
        return key

    def _object_id(self, material: KeyMaterial) -> bytes:
        parsed = parse_reference(material.wrapped)
        if parsed is None or parsed[0] != self.store_ref:
            raise KeyStoreError("material does not belong to this HSM store")
        return parsed[1]

    # --- material -------------------------------------------------------------

    def new_symmetric_material(self, key_id: str) -> tuple[str, bytes]:
        with self._session() as s:
            object_id = s.generate_random(_ID_LEN * 8)
            try:
                s.generate_key(
                    KeyType.AES,
                    256,
                    id=object_id,
                    label=f"trent:{key_id}",
                    store=True,
                    capabilities=MechanismFlag.ENCRYPT | MechanismFlag.DECRYPT,
                    template={
                        Attribute.SENSITIVE: True,
                        Attribute.EXTRACTABLE: False,
                        Attribute.PRIVATE: True,
                        Attribute.WRAP: False,
                        Attribute.UNWRAP: False,
                    },
                )
            except PKCS11Error as exc:
                raise KeyStoreError(f"key generation failed: {type(exc).__name__}") from None
        wrapped = material_reference(self.store_ref, object_id)
        # 64 hex like every material id (spec §2.1); names the object, reveals nothing.
        material_id = hashlib.sha256(b"trent/hsm-material-id/v1\x00" + key_id.encode() + object_id).hexdigest()
        return material_id, wrapped

    def wrap_material(self, key_id: str, raw: bytes) -> tuple[str, bytes]:
        raise KeyStoreError("this HSM store does not accept external key material")

    def unwrap_material(self, material: KeyMaterial) -> bytes:
        raise KeyStoreError("HSM key material is not extractable")

    def destroy(self, material: KeyMaterial) -> None:
        """Delete the key object (key deletion at the end of its window)."""
        object_id = self._object_id(material)
        with self._session() as s:
            try:
                s.get_key(object_class=ObjectClass.SECRET_KEY, id=object_id).destroy()
            except NoSuchKey:
                pass
            except PKCS11Error as exc:
                raise KeyStoreError(f"key destruction failed: {type(exc).__name__}") from None
        for k in [k for k in self._handles if k[1] == object_id]:
            self._handles.pop(k, None)

    def ensure_key(self, label: str) -> bytes:
        """CKA_ID of the AES-256 key labelled ``label``, generated (non-extractable) if absent.

        The HSM root of trust (``keystores.hsm_root``) is such a key.
        """
        with self._session() as s:
            try:
                return bytes(s.get_key(object_class=ObjectClass.SECRET_KEY, label=label)[Attribute.ID])
            except NoSuchKey:
                pass
            except PKCS11Error as exc:
                raise KeyStoreError(f"key lookup failed: {type(exc).__name__}") from None
            object_id = s.generate_random(_ID_LEN * 8)
            try:
                s.generate_key(
                    KeyType.AES, 256, id=object_id, label=label, store=True,
                    capabilities=MechanismFlag.ENCRYPT | MechanismFlag.DECRYPT,
                    template={Attribute.SENSITIVE: True, Attribute.EXTRACTABLE: False, Attribute.PRIVATE: True},
                )
            except PKCS11Error as exc:
                raise KeyStoreError(f"key generation failed: {type(exc).__name__}") from None
            return object_id

    def generate_signing_pair(self, label: str) -> tuple[bytes, int, int]:
        """An RSA-2048 signing key pair born in the token (issue 16: audit digests): the
        private key sensitive and never extractable. Returns (CKA_ID, modulus, exponent)."""
        with self._session() as s:
            object_id = s.generate_random(_ID_LEN * 8)
            try:
                public, _private = s.generate_keypair(
                    KeyType.RSA, 2048, id=object_id, label=label, store=True,
                    public_template={Attribute.VERIFY: True, Attribute.ENCRYPT: False, Attribute.WRAP: False},
                    private_template={
                        Attribute.SENSITIVE: True, Attribute.EXTRACTABLE: False, Attribute.PRIVATE: True,
                        Attribute.SIGN: True, Attribute.DECRYPT: False, Attribute.UNWRAP: False,
                    },
                )
                modulus = int.from_bytes(public[Attribute.MODULUS], "big")
                exponent = int.from_bytes(public[Attribute.PUBLIC_EXPONENT], "big")
            except PKCS11Error as exc:
                raise KeyStoreError(f"signing key generation failed: {type(exc).__name__}") from None
            return object_id, modulus, exponent

    def sign_with(self, object_id: bytes, message: bytes) -> bytes:
        """CKM_SHA256_RSA_PKCS (SHA256withRSA) inside the HSM with the private key ``object_id``."""
        with self._session() as s:
            try:
                key = cast(SignMixin, s.get_key(object_class=ObjectClass.PRIVATE_KEY, id=object_id))
                return bytes(key.sign(bytes(message), mechanism=Mechanism.SHA256_RSA_PKCS))
            except NoSuchKey:
                raise KeyStoreError("the HSM has no such signing key") from None
            except PKCS11Error as exc:
                raise KeyStoreError(f"HSM signing failed: {type(exc).__name__}") from None

    def encrypt_with(self, object_id: bytes, plaintext: bytes, aad: bytes) -> bytes:
        """``IV 12 | CKM_AES_GCM ciphertext | tag 16`` under the HSM key ``object_id``."""
        with self._session() as s:
            key = self._key(s, object_id)
            try:
                iv = s.generate_random(IV_LEN * 8)
                # bytes in, bytes out (python-pkcs11 returns an iterator only for an iterator)
                sealed = cast(bytes, key.encrypt(bytes(plaintext), mechanism=Mechanism.AES_GCM,
                                                 mechanism_param=GCMParams(iv, aad)))
                return iv + sealed
            except PKCS11Error as exc:
                raise KeyStoreError(f"HSM encryption failed: {type(exc).__name__}") from None

    def decrypt_with(self, object_id: bytes, payload: bytes | memoryview, aad: bytes) -> bytes:
        """Inverse of :meth:`encrypt_with`; InvalidCiphertext (opaque) on any failure."""
        if len(payload) < IV_LEN + TAG_LEN:
            raise InvalidCiphertext(audit_reason="payload too short")
        payload = bytes(payload)
        with self._session() as s:
            key = self._key(s, object_id)
            try:
                return cast(bytes, key.decrypt(  # bytes in, bytes out
                    payload[IV_LEN:], mechanism=Mechanism.AES_GCM, mechanism_param=GCMParams(payload[:IV_LEN], aad)
                ))
            except PKCS11Error:
                # CKR_ENCRYPTED_DATA_INVALID and friends: opaque (habits §5).
                raise InvalidCiphertext(audit_reason="HSM tag check failed") from None

    # --- data -------------------------------------------------------------------

    def seal(self, material: KeyMaterial, plaintext: bytes, aad: bytes) -> bytes:
        return self.encrypt_with(self._object_id(material), plaintext, aad)

    def open(self, material: KeyMaterial, payload: bytes | memoryview, aad: bytes) -> bytes:
        if len(payload) < IV_LEN + TAG_LEN:
            raise InvalidCiphertext(audit_reason="payload too short")
        return self.decrypt_with(self._object_id(material), payload, aad)

    def random_bytes(self, n: int) -> bytes:
        if n == 0:
            return b""
        with self._session() as s:
            try:
                return s.generate_random(n * 8)
            except PKCS11Error as exc:
                raise KeyStoreError(f"HSM random failed: {type(exc).__name__}") from None

    # --- inspection -------------------------------------------------------------

    def describe_object(self, material: KeyMaterial) -> HsmObject:
        object_id = self._object_id(material)
        with self._session() as s:
            key = s.get_key(object_class=ObjectClass.SECRET_KEY, id=object_id)
            try:
                key[Attribute.VALUE]
                readable = True
            except PKCS11Error:
                readable = False
            return HsmObject(
                label=key.label,
                sensitive=bool(key[Attribute.SENSITIVE]),
                extractable=bool(key[Attribute.EXTRACTABLE]),
                never_extractable=bool(key[Attribute.NEVER_EXTRACTABLE]),
                key_type=str(key.key_type),
                value_readable=readable,
            )


def random_store_ref() -> str:
    return "p11-" + os.urandom(8).hex()
