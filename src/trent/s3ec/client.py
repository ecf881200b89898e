"""The S3 Encryption Client: encrypt before PutObject, decrypt after GetObject, over any boto3
S3 client (AWS, moto, Trent's S3 endpoint when it exists). Formats: client-wire-formats.md §4.2.

Writes v3 (suite 0x0073, key commitment) by default, v2 on request; reads v2, v3 and — with
``enable_legacy_unauthenticated_modes`` — v1, CBC and legacy key wrapping; ranged reads (AES-CTR,
unauthenticated) need the same flag, like Amazon's Java client. Metadata goes into the object's
user metadata, or into ``<key>.instruction`` with ``instruction_file=True``.

Plaintext is never visible unauthenticated: :meth:`get_object` returns bytes only after the tag
verified; :meth:`download_file` writes into an unnamed file linked in after verification.
"""

from __future__ import annotations

import io
import os
import stat
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

from botocore.exceptions import ClientError

from ..envelope.suites import CommitmentPolicy
from ..envelope.tempout import HiddenOutput
from . import metadata as md
from .content import (
    BLOCK,
    TAG_LEN,
    ContentDecryptor,
    ContentKey,
    CtrDecryptor,
    GcmEncryptor,
    for_decryption,
    for_encryption,
)
from .download import decrypt_body, decrypt_range
from .file_parts import ObjectEncryption, upload_file_parts
from .errors import ConfigurationError, DecryptionFailed, LegacyRefused, NotEncrypted, S3ecError
from .keyrings.base import S3Keyring, check_caller_context
from .metadata import ContentMetadata
from .suites import MESSAGE_ID_LEN, FormatVersion, decrypt_allowed, suite_for_format
from .send_blocks import widen_send_blocks
from .upload import MiB, PartReader, multipart_upload, part_size_for, seal

Progress = Callable[[int], None]
_MAX_INSTRUCTION_FILE = 1 << 20


@dataclass(frozen=True, slots=True)
class S3ecConfig:
    format: FormatVersion = FormatVersion.V3
    commitment_policy: CommitmentPolicy = CommitmentPolicy.REQUIRE_ENCRYPT_REQUIRE_DECRYPT
    instruction_file: bool = False
    instruction_suffix: str = md.INSTRUCTION_SUFFIX
    enable_legacy_unauthenticated_modes: bool = False
    #: multipart part size (S3 needs >= 5 MiB but the last); grown for objects over 10,000 parts
    part_size: int = 8 * MiB
    #: GetObject read size (one buffer, decrypted in place)
    read_size: int = 256 * 1024


@dataclass(frozen=True, slots=True)
class ObjectInfo:
    """What HeadObject tells about an encrypted object (without decrypting anything)."""

    bucket: str
    key: str
    metadata: ContentMetadata | None  # None: not an S3EC object
    stored_length: int
    user_metadata: Mapping[str, str] = field(default_factory=dict)

    @property
    def plaintext_length(self) -> int | None:
        if self.metadata is None:
            return None
        if self.metadata.suite.tag_len:
            return self.stored_length - self.metadata.suite.tag_len
        return self.metadata.plaintext_length


