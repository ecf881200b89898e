"""One KMS request, end to end, as the wire sees it (architecture "One request").

    authenticate (SigV4) -> route (X-Amz-Target) -> parse + validate (service model)
        -> handler (service use case) -> audit (fail-closed) -> serialize

Split in three so the server can run the middle step on a worker thread when the
operation may block (management calls) and inline on the event loop when it
cannot (crypto on cached keys): :meth:`KmsPipeline.prepare`,
:func:`run_handler`, :meth:`KmsPipeline.finish`.

Every request yields exactly one audit event, success or failure; if that event
cannot be written the caller gets KMSInternalException instead of the result. A call
run on a worker thread (:meth:`KmsPipeline.execute`) commits its changes and its event
in one transaction (``protocol/recording.py``, issue 16).
"""

from __future__ import annotations

import dataclasses
import logging
import re
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, NamedTuple

import orjson

from trent import errors
from trent.audit.events import Caller, api_call_event
from trent.audit.records import AuditEntry
from trent.domain.regions import partition_for, region_served
from trent.domain.clock import Clock, SystemClock
from trent.domain.ids import new_uuid4
from trent.domain.principals import Principal, PrincipalKind
from trent.protocol import sigv4, validation
from trent.protocol.errors import error_body, wire_error
from trent.protocol.operations import OPERATIONS, Operation, Outcome
from trent.protocol.recording import Concluded, atomically, record_now
from trent.service.audit_outbox import AuditOutbox
from trent.service.context import RequestContext
from trent.service.deps import ServiceDeps
from trent.service.identity import Authenticator
from trent.service.quotas import RequestQuotas

if TYPE_CHECKING:
    from trent.protocol.s3.body import Payload as S3Payload

log = logging.getLogger("trent.request")

TARGET_PREFIX = "TrentService."
_GLOBAL_S3_REGION = "us-east-1"  # where S3's SigV2 (region-less) requests land
S3_SERVICE = "s3"
JSON_CONTENT_TYPE = b"application/x-amz-json-1.1"
_DEV_ACCOUNT_AKID = re.compile(r"^[0-9]{12}$")


@dataclass(frozen=True, slots=True)
class AuthPolicy:
    """How strictly callers are authenticated.

    ``permissive`` (``--dev`` opt-in): an access key id Trent does not know is
    accepted without a signature check, as the dev account's user (or, if the id
    is 12 digits, as that account's root, the LocalStack convention). Known keys
    are always verified strictly.
    """

    regions: frozenset[str] | None = None  # None = any well-formed region
    permissive: bool = False
    dev_principal: Principal | None = None

    def region_ok(self, region: str) -> bool:
        return region_served(self.regions, region)


@dataclass(slots=True)
class Prepared:
    """A request that passed the front end, or the error that stopped it."""

    request_id: str
    operation_name: str
    started: float
    source_ip: str
    user_agent: str | None
    operation: Operation | None = None
    ctx: RequestContext | None = None
    request: dict[str, Any] | None = None
    raw_params: dict[str, Any] | None = field(default=None, repr=False)
    access_key_id: str | None = None
    error: errors.TrentError | None = None
    tls_details: dict[str, Any] | None = None  # issue 20: CloudTrail tlsDetails


class Response(NamedTuple):
    """One HTTP answer. A NamedTuple (immutable, typed): one per request on the hot path,
    where a frozen dataclass's ``__init__`` costs three times as much (0.78 vs 0.25 µs)."""

    status: int
    body: bytes
    request_id: str
    content_type: bytes = JSON_CONTENT_TYPE  # STS answers text/xml (protocol/sts.py)
    # More header lines, already lowercase: the web console's cookies and security headers;
    # S3 (issue 16): ETag, Last-Modified, x-amz-meta-*, Content-Range, x-amz-request-id, ...
    headers: tuple[tuple[bytes, bytes], ...] = ()
    content_length: int | None = None  # a HEAD answer: the object's size, and no body
    # issue 17: S3 GetObject's plaintext, produced piece by piece on a worker thread after
    # the response head; ``content_length`` is its total length
    stream: Iterator[bytes | memoryview] | None = None


