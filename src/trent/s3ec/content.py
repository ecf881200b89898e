"""Content ciphers (client-wire-formats.md §4.2): streaming AES-GCM both ways, AES-CTR for
ranged reads, AES-CBC (legacy) for decryption.

Object body = AES-256-GCM(content key, IV, plaintext, AAD) ‖ tag (16)::

    v2 (0x0072)  content key = data key            IV = x-amz-iv (12, random)   AAD = none
    v3 (0x0073)  content key = DEK (kdf.py), only after the commitment matched
                                                    IV = twelve 0x01             AAD = 0x00 0x73

One GCM stream spans the whole object, across multipart parts: the tag ends the last part.

Ranged reads: GCM's keystream for content block i (16 bytes) is AES(key, IV ‖ uint32(i + 2))
(NIST SP 800-38D §7.1: J0 = IV ‖ 1, the first block uses inc32(J0)). Decrypting from block i
with AES-CTR at that counter yields the plaintext without the tag (the spec's decrypt-only
suites 0x0071 / 0x0074): unauthenticated, so it is a legacy mode. A 128-bit CTR counter and
GCM's inc32 agree while the low word does not wrap: GCM content is < 2^32 - 2 blocks.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import NoReturn

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers import AEADDecryptionContext, Cipher, CipherContext, algorithms, modes
from cryptography.hazmat.primitives.padding import PKCS7

from .errors import DecryptionFailed
from .kdf import derive_committing, verified_key
from .metadata import ContentMetadata
from .suites import COMMITTING_IV, ContentSuite, FormatVersion

TAG_LEN = 16
BLOCK = 16


@dataclass(frozen=True, slots=True)
class ContentKey:
    """The key, IV and AAD one object's content is encrypted under."""

    suite: ContentSuite
    key: bytes = field(repr=False)
    iv: bytes
    aad: bytes

    def __reduce__(self) -> NoReturn:
        raise TypeError("key material cannot be pickled")


def for_encryption(suite: ContentSuite, data_key: bytes, *, iv: bytes, message_id: bytes) -> tuple[ContentKey, bytes]:
    """(content key, commitment or b"") for a new object."""
    if suite.committing:
        keys = derive_committing(data_key, message_id)
        assert keys.commit_key is not None
        return ContentKey(suite, keys.data_encryption_key, COMMITTING_IV, suite.id_bytes), keys.commit_key
    return ContentKey(suite, data_key, iv, b""), b""


def for_decryption(meta: ContentMetadata, data_key: bytes) -> ContentKey:
    if meta.version is FormatVersion.V3:
        return ContentKey(meta.suite, verified_key(data_key, meta.message_id, meta.commitment),
                          COMMITTING_IV, meta.suite.id_bytes)
    return ContentKey(meta.suite, data_key, meta.iv, b"")


class GcmEncryptor:
    """``update_into`` may encrypt in place (``out`` is ``data``); ``finalize`` gives the tag."""

    def __init__(self, ck: ContentKey) -> None:
        self._ctx = Cipher(algorithms.AES(ck.key), modes.GCM(ck.iv)).encryptor()
        if ck.aad:
            self._ctx.authenticate_additional_data(ck.aad)

    def update_into(self, data: memoryview, out: memoryview) -> int:
        return self._ctx.update_into(data, out)

    def finalize(self) -> bytes:
        self._ctx.finalize()
        return self._ctx.tag


class ContentDecryptor:
    """``update(data, out)`` returns the plaintext this chunk released (a view of ``out`` for
    GCM); ``finish(tag)`` returns any trailing plaintext or raises :class:`DecryptionFailed`.
    GCM plaintext is *unverified* until ``finish`` returns: callers hide it until then."""

    def __init__(self, ck: ContentKey) -> None:
        self.suite = ck.suite
        self._ctx: CipherContext
        self._gcm: AEADDecryptionContext | None = None  # the same context, when GCM
        if ck.suite.tag_len:
            self._ctx = self._gcm = Cipher(algorithms.AES(ck.key), modes.GCM(ck.iv)).decryptor()
            if ck.aad:
                self._gcm.authenticate_additional_data(ck.aad)
            self._unpad = None
        else:  # legacy CBC (PKCS#5/7 padding)
            self._ctx = Cipher(algorithms.AES(ck.key), modes.CBC(ck.iv)).decryptor()
            self._unpad = PKCS7(128).unpadder()

    @property
    def trailer_len(self) -> int:
        """Bytes at the end of the body that are not ciphertext (the GCM tag)."""
        return self.suite.tag_len

    def update(self, data: memoryview, out: memoryview) -> memoryview:
        if self._unpad is None:
            n = self._ctx.update_into(data, out)
            return out[:n]
        return memoryview(self._unpad.update(self._ctx.update(bytes(data))))

    def finish(self, tag: bytes) -> bytes:
        try:
            if self._gcm is not None:
                self._gcm.finalize_with_tag(tag)
                return b""
            assert self._unpad is not None  # not GCM: CBC
            return self._unpad.update(self._ctx.finalize()) + self._unpad.finalize()
        except (InvalidTag, ValueError):
            raise DecryptionFailed() from None


class CtrDecryptor:
    """Plaintext from content block ``first_block`` on, without authentication."""

    def __init__(self, ck: ContentKey, first_block: int) -> None:
        counter = ck.iv + (first_block + 2).to_bytes(4, "big")
        self._ctx = Cipher(algorithms.AES(ck.key), modes.CTR(counter)).decryptor()

    def update(self, data: bytes) -> bytes:
        return self._ctx.update(data)
