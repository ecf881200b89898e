"""CloudTrail digest files: key, body and string to sign (spec cloudtrail.md §2; issue 16).

Key (the date path and timestamp are the digest's **end** time; the AWS CLI validator
reads the timestamp from the key's characters [-24:-8])::

    [prefix/]AWSLogs/<account>/CloudTrail-Digest/<region>/YYYY/MM/DD/
        <account>_CloudTrail-Digest_<region>_<trail>_<home region>_<YYYYMMDDTHHmmssZ>.json.gz

Body: the members CloudTrail writes, in its order, then ``trentChain`` (a Trent
extension): the trail's last delivered sequence number and chain hash at the end of the
period, so a signed digest also pins the event chain. The signature is not in the body
but object metadata (``signature``, ``signature-algorithm``) over::

    digestEndTime "\\n" bucket "/" key "\\n" hex(SHA-256(uncompressed body)) "\\n" previousDigestSignature

with the literal ``null`` for the first digest's missing previous signature.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import orjson

from trent.crypto.digest_signing import ALGORITHM
from trent.domain.audit_delivery import DigestRecord, LogFileRecord

HASH_ALGORITHM = "SHA-256"
METADATA_SIGNATURE = "signature"
METADATA_ALGORITHM = "signature-algorithm"


def iso(epoch: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(int(epoch)))


def digest_key(prefix: str | None, account_id: str, region: str, trail_name: str, home_region: str,
               end_time: float) -> str:
    t = time.gmtime(int(end_time))
    key = (
        f"AWSLogs/{account_id}/CloudTrail-Digest/{region}/{t.tm_year:04d}/{t.tm_mon:02d}/{t.tm_mday:02d}/"
        f"{account_id}_CloudTrail-Digest_{region}_{trail_name}_{home_region}_{time.strftime('%Y%m%dT%H%M%SZ', t)}"
        ".json.gz"
    )
    return f"{prefix}/{key}" if prefix else key


def digest_prefix(prefix: str | None, account_id: str, region: str) -> str:
    key = f"AWSLogs/{account_id}/CloudTrail-Digest/{region}/"
    return f"{prefix}/{key}" if prefix else key


@dataclass(frozen=True, slots=True)
class DigestContent:
    account_id: str
    bucket: str
    key: str
    start_time: float
    end_time: float
    fingerprint: str
    log_files: Sequence[LogFileRecord]
    previous: DigestRecord | None
    last_sequence: int
    last_hash: bytes


def build(content: DigestContent) -> bytes:
    """The uncompressed digest body."""
    files = content.log_files
    previous = content.previous
    body: dict[str, Any] = {
        "awsAccountId": content.account_id,
        "digestStartTime": iso(content.start_time),
        "digestEndTime": iso(content.end_time),
        "digestS3Bucket": content.bucket,
        "digestS3Object": content.key,
        "digestPublicKeyFingerprint": content.fingerprint,
        "digestSignatureAlgorithm": ALGORITHM,
        "newestEventTime": iso(max(f.newest_event_time for f in files)) if files else None,
        "oldestEventTime": iso(min(f.oldest_event_time for f in files)) if files else None,
        "previousDigestS3Bucket": previous.bucket if previous else None,
        "previousDigestS3Object": previous.object_key if previous else None,
        "previousDigestHashValue": previous.sha256 if previous else None,
        "previousDigestHashAlgorithm": HASH_ALGORITHM if previous else None,
        "previousDigestSignature": previous.signature if previous else None,
        "logFiles": [
            {
                "s3Bucket": f.bucket,
                "s3Object": f.object_key,
                "hashValue": f.sha256,
                "hashAlgorithm": HASH_ALGORITHM,
                "newestEventTime": iso(f.newest_event_time),
                "oldestEventTime": iso(f.oldest_event_time),
            }
            for f in files
        ],
        "trentChain": {"lastSequence": content.last_sequence, "lastHash": content.last_hash.hex()},
    }
    return orjson.dumps(body)


def string_to_sign(end_time: str, bucket: str, key: str, body_sha256_hex: str, previous_signature: str | None) -> bytes:
    return f"{end_time}\n{bucket}/{key}\n{body_sha256_hex}\n{previous_signature or 'null'}".encode()


def key_timestamp(key: str) -> str:
    """The ``YYYYMMDDTHHmmssZ`` part of a digest key, read as the validator reads it."""
    return key[-24:-8]
