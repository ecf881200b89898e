"""Public entry points: one-shot (bytes) and streaming (file-like objects).

Streaming and signed suites — the documented choice (issue 6): :func:`decrypt_stream` writes
each frame's plaintext to ``sink`` as soon as its GCM tag verified, so memory stays bounded.
For signed suites (0x0578, the default) those frames are *not yet covered by the signature*
until the footer verified at the end; the final frame is withheld until then. If the footer
fails, :class:`DecryptionFailed` is raised and the caller must discard what it received. The
one-shot :func:`decrypt` and the CLI (temp file + rename) release nothing unless everything,
signature included, verified.
"""

from __future__ import annotations

import hmac
import io
import os
import stat
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import BinaryIO

from . import context as ctxmod
from ._sink import ReservingSink, reserving
from .cmm.base import MaterialsManager
from .cmm.default import DefaultMaterialsManager
from .cmm.required import RequiredContextMaterialsManager
from .errors import ConfigurationError, ContextMismatch
from .format.header import MessageHeader
from .keyrings.base import Keyring
from .materials import (
    DecryptionMaterials,
    DecryptionMaterialsRequest,
    EncryptionMaterialsRequest,
)
from .stream import decrypt_chunks, encrypt_chunks
from .suites import AlgorithmSuite, CommitmentPolicy

DEFAULT_FRAME_LENGTH = 4096
DEFAULT_POLICY = CommitmentPolicy.REQUIRE_ENCRYPT_REQUIRE_DECRYPT


@dataclass(frozen=True, slots=True)
class Encrypted:
    ciphertext: bytes = field(repr=False)
    header: MessageHeader


@dataclass(frozen=True, slots=True)
class Decrypted:
    plaintext: bytes = field(repr=False)
    header: MessageHeader
    encryption_context: Mapping[str, str]


@dataclass(frozen=True, slots=True)
class StreamResult:
    header: MessageHeader
    encryption_context: Mapping[str, str]
    bytes_written: int


def _cmm(
    keyring: Keyring | None,
    materials_manager: MaterialsManager | None,
    required_context_keys: Iterable[str] = (),
) -> MaterialsManager:
    if (keyring is None) == (materials_manager is None):
        raise ConfigurationError("give exactly one of keyring or materials_manager")
    cmm: MaterialsManager = materials_manager or DefaultMaterialsManager(keyring)  # type: ignore[arg-type]
    required = frozenset(required_context_keys)
    if required:
        cmm = RequiredContextMaterialsManager(cmm, required)
    return cmm


def _source_length(source: BinaryIO) -> int | None:
    try:
        st = os.fstat(source.fileno())
        if stat.S_ISREG(st.st_mode):
            return max(0, st.st_size - source.tell())
    except (OSError, AttributeError, io.UnsupportedOperation):
        pass
    try:
        if source.seekable():
            pos = source.tell()
            end = source.seek(0, io.SEEK_END)
            source.seek(pos)
            return max(0, end - pos)
    except (OSError, AttributeError, io.UnsupportedOperation):
        pass
    return None


def iter_encrypt(
    source: BinaryIO,
    *,
    keyring: Keyring | None = None,
    materials_manager: MaterialsManager | None = None,
    encryption_context: Mapping[str, str] | None = None,
    required_context_keys: Iterable[str] = (),
    suite: AlgorithmSuite | None = None,
    frame_length: int = DEFAULT_FRAME_LENGTH,
    commitment_policy: CommitmentPolicy = DEFAULT_POLICY,
    source_length: int | None = None,
    threads: int = 1,
    message_id: bytes | None = None,
    headers: list[MessageHeader] | None = None,
    sink: ReservingSink | None = None,
) -> Iterator[memoryview | bytes]:
    """Yield the encrypted message in chunks (views valid until the next chunk).

    ``sink``: the lending sink the caller writes every chunk to, if any (_sink.py)."""
    cmm = _cmm(keyring, materials_manager, required_context_keys)
    ctx = ctxmod.check_caller_context(encryption_context or {})
    if source_length is None:
        source_length = _source_length(source)
    materials = cmm.get_encryption_materials(
        EncryptionMaterialsRequest(ctxmod.frozen(ctx), CommitmentPolicy(commitment_policy), suite,
                                   source_length)
    )
    mid = message_id if message_id is not None else os.urandom(materials.suite.message_id_len)
    yield from encrypt_chunks(source, materials, frame_length=frame_length, message_id=mid,
                              threads=threads, on_header=headers.append if headers is not None else None,
                              sink=reserving(sink, threads))