class S3EncryptionClient:
    def __init__(self, s3: Any, keyring: S3Keyring, config: S3ecConfig = S3ecConfig(), *,
                 rng: Callable[[int], bytes] = os.urandom) -> None:
        self.s3 = s3
        self.keyring = keyring
        self.config = config
        self.suite = suite_for_format(config.format, config.commitment_policy)
        if config.part_size < 16:
            raise ConfigurationError("part size too small")
        self._rng = rng
        widen_send_blocks(s3)  # encrypted parts go out in 256 KiB sends, not 16 KiB (send_blocks.py)

    # ---- writing ------------------------------------------------------------------------

    def _new_object(self, context: Mapping[str, str] | None, length: int | None) -> tuple[ContentKey, ContentMetadata]:
        ctx = check_caller_context(context)
        dk = self.keyring.generate(self.suite, ctx)
        iv = b"" if self.suite.committing else self._rng(self.suite.iv_len)
        message_id = self._rng(MESSAGE_ID_LEN) if self.suite.committing else b""
        ck, commitment = for_encryption(self.suite, dk.plaintext, iv=iv, message_id=message_id)
        meta = ContentMetadata(self.suite.format, self.suite, dk.wrap_alg, dk.encrypted, dk.description,
                               iv=iv, message_id=message_id, commitment=commitment, plaintext_length=length)
        return ck, meta

    def _object_args(self, meta: ContentMetadata, user_metadata: Mapping[str, str] | None,
                     extra: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, str] | None]:
        obj_meta, instruction = meta.render(instruction_file=self.config.instruction_file)
        user = dict(user_metadata or {})
        clash = set(user) & (md.INSTRUCTION_KEYS | {md.PLAINTEXT_LENGTH})
        if clash:
            raise ConfigurationError(f"user metadata may not use S3EC keys: {sorted(clash)}")
        return {**extra, "Metadata": {**user, **obj_meta}}, instruction

    def _write_instruction_file(self, bucket: str, key: str, instruction: dict[str, str] | None) -> None:
        """After the object (as Java's client does); if it cannot be written the object, whose
        data key only the file holds, is deleted again rather than left undecryptable."""
        if instruction is None:
            return
        try:
            self.s3.put_object(Bucket=bucket, Key=key + self.config.instruction_suffix,
                               Body=md.to_json(instruction).encode(), Metadata={md.INSTRUCTION_MARKER: ""})
        except BaseException:
            try:
                self.s3.delete_object(Bucket=bucket, Key=key)
            except Exception:  # the original error matters more
                pass
            raise

    def put_object(self, bucket: str, key: str, body: bytes, *, encryption_context: Mapping[str, str] | None = None,
                   metadata: Mapping[str, str] | None = None, **extra: Any) -> dict[str, Any]:
        """Encrypt ``body`` and store it with one PutObject."""
        ck, meta = self._new_object(encryption_context, len(body))
        enc = GcmEncryptor(ck)
        out = bytearray(len(body) + TAG_LEN)
        view = memoryview(out)
        enc.update_into(memoryview(body), view[:len(body)])
        view[len(body):] = enc.finalize()
        args, instruction = self._object_args(meta, metadata, extra)
        r = dict(self.s3.put_object(Bucket=bucket, Key=key, Body=out, **args))
        self._write_instruction_file(bucket, key, instruction)
        return r

    def upload_fileobj(self, fileobj: BinaryIO | Any, bucket: str, key: str, *, size: int | None = None,
                       encryption_context: Mapping[str, str] | None = None, metadata: Mapping[str, str] | None = None,
                       progress: Progress | None = None, **extra: Any) -> dict[str, Any]:
        """Encrypt a stream into one object: PutObject if it fits in one part, else multipart.

        A regular file of known ``size`` is read with pread and encrypted as botocore reads
        each part (file_parts.py: memory independent of the part size); any other stream is
        read part by part into two buffers (upload.py: 2 x part size)."""
        part_size = part_size_for(size, self.config.part_size)
        ck, meta = self._new_object(encryption_context, size)
        args, instruction = self._object_args(meta, metadata, extra)
        fd = _regular_file_fd(fileobj) if size is not None else None
        if fd is not None and size is not None:
            r = upload_file_parts(self.s3, bucket, key, args, fd, fileobj.tell(), ObjectEncryption(ck, size),
                                  part_size, progress)
            self._write_instruction_file(bucket, key, instruction)
            return r
        enc = GcmEncryptor(ck)
        parts = PartReader(fileobj, size)
        buf = bytearray(part_size)
        n, last = parts.fill(memoryview(buf))
        if last:
            seal(buf, n, last, enc)  # buf is now exactly ciphertext ‖ tag: the body, not a copy
            r = dict(self.s3.put_object(Bucket=bucket, Key=key, Body=buf, **args))
            if progress:
                progress(n)
        else:
            r = multipart_upload(self.s3, bucket, key, args, parts, enc, (buf, n, last), part_size, progress)
        self._write_instruction_file(bucket, key, instruction)
        return r

    def upload_file(self, path: str | os.PathLike[str], bucket: str, key: str, **kw: Any) -> dict[str, Any]:
        with open(path, "rb") as f:
            return self.upload_fileobj(f, bucket, key, size=os.fstat(f.fileno()).st_size, **kw)

    # ---- reading ------------------------------------------------------------------------

    def _content_metadata(self, bucket: str, key: str, user_meta: Mapping[str, str]) -> ContentMetadata:
        meta = {k.lower(): v for k, v in user_meta.items()}
        if md.needs_instruction_file(meta):
            meta = md.merge_instruction_file(meta, self._instruction_file(bucket, key))
        parsed = md.parse(meta)
        cfg = self.config
        if (parsed.suite.legacy or parsed.version is FormatVersion.V1) and not cfg.enable_legacy_unauthenticated_modes:
            raise LegacyRefused(f"s3://{bucket}/{key} uses the legacy unauthenticated {parsed.suite.name} "
                                "content cipher; enable legacy unauthenticated modes to read it")
        if not decrypt_allowed(parsed.suite, cfg.commitment_policy):
            raise S3ecError(f"s3://{bucket}/{key} is format v{parsed.version.value} without key commitment; "
                            f"commitment policy {cfg.commitment_policy} refuses it")
        return parsed

    def _instruction_file(self, bucket: str, key: str) -> bytes:
        name = key + self.config.instruction_suffix
        try:
            r = self.s3.get_object(Bucket=bucket, Key=name)
        except ClientError as e:
            if e.response.get("Error", {}).get("Code") in ("NoSuchKey", "404", "AccessDenied"):
                raise NotEncrypted(f"s3://{bucket}/{key} has no S3 Encryption Client metadata and no "
                                   f"instruction file ({name})") from None
            raise
        body = r["Body"].read(_MAX_INSTRUCTION_FILE + 1)
        if len(body) > _MAX_INSTRUCTION_FILE:
            raise DecryptionFailed()
        return bytes(body)

    def _open(self, bucket: str, key: str, context: Mapping[str, str] | None,
              **get_args: Any) -> tuple[dict[str, Any], ContentMetadata, bytes]:
        """GetObject, then the object's metadata checked and its data key unwrapped."""
        r = self.s3.get_object(Bucket=bucket, Key=key, **get_args)
        try:
            meta = self._content_metadata(bucket, key, r.get("Metadata") or {})
            data_key = self.keyring.decrypt(meta, check_caller_context(context),
                                            legacy=self.config.enable_legacy_unauthenticated_modes)
        except BaseException:
            r["Body"].close()
            raise
        return r, meta, data_key

    def get_object(self, bucket: str, key: str, *, encryption_context: Mapping[str, str] | None = None,
                   range: tuple[int, int | None] | None = None) -> bytes:
        """The plaintext, verified. ``range=(first, last)`` (inclusive, ``last`` None = to the end)
        is a ranged read: AES-CTR, unauthenticated, legacy flag required."""
        if range is not None:
            return self._get_range(bucket, key, encryption_context, range)
        r, meta, data_key = self._open(bucket, key, encryption_context)
        dec = ContentDecryptor(for_decryption(meta, data_key))
        out = bytearray()
        decrypt_body(r["Body"], int(r["ContentLength"]), dec, out.extend, chunk=self.config.read_size)
        return bytes(out)

    def _get_range(self, bucket: str, key: str, context: Mapping[str, str] | None,
                   rng: tuple[int, int | None]) -> bytes:
        first, last = rng
        if first < 0 or (last is not None and last < first):
            raise ConfigurationError("invalid range")
        if not self.config.enable_legacy_unauthenticated_modes:
            raise LegacyRefused("ranged reads are not authenticated (AES-CTR); enable legacy "
                                "unauthenticated modes to use them")
        start = first - first % BLOCK
        r, meta, data_key = self._open(bucket, key, context,
                                          Range=f"bytes={start}-{'' if last is None else last}")
        if not meta.suite.tag_len:
            r["Body"].close()
            raise ConfigurationError("ranged reads of CBC objects are not supported")
        total = int(str(r.get("ContentRange", "")).rpartition("/")[2] or r["ContentLength"])
        plain_total = total - TAG_LEN
        end = plain_total - 1 if last is None else min(last, plain_total - 1)
        if first > end:
            r["Body"].close()
            return b""
        dec = CtrDecryptor(for_decryption(meta, data_key), start // BLOCK)
        return decrypt_range(r["Body"], dec, first - start, end - first + 1)

    def download_file(self, bucket: str, key: str, path: str | os.PathLike[str], *,
                      encryption_context: Mapping[str, str] | None = None, overwrite: bool = False,
                      progress: Progress | None = None) -> int:
        """Decrypt into ``path``: nothing appears there unless the whole object verified."""
        r, meta, data_key = self._open(bucket, key, encryption_context)
        dec = ContentDecryptor(for_decryption(meta, data_key))
        out = HiddenOutput(Path(path))
        try:
            n = decrypt_body(r["Body"], int(r["ContentLength"]), dec, lambda v: _write_all(out.fd, v),
                             chunk=self.config.read_size, progress=progress)
            out.publish(overwrite=overwrite)
            return n
        except BaseException:
            out.discard()
            raise
        finally:
            out.close()

    def head_object(self, bucket: str, key: str) -> ObjectInfo:
        r = self.s3.head_object(Bucket=bucket, Key=key)
        user = {k.lower(): v for k, v in (r.get("Metadata") or {}).items()}
        try:
            meta: ContentMetadata | None = self._content_metadata(bucket, key, user)
        except NotEncrypted:
            meta = None
        return ObjectInfo(bucket, key, meta, int(r["ContentLength"]),
                          {k: v for k, v in user.items() if k not in md.INSTRUCTION_KEYS | {md.PLAINTEXT_LENGTH}})

    def delete_object(self, bucket: str, key: str) -> None:
        """Delete the object and its instruction file (if any)."""
        self.s3.delete_object(Bucket=bucket, Key=key)
        self.s3.delete_object(Bucket=bucket, Key=key + self.config.instruction_suffix)


def _regular_file_fd(fileobj: Any) -> int | None:
    try:
        fd = int(fileobj.fileno())
        return fd if stat.S_ISREG(os.fstat(fd).st_mode) and fileobj.seekable() else None
    except (AttributeError, OSError, ValueError, io.UnsupportedOperation):
        return None


def _write_all(fd: int, view: memoryview) -> None:
    while len(view):
        view = view[os.write(fd, view):]
