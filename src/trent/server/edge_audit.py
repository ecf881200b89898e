"""What the server audits itself (issue 20): requests refused before the pipeline could
parse them, and the --dev controls.

This is the ONE seam between the server and the audit path for these records (the
pipeline's own events go through ``KmsPipeline.conclude``): each becomes an
:class:`AuditEntry` in the chained trail through the audit outbox (issue 16), recorded
before the response leaves, fail-closed (``AuditWriteError``: the caller answers 500).

- Refused before parsing: a body over the limit (413), a request llhttp cannot parse
  (400, the connection is closed), a request asking to switch protocols that cannot be
  served as HTTP/1.1 (400), a path or method KMS does not serve (404/405/400), plain HTTP
  where only HTTPS is accepted. Each is a CloudTrail-shaped event named by the request's
  X-Amz-Target when there is one, with the error it was answered.
  A refused request whose method and URL were read, that the router sends to S3 or STS
  (:meth:`EdgeAudit.refused_by_service`, from what was read of its head), is refused in
  that service's wire format instead, with that service's event: their clients cannot
  read KMS's JSON. The door's status stays (a 413 is a 413 in every format). Garbage
  whose method or URL did not parse is KMS's to answer.
- --dev controls (``POST /_trent/reset``, ``GET``/``POST /_trent/clock``):
  ``eventSource: trent``, ``eventName`` DevReset / DevClock / DevClockAdvance, the
  parameters (a duration) and the outcome.
"""

from __future__ import annotations


import orjson
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from trent import errors
from trent.audit.events import Caller, api_call_event
from trent.audit.records import AuditEntry
from trent.domain.ids import new_uuid4
from trent.protocol.pipeline import KmsPipeline, Prepared, Response
from trent.protocol.router import Service, route
from trent.protocol.s3.front_door import S3FrontDoor
from trent.protocol.sts import StsFrontDoor, refuse_unaudited as refuse_unaudited_sts

DEV_EVENT_SOURCE = "trent"
_DEV_ACTIONS = {("POST", "/_trent/reset"): "DevReset", ("GET", "/_trent/clock"): "DevClock",
                ("POST", "/_trent/clock"): "DevClockAdvance", ("POST", "/_trent/audit/flush"): "DevAuditFlush"}
_ANONYMOUS = Caller(kind="Unknown", principal_id=None, arn=None, account_id=None, access_key_id=None, user_name=None)


@dataclass(frozen=True, slots=True)
class ServiceRefusal:
    """A door refusal in S3's or STS's wire format: record ``entry``, then answer
    ``response``, or ``fail_closed(response)`` if the event cannot be recorded."""

    entry: AuditEntry
    response: Response
    fail_closed: Callable[[Response], Response]


def _sts_unaudited(response: Response) -> Response:
    return refuse_unaudited_sts(response.request_id)


def _with_status(response: Response, status: int | None) -> Response:
    return response if status is None or status == response.status else response._replace(status=status)


class EdgeAudit:
    def __init__(self, pipeline: KmsPipeline) -> None:
        self.pipeline = pipeline

    def refused(
        self, headers: Sequence[tuple[bytes, bytes]], source_ip: str, error: errors.TrentError, status: int | None = None
    ) -> tuple[Prepared, AuditEntry, Response]:
        """The audit event and response of a request refused at the door. The caller
        commits the event (fail-closed) before sending the response, as for any call."""
        prepared = self.pipeline.refuse(headers, source_ip, error)
        entry, response = self.pipeline.conclude(prepared, None, error)
        return prepared, entry, _with_status(response, status)

    def refused_by_service(
        self, s3: S3FrontDoor | None, sts: StsFrontDoor, method: str, path: str, query: bytes,
        headers: Sequence[tuple[bytes, bytes]], body: bytes, source_ip: str, error: errors.TrentError,
        status: int | None = None,
    ) -> ServiceRefusal | None:
        """The refusal of a request whose method and URL were read (``headers``: those read
        before it was refused) that the router sends to S3 (when this server serves it) or
        STS, in that service's format (``S3FrontDoor.refused``, ``StsFrontDoor.refused``: an
        STS event is named by the Action in the query or ``body``, when it was read); None
        for any other request, which :meth:`refused` answers as KMS does. ``status``, as
        for :meth:`refused`: the door's status, whatever the service's map says."""
        service = route(method, path, query, headers)
        if service is Service.S3 and s3 is not None:
            entry, response = s3.refused(method, path, query.decode("latin-1"), headers, source_ip, error)
            return ServiceRefusal(entry, _with_status(response, status), s3.refuse)
        if service is Service.STS:
            entry, response = sts.refused(query.decode("latin-1"), headers, body, source_ip, error)
            return ServiceRefusal(entry, _with_status(response, status), _sts_unaudited)
        return None

    def record(self, entry: AuditEntry) -> None:
        """Record one event now (blocks on the database: call it off the event loop;
        raises ``AuditWriteError``: the caller answers 500)."""
        self.pipeline.outbox.record([entry])

    def dev_control(
        self, method: str, path: str, params: Mapping[str, Any] | None, source_ip: str, user_agent: str | None,
        status: int, message: str | None,
    ) -> AuditEntry:
        """The event for one --dev control call (record it with :meth:`record`)."""
        action = _DEV_ACTIONS.get((method, path), "DevUnknown")
        now = self.pipeline.deps.clock.now()
        return AuditEntry(api_call_event(
            event_id=new_uuid4(), request_id=self.pipeline.new_request_id(), event_time=now,
            operation=action, region="", caller=_ANONYMOUS, source_ip=source_ip, user_agent=user_agent,
            request_parameters=dict(params) if params else None, response_elements=None,
            error_code=None if status < 400 else str(status), error_message=message if status >= 400 else None,
            resources=[], recipient_account_id=None, event_source=DEV_EVENT_SOURCE,
        ), now)


def dev_params(path: str, body: bytes) -> dict[str, Any] | None:
    """What a --dev control's audit event shows of its request: the clock jump, nothing else."""
    if path != "/_trent/clock" or not body:
        return None
    try:
        request = orjson.loads(body)
    except orjson.JSONDecodeError:
        return None
    if not isinstance(request, dict):
        return None
    return {k: request[k] for k in ("advance", "sweep") if k in request and isinstance(request[k], (str, int, float, bool))}
