"""What the trail remembers about delivery: log files, digests, signing keys, lookups.

Pure records (issue 16; spec cloudtrail.md §1-§3, §5). The formats themselves (keys,
bodies, string to sign) are in ``trent.audit``; where the rows live, in
``trent.storage.sql_audit``.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass


class DeliveryState(enum.StrEnum):
    # Recorded (content and key decided) but not yet confirmed in the bucket: a
    # delivery interrupted here is completed by the next round with the same bytes.
    PENDING = "pending"
    DELIVERED = "delivered"


@dataclass(frozen=True, slots=True)
class LogFileRecord:
    account_id: str
    region: str
    bucket: str
    object_key: str
    first_sequence: int
    last_sequence: int
    # Lowercase hex SHA-256 of the uncompressed file (what a digest lists).
    sha256: str
    oldest_event_time: float
    newest_event_time: float
    delivered_at: float
    state: DeliveryState = DeliveryState.PENDING
    digest_number: int | None = None


@dataclass(frozen=True, slots=True)
class DigestRecord:
    account_id: str
    region: str
    number: int  # 1, 2, 3, ... per trail
    bucket: str
    object_key: str
    start_time: float
    end_time: float
    body: bytes  # the uncompressed digest JSON, exactly as delivered
    sha256: str  # lowercase hex SHA-256 of ``body``
    signature: str  # lowercase hex SHA256withRSA signature
    fingerprint: str
    state: DeliveryState = DeliveryState.PENDING


@dataclass(frozen=True, slots=True)
class SigningKeyRecord:
    """A digest signing key pair. The private half is ``private_blob``: wrapped under
    the root of trust, or a reference to a key inside the HSM (``signer`` says which)."""

    fingerprint: str  # 32 lowercase hex digits (spec cloudtrail.md §3)
    public_der: bytes  # PKCS#1 RSAPublicKey, DER
    private_blob: bytes
    signer: str
    valid_from: float
    valid_to: float | None = None  # None: the current key

    def __repr__(self) -> str:
        return f"SigningKeyRecord({self.fingerprint!r}, signer={self.signer!r})"


class LookupAttribute(enum.StrEnum):
    """LookupEvents' LookupAttributes keys (botocore cloudtrail model)."""

    EVENT_ID = "EventId"
    EVENT_NAME = "EventName"
    READ_ONLY = "ReadOnly"
    USERNAME = "Username"
    RESOURCE_TYPE = "ResourceType"
    RESOURCE_NAME = "ResourceName"
    EVENT_SOURCE = "EventSource"
    ACCESS_KEY_ID = "AccessKeyId"


@dataclass(frozen=True, slots=True)
class LookupQuery:
    """One page of LookupEvents: newest first, within [start_time, end_time]."""

    account_id: str
    region: str
    start_time: float
    end_time: float
    limit: int
    attribute: LookupAttribute | None = None
    value: str | None = None
    # Continue after this (event_time, sequence), exclusive (the NextToken's content).
    after: tuple[float, int] | None = None
