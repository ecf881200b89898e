"""Pure checks of delivered files (issue 16): a digest against its signature, location and
predecessor; a log file's records against the event chain. ``service/audit_verify.py``
feeds them bytes from the bucket and rows from the database.

Every check returns problems as plain strings (one per problem), never raises on bad
input: a verifier reports everything it finds.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from typing import Any

import orjson

from trent.audit import digests, logfiles
from trent.crypto.digest_signing import verify as verify_signature
from trent.domain.audit_chain import chain_over

_DIGEST_KEY = re.compile(
    r"^(?:(?P<prefix>.+)/)?AWSLogs/(?P<account>\d{12})/CloudTrail-Digest/(?P<region>[a-z0-9-]+)/\d{4}/\d{2}/\d{2}/"
    r"(?P=account)_CloudTrail-Digest_(?P=region)_(?P<trail>.+)_(?P<home>[a-z0-9-]+)_(?P<stamp>\d{8}T\d{6}Z)\.json\.gz$"
)
_LOG_KEY = re.compile(
    r"^(?:(?P<prefix>.+)/)?AWSLogs/(?P<account>\d{12})/CloudTrail/(?P<region>[a-z0-9-]+)/\d{4}/\d{2}/\d{2}/"
    r"(?P=account)_CloudTrail_(?P=region)_(?P<stamp>\d{8}T\d{4}Z)_[A-Za-z0-9]{16}\.json\.gz$"
)


@dataclass(frozen=True, slots=True)
class KeyInfo:
    kind: str  # "digest" | "log"
    account_id: str
    region: str
    stamp: str
    trail: str | None = None


def classify(key: str, prefix: str | None) -> KeyInfo | None:
    """What a bucket key is, by CloudTrail's layout (None: not a trail file)."""
    for kind, pattern in (("digest", _DIGEST_KEY), ("log", _LOG_KEY)):
        m = pattern.match(key)
        if m is not None and m["prefix"] == prefix:
            return KeyInfo(kind, m["account"], m["region"], m["stamp"], m.groupdict().get("trail"))
    return None


@dataclass(slots=True)
class Digest:
    key: str
    body: bytes  # uncompressed
    data: dict[str, Any]
    signature: str | None

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.body).hexdigest()


def open_digest(key: str, raw: bytes, metadata: dict[str, str]) -> tuple[Digest | None, list[str]]:
    try:
        body = logfiles.decompress(raw)
        data = orjson.loads(body)
        if not isinstance(data, dict):
            raise ValueError("not an object")
    except (ValueError, orjson.JSONDecodeError) as exc:
        return None, [f"INVALID: invalid format ({exc})"]
    return Digest(key, body, data, metadata.get(digests.METADATA_SIGNATURE)), []


def check_digest(digest: Digest, bucket: str, public_keys: dict[str, bytes]) -> list[str]:
    """The checks validate-logs makes on one digest: required members, location, public
    key, signature (spec cloudtrail.md §2)."""
    data = digest.data
    for member in ("digestPublicKeyFingerprint", "digestS3Bucket", "digestS3Object", "previousDigestSignature",
                   "digestEndTime", "digestStartTime", "logFiles"):
        if member not in data:
            return [f"INVALID: invalid format (no {member})"]
    if data["digestS3Bucket"] != bucket or data["digestS3Object"] != digest.key:
        return [f"INVALID: has been moved from its original location (s3://{data['digestS3Bucket']}/"
                f"{data['digestS3Object']})"]
    public = public_keys.get(str(data["digestPublicKeyFingerprint"]))
    if public is None:
        return [f"INVALID: public key not found for fingerprint {data['digestPublicKeyFingerprint']}"]
    if not digest.signature:
        return ["INVALID: no signature in the object's metadata"]
    to_sign = digests.string_to_sign(str(data["digestEndTime"]), bucket, digest.key, digest.sha256,
                                     data["previousDigestSignature"])
    try:
        signature = bytes.fromhex(digest.signature)
    except ValueError:
        return ["INVALID: signature is not hex"]
    if not verify_signature(public, to_sign, signature):
        return ["INVALID: signature verification failed"]
    return []


def check_link(digest: Digest, previous: Digest | None) -> list[str]:
    """Digest n names digest n-1 exactly (key, hash, signature) and starts where it ended."""
    data = digest.data
    if previous is None:
        if data.get("previousDigestS3Object") is not None:
            return [f"INVALID: previous digest {data['previousDigestS3Object']} not found"]
        return []
    problems = []
    if data.get("previousDigestS3Object") != previous.key:
        problems.append(f"INVALID: names {data.get('previousDigestS3Object')} as its previous digest, "
                        f"but the previous digest in the bucket is {previous.key}")
    elif data.get("previousDigestHashValue") != previous.sha256:
        problems.append("INVALID: previous digest's hash does not match")
    elif data.get("previousDigestSignature") != previous.signature:
        problems.append("INVALID: previous digest's signature does not match")
    if data.get("digestStartTime") != previous.data.get("digestEndTime"):
        problems.append(f"INVALID: starts at {data.get('digestStartTime')}, the previous digest ended at "
                        f"{previous.data.get('digestEndTime')} (a gap)")
    return problems


@dataclass(slots=True)
class ChainPosition:
    """Where the event chain stands while log files are checked in order."""

    sequence: int
    tip: bytes


def file_chain_problems(parsed: logfiles.ParsedLogFile) -> list[str]:
    """A log file on its own: its records re-hash from its previous hash to its last hash."""
    header = parsed.chain
    if header is None:
        return ["INVALID: no trentChain member (not written by Trent?)"]
    problems: list[str] = []
    if header.last_sequence - header.first_sequence + 1 != len(parsed.records):
        problems.append(f"INVALID: holds {len(parsed.records)} records for events {header.first_sequence}.."
                        f"{header.last_sequence}")
    if chain_over(header.previous_hash, parsed.records) != header.last_hash:
        problems.append(f"INVALID: the records do not hash to the file's chain: events {header.first_sequence}.."
                        f"{header.last_sequence} were edited, removed, added or reordered")
    return problems


def link_problems(header: logfiles.ChainHeader, position: ChainPosition | None) -> list[str]:
    """A log file continues the chain where the previous file (in sequence order) left it."""
    if position is None:
        return []
    if header.first_sequence > position.sequence + 1:
        return [f"INVALID: events {position.sequence + 1}..{header.first_sequence - 1} are missing "
                "(no log file holds them)"]
    if header.first_sequence <= position.sequence:
        return [f"INVALID: events {header.first_sequence}..{min(position.sequence, header.last_sequence)}"
                " appear twice"]
    if header.previous_hash != position.tip:
        return [f"INVALID: event {header.first_sequence} does not chain to event {position.sequence}"]
    return []
