"""CloudTrail-shaped audit events (spec §11).

One event per API call, success or failure. What goes in is decided here and
nowhere else: request parameters arrive already redacted (no plaintext, blobs or
secrets — see ``trent.protocol.validation.audit_safe_params``), crypto and read
operations carry ``responseElements: null``, and a failure carries
``errorCode``/``errorMessage`` (the wire message, never an internal reason).
"""

from __future__ import annotations

import functools
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

EVENT_VERSION = "1.11"
EVENT_SOURCE = "kms.amazonaws.com"

# spec §11: crypto operations and Describe/Get/List are read-only (issue 16: and
# CloudTrail's LookupEvents, S3's HeadObject/HeadBucket).
_READ_ONLY_PREFIXES = ("Describe", "Get", "List", "Lookup", "Head")
_READ_ONLY_OPS = frozenset(
    {
        "Encrypt", "Decrypt", "ReEncrypt", "GenerateDataKey", "GenerateDataKeyWithoutPlaintext",
        "GenerateDataKeyPair", "GenerateDataKeyPairWithoutPlaintext", "Sign", "Verify",
        "GenerateMac", "VerifyMac", "DeriveSharedSecret", "GenerateRandom",
    }
)


def is_read_only(operation: str) -> bool:
    return operation in _READ_ONLY_OPS or operation.startswith(_READ_ONLY_PREFIXES)


@functools.lru_cache(maxsize=64)
def _format_second(second: int) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(second))


def cloudtrail_time(epoch: float) -> str:
    # Thousands of events share a second; format each second once.
    return _format_second(int(epoch))


@dataclass(frozen=True)
class Caller:
    """userIdentity as CloudTrail shows it."""

    kind: str  # IAMUser | AssumedRole | Root | AWSAccount | Unknown
    principal_id: str | None
    arn: str | None
    account_id: str | None
    access_key_id: str | None
    user_name: str | None = None

    @functools.cached_property
    def user_identity(self) -> dict[str, Any]:
        """Built once per caller; events share it (it is serialized, never mutated)."""
        identity: dict[str, Any] = {"type": self.kind}
        for name, value in (
            ("principalId", self.principal_id),
            ("arn", self.arn),
            ("accountId", self.account_id),
            ("accessKeyId", self.access_key_id),
            ("userName", self.user_name),
        ):
            if value is not None:
                identity[name] = value
        return identity


def api_call_event(
    *,
    event_id: str,
    request_id: str,
    event_time: float,
    operation: str,
    region: str,
    caller: Caller,
    source_ip: str,
    user_agent: str | None,
    request_parameters: Mapping[str, Any] | None,
    response_elements: Mapping[str, Any] | None,
    error_code: str | None,
    error_message: str | None,
    resources: Sequence[tuple[str, str]],
    recipient_account_id: str | None,
    event_source: str = EVENT_SOURCE,  # "sts.amazonaws.com" for STS calls (issue 5)
    resource_type: str = "AWS::KMS::Key",
    # issue 16: S3 object reads are data events ("Data", managementEvent false)
    event_category: str = "Management",
    extra_resources: Sequence[tuple[str, str, str]] = (),
) -> dict[str, Any]:
    event: dict[str, Any] = {
        "eventVersion": EVENT_VERSION,
        "userIdentity": caller.user_identity,
        "eventTime": cloudtrail_time(event_time),
        "eventSource": event_source,
        "eventName": operation,
        "awsRegion": region,
        "sourceIPAddress": source_ip,
        "userAgent": user_agent,
    }
    if error_code is not None:
        event["errorCode"] = error_code
        if error_message is not None:
            event["errorMessage"] = error_message
    event["requestParameters"] = request_parameters
    event["responseElements"] = None if is_read_only(operation) else response_elements
    event["requestID"] = request_id
    event["eventID"] = event_id
    event["readOnly"] = is_read_only(operation)
    event["resources"] = [{"accountId": acct, "type": resource_type, "ARN": arn} for acct, arn in resources] + [
        {"accountId": acct, "type": kind, "ARN": arn} for acct, kind, arn in extra_resources
    ]
    event["eventType"] = "AwsApiCall"
    event["managementEvent"] = event_category == "Management"
    event["recipientAccountId"] = recipient_account_id
    event["eventCategory"] = event_category
    return event


def service_event(
    *, event_id: str, event_time: float, operation: str, region: str, account_id: str, key_arn: str, key_id: str
) -> dict[str, Any]:
    """Events Trent performs itself (DeleteKey at the end of a window, ...) (spec §11)."""
    return {
        "eventVersion": EVENT_VERSION,
        "userIdentity": {"accountId": account_id, "invokedBy": "AWS Internal"},
        "eventTime": cloudtrail_time(event_time),
        "eventSource": EVENT_SOURCE,
        "eventName": operation,
        "awsRegion": region,
        "sourceIPAddress": "AWS Internal",
        "userAgent": "AWS Internal",
        "requestParameters": None,
        "responseElements": None,
        "eventID": event_id,
        "readOnly": False,
        "resources": [{"accountId": account_id, "type": "AWS::KMS::Key", "ARN": key_arn}],
        "eventType": "AwsServiceEvent",
        "managementEvent": True,
        "recipientAccountId": account_id,
        "serviceEventDetails": {"keyId": key_id},
        "eventCategory": "Management",
    }
