"""Bucket names, object keys and their ARNs (S3 User Guide, "Bucket naming rules",
"Naming Amazon S3 objects"; s3-sse spec §4 for the ARN forms in encryption contexts)."""

from __future__ import annotations

import ipaddress
import re

from trent import errors

MAX_KEY_BYTES = 1024
_BUCKET_RE = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
_RESERVED_PREFIXES = ("xn--", "sthree-", "amzn-s3-demo-")
_RESERVED_SUFFIXES = ("-s3alias", "--ol-s3", ".mrap", "--x-s3", "--table-s3")


def bucket_name_problem(name: str) -> str | None:
    """Why ``name`` is not a valid general-purpose bucket name (None: it is)."""
    if not _BUCKET_RE.match(name):
        return "3 to 63 lowercase letters, digits, dots and hyphens, starting and ending with a letter or digit"
    if ".." in name:
        return "two adjacent periods"
    if name.startswith(_RESERVED_PREFIXES) or name.endswith(_RESERVED_SUFFIXES):
        return "a reserved prefix or suffix"
    try:
        ipaddress.IPv4Address(name)
    except ValueError:
        return None
    return "formatted as an IP address"


def check_bucket_name(name: str) -> None:
    problem = bucket_name_problem(name)
    if problem is not None:
        raise errors.InvalidBucketName(details={"BucketName": name}, audit_reason=problem)


def check_object_key(key: str) -> None:
    if not key:
        raise errors.InvalidArgument("Object key must not be empty", audit_reason="empty key")
    if len(key.encode("utf-8", "surrogatepass")) > MAX_KEY_BYTES:
        raise errors.KeyTooLong(details={"Size": str(len(key.encode("utf-8", "surrogatepass"))),
                                         "MaxSizeAllowed": str(MAX_KEY_BYTES)})


def bucket_arn(partition: str, bucket: str) -> str:
    """``arn:aws:s3:::<bucket>`` (no region, no account: bucket names are global)."""
    return f"arn:{partition}:s3:::{bucket}"


def object_arn(partition: str, bucket: str, key: str) -> str:
    return f"arn:{partition}:s3:::{bucket}/{key}"
