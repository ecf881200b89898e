"""Encrypting uploads with bounded memory: one PutObject, or a multipart upload.

The plaintext is read part by part into one of two buffers, encrypted *in place*
(``update_into(buf, buf)``), and handed to an uploader thread while the next part is read and
encrypted — so the CPU works while the server receives. The GCM tag is appended to the last
part (§4.2: one GCM stream spans the object). Memory: 2 x part size (+ 16) bytes.

Each buffer is exactly its part and goes to botocore as the ``bytearray`` itself: urllib3
sends a buffer with one ``sendall`` and no copy, where a file-like body is read back in
blocks that each become a new ``bytes`` (and costs an ``Expect: 100-continue`` round trip).
botocore accepts no memoryview, so the last part's buffer is cut (or grown) to the ciphertext
plus the tag; it is not reused afterwards.

When the size is not known (a pipe), one byte is read ahead after each full part to learn
whether it was the last; that byte starts the next part.

Any failure aborts the multipart upload, so no partial object becomes visible.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, BinaryIO

from .content import TAG_LEN, GcmEncryptor
from .errors import ConfigurationError
from .streams import read_exactly

MiB = 1 << 20
MIN_PART = 5 * MiB  # S3: every part but the last
MAX_PARTS = 10_000

Progress = Callable[[int], None]


def part_size_for(size: int | None, wanted: int) -> int:
    """``wanted``, grown (to whole MiB) when ``size`` would need more than 10,000 parts."""
    if size is None or (size + TAG_LEN) <= wanted * MAX_PARTS:
        return wanted
    need = -(-(size + TAG_LEN) // MAX_PARTS)
    return -(-need // MiB) * MiB


@dataclass
class _Part:
    number: int
    buf: bytearray
    length: int


class _Uploader(threading.Thread):
    def __init__(self, s3: Any, bucket: str, key: str, upload_id: str, free: queue.Queue[bytearray],
                 progress: Progress | None) -> None:
        super().__init__(name="s3ec-upload", daemon=True)
        self.todo: queue.Queue[_Part | None] = queue.Queue(maxsize=1)
        self.parts: list[dict[str, Any]] = []
        self.error: BaseException | None = None
        self._s3, self._bucket, self._key, self._upload_id = s3, bucket, key, upload_id
        self._free, self._progress = free, progress

    def run(self) -> None:
        while (part := self.todo.get()) is not None:
            try:
                if self.error is None:
                    r = self._s3.upload_part(Bucket=self._bucket, Key=self._key, UploadId=self._upload_id,
                                             PartNumber=part.number, Body=part.buf)
                    self.parts.append({"PartNumber": part.number, "ETag": r["ETag"]})
                    if self._progress:
                        self._progress(part.length)
            except BaseException as e:  # reported to the reading thread, which aborts
                self.error = e
            finally:
                self._free.put(part.buf)


class PartReader:
    """Reads plaintext parts; knows (or learns by peeking one byte) which part is last."""

    def __init__(self, reader: BinaryIO | Any, size: int | None) -> None:
        self._reader, self._left, self._peeked = reader, size, b""

    def fill(self, view: memoryview) -> tuple[int, bool]:
        """(bytes read into view, is this the last part)."""
        start = 0
        if self._peeked:
            view[0:1] = self._peeked
            self._peeked, start = b"", 1
        want = len(view) if self._left is None else min(len(view), self._left)
        n = start + read_exactly(self._reader, view[start:want])
        if self._left is not None:
            if n != want:
                raise ConfigurationError("the source ended before its announced size")
            self._left -= n
            return n, self._left == 0
        if n < len(view):
            return n, True
        self._peeked = self._reader.read(1)
        return n, not self._peeked


def seal(buf: bytearray, n: int, last: bool, encryptor: GcmEncryptor) -> None:
    """Encrypt ``buf[:n]`` in place; for the last part, make ``buf`` exactly ciphertext ‖ tag.

    Every other part fills its buffer (``n == len(buf)``), so the buffer is the part's body."""
    with memoryview(buf) as view:  # released before the resize below (a live export forbids it)
        encryptor.update_into(view[:n], view[:n])
    if last:
        buf[n:] = encryptor.finalize()  # cuts a short last part, or grows a full one by 16


def multipart_upload(s3: Any, bucket: str, key: str, create_args: dict[str, Any], parts: PartReader,
                     encryptor: GcmEncryptor, first: tuple[bytearray, int, bool], part_size: int,
                     progress: Progress | None) -> dict[str, Any]:
    """Upload ``first`` (already read, not yet encrypted) and everything after it."""
    upload_id = s3.create_multipart_upload(Bucket=bucket, Key=key, **create_args)["UploadId"]
    free: queue.Queue[bytearray] = queue.Queue()
    free.put(bytearray(part_size))
    uploader = _Uploader(s3, bucket, key, upload_id, free, progress)
    uploader.start()
    try:
        buf, n, last = first
        number = 1
        while True:
            seal(buf, n, last, encryptor)
            uploader.todo.put(_Part(number, buf, len(buf)))
            if last:
                break
            number += 1
            buf = free.get()
            if uploader.error is not None:
                break
            n, last = parts.fill(memoryview(buf)[:part_size])
        uploader.todo.put(None)
        uploader.join()
        if uploader.error is not None:
            raise uploader.error
        return dict(s3.complete_multipart_upload(Bucket=bucket, Key=key, UploadId=upload_id,
                                                 MultipartUpload={"Parts": uploader.parts}))
    except BaseException:
        if uploader.is_alive():
            uploader.error = uploader.error or RuntimeError("aborted")
            uploader.todo.put(None)
            uploader.join()
        try:
            s3.abort_multipart_upload(Bucket=bucket, Key=key, UploadId=upload_id)
        except Exception:  # the original error matters more
            pass
        raise
