"""S3's ETag rules (s3-sse spec §2).

* plaintext and SSE-S3, single part: the MD5 of the object data;
* SSE-KMS and SSE-C: *not* an MD5 of the data (opaque): here the MD5 of a label and
  the blob's content id (random per write) — stable for the stored object, unrelated to
  the data, and it spares these modes the MD5 pass over the data;
* multipart: ``"<MD5 of the concatenated binary part ETags>-<part count>"``, whatever
  the parts' own ETags are.

ETags are returned with their double quotes, as S3 sends them.
"""

from __future__ import annotations

import hashlib

from trent.domain.s3.records import SseMode

_OPAQUE_LABEL = b"trent/s3/opaque-etag/v1\x00"


def needs_md5(mode: SseMode) -> bool:
    return mode is SseMode.SSE_S3


def single_part(mode: SseMode, data_md5: bytes | None, content_id: bytes) -> str:
    if mode is SseMode.SSE_S3:
        assert data_md5 is not None
        return f'"{data_md5.hex()}"'
    return f'"{hashlib.md5(_OPAQUE_LABEL + content_id).hexdigest()}"'  # noqa: S324 - S3's format


def multipart(part_etags: list[str]) -> str:
    joined = b"".join(bytes.fromhex(e.strip('"')) for e in part_etags)
    return f'"{hashlib.md5(joined).hexdigest()}-{len(part_etags)}"'  # noqa: S324 - S3's format
