"""One CloudTrail request, end to end (issue 16): authenticate (SigV4, scope
``cloudtrail``) -> route (X-Amz-Target) -> parse -> use case -> event -> JSON.

Shares the KMS pipeline's authenticator, sealed-root gate, callers and audit path: the
call is recorded like any other (eventSource ``cloudtrail.amazonaws.com``). Blocking
(storage reads): the server runs it on a worker thread; the event is recorded by the
server's group commit (:class:`~trent.protocol.recording.Concluded`).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import orjson

from trent import errors
from trent.audit.events import api_call_event
from trent.audit.records import AuditEntry
from trent.domain.ids import new_uuid4
from trent.domain.principals import Principal
from trent.protocol.cloudtrail.errors import cloudtrail_wire_error, error_body
from trent.protocol.cloudtrail.operations import OPERATIONS
from trent.protocol.pipeline import JSON_CONTENT_TYPE, KmsPipeline, Response, partition_for
from trent.protocol.recording import Concluded, atomically
from trent.protocol.router import CLOUDTRAIL_TARGET_PREFIX
from trent.service.cloudtrail import TrailSettings
from trent.service.context import RequestContext

log = logging.getLogger("trent.cloudtrail")

SIGNING_SERVICE = "cloudtrail"
EVENT_SOURCE = "cloudtrail.amazonaws.com"
RESOURCE_TYPE = "AWS::CloudTrail::Trail"
_PREFIX = CLOUDTRAIL_TARGET_PREFIX.decode()


@dataclass(slots=True)
class _Call:
    request_id: str
    started: float
    operation: str = "Unknown"
    ctx: RequestContext | None = None
    access_key_id: str | None = None
    parameters: dict[str, Any] | None = None
    resources: tuple[str, ...] = ()


def _lower_camel(params: dict[str, Any]) -> dict[str, Any]:
    return {k[:1].lower() + k[1:]: v for k, v in params.items()}


class CloudTrailFrontDoor:
    def __init__(self, pipeline: KmsPipeline, settings: TrailSettings) -> None:
        self.pipeline = pipeline
        self.settings = settings

    def handle(
        self, method: str, path: str, query: str, headers: Sequence[tuple[bytes, bytes]], body: bytes, source_ip: str
    ) -> Concluded[Response]:
        pipeline = self.pipeline
        deps = pipeline.deps
        call = _Call(pipeline.new_request_id(), deps.clock.now())
        user_agent = target = None
        for name, value in headers:
            if name == b"user-agent":
                user_agent = value.decode("latin-1")
            elif name == b"x-amz-target":
                target = value.decode("latin-1")

        def work() -> dict[str, Any]:
            if target is not None and target.startswith(_PREFIX) and target[len(_PREFIX):] in OPERATIONS:
                call.operation = target[len(_PREFIX):]
            principal, access_key_id, region = pipeline.authenticate(
                method, path, query, headers, body, service=SIGNING_SERVICE
            )
            call.access_key_id = access_key_id
            call.ctx = RequestContext(principal, access_key_id, region, partition_for(region), call.request_id,
                                      call.started, source_ip, user_agent)
            if method != "POST" or path != "/" or call.operation == "Unknown":
                raise errors.UnknownOperation()
            try:
                params = orjson.loads(body) if body else {}
            except orjson.JSONDecodeError:
                raise errors.SerializationError("Unable to parse the request body as JSON") from None
            if not isinstance(params, dict):
                raise errors.SerializationError("Start of structure or map found where not expected.")
            call.parameters = _lower_camel(params)
            result = OPERATIONS[call.operation](deps, call.ctx, self.settings, params)
            call.resources = result.resources
            return result.body

        def conclude(result: dict[str, Any] | None, error: errors.TrentError | None) -> tuple[AuditEntry, Response]:
            payload: Mapping[str, Any] | None
            if error is not None:
                status, payload = error_body(error)
            else:
                status, payload = 200, result
            entry = AuditEntry(self._event(call, source_ip, user_agent, error), call.started)
            return entry, Response(status, orjson.dumps(payload), call.request_id, JSON_CONTENT_TYPE)

        return atomically(deps.storage, pipeline.outbox, work, conclude,
                          f"CloudTrail {call.operation} (request {call.request_id})")

    def call_signed_in(
        self, principal: Principal, access_key_id: str, region: str, operation: str, params: dict[str, Any],
        source_ip: str, user_agent: str, marker: Mapping[str, str] | None = None,
    ) -> Concluded[tuple[dict[str, Any] | None, errors.TrentError | None]]:
        """One call for a caller authenticated another way than SigV4 (the web console's
        session, issue 21): the same sealed gate, use case, authorization, throttling and
        event as :meth:`handle`; ``marker`` is added to the event (the console's). The
        answer is the response body or the error, not yet serialized."""
        pipeline = self.pipeline
        deps = pipeline.deps
        call = _Call(pipeline.new_request_id(), deps.clock.now(), operation if operation in OPERATIONS else "Unknown",
                     access_key_id=access_key_id)

        def work() -> dict[str, Any]:
            call.ctx = RequestContext(principal, access_key_id, region, partition_for(region), call.request_id,
                                      call.started, source_ip, user_agent)
            if pipeline.gate is not None and (closed := pipeline.gate()) is not None:
                raise closed
            if call.operation == "Unknown":
                raise errors.UnknownOperation()
            call.parameters = _lower_camel(params)
            result = OPERATIONS[call.operation](deps, call.ctx, self.settings, params)
            call.resources = result.resources
            return result.body

        def conclude(result: dict[str, Any] | None, error: errors.TrentError | None
                     ) -> tuple[AuditEntry, tuple[dict[str, Any] | None, errors.TrentError | None]]:
            event = self._event(call, source_ip, user_agent, error)
            if marker:
                event.update(marker)
            return AuditEntry(event, call.started), (result, error)

        return atomically(deps.storage, pipeline.outbox, work, conclude,
                          f"console CloudTrail {call.operation} (request {call.request_id})")

    @staticmethod
    def refuse(response: Response) -> Response:
        """Fail closed: the call's event could not be recorded."""
        status, payload = error_body(errors.KMSInternal())
        return Response(status, orjson.dumps(payload), response.request_id, JSON_CONTENT_TYPE)

    def _event(self, call: _Call, source_ip: str, user_agent: str | None,
               error: errors.TrentError | None) -> dict[str, Any]:
        ctx = call.ctx
        return api_call_event(
            event_id=new_uuid4(),
            request_id=call.request_id,
            event_time=call.started,
            operation=call.operation,
            region=ctx.region if ctx else "",
            caller=self.pipeline.caller(ctx.principal if ctx else None, call.access_key_id),
            source_ip=source_ip,
            user_agent=user_agent,
            request_parameters=call.parameters,
            response_elements=None,
            error_code=cloudtrail_wire_error(error).type_name if error is not None else None,
            error_message=error.message if error is not None else None,
            resources=[(ctx.account_id, arn) for arn in call.resources] if ctx else [],
            recipient_account_id=ctx.account_id if ctx else None,
            event_source=EVENT_SOURCE,
            resource_type=RESOURCE_TYPE,
        )
