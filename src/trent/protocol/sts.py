"""A minimal STS on the KMS endpoint (issue 5), as boto3's ``sts`` client calls it.

Wire format: the AWS *query* protocol (botocore ``sts`` model 2011-06-15, ``protocol:
query``). ``POST /`` with ``Content-Type: application/x-www-form-urlencoded`` and a body
``Action=<Op>&Version=2011-06-15&<Member>=<value>...`` (lists as ``PolicyArns.member.1.arn``),
SigV4 with the credential scope service ``sts``. Answers are XML in the
``https://sts.amazonaws.com/doc/2011-06-15/`` namespace::

    <AssumeRoleResponse xmlns="..."><AssumeRoleResult>...</AssumeRoleResult>
      <ResponseMetadata><RequestId>...</RequestId></ResponseMetadata></AssumeRoleResponse>

and errors the query-protocol envelope (botocore reads ``Error/Code`` and ``Error/Message``)::

    <ErrorResponse xmlns="..."><Error><Type>Sender</Type><Code>AccessDenied</Code>
      <Message>...</Message></Error><RequestId>...</RequestId></ErrorResponse>

Operations: GetCallerIdentity and AssumeRole. Members Trent does not implement
(session policies, session tags, MFA, source identity, provided contexts) are refused
with a ValidationError naming them, never ignored.

Every call is audited like a KMS call (eventSource ``sts.amazonaws.com``); the secret
access key and the session token never reach the audit log or any message.
"""

from __future__ import annotations

import contextlib
import logging
import re
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl
from xml.sax.saxutils import escape

from trent import errors
from trent.audit.events import api_call_event
from trent.audit.records import AuditEntry
from trent.domain.ids import new_uuid4
from trent.protocol.header_lines import header_value
from trent.protocol.pipeline import KmsPipeline, Response, partition_for
from trent.protocol.recording import atomically, record_now
from trent.service import sts
from trent.service.context import RequestContext

log = logging.getLogger("trent.sts")

NAMESPACE = "https://sts.amazonaws.com/doc/2011-06-15/"
API_VERSION = "2011-06-15"
XML_CONTENT_TYPE = b"text/xml"
FORM_CONTENT_TYPE = b"application/x-www-form-urlencoded"
SIGNING_SERVICE = "sts"
EVENT_SOURCE = "sts.amazonaws.com"
OPERATIONS = ("GetCallerIdentity", "AssumeRole")

# botocore sts model shapes (2011-06-15): roleSessionNameType, roleDurationSecondsType,
# arnType, externalIdType, minimumSessionTokenSizeType.
_SESSION_NAME_RE = re.compile(r"^[\w+=,.@-]*$", re.ASCII)
_EXTERNAL_ID_RE = re.compile(r"^[\w+=,.@:/-]*$", re.ASCII)
_ARN_CHARS_RE = re.compile("^[\u0009\u000a\u000d\u0020-\u007e\u0085\u00a0-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]+$")

# AssumeRole members Trent does not implement: refused, never silently ignored (a
# session policy ignored would give the session MORE access than the caller asked for).
_UNSUPPORTED_MEMBERS = {
    "Policy": "session policies (Policy, PolicyArns)",
    "PolicyArns": "session policies (Policy, PolicyArns)",
    "Tags": "session tags (Tags, TransitiveTagKeys)",
    "TransitiveTagKeys": "session tags (Tags, TransitiveTagKeys)",
    "SerialNumber": "MFA (SerialNumber, TokenCode)",
    "TokenCode": "MFA (SerialNumber, TokenCode)",
    "SourceIdentity": "SourceIdentity",
    "ProvidedContexts": "ProvidedContexts",
}
_KNOWN_MEMBERS = {
    "GetCallerIdentity": frozenset(),
    "AssumeRole": frozenset(
        {"RoleArn", "RoleSessionName", "DurationSeconds", "ExternalId", "MinimumSessionTokenSize"}
    ),
}


# --- request parsing -------------------------------------------------------------------------