class KmsPipeline:
    def __init__(
        self,
        deps: ServiceDeps,
        authenticator: Authenticator,
        outbox: AuditOutbox,
        auth_policy: AuthPolicy,
        new_request_id: Callable[[], str] = new_uuid4,
        wall_clock: Clock | None = None,
    ) -> None:
        self.deps = deps
        self.authenticator = authenticator
        self.outbox = outbox
        self.auth_policy = auth_policy
        self._new_request_id = new_request_id
        # SigV4 freshness is judged by real time, whatever the service clock says: a
        # --dev clock moved forward 400 days must not expire every client's signature.
        self._wall_clock = wall_clock or SystemClock()
        self._signing_keys = sigv4.SigningKeyCache()
        self._callers: dict[tuple[Principal | None, str | None], Caller] = {}
        # Sealed root (issue 7): while this returns an error, every KMS call gets it,
        # before authentication (which itself needs the root to unwrap secrets).
        self.gate: Callable[[], errors.TrentError | None] | None = None
        # Issue 20: request quotas (service/quotas.py), checked once the caller is known.
        self.quotas: RequestQuotas | None = None

    # --- step 1: front end ----------------------------------------------------------

    def prepare(
        self, method: str, path: str, query: str, headers: Sequence[tuple[bytes, bytes]], body: bytes, source_ip: str,
        secure: bool = False, tls_details: dict[str, Any] | None = None,
    ) -> Prepared:
        indexed = sigv4.index_headers(headers)  # once, for every step below
        prepared = self.begin(indexed, source_ip)
        prepared.tls_details = tls_details
        now = prepared.started
        target = indexed.first(b"x-amz-target") or ""
        op_name = prepared.operation_name
        try:
            principal, access_key_id, region = self.authenticate(method, path, query, indexed, body)
            prepared.access_key_id = access_key_id
            prepared.ctx = RequestContext(
                principal=principal,
                access_key_id=access_key_id,
                region=region,
                partition=partition_for(region),
                request_id=prepared.request_id,
                now=now,
                source_ip=source_ip,
                user_agent=prepared.user_agent,
                secure_transport=secure,
            )
            if not target.startswith(TARGET_PREFIX) or op_name not in validation.operation_names():
                raise errors.UnknownOperation()
            self._route(prepared, op_name, self._parse_json(body))
        except errors.TrentError as exc:
            prepared.error = exc
        return prepared

    def prepare_signed_in(
        self, principal: Principal, access_key_id: str, region: str, op_name: str, params: dict[str, Any],
        source_ip: str, user_agent: str,
    ) -> Prepared:
        """Step 1 for a caller authenticated another way than SigV4 (the web console's
        session): the same sealed gate, routing and model validation as :meth:`prepare`,
        so the handler, authorization and audit that follow are the API's own."""
        now = self.deps.clock.now()
        prepared = Prepared(self._new_request_id(), op_name, now, source_ip, user_agent, access_key_id=access_key_id)
        prepared.ctx = RequestContext(
            principal=principal,
            access_key_id=access_key_id,
            region=region,
            partition=partition_for(region),
            request_id=prepared.request_id,
            now=now,
            source_ip=source_ip,
            user_agent=user_agent,
        )
        try:
            if self.gate is not None and (closed := self.gate()) is not None:
                raise closed
            if op_name not in validation.operation_names():
                raise errors.UnknownOperation()
            self._route(prepared, op_name, params)
        except errors.TrentError as exc:
            prepared.error = exc
        return prepared

    def _route(self, prepared: Prepared, op_name: str, raw: dict[str, Any]) -> None:
        """A known operation's parameters -> validated request and handler (spec §1.1, §1.7),
        within the caller's request quota (issue 20: ThrottlingException otherwise)."""
        prepared.raw_params = raw
        prepared.request = validation.validate(op_name, raw)
        tokens = prepared.request.get("GrantTokens")
        if tokens:
            assert prepared.ctx is not None
            prepared.ctx = dataclasses.replace(prepared.ctx, grant_tokens=tuple(tokens))
        operation = OPERATIONS.get(op_name)
        if operation is None:
            raise errors.UnsupportedOperation(f"{op_name} is not supported by this Trent server yet.")
        if self.quotas is not None:
            assert prepared.ctx is not None
            self.quotas.check(prepared.ctx.account_id, prepared.ctx.region, op_name, time.monotonic())
        prepared.operation = operation

    def begin(self, headers: Sequence[tuple[bytes, bytes]] | sigv4.HeaderIndex, source_ip: str) -> Prepared:
        """A request's record before anything about it is checked: its id, time and the
        operation its X-Amz-Target names (what a refusal at the door is audited as)."""
        indexed = sigv4.index_headers(headers)
        target = indexed.first(b"x-amz-target") or ""
        op_name = target[len(TARGET_PREFIX) :] if target.startswith(TARGET_PREFIX) else target
        return Prepared(self._new_request_id(), op_name or "Unknown", self.deps.clock.now(), source_ip,
                        indexed.first(b"user-agent"))

    def refuse(self, headers: Sequence[tuple[bytes, bytes]], source_ip: str, error: errors.TrentError) -> Prepared:
        """A request refused before it is parsed (plain HTTP, ...): audited like any failure."""
        prepared = self.begin(headers, source_ip)
        prepared.error = error
        return prepared

    def new_request_id(self) -> str:
        return self._new_request_id()

    def wall_now(self) -> float:
        """Real time: what SigV4 freshness is judged by, whatever the service clock says."""
        return self._wall_clock.now()

    def authenticate(
        self, method: str, path: str, query: str, headers: Sequence[tuple[bytes, bytes]] | sigv4.HeaderIndex,
        body: bytes, *,
        now: float | None = None, service: str = sigv4.DEFAULT_SERVICE,
    ) -> tuple[Principal, str, str]:
        """Every front door's first step (KMS here; STS and the explain endpoint too): the
        sealed-root gate, then SigV4. Returns (principal, access key id, region); ``now`` is
        the wall-clock time to judge the signature's freshness by (default :meth:`wall_now`)."""
        if self.gate is not None and (closed := self.gate()) is not None:
            raise closed
        return self._authenticate(method, path, query, headers, body, self.wall_now() if now is None else now, service)

    def _authenticate(
        self, method: str, path: str, query: str, headers: Sequence[tuple[bytes, bytes]] | sigv4.HeaderIndex,
        body: bytes, now: float, service: str,
    ) -> tuple[Principal, str, str]:
        parsed = sigv4.parse_request_auth(headers)
        auth = parsed.authorization
        policy = self.auth_policy
        sigv4.check_scope_and_time(parsed, now, policy.region_ok, service=service)
        try:
            who = self.authenticator.authenticate(auth.access_key_id, parsed.security_token, now)
        except errors.UnrecognizedClient:
            if not policy.permissive:
                raise
            return self._permissive_principal(auth.access_key_id), auth.access_key_id, auth.region
        if service == S3_SERVICE:  # S3 signs a declared payload hash and the literal path (issue 16)
            payload = sigv4.s3_payload_hash(parsed.headers, body)
            sigv4.verify_signature(parsed, who.secret, method, path, query, parsed.headers, body,
                                   cache=self._signing_keys, payload_hash=payload, path_as_sent=True)
        else:
            sigv4.verify_signature(parsed, who.secret, method, path, query, parsed.headers, body,
                                   cache=self._signing_keys)
        return who.principal, auth.access_key_id, auth.region

    def authenticate_s3(
        self, method: str, path: str, query: str, headers: Sequence[tuple[bytes, bytes]],
        bucket_from_host: str | None = None,
    ) -> tuple[Principal, str, str, S3Payload]:
        """S3's first step (issue 17): the sealed gate, then the one SigV4 verifier with
        scope ``s3``, the declared payload hash as the canonical request's last line and
        the path as sent. The body is not read here: what the signature says about it
        (its SHA-256, UNSIGNED-PAYLOAD, or aws-chunked with the chunk signer) is returned
        for the body to be checked as it streams (``protocol/s3/body.py``). A presigned
        URL (query-string auth, ``sigv4/presigned.py``) signs the query instead of an
        Authorization header, its payload is UNSIGNED-PAYLOAD, and its validity window
        replaces the clock-skew check; boto3's default presigned URL is the legacy
        Signature Version 2 (``sigv4/presigned_v2.py``), which names no region: the
        caller's region is then us-east-1, S3's global endpoint, when served.
        ``bucket_from_host``: a virtual-hosted request's bucket, which SigV2 signs."""
        if self.gate is not None and (closed := self.gate()) is not None:
            raise closed
        from trent.protocol.s3.body import Payload

        now = self.wall_now()
        policy = self.auth_policy
        if sigv4.is_presigned_v2(query):
            return self._authenticate_s3_v2(method, path, query, headers, now, bucket_from_host)
        if sigv4.is_presigned(query):
            presigned = sigv4.parse_presigned(query, headers, now, service=S3_SERVICE)
            parsed, query = presigned.parsed, presigned.signed_query
            if not policy.region_ok(parsed.authorization.region):
                raise errors.InvalidSignature("Credential should be scoped to a valid region. ")
            declared: str | None = parsed.headers.first("x-amz-content-sha256") or sigv4.UNSIGNED_PAYLOAD
            signed_payload: str | None = sigv4.UNSIGNED_PAYLOAD  # what botocore's S3SigV4QueryAuth signs
        else:
            parsed = sigv4.parse_request_auth(headers)
            sigv4.check_scope_and_time(parsed, now, policy.region_ok, service=S3_SERVICE)
            declared = signed_payload = parsed.headers.first("x-amz-content-sha256")
        auth = parsed.authorization
        mode = sigv4.payload_mode(declared)
        assert declared is not None
        try:
            who = self.authenticator.authenticate(auth.access_key_id, parsed.security_token, now)
        except errors.UnrecognizedClient:
            if not policy.permissive:
                raise
            return (self._permissive_principal(auth.access_key_id), auth.access_key_id, auth.region,
                    Payload(mode, declared, None, verified=False))
        sigv4.verify_signature(parsed, who.secret, method, path, query, parsed.headers, b"",
                               cache=self._signing_keys, payload_hash=signed_payload, path_as_sent=True)
        signer = sigv4.ChunkSigner.for_request(parsed, who.secret, self._signing_keys) if mode.signed_chunks else None
        return who.principal, auth.access_key_id, auth.region, Payload(mode, declared, signer)

    def _authenticate_s3_v2(
        self, method: str, path: str, query: str, headers: Sequence[tuple[bytes, bytes]], now: float,
        bucket_from_host: str | None,
    ) -> tuple[Principal, str, str, S3Payload]:
        from trent.protocol.s3.body import Payload

        presigned = sigv4.parse_presigned_v2(method, path, query, headers, now, bucket_from_host=bucket_from_host)
        policy = self.auth_policy
        served = policy.regions
        region = _GLOBAL_S3_REGION if served is None or _GLOBAL_S3_REGION in served else min(served)
        payload = Payload(sigv4.PayloadMode.UNSIGNED, sigv4.UNSIGNED_PAYLOAD, None)
        try:
            who = self.authenticator.authenticate(presigned.access_key_id, presigned.security_token, now)
        except errors.UnrecognizedClient:
            if not policy.permissive:
                raise
            return self._permissive_principal(presigned.access_key_id), presigned.access_key_id, region, payload
        sigv4.verify_presigned_v2(presigned, who.secret)
        return who.principal, presigned.access_key_id, region, payload

    def forget_secrets(self) -> None:
        """The root was sealed: drop everything derived from unwrapped secrets."""
        self._signing_keys = sigv4.SigningKeyCache()
        self._callers.clear()
        self.authenticator.clear()

    def _permissive_principal(self, access_key_id: str) -> Principal:
        if _DEV_ACCOUNT_AKID.match(access_key_id):
            return Principal(Principal.root_arn(access_key_id), access_key_id, PrincipalKind.ROOT, "root", access_key_id)
        if self.auth_policy.dev_principal is None:
            raise errors.UnrecognizedClient()
        return self.auth_policy.dev_principal

    @staticmethod
    def _parse_json(body: bytes) -> dict[str, Any]:
        # spec §1.1: every call sends a JSON object, `{}` at least.
        try:
            parsed = orjson.loads(body) if body else {}
        except orjson.JSONDecodeError:
            raise errors.SerializationError("Unable to parse the request body as JSON") from None
        if not isinstance(parsed, dict):
            raise errors.SerializationError("Start of structure or map found where not expected.")
        return parsed

    # --- step 3: audit + serialize -----------------------------------------------------

    def conclude(
        self, prepared: Prepared, outcome: Outcome | None, error: errors.TrentError | None
    ) -> tuple[AuditEntry, Response]:
        """The call's audit event and the response it earns. Writes nothing: the caller
        must commit the event, and send the response only once that succeeded."""
        error = error or prepared.error
        entry = AuditEntry(self._event(prepared, outcome, error), prepared.started)
        if error is not None:
            status, body = error_body(error)
            return entry, Response(status, orjson.dumps(body), prepared.request_id)
        assert outcome is not None
        return entry, Response(200, orjson.dumps(outcome.body), prepared.request_id)

    @staticmethod
    def refuse_unaudited(prepared: Prepared) -> Response:
        """Fail closed: what a caller gets when its call's event could not be recorded."""
        log.error("audit write failed; refusing request %s", prepared.request_id)
        status, body = error_body(errors.KMSInternal())
        return Response(status, orjson.dumps(body), prepared.request_id)

    def execute(self, prepared: Prepared) -> Concluded[Response]:
        """Steps 2-3 for a call that may write (worker thread): the use case and, if it
        changed anything, its event in ONE transaction (issue 16). An unrecorded result
        (nothing was written) still needs its event committed before it may leave."""
        if prepared.error is not None:
            entry, response = self.conclude(prepared, None, prepared.error)
            return Concluded(entry, response, False)
        deps = self.deps

        def work() -> Outcome:
            outcome, error = run_handler(deps, prepared)
            if error is not None:
                raise error
            assert outcome is not None
            return outcome

        return atomically(deps.storage, self.outbox, work, lambda o, e: self.conclude(prepared, o, e),
                          f"{prepared.operation_name} (request {prepared.request_id})")

    def finish(self, prepared: Prepared, outcome: Outcome | None, error: errors.TrentError | None) -> Response:
        """:meth:`conclude` + a synchronous, unbatched audit write (ASGI path, inline calls)."""
        entry, response = self.conclude(prepared, outcome, error)
        return record_now(self.outbox, Concluded(entry, response, False), lambda: self.refuse_unaudited(prepared))

    def finish_concluded(self, prepared: Prepared, concluded: Concluded[Response]) -> Response:
        """The response of :meth:`execute`, its event recorded synchronously if it is not yet."""
        return record_now(self.outbox, concluded, lambda: self.refuse_unaudited(prepared))

    def caller(self, principal: Principal | None, access_key_id: str | None) -> Caller:
        """The audit event's userIdentity for a principal (cached: one per principal and key)."""
        cache_key = (principal, access_key_id)
        caller = self._callers.get(cache_key)
        if caller is None:
            caller = Caller(
                kind=str(principal.kind) if principal else "Unknown",
                principal_id=principal.principal_id if principal else None,
                arn=principal.arn if principal else None,
                account_id=principal.account_id if principal else None,
                access_key_id=access_key_id,
                user_name=principal.name if principal and principal.kind is PrincipalKind.IAM_USER else None,
            )
            if len(self._callers) > 4096:
                self._callers.clear()
            self._callers[cache_key] = caller
        return caller

    def _event(
        self, prepared: Prepared, outcome: Outcome | None, error: errors.TrentError | None
    ) -> dict[str, Any]:
        ctx = prepared.ctx
        caller = self.caller(ctx.principal if ctx is not None else None, prepared.access_key_id)
        params = None
        if prepared.raw_params is not None and prepared.operation is not None:
            params = validation.audit_safe_params(prepared.operation_name, prepared.raw_params)
        resources = [(k.account_id, k.arn) for k in outcome.resources] if outcome is not None else []
        event = api_call_event(
            event_id=new_uuid4(),
            request_id=prepared.request_id,
            event_time=prepared.started,
            operation=prepared.operation_name,
            region=ctx.region if ctx else "",
            caller=caller,
            source_ip=prepared.source_ip,
            user_agent=prepared.user_agent,
            request_parameters=params,
            response_elements=outcome.response_elements if outcome is not None else None,
            error_code=wire_error(error).type_name if error is not None else None,
            error_message=error.message if error is not None else None,
            resources=resources,
            recipient_account_id=ctx.account_id if ctx else None,
        )
        extra: dict[str, str] = {}
        if outcome is not None and outcome.key_material_id is not None:
            extra["keyMaterialId"] = outcome.key_material_id
        if error is not None and error.audit_reason is not None:
            # habits §5: why a crypto check failed is for the audit log, never the wire.
            extra["failureReason"] = error.audit_reason
        if extra:
            event["additionalEventData"] = extra
        if prepared.tls_details is not None:
            event["tlsDetails"] = prepared.tls_details
        return event


def run_handler(deps: ServiceDeps, prepared: Prepared) -> tuple[Outcome | None, errors.TrentError | None]:
    """Step 2: the use case. Never raises: unexpected failures become KMSInternal."""
    assert prepared.operation is not None and prepared.ctx is not None and prepared.request is not None
    try:
        return prepared.operation.handler(deps, prepared.ctx, prepared.request), None
    except errors.TrentError as exc:
        return None, exc
    except Exception:  # noqa: BLE001 - the wire must never see a traceback (spec §1.4)
        log.exception("unexpected failure in %s (request %s)", prepared.operation_name, prepared.request_id)
        return None, errors.KMSInternal()
