"""The Shamir-sealed root key (issue 7): split at ``trent init``, rebuilt from k of n shares.

Shamir's scheme comes from ``shamir-mnemonic`` (SatoshiLabs' reference implementation
of SLIP-0039, the scheme Trezor wallets use), not from our own field arithmetic. Its
shares are word lists with an RS1024 checksum, so a mistyped share is rejected on
its own, before anything is combined, and every share carries the split's identifier,
so a share from another split is refused too.

What ``trent init`` leaves on disk (``<data-dir>/root.sealed``, JSON, no secret)::

    {"version": 1, "threshold": k, "shares": n,
     "check": base64( AesRootKey(root).wrap(b"", aad="trent/root-check/v1") )}

The check blob proves a reconstructed key is *this* server's root: k valid shares of
some other split combine to some other key, which fails the check and is discarded.

While sealed, :class:`SealedRootKey` raises :class:`KeyStoreSealed` from wrap/unwrap;
callers registered with :meth:`SealedRootKey.on_change` drop anything unwrapped under it
when it seals again (material caches, cached secrets).
"""

from __future__ import annotations

import base64
import hmac
import json
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import shamir_mnemonic
from shamir_mnemonic.share import Share

from trent.keystores.base import KeyStoreError, KeyStoreSealed
from trent.keystores.root_key import AesRootKey

SEAL_FILE = "root.sealed"
_CHECK_AAD = b"trent/root-check/v1"
_VERSION = 1
# SLIP-39 passphrase-based encryption of the secret: Trent uses no passphrase (the
# shares are the secret) and the lowest iteration exponent (the root key is random).
_ITERATION_EXPONENT = 0


class UnsealError(KeyStoreError):
    """A share was refused, or the shares do not rebuild this server's root."""


@dataclass(frozen=True, slots=True)
class SealStatus:
    sealed: bool
    threshold: int
    shares: int
    progress: int  # shares received towards the threshold

    def as_dict(self) -> dict[str, object]:
        return {"sealed": self.sealed, "threshold": self.threshold, "shares": self.shares, "progress": self.progress}


@dataclass(frozen=True, slots=True)
class SealFile:
    threshold: int
    shares: int
    check: bytes

    @staticmethod
    def load(path: Path) -> SealFile:
        try:
            doc = json.loads(path.read_text())
            if doc.get("version") != _VERSION:
                raise ValueError("unknown version")
            return SealFile(int(doc["threshold"]), int(doc["shares"]), base64.b64decode(doc["check"]))
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise KeyStoreError(f"cannot read the seal file {path}: {exc}") from None

    def dump(self) -> str:
        return json.dumps(
            {"version": _VERSION, "threshold": self.threshold, "shares": self.shares,
             "check": base64.b64encode(self.check).decode()},
            indent=2,
        )


def split_root(root: bytes, threshold: int, shares: int) -> tuple[SealFile, list[str]]:
    """Split a 32-byte root key into ``shares`` mnemonics, any ``threshold`` of which rebuild it."""
    if not 1 <= threshold <= shares <= 16:
        raise ValueError("need 1 <= threshold <= shares <= 16")
    if threshold == 1 and shares > 1:
        raise ValueError("a threshold of 1 would make every share the whole root key; use at least 2")
    mnemonics = shamir_mnemonic.generate_mnemonics(
        1, [(threshold, shares)], root, b"", True, _ITERATION_EXPONENT
    )[0]
    check = AesRootKey(root).wrap(b"", _CHECK_AAD)
    return SealFile(threshold, shares, check), mnemonics


def init_sealed_root(
    data_dir: Path, threshold: int, shares: int, rng: Callable[[int], bytes] = os.urandom
) -> list[str]:
    """``trent init``: a new root key, split; only the check blob is written."""
    path = data_dir / SEAL_FILE
    if path.exists():
        raise KeyStoreError(f"{path} exists: this data dir already has a sealed root")
    data_dir.mkdir(parents=True, exist_ok=True)
    seal_file, mnemonics = split_root(rng(32), threshold, shares)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(seal_file.dump())
        f.flush()
        os.fsync(f.fileno())
    return mnemonics


