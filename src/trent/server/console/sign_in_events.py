"""``ConsoleLogin`` audit events, in CloudTrail's shape for console sign-in (issue 21:
"audit of sign-in success and failure").

As CloudTrail records them: ``eventSource`` ``signin.amazonaws.com``, ``eventType``
``AwsConsoleSignIn``, ``responseElements.ConsoleLogin`` ``Success``/``Failure`` and, on
failure, ``errorMessage`` ``Failed authentication``. When the access key id typed is not
a known one it is not recorded (people paste secrets into the wrong field): the user
name reads ``HIDDEN_DUE_TO_SECURITY_REASONS``, as AWS writes it.
"""

from __future__ import annotations

from typing import Any

from trent.audit.events import Caller, api_call_event
from trent.domain.ids import new_uuid4
from trent.domain.principals import Principal
from trent.protocol.pipeline import KmsPipeline
from trent.server.console.calls import USER_AGENT

EVENT_SOURCE = "signin.amazonaws.com"
EVENT_NAME = "ConsoleLogin"
FAILED = "Failed authentication"
THROTTLED = "Too many sign-in attempts"
HIDDEN = "HIDDEN_DUE_TO_SECURITY_REASONS"


def console_login_event(
    pipeline: KmsPipeline, *, principal: Principal | None, access_key_id: str | None, region: str, source_ip: str,
    login_to: str, failure: str | None = None,
) -> dict[str, Any]:
    if principal is not None:
        caller = pipeline.caller(principal, access_key_id)
    else:
        caller = Caller(kind="IAMUser", principal_id=None, arn=None, account_id=None, access_key_id=None,
                        user_name=HIDDEN)
    event = api_call_event(
        event_id=new_uuid4(),
        request_id=pipeline.new_request_id(),
        event_time=pipeline.deps.clock.now(),
        operation=EVENT_NAME,
        region=region,
        caller=caller,
        source_ip=source_ip,
        user_agent=USER_AGENT,
        request_parameters=None,
        response_elements={EVENT_NAME: "Failure" if failure else "Success"},
        error_code=None,
        error_message=None,
        resources=(),
        recipient_account_id=principal.account_id if principal is not None else None,
        event_source=EVENT_SOURCE,
    )
    if failure:
        event["errorMessage"] = failure
    event["additionalEventData"] = {"LoginTo": login_to, "MobileVersion": "No", "MFAUsed": "No"}
    event["eventType"] = "AwsConsoleSignIn"
    return event
