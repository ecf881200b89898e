"""S3 request documents (REST-XML in), parsed into plain values (issue 17).

    create_bucket_configuration(body)  -> LocationConstraint | None
    delete_request(body)               -> (keys, quiet)              DeleteObjects
    completed_parts(body)              -> [(part number, ETag)]      CompleteMultipartUpload
    encryption_rules(body)             -> [EncryptionConfig]         PutBucketEncryption

Elements are matched by local name, with or without S3's namespace (clients send both).
Anything that is not well-formed, has a DOCTYPE (no entities are ever expanded), or
lacks a required element is S3's ``MalformedXML`` (400). Bodies are bounded, by the
handler that reads them and again here: :data:`MAX_DOCUMENT_BYTES`, and the larger
:data:`MAX_DELETE_DOCUMENT_BYTES` (DeleteObjects) and :data:`MAX_COMPLETE_DOCUMENT_BYTES`
(CompleteMultipartUpload).
"""

from __future__ import annotations

import xml.etree.ElementTree as ET  # noqa: S405 - no DTDs accepted (see _root), expat never fetches
from collections.abc import Iterator

from trent import errors
from trent.domain.s3.names import MAX_KEY_BYTES
from trent.domain.s3.records import EncryptionConfig
from trent.service.s3.bucket_config import parse_sse_algorithm
from trent.service.s3.multipart import CompletedPart
from trent.service.s3.objects import MAX_DELETE_KEYS

MAX_DOCUMENT_BYTES = 1 << 20
# DeleteObjects: S3 takes 1000 keys of up to 1024 bytes each (over 1 MiB of XML already),
# and a key's characters may come escaped: up to 6 bytes each (``&quot;``; ``&amp;`` is 5,
# as botocore writes an ``&``), with up to 1 KiB more per object of elements (``<Object>``,
# ``<Key>``, ``<VersionId>``, ``<ETag>``, ...) and whitespace. ~7 MB, read after the
# request was authenticated.
MAX_DELETE_DOCUMENT_BYTES = MAX_DELETE_KEYS * (6 * MAX_KEY_BYTES + 1024)
# CompleteMultipartUpload: S3 takes up to 10,000 parts, and botocore lists each with its
# ETag (quoted) and part number, and since 2025 its checksum (``ChecksumCRC32`` by default,
# up to 44 characters for SHA-256): ~120 bytes a part, so an upload of 10,000 parts (the
# AWS CLI's, for an object over ~80 GB at its 8 MiB part size) sends ~1.2 MB. 1 KiB a part
# with room for escapes, namespaces and whitespace: ~10 MB, read after authentication.
MAX_PARTS = 10_000
MAX_COMPLETE_DOCUMENT_BYTES = MAX_PARTS * 1024


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _root(body: bytes, name: str, limit: int = MAX_DOCUMENT_BYTES) -> ET.Element:
    if len(body) > limit or b"<!DOCTYPE" in body or b"<!ENTITY" in body:
        raise errors.MalformedXML()
    try:
        root = ET.fromstring(body)  # noqa: S314 - DTDs refused above
    except ET.ParseError:
        raise errors.MalformedXML() from None
    if _local(root.tag) != name:
        raise errors.MalformedXML()
    return root


def _children(element: ET.Element, name: str) -> Iterator[ET.Element]:
    return (child for child in element if _local(child.tag) == name)


def _child(element: ET.Element, name: str) -> ET.Element | None:
    return next(_children(element, name), None)


def _text(element: ET.Element, name: str, *, required: bool = True) -> str | None:
    child = _child(element, name)
    if child is None:
        if required:
            raise errors.MalformedXML()
        return None
    return child.text or ""


def create_bucket_configuration(body: bytes) -> str | None:
    """CreateBucket's optional body: the LocationConstraint (None when absent/empty)."""
    if not body.strip():
        return None
    root = _root(body, "CreateBucketConfiguration")
    value = _text(root, "LocationConstraint", required=False)
    return value or None


def delete_request(body: bytes) -> tuple[list[str], bool]:
    """DeleteObjects: ``<Delete><Quiet>?<Object><Key>..</Key></Object>+</Delete>``."""
    root = _root(body, "Delete", MAX_DELETE_DOCUMENT_BYTES)
    keys = []
    for obj in _children(root, "Object"):
        key = _text(obj, "Key")
        version = _text(obj, "VersionId", required=False)
        if version not in (None, "null"):
            raise errors.InvalidArgument("Trent does not keep object versions", details={"ArgumentName": "VersionId"})
        keys.append(key or "")
    quiet = (_text(root, "Quiet", required=False) or "false").strip().lower() == "true"
    if not keys:
        raise errors.MalformedXML()
    return keys, quiet


def completed_parts(body: bytes) -> list[CompletedPart]:
    """CompleteMultipartUpload: ``<CompleteMultipartUpload><Part><PartNumber/><ETag/>``."""
    root = _root(body, "CompleteMultipartUpload", MAX_COMPLETE_DOCUMENT_BYTES)
    parts = []
    for part in _children(root, "Part"):
        number = (_text(part, "PartNumber") or "").strip()
        if not number.isdigit():
            raise errors.MalformedXML()
        parts.append(CompletedPart(int(number), (_text(part, "ETag") or "").strip()))
    if not parts:
        raise errors.MalformedXML()
    return parts


def encryption_rules(body: bytes) -> list[EncryptionConfig]:
    """PutBucketEncryption's ServerSideEncryptionConfiguration (s3-sse spec §7)."""
    root = _root(body, "ServerSideEncryptionConfiguration")
    rules = []
    for rule in _children(root, "Rule"):
        default = _child(rule, "ApplyServerSideEncryptionByDefault")
        if default is None:
            raise errors.MalformedXML()
        algorithm = parse_sse_algorithm((_text(default, "SSEAlgorithm") or "").strip())
        key_id = _text(default, "KMSMasterKeyID", required=False)
        raw_bucket_key = (_text(rule, "BucketKeyEnabled", required=False) or "false").strip().lower()
        if raw_bucket_key not in ("true", "false"):
            raise errors.MalformedXML()
        rules.append(EncryptionConfig(algorithm, key_id.strip() if key_id else None, raw_bucket_key == "true"))
    if not rules:
        raise errors.MalformedXML()
    return rules
