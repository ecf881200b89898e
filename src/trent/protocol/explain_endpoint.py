"""``POST /_trent/authz/explain``: the admin HTTP face of ``service.explain`` (issue 5).

A Trent extension, not a KMS operation, so it has its own path instead of an
X-Amz-Target. It is SigV4-signed like a KMS call (scope service ``kms``), answered in
JSON, and audited like every call (eventName ``ExplainAuthorization``, eventSource
``trent.amazonaws.com``-style ``trent``). Body:

    {"Principal": "<ARN>", "Action": "kms:Decrypt", "KeyId": "<id|ARN|alias>"?,
     "EncryptionContext": {...}?, "GrantTokens": [...]?, "SourceIp": "..."?,
     "ConditionKeys": {"kms:ViaService": "..."}?, "Region": "..."?}

Answer: the explanation (``authz.Explanation.to_json``): request, decision, the
AccessDenied message a real call would get, every statement and grant with its outcome.
Errors use the KMS JSON error envelope.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import orjson

from trent import errors
from trent.audit.events import api_call_event
from trent.audit.records import AuditEntry
from trent.audit.sink import AuditWriteError
from trent.domain.ids import new_uuid4
from trent.domain.principals import Principal
from trent.protocol.errors import error_body, wire_error
from trent.protocol.pipeline import KmsPipeline, Response, partition_for
from trent.service import explain
from trent.service.context import RequestContext

log = logging.getLogger("trent.explain")

PATH = "/_trent/authz/explain"
OPERATION = "ExplainAuthorization"
EVENT_SOURCE = "trent"
_MEMBERS = frozenset(
    {"Principal", "Action", "KeyId", "EncryptionContext", "GrantTokens", "SourceIp", "ConditionKeys", "Region"}
)


def _string_map(value: object, member: str) -> dict[str, Any]:
    if not isinstance(value, dict) or not all(isinstance(k, str) for k in value):
        raise errors.ValidationError(f"{member} must be an object of strings")
    for v in value.values():
        if not isinstance(v, str) and not (isinstance(v, list) and all(isinstance(x, str) for x in v)):
            raise errors.ValidationError(f"{member} values must be strings (or lists of strings)")
    return {k: (v if isinstance(v, str) else tuple(v)) for k, v in value.items()}


def parse_query(body: bytes, region: str, partition: str) -> explain.ExplainQuery:
    try:
        raw = orjson.loads(body or b"{}")
    except orjson.JSONDecodeError:
        raise errors.SerializationError(None) from None
    if not isinstance(raw, dict):
        raise errors.SerializationError(None)
    unknown = set(raw) - _MEMBERS
    if unknown:
        raise errors.ValidationError(f"Unknown member {min(unknown)}")
    principal, action = raw.get("Principal"), raw.get("Action")
    if not isinstance(principal, str) or not isinstance(action, str):
        raise errors.ValidationError("Principal and Action are required strings")
    key_id = raw.get("KeyId")
    if key_id is not None and not isinstance(key_id, str):
        raise errors.ValidationError("KeyId must be a string")
    context = _string_map(raw["EncryptionContext"], "EncryptionContext") if "EncryptionContext" in raw else None
    if context is not None and not all(isinstance(v, str) for v in context.values()):
        raise errors.ValidationError("EncryptionContext values must be strings")
    tokens = raw.get("GrantTokens", [])
    if not isinstance(tokens, list) or not all(isinstance(t, str) for t in tokens):
        raise errors.ValidationError("GrantTokens must be a list of strings")
    source_ip = raw.get("SourceIp")
    if source_ip is not None and not isinstance(source_ip, str):
        raise errors.ValidationError("SourceIp must be a string")
    query_region = raw.get("Region", region)
    if not isinstance(query_region, str):
        raise errors.ValidationError("Region must be a string")
    return explain.ExplainQuery(
        principal_arn=principal,
        action=action,
        region=query_region,
        partition=partition,
        key_id=key_id,
        encryption_context=context,
        grant_tokens=tuple(tokens),
        source_ip=source_ip,
        condition_keys=_string_map(raw.get("ConditionKeys", {}), "ConditionKeys"),
    )


Caller = tuple[Principal, str, str]  # (principal, access key id, region)


class ExplainFrontDoor:
    """Authenticate -> parse -> who may explain -> explain -> audit -> JSON. Blocking
    (storage reads on misses): both front doors run it on a worker thread."""

    def __init__(self, pipeline: KmsPipeline) -> None:
        self.pipeline = pipeline

    def handle(
        self, method: str, path: str, query: str, headers: Sequence[tuple[bytes, bytes]], body: bytes, source_ip: str
    ) -> Response:
        def sigv4() -> Caller:
            if method != "POST":
                raise errors.UnknownOperation()
            return self.pipeline.authenticate(method, path, query, headers, body)

        return self.answer(sigv4, body, source_ip)

    def answer(
        self, authenticate: Callable[[], Caller], body: bytes, source_ip: str, user_agent: str | None = None,
        event_extra: Mapping[str, Any] | None = None,
    ) -> Response:
        """The explanation for a caller ``authenticate`` vouches for (SigV4 here; the web
        console passes its signed-in session), audited like every call; ``event_extra``
        adds top-level members to the audit event (the console's marker)."""
        pipeline = self.pipeline
        deps = pipeline.deps
        request_id = pipeline.new_request_id()
        started = deps.clock.now()
        ctx: RequestContext | None = None
        access_key_id: str | None = None
        params: dict[str, Any] | None = None
        resources: tuple[tuple[str, str], ...] = ()
        payload: Mapping[str, object]  # the explanation, or error_body's
        try:
            principal, access_key_id, region = authenticate()
            ctx = RequestContext(principal, access_key_id, region, partition_for(region), request_id, started,
                                 source_ip, user_agent)
            request = parse_query(body, region, ctx.partition)
            params = {"principal": request.principal_arn, "action": request.action, "keyId": request.key_id}
            explain.who_may_explain(deps, ctx, request)
            explanation = explain.explain(deps, request, started)
            if explanation.request.key_arn is not None:
                resources = ((explanation.request.key_arn.split(":")[4], explanation.request.key_arn),)
            status, payload, error = 200, explanation.to_json(), None
        except errors.TrentError as exc:
            error = exc
            status, payload = error_body(exc)
        except Exception:
            log.exception("explain failed (request %s)", request_id)
            error = errors.KMSInternal()
            status, payload = error_body(error)
        event = api_call_event(
            event_id=new_uuid4(),
            request_id=request_id,
            event_time=started,
            operation=OPERATION,
            region=ctx.region if ctx else "",
            caller=pipeline.caller(ctx.principal if ctx else None, access_key_id),
            source_ip=source_ip,
            user_agent=user_agent,
            request_parameters=params,
            response_elements=None,
            error_code=wire_error(error).type_name if error is not None else None,
            error_message=error.message if error is not None else None,
            resources=resources,
            recipient_account_id=ctx.account_id if ctx else None,
            event_source=EVENT_SOURCE,
        )
        if event_extra:
            event.update(event_extra)
        try:
            pipeline.outbox.record([AuditEntry(event, started)])
        except AuditWriteError:
            log.error("audit write failed; refusing explain request %s", request_id)
            status, payload = error_body(errors.KMSInternal())
        return Response(status, orjson.dumps(payload), request_id, b"application/json")