def parse_query(body: bytes, query: str = "") -> dict[str, str]:
    """Form body (and query string) -> flat member map (``PolicyArns.member.1.arn`` kept flat)."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise errors.SerializationError("The request body is not valid UTF-8.") from None
    params: dict[str, str] = {}
    for source in (query, text):
        for name, value in parse_qsl(source, keep_blank_values=True):
            params[name] = value
    return params


def _member(name: str) -> str:
    return name[0].lower() + name[1:]


def _validation(value: str | None, member: str, rule: str, show_value: bool = True) -> errors.ValidationError:
    shown = "null" if value is None else (f"'{value}'" if show_value else "")
    where = f"Value {shown} at" if shown else "Value at"
    return errors.ValidationError(
        f"1 validation error detected: {where} '{_member(member)}' failed to satisfy constraint: Member must {rule}"
    )


def _string(params: dict[str, str], name: str, lo: int, hi: int, pattern: re.Pattern[str] | None,
            pattern_text: str, required: bool) -> str | None:
    value = params.get(name)
    if value is None:
        if required:
            raise _validation(None, name, "not be null")
        return None
    if len(value) < lo:
        raise _validation(value, name, f"have length greater than or equal to {lo}")
    if len(value) > hi:
        raise _validation(value, name, f"have length less than or equal to {hi}")
    if pattern is not None and not pattern.match(value):
        raise _validation(value, name, f"satisfy regular expression pattern: {pattern_text}")
    return value


def _integer(params: dict[str, str], name: str, lo: int, hi: int) -> int | None:
    raw = params.get(name)
    if raw is None:
        return None
    try:
        value = int(raw)
    except ValueError:
        raise errors.ValidationError(f"Value '{raw}' for parameter {name} is invalid. Must be an integer.") from None
    if value < lo:
        raise _validation(raw, name, f"have value greater than or equal to {lo}")
    if value > hi:
        raise _validation(raw, name, f"have value less than or equal to {hi}")
    return value


def _refuse_unsupported(params: dict[str, str]) -> None:
    for name in params:
        member = name.split(".", 1)[0]
        feature = _UNSUPPORTED_MEMBERS.get(member)
        if feature is not None:
            raise errors.ValidationError(
                f"Trent's STS does not implement {feature}; the request is refused rather than "
                f"served with that parameter ignored."
            )


def operation_of(params: dict[str, str]) -> str:
    action = params.get("Action")
    if not action:
        raise errors.UnknownOperation("Could not find operation  for version " + params.get("Version", ""))
    version = params.get("Version", "")
    if action not in OPERATIONS or version != API_VERSION:
        raise errors.UnknownOperation(f"Could not find operation {action} for version {version}")
    return action


def assume_role_input(params: dict[str, str]) -> sts.AssumeRoleInput:
    """Validate AssumeRole's members against the botocore model's constraints."""
    _refuse_unsupported(params)
    role_arn = _string(params, "RoleArn", 20, 2048, _ARN_CHARS_RE,
                       "[\\u0009\\u000A\\u000D\\u0020-\\u007E\\u0085\\u00A0-\\uD7FF\\uE000-\\uFFFD\\u10000-\\u10FFFF]+",
                       required=True)
    session = _string(params, "RoleSessionName", 2, 64, _SESSION_NAME_RE, "[\\w+=,.@-]*", required=True)
    external_id = _string(params, "ExternalId", 2, 1224, _EXTERNAL_ID_RE, "[\\w+=,.@:\\/-]*", required=False)
    duration = _integer(params, "DurationSeconds", sts.MIN_DURATION_SECONDS, 43200)
    token_size = _integer(params, "MinimumSessionTokenSize", 0, 4096)
    assert role_arn is not None and session is not None
    return sts.AssumeRoleInput(role_arn, session, duration, external_id, token_size)


# --- XML ---------------------------------------------------------------------------------------


def _xml_fields(fields: Sequence[tuple[str, Any]]) -> str:
    out = []
    for name, value in fields:
        if value is None:
            continue
        if isinstance(value, (list, tuple)):
            out.append(f"<{name}>{_xml_fields(value)}</{name}>")
        else:
            out.append(f"<{name}>{escape(str(value))}</{name}>")
    return "".join(out)


def result_xml(operation: str, fields: Sequence[tuple[str, Any]], request_id: str) -> bytes:
    return (
        f'<{operation}Response xmlns="{NAMESPACE}">'
        f"<{operation}Result>{_xml_fields(fields)}</{operation}Result>"
        f"<ResponseMetadata><RequestId>{escape(request_id)}</RequestId></ResponseMetadata>"
        f"</{operation}Response>\n"
    ).encode()


def iso8601(epoch: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(int(epoch)))


@dataclass(frozen=True, slots=True)
class StsWireError:
    code: str
    status: int
    message: str | None = None  # replaces the exception's message (AWS's STS wording)


# STS's own codes for the front-end errors (query protocol), from AWS's STS error
# responses: InvalidClientTokenId/SignatureDoesNotMatch/AccessDenied are 403.
_STS_ERRORS: dict[type[errors.TrentError], StsWireError] = {
    errors.MissingAuthenticationToken: StsWireError("MissingAuthenticationToken", 403),
    errors.IncompleteSignature: StsWireError("IncompleteSignature", 400),
    errors.InvalidSignature: StsWireError("SignatureDoesNotMatch", 403),
    errors.UnrecognizedClient: StsWireError(
        "InvalidClientTokenId", 403, "The security token included in the request is invalid."
    ),
    errors.ExpiredToken: StsWireError("ExpiredToken", 400),
    errors.UnknownOperation: StsWireError("InvalidAction", 400),
    errors.SerializationError: StsWireError("MalformedQueryString", 400),
    errors.ValidationError: StsWireError("ValidationError", 400),
    errors.AccessDenied: StsWireError("AccessDenied", 403),
    errors.MalformedPolicyDocument: StsWireError("MalformedPolicyDocument", 400),
    errors.LimitExceeded: StsWireError("LimitExceeded", 400),
    errors.Throttling: StsWireError("Throttling", 400, "Rate exceeded"),
    errors.KMSInvalidState: StsWireError("ServiceUnavailable", 503),  # the sealed-root gate
    errors.KMSInternal: StsWireError("InternalFailure", 500, "An internal error occurred. Try again."),
}


def sts_wire_error(exc: errors.TrentError) -> StsWireError:
    for cls in type(exc).__mro__:
        found = _STS_ERRORS.get(cls)
        if found is not None:
            return found
    return _STS_ERRORS[errors.KMSInternal]


def error_xml(exc: errors.TrentError, request_id: str) -> tuple[int, bytes, str, str | None]:
    """(status, body, code, message) of the query-protocol error envelope."""
    wire = sts_wire_error(exc)
    message = wire.message if wire.message is not None else exc.message
    kind = "Receiver" if wire.status >= 500 else "Sender"
    body = (
        f'<ErrorResponse xmlns="{NAMESPACE}"><Error><Type>{kind}</Type><Code>{wire.code}</Code>'
        + (f"<Message>{escape(message)}</Message>" if message is not None else "")
        + f"</Error><RequestId>{escape(request_id)}</RequestId></ErrorResponse>\n"
    ).encode()
    return wire.status, body, wire.code, message


def refuse_unaudited(request_id: str) -> Response:
    """Fail closed: the call's event could not be recorded."""
    status, payload, _, _ = error_xml(errors.KMSInternal(), request_id)
    return Response(status, payload, request_id, XML_CONTENT_TYPE)