def iter_decrypt(
    source: BinaryIO,
    *,
    keyring: Keyring | None = None,
    materials_manager: MaterialsManager | None = None,
    encryption_context: Mapping[str, str] | None = None,
    required_context_keys: Iterable[str] = (),
    commitment_policy: CommitmentPolicy = DEFAULT_POLICY,
    max_encrypted_data_keys: int | None = None,
    threads: int = 1,
    results: list[tuple[MessageHeader, DecryptionMaterials]] | None = None,
    sink: ReservingSink | None = None,
) -> Iterator[memoryview | bytes]:
    """Yield plaintext chunks; see the module docstring about signed suites.

    ``encryption_context`` is the *reproduced* context: values for keys in the header must
    match (else :class:`ContextMismatch`); keys absent from the header are authenticated only.
    ``sink`` as :func:`iter_encrypt`.
    """
    cmm = _cmm(keyring, materials_manager, required_context_keys)
    reproduced = dict(encryption_context or {})
    policy = CommitmentPolicy(commitment_policy)

    def get_materials(header: MessageHeader) -> tuple[DecryptionMaterials, dict[str, str]]:
        for k, v in reproduced.items():
            stored = header.stored_context.get(k)
            if stored is not None and not hmac.compare_digest(stored.encode(), v.encode()):
                raise ContextMismatch(f"encryption context value for {k!r} does not match the message")
        m = cmm.decrypt_materials(DecryptionMaterialsRequest(
            header.suite, policy, header.encrypted_data_keys, header.stored_context,
            ctxmod.frozen(reproduced)))
        auth_only = {k: m.encryption_context[k] for k in m.required_context_keys}
        return m, auth_only

    def on_header(h: MessageHeader, m: DecryptionMaterials) -> None:
        if results is not None:
            results.append((h, m))

    yield from decrypt_chunks(source, get_materials, threads=threads,
                              max_encrypted_data_keys=max_encrypted_data_keys, on_header=on_header,
                              sink=reserving(sink, threads))


def encrypt_stream(source: BinaryIO, sink: BinaryIO, **kwargs: object) -> StreamResult:
    """Encrypt ``source`` into ``sink``; keyword arguments as :func:`iter_encrypt`."""
    headers: list[MessageHeader] = []
    n = 0
    write = sink.write
    for chunk in iter_encrypt(source, headers=headers, sink=sink, **kwargs):  # type: ignore[arg-type]
        write(chunk)
        n += len(chunk)
    h = headers[0]
    return StreamResult(h, h.stored_context, n)


def decrypt_stream(source: BinaryIO, sink: BinaryIO, **kwargs: object) -> StreamResult:
    """Decrypt ``source`` into ``sink``; keyword arguments as :func:`iter_decrypt`."""
    results: list[tuple[MessageHeader, DecryptionMaterials]] = []
    n = 0
    write = sink.write
    for chunk in iter_decrypt(source, results=results, sink=sink, **kwargs):  # type: ignore[arg-type]
        write(chunk)
        n += len(chunk)
    h, m = results[0]
    return StreamResult(h, ctxmod.frozen(m.encryption_context), n)


def encrypt(plaintext: bytes, **kwargs: object) -> Encrypted:
    """One-shot encryption of ``plaintext``; keyword arguments as :func:`iter_encrypt`."""
    out = io.BytesIO()
    r = encrypt_stream(io.BytesIO(plaintext), out, source_length=len(plaintext), **kwargs)
    return Encrypted(out.getvalue(), r.header)


def decrypt(ciphertext: bytes, **kwargs: object) -> Decrypted:
    """One-shot decryption; returns plaintext only if everything (signature too) verified."""
    out = io.BytesIO()
    r = decrypt_stream(io.BytesIO(ciphertext), out, **kwargs)
    return Decrypted(out.getvalue(), r.header, r.encryption_context)