def _normalize(mnemonic: str) -> str:
    return " ".join(mnemonic.strip().lower().split())


class SealedRootKey:
    """A RootKey that is useless until unsealed with k shares (one per call)."""

    def __init__(self, seal_file: SealFile) -> None:
        self._file = seal_file
        self._root: AesRootKey | None = None
        self._pending: list[str] = []
        self._lock = threading.Lock()
        self._listeners: list[Callable[[bool], None]] = []

    def __repr__(self) -> str:
        return f"SealedRootKey(sealed={self.sealed})"

    def __reduce__(self):
        raise TypeError("root keys cannot be pickled")

    @classmethod
    def from_data_dir(cls, data_dir: Path) -> SealedRootKey:
        path = data_dir / SEAL_FILE
        if not path.exists():
            raise KeyStoreError(f"no sealed root in {data_dir}: run `trent init` first")
        return cls(SealFile.load(path))

    # --- state ------------------------------------------------------------------

    @property
    def sealed(self) -> bool:
        return self._root is None

    def status(self) -> SealStatus:
        return SealStatus(self.sealed, self._file.threshold, self._file.shares, len(self._pending))

    def on_change(self, listener: Callable[[bool], None]) -> None:
        """``listener(sealed)`` after every seal/unseal (outside the lock)."""
        self._listeners.append(listener)

    def _notify(self) -> None:
        for listener in self._listeners:
            listener(self.sealed)

    def unseal(self, mnemonic: str) -> SealStatus:
        """Take one share. Raises UnsealError (and keeps the progress) for a share that is
        malformed, repeated or from another split; discards the progress when k shares do
        not rebuild this root."""
        mnemonic = _normalize(mnemonic)
        try:
            share = Share.from_mnemonic(mnemonic)
        except shamir_mnemonic.MnemonicError:
            raise UnsealError("that is not a valid unseal share (checksum or format)") from None
        with self._lock:
            if not self.sealed:
                return self.status()
            if self._pending:
                first = Share.from_mnemonic(self._pending[0])
                if share.common_parameters() != first.common_parameters():
                    raise UnsealError("that share belongs to another split than the shares already given")
                if any(Share.from_mnemonic(m).index == share.index for m in self._pending):
                    raise UnsealError("that share was already given")
            self._pending.append(mnemonic)
            if len(self._pending) < self._file.threshold:
                return self.status()
            pending, self._pending = self._pending, []
            try:
                root = AesRootKey(shamir_mnemonic.combine_mnemonics(pending, b""))
                root.unwrap(self._file.check, _CHECK_AAD)
            except (shamir_mnemonic.MnemonicError, KeyStoreError, ValueError):
                raise UnsealError(
                    "those shares do not rebuild this server's root key; progress discarded, start again"
                ) from None
            self._root = root
        self._notify()
        return self.status()

    def seal(self) -> SealStatus:
        with self._lock:
            self._root = None
            self._pending = []
        self._notify()
        return self.status()

    # --- RootKey ----------------------------------------------------------------

    def wrap(self, plaintext: bytes, aad: bytes) -> bytes:
        root = self._root
        if root is None:
            raise KeyStoreSealed("the root of trust is sealed")
        return root.wrap(plaintext, aad)

    def unwrap(self, blob: bytes, aad: bytes) -> bytes:
        root = self._root
        if root is None:
            raise KeyStoreSealed("the root of trust is sealed")
        return root.unwrap(blob, aad)


def load_or_create_admin_token(data_dir: Path) -> bytes:
    """A 0600 token in the data dir; whoever can read it may seal the server (``trent seal``)."""
    path = data_dir / "admin.token"
    if not path.exists():
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass
        else:
            with os.fdopen(fd, "w") as f:
                f.write(os.urandom(32).hex())
    return path.read_text().strip().encode()


def token_matches(expected: bytes, given: str | None) -> bool:
    return given is not None and hmac.compare_digest(expected, given.strip().encode())
