"""CloudTrail events for KMS calls another service made for a caller (issue 17: S3
SSE-KMS; s3-sse spec §4, cloudtrail spec for the shape).

The event is the KMS API call's own (``eventSource: kms.amazonaws.com``), with the
caller's ``userIdentity`` plus ``invokedBy: "s3.amazonaws.com"``, and
``sourceIPAddress`` / ``userAgent`` ``"s3.amazonaws.com"``; ``requestParameters`` carry
the key id (GenerateDataKey), the key spec or algorithm, and the encryption context.
Errors use the KMS wire map's error code, as direct calls do. Phase 2's S3 front door
passes ``kms_event`` (with the pipeline's ``caller()``) as ``S3Deps.kms_audit`` into the
one audit sink.
"""

from __future__ import annotations

from typing import Any

from trent.audit.events import Caller, api_call_event
from trent.domain.ids import new_uuid4
from trent.protocol.errors import wire_error
from trent.service.s3.kms_calls import INVOKED_BY, KmsCall


def kms_event(call: KmsCall, caller: Caller) -> dict[str, Any]:
    ctx = call.ctx
    params: dict[str, Any] = {"encryptionContext": dict(call.encryption_context)}
    if call.operation == "GenerateDataKey":
        params["keyId"] = call.request_key_id
        params["keySpec"] = call.key_spec
    else:
        params["encryptionAlgorithm"] = "SYMMETRIC_DEFAULT"
    event = api_call_event(
        event_id=new_uuid4(),
        request_id=ctx.request_id,
        event_time=call.started,
        operation=call.operation,
        region=ctx.region,
        caller=caller,
        source_ip=INVOKED_BY,
        user_agent=INVOKED_BY,
        request_parameters=params,
        response_elements=None,
        error_code=wire_error(call.error).type_name if call.error is not None else None,
        error_message=call.error.message if call.error is not None else None,
        resources=[(call.key_arn.split(":")[4], call.key_arn)] if call.key_arn else [],
        recipient_account_id=ctx.account_id,
    )
    event["userIdentity"] = {**event["userIdentity"], "invokedBy": INVOKED_BY}
    if call.error is not None and call.error.audit_reason is not None:
        event["additionalEventData"] = {"failureReason": call.error.audit_reason}
    return event
