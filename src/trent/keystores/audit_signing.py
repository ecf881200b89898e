"""Where the digest signing key's private half lives (issue 16): under the root of trust.

A signing key is created by its signer and stored as a row (``audit_signing_keys``):
the public PKCS#1 DER, and a private *blob* only this signer can use:

- :class:`RootWrappedDigestSigner` (file and sealed roots): the PKCS#8 private key
  wrapped under the root key like all key material, the AAD naming its fingerprint, so
  the blob moved to another row does not open. ``trent admin rewrap-root`` moves it.
- :class:`HsmDigestSigner` (``--root hsm``): the key pair is generated inside the root's
  token (private key sensitive, never extractable) and the blob is only a reference
  (``P11S`` | CKA_ID); signing happens inside the HSM (CKM_SHA256_RSA_PKCS).

``signer`` (the row's ``signer`` column) tells which kind made a key; a server whose
root cannot use the current key (the root was switched) makes a new one — the old
public keys stay listed, with their validity, for the digests they signed.
"""

from __future__ import annotations

import threading
from typing import Protocol

from trent.crypto import digest_signing, private_keys
from trent.keystores.base import KeyStoreError
from trent.keystores.root_key import RootKey

ROOT_WRAPPED = "root-wrapped"
HSM = "hsm"
_HSM_MAGIC = b"P11S"


def signing_key_aad(fingerprint: str) -> bytes:
    return b"trent/audit-signing-key/v1\x00" + fingerprint.encode("ascii")


class DigestSigner(Protocol):
    kind: str

    def new_key(self) -> tuple[bytes, bytes]:
        """A new key pair: (public PKCS#1 DER, private blob for the row)."""
        ...

    def sign(self, private_blob: bytes, fingerprint: str, message: bytes) -> bytes:
        """SHA256withRSA over ``message``. KeyStoreError if the blob is not this signer's."""
        ...


class RootWrappedDigestSigner:
    kind = ROOT_WRAPPED

    def __init__(self, root: RootKey) -> None:
        self._root = root
        self._parsed: dict[tuple[str, bytes], private_keys.PrivateKey] = {}
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return "RootWrappedDigestSigner(<root>)"

    def __reduce__(self):  # habits §7
        raise TypeError("signers cannot be pickled")

    def new_key(self) -> tuple[bytes, bytes]:
        pkcs8, public = digest_signing.generate()
        return public, self._root.wrap(pkcs8, signing_key_aad(digest_signing.fingerprint(public)))

    def sign(self, private_blob: bytes, fingerprint: str, message: bytes) -> bytes:
        cache_key = (fingerprint, bytes(private_blob))
        with self._lock:
            private = self._parsed.get(cache_key)
        if private is None:
            private = private_keys.load(self._root.unwrap(private_blob, signing_key_aad(fingerprint)))
            with self._lock:
                self._parsed[cache_key] = private
        return digest_signing.sign(private, message)

    def forget(self) -> None:
        """The root was sealed: drop unwrapped keys."""
        with self._lock:
            self._parsed.clear()


class SigningToken(Protocol):
    """What the HSM signer needs of a logged-in token (``pkcs11.Pkcs11KeyStore``)."""

    def generate_signing_pair(self, label: str) -> tuple[bytes, int, int]: ...

    def sign_with(self, object_id: bytes, message: bytes) -> bytes: ...


class HsmDigestSigner:
    kind = HSM

    def __init__(self, token: SigningToken) -> None:
        self._token = token

    def __repr__(self) -> str:
        return "HsmDigestSigner(<in the HSM>)"

    def new_key(self) -> tuple[bytes, bytes]:
        object_id, modulus, exponent = self._token.generate_signing_pair("trent-audit-digest-signing")
        return digest_signing.public_pkcs1_from_numbers(modulus, exponent), _HSM_MAGIC + object_id

    def sign(self, private_blob: bytes, fingerprint: str, message: bytes) -> bytes:
        if not private_blob.startswith(_HSM_MAGIC):
            raise KeyStoreError("this signing key is not inside the HSM")
        return self._token.sign_with(private_blob[len(_HSM_MAGIC):], message)