# --- the front door's handler ----------------------------------------------------------------------


@dataclass(slots=True)
class _Call:
    request_id: str
    started: float
    operation: str
    ctx: RequestContext | None = None
    access_key_id: str | None = None
    request_parameters: dict[str, Any] | None = None
    response_elements: dict[str, Any] | None = None
    resources: tuple[tuple[str, str], ...] = ()


class StsFrontDoor:
    """One STS request, end to end: authenticate (SigV4, scope ``sts``) -> parse ->
    use case -> audit (fail-closed, synchronous) -> XML. Blocking (AssumeRole writes to
    the database): both front doors run it on a worker thread. It shares the KMS
    pipeline's authenticator, audit sink, sealed-root gate and wall clock."""

    def __init__(self, pipeline: KmsPipeline) -> None:
        self.pipeline = pipeline

    def handle(
        self, method: str, path: str, query: str, headers: Sequence[tuple[bytes, bytes]], body: bytes, source_ip: str,
        secure: bool = False, tls_details: dict[str, Any] | None = None,
    ) -> Response:
        pipeline = self.pipeline
        deps = pipeline.deps
        user_agent = header_value(headers, b"user-agent")
        call = _Call(pipeline.new_request_id(), deps.clock.now(), "Unknown")

        def work() -> list[tuple[str, Any]]:
            params = parse_query(body, query)
            # the audit event's name: never an arbitrary caller-chosen string
            call.operation = params.get("Action", "") if params.get("Action") in OPERATIONS else "Unknown"
            wall_now = pipeline.wall_now()
            principal, access_key_id, region = pipeline.authenticate(
                method, path, query, headers, body, now=wall_now, service=SIGNING_SERVICE
            )
            call.access_key_id = access_key_id
            call.ctx = RequestContext(
                principal=principal, access_key_id=access_key_id, region=region, partition=partition_for(region),
                request_id=call.request_id, now=call.started, source_ip=source_ip, user_agent=user_agent,
                secure_transport=secure,
            )
            call.operation = operation_of(params)
            unknown = set(params) - {"Action", "Version"} - _KNOWN_MEMBERS[call.operation]
            if call.operation == "GetCallerIdentity":
                who = sts.get_caller_identity(call.ctx)
                return [("UserId", who.user_id), ("Account", who.account), ("Arn", who.arn)]
            request = assume_role_input(params)
            if unknown:
                raise errors.ValidationError(f"Unknown parameter in AssumeRole: {min(unknown)}")
            call.request_parameters = {
                "roleArn": request.role_arn,
                "roleSessionName": request.role_session_name,
                **({"durationSeconds": request.duration_seconds} if request.duration_seconds else {}),
            }
            creds = sts.assume_role(deps, call.ctx, request, wall_now)
            call.resources = ((creds.account_id, creds.role_arn),)
            call.response_elements = {  # never the secret or the session token
                "credentials": {"accessKeyId": creds.access_key_id, "expiration": iso8601(creds.expiration)},
                "assumedRoleUser": {"assumedRoleId": creds.assumed_role_id, "arn": creds.assumed_role_arn},
            }
            return [
                ("Credentials", [
                    ("AccessKeyId", creds.access_key_id),
                    ("SecretAccessKey", creds.secret_access_key),
                    ("SessionToken", creds.session_token),
                    ("Expiration", iso8601(creds.expiration)),
                ]),
                ("AssumedRoleUser", [("AssumedRoleId", creds.assumed_role_id), ("Arn", creds.assumed_role_arn)]),
            ]

        def conclude(fields: list[tuple[str, Any]] | None, error: errors.TrentError | None) -> tuple[AuditEntry, Response]:
            if error is not None:
                status, payload, code, message = error_xml(error, call.request_id)
            else:
                assert fields is not None
                status, payload, code, message = 200, result_xml(call.operation, fields, call.request_id), None, None
            event = self._event(call, source_ip, user_agent, code, message)
            if tls_details is not None:
                event["tlsDetails"] = tls_details
            entry = AuditEntry(event, call.started)
            return entry, Response(status, payload, call.request_id, XML_CONTENT_TYPE)

        # AssumeRole's session key and its event commit together (issue 16).
        concluded = atomically(deps.storage, pipeline.outbox, work, conclude,
                               f"STS {call.operation} (request {call.request_id})")
        return record_now(pipeline.outbox, concluded, lambda: refuse_unaudited(call.request_id))

    def refused(
        self, query: str, headers: Sequence[tuple[bytes, bytes]], body: bytes, source_ip: str, error: errors.TrentError
    ) -> tuple[AuditEntry, Response]:
        """An STS request the server refused before :meth:`handle` (plain HTTP where only
        HTTPS is accepted, ``protocol/transport.py``): the query protocol's XML error (an STS
        client cannot read KMS's JSON) and an STS event named by the Action asked, its
        caller unknown (nothing was authenticated). The server records the event before the
        answer leaves (fail-closed, :func:`refuse_unaudited`), as for any STS call."""
        call = _Call(self.pipeline.new_request_id(), self.pipeline.deps.clock.now(), "Unknown")
        with contextlib.suppress(errors.TrentError):  # a body we cannot parse names no Action
            action = parse_query(body, query).get("Action")
            if action in OPERATIONS:  # the audit event's name: never an arbitrary caller-chosen string
                call.operation = action
        status, payload, code, message = error_xml(error, call.request_id)
        entry = AuditEntry(self._event(call, source_ip, header_value(headers, b"user-agent"), code, message), call.started)
        return entry, Response(status, payload, call.request_id, XML_CONTENT_TYPE)

    def _event(
        self, call: _Call, source_ip: str, user_agent: str | None, code: str | None, message: str | None
    ) -> dict[str, Any]:
        ctx = call.ctx
        caller = self.pipeline.caller(ctx.principal if ctx is not None else None, call.access_key_id)
        return api_call_event(
            event_id=new_uuid4(),
            request_id=call.request_id,
            event_time=call.started,
            operation=call.operation,
            region=ctx.region if ctx else "",
            caller=caller,
            source_ip=source_ip,
            user_agent=user_agent,
            request_parameters=call.request_parameters,
            response_elements=call.response_elements,
            error_code=code,
            error_message=message,
            resources=call.resources,
            recipient_account_id=ctx.account_id if ctx else None,
            event_source=EVENT_SOURCE,
            resource_type="AWS::IAM::Role",
        )
