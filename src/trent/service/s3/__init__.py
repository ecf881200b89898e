"""S3 with server-side encryption, below the HTTP front (issue 17, phase 1).

Use cases (plain functions over ``S3Deps`` and a ``RequestContext``):

    buckets.py        CreateBucket DeleteBucket HeadBucket ListBuckets GetBucketLocation
    objects.py        PutObject GetObject/HeadObject (Range, partNumber, conditions)
                      DeleteObject DeleteObjects
    copy.py           CopyObject (in-place copy that changes the encryption)
    multipart.py      Create/UploadPart/UploadPartCopy/Complete/Abort, ListParts
    listing.py        ListObjects ListObjectsV2 ListMultipartUploads
    bucket_config.py  Put/Get/DeleteBucketEncryption, Put/Get/DeleteBucketPolicy

Encryption (s3-sse spec §3-6): ``data_keys.py`` picks the mode and keeps each object's
data key — SSE-S3 (``owned_keys.py``), SSE-KMS through the KMS use cases as the caller
(``sse_kms.py``) with S3 Bucket Keys (``bucket_keys.py``), SSE-C (``sse_c.py``); the
bytes go through ``crypto.segments`` (``content.py``). Authorization: the one engine,
with S3 resources and condition keys (``authorization.py``). Header rules of the spec
as pure functions: ``sse_headers.py``, ``object_headers.py``; ETags: ``etags.py``.
KMS calls made for the caller are reported to ``S3Deps.kms_audit`` (``kms_calls.py``).

The content store is the Protocol in ``store.py`` (``objectstore/blob_file.py`` and
``blob_s3.py`` implement it); the HTTP front is ``protocol/s3`` (phase 2).
"""

from trent.service.s3.deps import S3Deps, S3Settings
from trent.service.s3.kms_calls import KmsAuditHook, KmsCall
from trent.service.s3.store import ObjectStore

__all__ = ["KmsAuditHook", "KmsCall", "ObjectStore", "S3Deps", "S3Settings"]
