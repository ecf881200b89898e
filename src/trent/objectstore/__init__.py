"""Where object bytes live (architecture.md, wave 2): one small Protocol, several adapters.

``base`` holds the Protocol, its records and errors; ``file`` keeps objects in a
directory (the default trail bucket, under the data dir); ``s3`` talks to any
S3-compatible bucket through boto3. The audit trail delivers through it, the S3 protocol
slice reads through it; later, S3 server-side encryption stores its ciphertext here.
"""

from trent.objectstore.base import (
    InvalidObjectKey,
    InvalidRange,
    NoSuchKey,
    ObjectInfo,
    ObjectListing,
    ObjectStore,
    ObjectStoreError,
    StoredObject,
)

__all__ = [
    "InvalidObjectKey",
    "InvalidRange",
    "NoSuchKey",
    "ObjectInfo",
    "ObjectListing",
    "ObjectStore",
    "ObjectStoreError",
    "StoredObject",
]
