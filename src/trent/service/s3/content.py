"""Object bytes in and out of the object store, always through ``crypto.segments``.

Writing streams: the body is encrypted segment by segment into the store while its MD5,
size and (if asked) checksum are computed; the Content-MD5, the x-amz-checksum-* header
and the size limit are checked at the end of the body *inside* the store's atomic put,
so a body that fails any check leaves nothing behind. Reading decrypts only the
segments a range needs, blob by blob (multipart objects span several blobs); nothing is
released from a segment before its tag has checked. A stored blob that does not
authenticate is an internal error (500), with the reason only in the audit log.

Small single-part objects are kept *inline*: their ciphertext goes into the object's row
(``Blob.inline``), not into the object store. For a 1 KiB object the store's file costs
more than everything else a PUT does (create, write, fsync, rename: ~46 % of a PUT's CPU,
bench/S3_SSE.md, issue-17m), and a GET opens and reads it again; in the row, the content
commits (or rolls back) in the one transaction that already writes the row and the
events, is as durable as that row, is read by the SELECT a GET already makes, and leaves
no blob to reap. Object stores do the same (MinIO keeps objects up to 128 KiB in their
metadata file). The bytes are the same ``crypto.segments`` ciphertext either way.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import logging
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from trent import errors
from trent.crypto import segments
from trent.crypto.checksums import Checksum
from trent.crypto.md5 import StreamingMd5
from trent.domain.frozen import fast_init
from trent.domain.s3.records import Blob, ObjectRecord
from trent.service.s3.deps import S3Deps
from trent.service.s3.store import new_blob_name

log = logging.getLogger("trent.s3")


@fast_init
@dataclass(frozen=True, slots=True)
class Written:
    blob: Blob
    md5: bytes | None  # None when nothing needed it (SSE-KMS/SSE-C ETags are not MD5s)
    checksum_algorithm: str | None
    checksum_value: str | None


def decode_content_md5(value: str | None) -> bytes | None:
    if value is None:
        return None
    try:
        digest = base64.b64decode(value, validate=True)
    except binascii.Error:
        digest = b""
    if len(digest) != 16:
        raise errors.InvalidDigest()
    return digest


def write_blob(
    deps: S3Deps,
    data_key: bytes,
    part_number: int,
    body: Iterable[bytes | memoryview],
    *,
    content_md5: bytes | None = None,
    checksum_algorithm: str | None = None,
    checksum_value: str | None = None,
    declared_length: int | None = None,
    need_md5: bool = True,
) -> Written:
    """``need_md5``: the ETag is the data's MD5 (SSE-S3); otherwise MD5 (~350-600 MB/s,
    the slowest step of a PUT) is computed only to check a Content-MD5 header.

    A single-part object (``part_number`` 0) whose declared length is at most
    ``inline_max_bytes`` is kept inline (module doc); parts never are (they are at least
    5 MiB, but the last), nor a body of unknown length."""
    max_size = deps.settings.max_put_size
    if declared_length is not None and declared_length > max_size:
        raise errors.EntityTooLarge(details={"ProposedSize": str(declared_length), "MaxSizeAllowed": str(max_size)})
    content_id = deps.kms.public_rng(segments.CONTENT_ID_LEN)
    inline = part_number == 0 and declared_length is not None and declared_length <= deps.settings.inline_max_bytes
    md5 = StreamingMd5() if need_md5 or content_md5 is not None else None  # S3's ETag / Content-MD5
    checksum = Checksum(checksum_algorithm) if checksum_algorithm else None
    encryptor = segments.SegmentEncryptor(data_key, part_number, content_id)

    def ciphertext() -> Iterator[bytes | bytearray]:
        size = 0
        for piece in body:
            size += len(piece)
            if size > max_size:
                raise errors.EntityTooLarge(details={"MaxSizeAllowed": str(max_size)})
            if md5 is not None:
                md5.update(piece)
            if checksum is not None:
                checksum.update(piece)
            yield from encryptor.update(piece)
            del piece  # before the next is waited for (server.body_pipe.BodyPipe.chunks)
        if declared_length is not None and size != declared_length:
            raise errors.IncompleteBody()
        if content_md5 is not None and md5 is not None and not hmac.compare_digest(md5.digest(), content_md5):
            raise errors.BadDigest()
        if checksum is not None and checksum_value is not None:
            checksum.verify(checksum_value)
        yield from encryptor.finish()

    deps.before_content()  # the body is read from here on (S3Deps.before_content)
    if inline:
        sealed = b"".join(ciphertext())
        blob = Blob("", part_number, content_id, encryptor.length, sealed)
    else:
        name = new_blob_name(deps.kms.public_rng)
        deps.store.put(name, ciphertext())
        blob = Blob(name, part_number, content_id, encryptor.length)
    value = checksum.b64digest() if checksum is not None else None
    digest = md5.digest() if md5 is not None else None
    return Written(blob, digest, checksum_algorithm, value)


def blob_bytes(deps: S3Deps, data_key: bytes, blob: Blob, start: int, end_inclusive: int) -> Iterator[bytes | memoryview]:
    """Plaintext ``start..end_inclusive`` of one blob (``0..-1`` for an empty blob)."""
    plan = segments.plan_range(blob.size, start, end_inclusive)
    pieces: Iterable[bytes | memoryview]
    if blob.inline is not None:
        pieces = (memoryview(blob.inline)[plan.blob_start:plan.blob_end],)
    else:
        pieces = deps.store.get(blob.name, plan.blob_start, plan.blob_end)
    try:
        yield from segments.decrypt_range(data_key, blob.part_number, blob.content_id, blob.size, plan, pieces)
    except segments.SegmentError:
        raise errors.KMSInternal(audit_reason=f"stored blob {blob.name} does not authenticate") from None


def object_bytes(
    deps: S3Deps, data_key: bytes, record: ObjectRecord, start: int, end_inclusive: int
) -> Iterator[bytes | memoryview]:
    """Plaintext ``start..end_inclusive`` of an object, across its blobs."""
    if record.size == 0:
        yield from blob_bytes(deps, data_key, record.blobs[0], 0, -1)
        return
    offset = 0
    for blob in record.blobs:
        lo, hi = offset, offset + blob.size - 1
        offset += blob.size
        if blob.size == 0 or hi < start or lo > end_inclusive:
            continue
        yield from blob_bytes(deps, data_key, blob, max(start, lo) - lo, min(end_inclusive, hi) - lo)


def delete_blobs(deps: S3Deps, blobs: Iterable[Blob]) -> None:
    """Content no row points at any more. Inside a request the front door's store
    (protocol/s3/deferred_deletes.py) unlinks only blobs the request itself wrote; blobs a
    committed row referenced were recorded as garbage by the repository and are unlinked
    by the reaper after a grace period (service/s3/blob_reaper.py). Best effort: a
    failure leaves an orphan blob, which the reaper's orphan sweep finds."""
    delete_stored(deps, [blob.name for blob in blobs if blob.stored])  # inline content went with its row


def delete_stored(deps: S3Deps, names: Iterable[str]) -> None:
    """:func:`delete_blobs` by object-store name."""
    for name in names:
        try:
            deps.store.delete(name)
        except Exception:  # noqa: BLE001 - the write already committed; see delete_blobs
            log.warning("could not delete unreferenced blob %s; left for an orphan sweep", name)
