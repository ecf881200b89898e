"""The root of trust: everything at rest is wrapped under it.

:class:`FileRootKey` is the ``--dev`` root: 32 random bytes in a 0600 file created
on first start. Issue 7 adds the Shamir-sealed root and the HSM-held root behind
the same two methods.

Wrapped layout: ``version 0x01 | nonce 12 | AES-256-GCM(ciphertext | tag 16)``; the
caller's AAD names what is wrapped (purpose + identifiers), so a wrapped blob moved
to another row (another key, another access key) fails to unwrap.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Callable
from pathlib import Path
from typing import Protocol

from trent.crypto import aead
from trent.keystores.base import KeyStoreError

_VERSION = 0x01


class RootKey(Protocol):
    def wrap(self, plaintext: bytes, aad: bytes) -> bytes: ...

    def unwrap(self, blob: bytes, aad: bytes) -> bytes:
        """KeyStoreError if the blob was not wrapped by this root with this AAD."""
        ...


class AesRootKey:
    """A root key held in process memory (its bytes come from a file or from unsealing)."""

    __slots__ = ("_key", "_rng")

    def __init__(self, key: bytes, rng: Callable[[int], bytes] = os.urandom) -> None:
        if len(key) != aead.KEY_LEN:
            raise ValueError("root key must be 32 bytes")
        self._key = key
        self._rng = rng

    def __repr__(self) -> str:
        return "AesRootKey(<sealed>)"

    def __reduce__(self):  # habits §7: objects holding keys refuse pickling
        raise TypeError("root keys cannot be pickled")

    def wrap(self, plaintext: bytes, aad: bytes) -> bytes:
        nonce = self._rng(aead.NONCE_LEN)
        return bytes((_VERSION,)) + nonce + aead.seal(self._key, nonce, plaintext, aad)

    def unwrap(self, blob: bytes, aad: bytes) -> bytes:
        if len(blob) < 1 + aead.NONCE_LEN + aead.TAG_LEN or blob[0] != _VERSION:
            raise KeyStoreError("wrapped blob is malformed")
        nonce = blob[1 : 1 + aead.NONCE_LEN]
        try:
            return aead.open_(self._key, nonce, blob[1 + aead.NONCE_LEN :], aad)
        except aead.AeadError:
            raise KeyStoreError("wrapped blob does not open under the root key") from None


def load_or_create_file_root_key(path: Path, rng: Callable[[int], bytes] = os.urandom) -> AesRootKey:
    """The dev root key: created 0600 on first start, refused if others can read it."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        # O_EXCL: two servers starting at once never both write a root key.
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass
        else:
            with os.fdopen(fd, "wb") as f:
                f.write(rng(aead.KEY_LEN))
                f.flush()
                os.fsync(f.fileno())
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & 0o077:
        raise KeyStoreError(f"root key file {path} is readable by others (mode {mode:o}); chmod 600 it")
    key = path.read_bytes()
    if len(key) != aead.KEY_LEN:
        raise KeyStoreError(f"root key file {path} is not 32 bytes")
    return AesRootKey(key, rng)
