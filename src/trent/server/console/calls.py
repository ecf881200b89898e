"""The console's only way to do anything: call the API's own operations as the signed-in
principal (issue 21).

``ConsoleCaller.call("DisableKey", {"KeyId": ...})`` goes through
``KmsPipeline.prepare_signed_in`` (the sealed gate, routing and model validation of the
wire), the operation's handler from ``protocol.operations`` (so the service use case,
its authorization by key policy, IAM policy and grants, its state checks), and
``KmsPipeline.conclude`` (one CloudTrail event), exactly as a SigV4 request would. The
event names the console (``userAgent``, ``sessionCredentialFromConsole``, as CloudTrail
marks console sessions) and is written before the result is used: if it cannot be
written, the page fails closed. Parameters and results are the wire's JSON shapes, so a
page can show only what the API returns.

CloudTrail calls (the audit pages' LookupEvents, DescribeTrails, GetTrailStatus,
ListPublicKeys) go through ``CloudTrailFrontDoor.call_signed_in``: the same use cases,
IAM authorization, LookupEvents throttle and event (eventSource cloudtrail) as the wire.

Two calls that are not KMS operations take the same care: the explanation of a decision
(``ExplainFrontDoor.answer``, audited as ``ExplainAuthorization``) and the account's IAM
users and roles for the wizard (``service.directory``, audited as IAM events).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import orjson

from trent import __version__, errors
from trent.audit.events import api_call_event
from trent.audit.records import AuditEntry
from trent.audit.sink import AuditWriteError
from trent.domain.ids import new_uuid4
from trent.domain.principals import Principal
from trent.protocol.cloudtrail.errors import cloudtrail_wire_error
from trent.protocol.cloudtrail.front_door import CloudTrailFrontDoor
from trent.protocol.errors import wire_error
from trent.protocol.explain_endpoint import ExplainFrontDoor
from trent.protocol.operations import Outcome
from trent.protocol.pipeline import KmsPipeline, partition_for, run_handler
from trent.protocol.recording import Concluded, atomically
from trent.service import directory
from trent.service.context import RequestContext

log = logging.getLogger("trent.console")

USER_AGENT = f"trent-console/{__version__}"
# CloudTrail's top-level marker of calls made with a console session.
CONSOLE_EVENT_MARKER: Mapping[str, str] = {"sessionCredentialFromConsole": "true"}
IAM_EVENT_SOURCE = "iam.amazonaws.com"
MAX_PAGES = 20  # a listing reads at most this many pages of the API
THROTTLED = "ThrottlingException"
# Back-off before each retry of a throttled CloudTrail call (spec cloudtrail.md §5: AWS
# throttles LookupEvents per account and region; a page waits at most ~0.6 s).
CLOUDTRAIL_RETRY_DELAYS = (0.1, 0.2, 0.3)


class CallFailed(Exception):
    """An API call answered with an error: the wire's type name and message."""

    def __init__(self, operation: str, code: str, message: str, status: int) -> None:
        self.operation = operation
        self.code = code
        self.message = message
        self.status = 403 if code == "AccessDeniedException" else status
        super().__init__(f"{operation}: {code}")

    @classmethod
    def of(cls, operation: str, error: errors.TrentError) -> CallFailed:
        wire = wire_error(error)
        return cls(operation, wire.type_name, error.message or "", wire.status)

    @property
    def denied(self) -> bool:
        return self.code == "AccessDeniedException"


class AuditUnavailable(Exception):
    """The call's audit event could not be written: nothing it returned may be shown."""


@dataclass(frozen=True, slots=True)
class Identity:
    """Who the console acts as: the session's principal, access key and region."""

    principal: Principal
    access_key_id: str
    region: str


