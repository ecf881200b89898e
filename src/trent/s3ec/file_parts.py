"""Parts of a file's ciphertext, produced on every read: constant memory for any object size.

botocore reads a request body more than once (checksum, SigV4 payload hash over http, the
send, retries), so a part must be re-readable. Holding each encrypted part in memory costs
2 x part size (>= 5 MiB each, S3's minimum) on top of ~58 MiB that Python, botocore's S3
model and OpenSSL take; instead each :class:`EncryptingPart` reads the plaintext with
``pread`` from the (seekable) source file and encrypts it into the caller's buffer:

* the first pass over each byte goes through the object's one GCM encryptor (the *frontier*;
  parts are sent in order, so it advances part by part and the tag is known when the last
  part's plaintext has been read once);
* any later pass (botocore's seek(0), a retry) regenerates the same bytes with AES-CTR at the
  block's counter (GCM's keystream: content.py), without touching the GCM state.

Memory: the read buffers botocore and http.client pass in (<= 1 MiB), whatever the part size.
"""

from __future__ import annotations

import io
import os
from typing import Any

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from .content import BLOCK, TAG_LEN, ContentKey, GcmEncryptor
from .errors import ConfigurationError


_MAX_READ = 256 * 1024


class ObjectEncryption:
    """The GCM frontier and the tag of one object."""

    def __init__(self, ck: ContentKey, size: int) -> None:
        self.ck, self.size = ck, size
        self.gcm = GcmEncryptor(ck)
        self.frontier = 0
        self.tag: bytes | None = None
        if size == 0:
            self.tag = self.gcm.finalize()

    def encrypt_at(self, pos: int, view: memoryview, ctr: dict[str, Any]) -> None:
        """Encrypt ``view`` (plaintext at object offset ``pos``) in place."""
        if pos == self.frontier:
            self.gcm.update_into(view, view)
            self.frontier += len(view)
            if self.frontier == self.size:
                self.tag = self.gcm.finalize()
            return
        if pos + len(view) > self.frontier:
            raise ConfigurationError("parts must be read in order")  # cannot happen with botocore
        if ctr.get("pos") != pos:  # a fresh CTR at pos's block, skipping into the block
            block, skip = divmod(pos, BLOCK)
            ctx = Cipher(algorithms.AES(self.ck.key), modes.CTR(self.ck.iv + (block + 2).to_bytes(4, "big"))).encryptor()
            if skip:
                ctx.update(bytes(skip))
            ctr.update(ctx=ctx, pos=pos)
        ctr["ctx"].update_into(view, view)
        ctr["pos"] = pos + len(view)


class EncryptingPart(io.RawIOBase):
    """Ciphertext of plaintext ``[start, start + length)`` (+ the tag if it ends the object)."""

    def __init__(self, fd: int, enc: ObjectEncryption, start: int, length: int, *, file_offset: int = 0) -> None:
        self._fd, self._enc, self._start, self._length = fd, enc, start, length
        self._base = file_offset  # where the object's plaintext starts in the file
        self._last = start + length == enc.size
        self._len = length + (TAG_LEN if self._last else 0)
        self._pos = 0
        self._ctr: dict[str, Any] = {}

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def __len__(self) -> int:
        return self._len

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._pos, io.SEEK_END: self._len}[whence]
        self._pos = max(0, min(self._len, base + offset))
        return self._pos

    def tell(self) -> int:
        return self._pos

    def readinto(self, b: Any) -> int:
        view = memoryview(b).cast("B")
        n = min(len(view), self._len - self._pos)
        plain = max(0, min(n, self._length - self._pos))
        if plain:
            got = os.preadv(self._fd, [view[:plain]], self._base + self._start + self._pos)
            if got != plain:
                raise ConfigurationError("the source file shrank while it was being uploaded")
            self._enc.encrypt_at(self._start + self._pos, view[:plain], self._ctr)
        if n > plain:  # the tag, after the last plaintext byte went through GCM once
            if self._enc.tag is None:
                raise ConfigurationError("parts must be read in order")
            t0 = self._pos + plain - self._length
            view[plain:n] = self._enc.tag[t0:t0 + n - plain]
        self._pos += n
        return n

    def read(self, size: int = -1) -> bytearray:
        # A raw read may be short: at most 256 KiB at a time (botocore asks for 1 MiB per hash
        # step) keeps the transient buffers small. A bytearray, not a bytes copy of one:
        # hashers and sockets take either, and botocore's end test ``== b""`` holds for it too.
        size = self._len - self._pos if size is None or size < 0 else size
        buf = bytearray(min(size, self._len - self._pos, _MAX_READ))
        del buf[self.readinto(buf):]
        return buf

    def readall(self) -> bytearray:  # type: ignore[override]
        return self.read(-1)


def upload_file_parts(s3: Any, bucket: str, key: str, args: dict[str, Any], fd: int, file_offset: int,
                      enc: ObjectEncryption, part_size: int, progress: Any) -> dict[str, Any]:
    """One PutObject if the object fits in a part, else a multipart upload (aborted on failure)."""
    size = enc.size
    if size <= part_size:
        r = dict(s3.put_object(Bucket=bucket, Key=key, Body=EncryptingPart(fd, enc, 0, size, file_offset=file_offset),
                               **args))
        if progress:
            progress(size)
        return r
    upload_id = s3.create_multipart_upload(Bucket=bucket, Key=key, **args)["UploadId"]
    try:
        parts = []
        for number, start in enumerate(range(0, size, part_size), 1):
            length = min(part_size, size - start)
            body = EncryptingPart(fd, enc, start, length, file_offset=file_offset)
            r = s3.upload_part(Bucket=bucket, Key=key, UploadId=upload_id, PartNumber=number, Body=body)
            parts.append({"PartNumber": number, "ETag": r["ETag"]})
            if progress:
                progress(length)
        return dict(s3.complete_multipart_upload(Bucket=bucket, Key=key, UploadId=upload_id,
                                                 MultipartUpload={"Parts": parts}))
    except BaseException:
        try:
            s3.abort_multipart_upload(Bucket=bucket, Key=key, UploadId=upload_id)
        except Exception:  # the original error matters more
            pass
        raise
