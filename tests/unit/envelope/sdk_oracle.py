"""The AWS Encryption SDK as the oracle for Trent's message format (issue 15), and Trent's paths.

A self round trip proves nothing about the format: both sides can share a mistake (issue 15: every
frame AAD of the strided fast path lacked its message ID and length, and Trent read its own output
happily). So every check here has the ``aws-encryption-sdk`` package read what Trent wrote, or
Trent read what the SDK wrote. Raw AES wrapping keys on both sides: no KMS needed.

``PATHS`` are the ways Trent reads and writes a message; each is a different I/O route into the
same engine (encryptor.py / decryptor.py), and each has had its own buffer and chunk boundaries:

    bytes          encrypt()/decrypt(): BytesIO in, BytesIO out (the sink lends no buffers)
    iter           iter_encrypt()/iter_decrypt(): generator of chunks, no sink at all
    stream         encrypt_stream()/decrypt_stream() over buffered file objects
    threads        the same with threads=2 (signed suites hash on a second thread)
    file           encrypt_file()/decrypt_file(): O_DIRECT read-ahead and write-behind,
                   the engine works in the reader's and the writer's buffers
    file-buffered  the same with direct_write=False (page-cache writes)
    file-threads   the file path with threads=2
"""

from __future__ import annotations

import io
import os
import struct
from collections.abc import Callable
from pathlib import Path

import aws_encryption_sdk as sdk
from aws_encryption_sdk.identifiers import Algorithm, CommitmentPolicy

from trent import envelope as ev
from trent.envelope.materials import (
    DecryptionMaterials,
    DecryptionMaterialsRequest,
    EncryptionMaterials,
    EncryptionMaterialsRequest,
)

from .conftest import sdk_aes_provider

MIB = 1 << 20
#: the suites Trent writes (the two committing ones; the SDK reads every suite)
WRITTEN_SUITES = (0x0478, 0x0578)
#: the SDK refuses to *write* frame lengths that are not a multiple of the AES block size in bits
SDK_FRAME_MULTIPLE = 128


def sdk_client(committing: bool = True) -> sdk.EncryptionSDKClient:
    return sdk.EncryptionSDKClient(commitment_policy=CommitmentPolicy.REQUIRE_ENCRYPT_REQUIRE_DECRYPT
                                   if committing else CommitmentPolicy.FORBID_ENCRYPT_ALLOW_DECRYPT)


def sdk_decrypt(ct: bytes) -> bytes:
    """The oracle: the SDK's own parser, frame checks, key commitment and signature check."""
    out, _ = sdk_client().decrypt(source=ct, key_provider=sdk_aes_provider())
    return bytes(out)


def sdk_encrypt(pt: bytes, suite: int, frame: int) -> bytes:
    """``frame`` 0: a non-framed message (content type 0x01); the SDK writes it for any suite."""
    committing = ev.suite_by_id(suite).committing
    ct, header = sdk_client(committing).encrypt(source=pt, key_provider=sdk_aes_provider(), frame_length=frame,
                                      algorithm=Algorithm.get_by_id(suite))
    assert header.frame_length == frame
    return bytes(ct)


class FixedMaterials:
    """A materials manager that hands out the same materials for every message, so that with the
    same message ID every path must write the same bytes (the signature aside: ECDSA is randomized)."""

    def __init__(self, keyring: ev.RawAesKeyring) -> None:
        self.inner = ev.DefaultMaterialsManager(keyring)
        self.materials: EncryptionMaterials | None = None

    def get_encryption_materials(self, request: EncryptionMaterialsRequest) -> EncryptionMaterials:
        if self.materials is None:
            self.materials = self.inner.get_encryption_materials(request)
        return self.materials

    def decrypt_materials(self, request: DecryptionMaterialsRequest) -> DecryptionMaterials:
        return self.inner.decrypt_materials(request)


Encrypt = Callable[[bytes, Path, dict[str, object]], bytes]
#: (ciphertext, temp dir, keyring or commitment_policy keyword arguments) -> plaintext
Decrypt = Callable[[bytes, Path, dict[str, object]], bytes]