class ConsoleCaller:
    def __init__(self, pipeline: KmsPipeline, explain_door: ExplainFrontDoor, identity: Identity, source_ip: str,
                 cloudtrail_door: CloudTrailFrontDoor | None = None) -> None:
        self._pipeline = pipeline
        self._explain = explain_door
        self._cloudtrail = cloudtrail_door
        self.identity = identity
        self._source_ip = source_ip
        self.calls: list[str] = []  # operations called for this page, in order (tests read it)

    def call(self, operation: str, params: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """The operation's wire response body, or CallFailed with its wire error."""
        pipeline = self._pipeline
        who = self.identity
        self.calls.append(operation)
        prepared = pipeline.prepare_signed_in(
            who.principal, who.access_key_id, who.region, operation, dict(params or {}), self._source_ip, USER_AGENT
        )

        def conclude(result: Outcome | None, failure: errors.TrentError | None) -> tuple[AuditEntry, Any]:
            entry, _ = pipeline.conclude(prepared, result, failure)
            entry.event.update(CONSOLE_EVENT_MARKER)
            return entry, (result, failure)

        def work() -> Outcome:
            result, failure = run_handler(pipeline.deps, prepared)
            if failure is not None:
                raise failure
            assert result is not None
            return result

        if prepared.error is not None:
            entry, answer = conclude(None, prepared.error)
            concluded = Concluded(entry, answer, False)
        else:  # a change and its event commit together, as on the wire (issue 16)
            concluded = atomically(pipeline.deps.storage, pipeline.outbox, work, conclude,
                                   f"console {operation} (request {prepared.request_id})")
        outcome, error = concluded.response
        if not concluded.recorded:
            self._write(concluded.entry, prepared.request_id)
        if error is not None:
            raise CallFailed.of(operation, error)
        assert outcome is not None
        body: dict[str, Any] = outcome.body  # a JSON object
        return body

    def attempt(self, operation: str, params: Mapping[str, Any] | None = None) -> dict[str, Any] | CallFailed:
        """``call`` that hands back the failure instead of raising it (for page sections)."""
        try:
            return self.call(operation, params)
        except CallFailed as failed:
            return failed

    def pages(self, operation: str, params: Mapping[str, Any], member: str) -> Iterator[dict[str, Any]]:
        """Every item of a paginated List* call (at most MAX_PAGES pages)."""
        request = dict(params)
        for _ in range(MAX_PAGES):
            body = self.call(operation, request)
            yield from body.get(member, ())
            marker = body.get("NextMarker")
            if not body.get("Truncated") or not marker:
                return
            request["Marker"] = marker

    def cloudtrail(self, operation: str, params: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """A CloudTrail API call (LookupEvents, GetTrailStatus, ListPublicKeys, ...) as the
        signed-in principal through the CloudTrail front door's use cases: the same IAM
        authorization (``cloudtrail:<operation>``), LookupEvents throttle and event as on
        the wire. A ThrottlingException is retried a few times with a short back-off
        (AWS's advice for LookupEvents), then handed to the page as CallFailed."""
        door = self._cloudtrail
        if door is None:
            raise CallFailed(operation, "UnsupportedOperationException", "The audit trail is not served here.", 400)
        who = self.identity
        for delay in (*CLOUDTRAIL_RETRY_DELAYS, None):
            self.calls.append(operation)
            concluded = door.call_signed_in(who.principal, who.access_key_id, who.region, operation,
                                            dict(params or {}), self._source_ip, USER_AGENT, CONSOLE_EVENT_MARKER)
            if not concluded.recorded:
                self._write(concluded.entry, str(concluded.entry.event.get("requestID", "")))
            body, error = concluded.response
            if error is None:
                assert body is not None
                return body
            wire = cloudtrail_wire_error(error)
            if wire.type_name != THROTTLED or delay is None:
                raise CallFailed(operation, wire.type_name, error.message or "", wire.status)
            time.sleep(delay)
        raise AssertionError("unreachable")

    def explain(self, query: Mapping[str, Any]) -> dict[str, Any]:
        """``/_trent/authz/explain``'s answer for this principal (same checks, same audit)."""
        who = self.identity
        self.calls.append("ExplainAuthorization")
        response = self._explain.answer(
            lambda: (who.principal, who.access_key_id, who.region), orjson.dumps(dict(query)), self._source_ip,
            USER_AGENT, CONSOLE_EVENT_MARKER,
        )
        payload: dict[str, Any] = orjson.loads(response.body)  # a JSON object
        if response.status != 200:  # (an unwritable audit event is a KMSInternalException too)
            message = payload.get("message") or payload.get("Message") or ""
            raise CallFailed("ExplainAuthorization", payload.get("__type", "KMSInternalException"), message,
                             response.status)
        return payload

    def list_principals(self, action: str) -> Sequence[Principal]:
        """``iam:ListUsers`` / ``iam:ListRoles`` in the caller's account (service.directory)."""
        pipeline = self._pipeline
        who = self.identity
        self.calls.append(action)
        now = pipeline.deps.clock.now()
        ctx = RequestContext(who.principal, who.access_key_id, who.region, partition_for(who.region),
                             pipeline.new_request_id(), now, self._source_ip, USER_AGENT)
        found: Sequence[Principal] = ()
        error: errors.TrentError | None = None
        try:
            if pipeline.gate is not None and (closed := pipeline.gate()) is not None:
                raise closed
            found = directory.list_principals(pipeline.deps, ctx, action)
        except errors.TrentError as exc:
            error = exc
        event = api_call_event(
            event_id=new_uuid4(), request_id=ctx.request_id, event_time=now, operation=action, region=who.region,
            caller=pipeline.caller(who.principal, who.access_key_id), source_ip=self._source_ip,
            user_agent=USER_AGENT, request_parameters=None, response_elements=None,
            error_code=wire_error(error).type_name if error is not None else None,
            error_message=error.message if error is not None else None, resources=(),
            recipient_account_id=who.principal.account_id, event_source=IAM_EVENT_SOURCE,
            resource_type="AWS::IAM::User" if action == directory.LIST_USERS else "AWS::IAM::Role",
        )
        event.update(CONSOLE_EVENT_MARKER)
        self._write(AuditEntry(event, now), ctx.request_id)
        if error is not None:
            raise CallFailed.of(action, error)
        return found

    def _write(self, entry: AuditEntry, request_id: str) -> None:
        try:
            self._pipeline.outbox.record([entry])
        except AuditWriteError:
            log.error("audit write failed; refusing console request %s", request_id)
            raise AuditUnavailable(request_id) from None