def _write(tmp: Path, name: str, data: bytes) -> Path:
    p = tmp / name
    p.write_bytes(data)
    return p


def _enc_bytes(pt: bytes, tmp: Path, kw: dict[str, object]) -> bytes:
    return ev.encrypt(pt, **kw).ciphertext  # type: ignore[arg-type]


def _dec_bytes(ct: bytes, tmp: Path, kw: dict[str, object]) -> bytes:
    return ev.decrypt(ct, **kw).plaintext  # type: ignore[arg-type]


def _enc_iter(pt: bytes, tmp: Path, kw: dict[str, object]) -> bytes:
    return b"".join(bytes(c) for c in ev.iter_encrypt(io.BytesIO(pt), source_length=len(pt), **kw))  # type: ignore[arg-type]


def _dec_iter(ct: bytes, tmp: Path, kw: dict[str, object]) -> bytes:
    return b"".join(bytes(c) for c in ev.iter_decrypt(io.BytesIO(ct), **kw))  # type: ignore[arg-type]


def _stream(threads: int) -> tuple[Encrypt, Decrypt]:
    def enc(pt: bytes, tmp: Path, kw: dict[str, object]) -> bytes:
        src, dst = _write(tmp, "s.pt", pt), tmp / "s.ct"
        with open(src, "rb") as f, open(dst, "wb") as g:
            ev.encrypt_stream(f, g, threads=threads, **kw)
        return dst.read_bytes()

    def dec(ct: bytes, tmp: Path, kw: dict[str, object]) -> bytes:
        src, dst = _write(tmp, "s.ct", ct), tmp / "s.out"
        with open(src, "rb") as f, open(dst, "wb") as g:
            ev.decrypt_stream(f, g, threads=threads, **kw)
        return dst.read_bytes()

    return enc, dec


def _file(threads: int, direct_write: bool) -> tuple[Encrypt, Decrypt]:
    def enc(pt: bytes, tmp: Path, kw: dict[str, object]) -> bytes:
        src, dst = _write(tmp, "f.pt", pt), tmp / "f.ct"
        ev.encrypt_file(src, dst, overwrite=True, direct_write=direct_write, threads=threads, **kw)
        return dst.read_bytes()

    def dec(ct: bytes, tmp: Path, kw: dict[str, object]) -> bytes:
        src, dst = _write(tmp, "f.ct", ct), tmp / "f.out"
        if dst.exists():
            dst.unlink()
        ev.decrypt_file(src, dst, direct_write=direct_write, threads=threads, **kw)
        return dst.read_bytes()

    return enc, dec


PATHS: dict[str, tuple[Encrypt, Decrypt]] = {
    "bytes": (_enc_bytes, _dec_bytes),
    "iter": (_enc_iter, _dec_iter),
    "stream": _stream(1),
    "threads": _stream(2),
    "file": _file(1, True),
    "file-buffered": _file(1, False),
    "file-threads": _file(2, True),
}


def strip_footer(ct: bytes, suite: int) -> bytes:
    """Header ‖ body of a message: for signed suites, drop uint16 length ‖ DER signature."""
    if suite != 0x0578:
        return ct
    for n in range(96, 106):  # DER ECDSA-Sig-Value for P-384
        if len(ct) >= n + 2 and struct.unpack(">H", ct[-n - 2 : -n])[0] == n:
            return ct[: -n - 2]
    raise AssertionError("no footer found")


def encrypt_on_every_path(pt: bytes, tmp: Path, keyring: ev.RawAesKeyring, suite: int, frame: int,
                          paths: list[str] | None = None) -> dict[str, bytes]:
    """The message each path writes for ``pt``, with one message ID and one set of materials."""
    kw: dict[str, object] = {"materials_manager": FixedMaterials(keyring), "suite": ev.suite_by_id(suite),
                             "frame_length": frame, "message_id": os.urandom(32)}
    return {name: PATHS[name][0](pt, tmp, kw) for name in (paths or list(PATHS))}
