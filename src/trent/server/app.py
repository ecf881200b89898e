"""The ASGI application: ``POST /`` -> the KMS pipeline, plus Trent's own endpoints.

    GET  /_trent/health          200 once the server can serve (always, once listening)
    POST /_trent/reset           --dev only: delete every key, alias and tag
    GET  /_trent/clock           --dev only: the server's time and offset
    POST /_trent/clock           --dev only: {"advance": "400d" | seconds} moves time forward
    POST /_trent/clock           --dev only: {"advance": "400d" | seconds} moves time forward
                                 and sweeps at once ({"sweep": false}: leave it to the timer)
    POST /_trent/audit/flush     --dev only: deliver the audit trail and sign a digest now

Request bodies are bounded (``max_body_bytes``): a larger body is refused (413: KMS's
SerializationException, or STS's error for an STS request, ``EdgeAudit.refused_by_service``)
before it is read to the end, so a client cannot make the server buffer without limit.
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from trent.domain.ids import new_uuid4
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import orjson

from trent import errors
from trent.audit.sink import AuditWriteError
from trent.server.body_pipe import read_at_most
from trent.server.edge_audit import EdgeAudit, dev_params
from trent.protocol.pipeline import KmsPipeline, Response, run_handler
from trent.protocol import explain_endpoint
from trent.protocol.recording import record_now
from trent.protocol.router import Service, route
from trent.protocol.sts import StsFrontDoor
from trent.server.console import Console, is_console_path
from trent.protocol.transport import Connection, TransportPolicy

log = logging.getLogger("trent.server")

Scope = dict[str, Any]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]

DEFAULT_MAX_BODY_BYTES = 1 << 20  # the largest valid KMS request is ~ 300 KiB (policy + tags)


@dataclass(frozen=True, slots=True)
class DevControls:
    """What ``--dev`` adds on top of the KMS API. Absent in production."""

    reset: Callable[[], None]
    clock_status: Callable[[], dict[str, Any]]
    advance_clock: Callable[[str | float, bool], dict[str, Any]]
    # issue 16: deliver the audit trail and sign a digest now
    audit_flush: Callable[[], dict[str, Any]] | None = None


class TrentApp:
    def __init__(
        self,
        pipeline: KmsPipeline,
        *,
        dev: DevControls | None = None,
        max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
        executor: ThreadPoolExecutor | None = None,
        on_startup: Callable[[], Awaitable[None]] | None = None,
        on_shutdown: Callable[[], Awaitable[None]] | None = None,
        transport: TransportPolicy | None = None,
    ) -> None:
        self.pipeline = pipeline
        self.transport = transport or TransportPolicy()
        # Issue 20: set by bootstrap (the same objects as the built-in server's).
        self.metrics: Any = None  # server.metrics.RequestMetrics
        self.access_log: Any = None  # server.access_log.AccessLog
        self.readiness: Any = None  # server.readiness.Readiness
        self.edge_audit = EdgeAudit(pipeline)
        self._flusher: asyncio.Task[None] | None = None
        self.sts = StsFrontDoor(pipeline)  # issue 5: STS query-protocol calls on the same port
        # issue 16: the CloudTrail API and the trail bucket over S3 (set by bootstrap)
        self.cloudtrail: Any = None
        self.s3: Any = None
        self.explain = explain_endpoint.ExplainFrontDoor(pipeline)  # issue 5: POST /_trent/authz/explain
        self.dev = dev
        self.max_body_bytes = max_body_bytes
        self._executor = executor or ThreadPoolExecutor(max_workers=8, thread_name_prefix="trent-op")
        self._on_startup = on_startup
        self._on_shutdown = on_shutdown
        self.console: Console | None = None  # issue 21: the web console under /console

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind == "http":
            await self._http(scope, receive, send)
        elif kind == "lifespan":
            await self._lifespan(receive, send)

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                if self._on_startup is not None:
                    await self._on_startup()
                if self.metrics is not None:
                    self._flusher = asyncio.create_task(self._flush_metrics())
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                if self._flusher is not None:
                    self._flusher.cancel()
                if self.metrics is not None:
                    self.metrics.flush()
                if self.access_log is not None:
                    self.access_log.flush()
                if self._on_shutdown is not None:
                    await self._on_shutdown()
                self._executor.shutdown(wait=False, cancel_futures=True)
                await send({"type": "lifespan.shutdown.complete"})
                return

    async def _http(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope["path"]
        method = scope["method"]
        received = time.monotonic()
        if path == "/_trent/ready" and method == "GET" and self.readiness is not None:
            status, payload = await asyncio.get_running_loop().run_in_executor(self._executor, self.readiness.answer)
            await _send_json(send, status, payload, None)
            return
        if path == "/_trent/health":
            await self._trent_endpoint(method, path, receive, send)
            return
        client = scope.get("client")
        connection = Connection(client[0] if client else "127.0.0.1", scope.get("scheme") == "https")
        try:
            origin = self.transport.origin(connection, scope["headers"])
        except errors.TrentError as exc:  # plain HTTP where only HTTPS is accepted: audited
            if await self._refused_as_its_service(scope, receive, send, connection.peer, exc):
                return
            prepared = self.pipeline.refuse(scope["headers"], connection.peer, exc)
            await _send_response(send, self.pipeline.finish(prepared, None, exc))
            return
        if path == "/metrics" and method == "GET":
            await self._metrics(send)
            return
        if path.startswith("/_trent/") and path != explain_endpoint.PATH:
            await self._trent_endpoint(method, path, receive, send, scope, origin.source_ip)
            return
        if (self.s3 is not None and not (self.console is not None and is_console_path(path))
                and path != explain_endpoint.PATH
                and route(method, path, scope.get("query_string", b""), scope["headers"]) is Service.S3):
            await self._s3(scope, receive, send, method, origin)  # issue 17: bodies streamed, not capped
            return
        body = await self._read_body(scope, receive)
        if body is None:
            too_large = errors.RequestBodyTooLarge()
            if not await self._refused_as_its_service(scope, receive, send, origin.source_ip, too_large, 413, b""):
                await self._refuse(send, scope, origin.source_ip, too_large, 413)
            return
        if self.console is not None and is_console_path(path):
            client = scope.get("client")
            response = await asyncio.get_running_loop().run_in_executor(
                self._executor, self.console.handle, method, (scope.get("raw_path") or path.encode()).decode("latin-1"),
                scope.get("query_string", b"").decode("latin-1"),
                scope["headers"], body, origin.source_ip, origin.secure,
            )
            await _send_response(send, response)
            return
        if path == explain_endpoint.PATH:
            response = await asyncio.get_running_loop().run_in_executor(
                self._executor, self.explain.handle, method, path, scope.get("query_string", b"").decode("latin-1"),
                scope["headers"], body, origin.source_ip,
            )
            await _send_response(send, response)
            return
        source_ip = origin.source_ip
        raw_query = scope.get("query_string", b"")
        query = raw_query.decode("latin-1")
        service = route(method, path, raw_query, scope["headers"])  # issue 16: one router
        if service is Service.STS:
            response = await asyncio.get_running_loop().run_in_executor(
                self._executor, self.sts.handle, method, path, query, scope["headers"], body, source_ip,
                origin.secure, origin.tls_details,
            )
            await _send_response(send, response)
            return
        if service is not Service.KMS:
            front = self.cloudtrail if service is Service.CLOUDTRAIL else self.s3
            if front is None:  # a service this server does not run: refused at the door, audited
                await self._refuse(send, scope, source_ip, errors.UnknownOperation(), 400)
                return
            # S3 signs the path as sent: the raw (still percent-encoded) one.
            raw_path = scope.get("raw_path", path.encode()).decode("latin-1")
            loop = asyncio.get_running_loop()
            concluded = await loop.run_in_executor(
                self._executor, front.handle, method, raw_path, query, scope["headers"], body, source_ip
            )
            response = await loop.run_in_executor(
                self._executor, record_now, self.pipeline.outbox, concluded, lambda: front.refuse(concluded.response)
            )
            await _send_response(send, response)
            return
        if method != "POST" or path != "/":
            # spec §1.1: KMS is only ever POST /. (Audited: a refusal at the door.)
            await self._refuse(send, scope, source_ip, errors.UnknownOperation(), 405 if method != "POST" else 400)
            return
        pipeline = self.pipeline
        prepared = pipeline.prepare(method, path, query, scope["headers"], body, source_ip, origin.secure,
                                    origin.tls_details)
        loop = asyncio.get_running_loop()
        if prepared.error is None and prepared.operation is not None and prepared.operation.inline:
            outcome, error = run_handler(pipeline.deps, prepared)
            # One transaction per event here (no group commit): off the loop.
            response = await loop.run_in_executor(self._executor, pipeline.finish, prepared, outcome, error)
        else:
            # A change and its event commit together (issue 16); then any unrecorded event.
            concluded = await loop.run_in_executor(self._executor, pipeline.execute, prepared)
            response = await loop.run_in_executor(self._executor, pipeline.finish_concluded, prepared, concluded)
        await _send_response(send, response)
        self._answered(prepared, response, received)

    def _answered(self, prepared: Any, response: Response, received: float) -> None:
        seconds = time.monotonic() - received
        code = error_code_of(response)
        if self.metrics is not None:
            self.metrics.record(prepared.operation_name, code or "ok", seconds)
        if self.access_log is not None:
            ctx = prepared.ctx
            self.access_log.record(
                request_id=response.request_id, operation=prepared.operation_name, status=response.status, code=code,
                seconds=seconds, principal=ctx.principal.arn if ctx is not None else None,
                access_key_id=prepared.access_key_id, source_ip=prepared.source_ip, user_agent=prepared.user_agent,
            )

    async def _refuse(self, send: Send, scope: Scope, source_ip: str, error: errors.TrentError, status: int) -> None:
        """Refused at the door: audited through the one seam (edge_audit.py), fail-closed."""
        received = time.monotonic()
        prepared, entry, response = self.edge_audit.refused(scope["headers"], source_ip, error, status)
        try:
            await asyncio.get_running_loop().run_in_executor(self._executor, self.edge_audit.record, entry)
        except AuditWriteError:
            response = self.pipeline.refuse_unaudited(prepared)
        await _send_response(send, response)
        self._answered(prepared, response, received)

    async def _refused_as_its_service(
        self, scope: Scope, receive: Receive, send: Send, source_ip: str, error: errors.TrentError,
        status: int | None = None, body: bytes | None = None,
    ) -> bool:
        """Refuse an S3 or STS request at the door in its own service's format
        (``EdgeAudit.refused_by_service``), recorded before it is answered (fail-closed);
        False for any other request. ``body``: what was read of it (None: not read yet)."""
        method, path, headers = scope["method"], scope["path"], scope["headers"]
        query = scope.get("query_string", b"")
        sts = route(method, path, query, headers) is Service.STS
        if body is None:
            body = (await self._read_body(scope, receive) or b"") if sts else b""  # its Action names an STS event
        refusal = self.edge_audit.refused_by_service(self.s3, self.sts, method, path, query, headers, body,
                                                     source_ip, error, status)
        if refusal is None:
            return False
        response = refusal.response
        try:
            await asyncio.get_running_loop().run_in_executor(self._executor, self.edge_audit.record, refusal.entry)
        except AuditWriteError:
            response = refusal.fail_closed(response)
        if not sts:
            # An S3 body is not read (an upload's may still wait for 100 Continue): the
            # connection cannot carry another request (RFC 9110 §10.1.1), so it closes.
            response = response._replace(headers=(*response.headers, (b"connection", b"close")))
        await _send_response(send, response)
        return True

    async def _flush_metrics(self) -> None:
        while True:
            await asyncio.sleep(1.0)
            try:
                self.metrics.flush()
            except Exception:  # noqa: BLE001 - metrics never take the server down
                log.exception("metrics flush failed")

    async def _metrics(self, send: Send) -> None:
        from trent.server.metrics import CONTENT_TYPE, render

        if self.metrics is not None:
            self.metrics.flush()
        body = await asyncio.get_running_loop().run_in_executor(self._executor, render)
        await _send_response(send, Response(200, body, new_uuid4(), CONTENT_TYPE))

    async def _s3(self, scope: Scope, receive: Receive, send: Send, method: str, origin: Any) -> None:
        """S3 (issues 16-17): the body is pulled by the handler's thread as it reads it,
        and a GetObject's plaintext is sent piece by piece as the use case decrypts it."""
        loop = asyncio.get_running_loop()
        front = self.s3
        raw_path = scope.get("raw_path", scope["path"].encode()).decode("latin-1")
        query = scope.get("query_string", b"").decode("latin-1")
        body = _AsgiBody(receive, loop)
        concluded = await loop.run_in_executor(
            self._executor, front.handle, method, raw_path, query, scope["headers"], body, origin.source_ip,
            origin.secure,
        )
        response = await loop.run_in_executor(
            self._executor, record_now, self.pipeline.outbox, concluded, lambda: front.refuse(concluded.response)
        )
        if response.stream is None:
            await _send_response(send, response)
            return
        await _send_response(send, response, more=True)
        stream = response.stream
        try:
            while True:
                piece = await loop.run_in_executor(self._executor, next, stream, None)
                if piece is None:
                    break
                await send({"type": "http.response.body", "body": bytes(piece), "more_body": True})
                del piece  # freed before the next one is made
        finally:
            close = getattr(stream, "close", None)
            if close is not None:
                await loop.run_in_executor(self._executor, close)
        await send({"type": "http.response.body", "body": b""})

    async def _read_body(self, scope: Scope, receive: Receive) -> bytes | None:
        for name, value in scope["headers"]:
            if name == b"content-length":
                try:
                    if int(value) > self.max_body_bytes:
                        return None
                except ValueError:
                    return None
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_body_bytes:
                return None
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        return chunks[0] if len(chunks) == 1 else b"".join(chunks)

    async def _trent_endpoint(
        self, method: str, path: str, receive: Receive, send: Send, scope: Scope | None = None,
        source_ip: str = "127.0.0.1",
    ) -> None:
        if path == "/_trent/health" and method == "GET":
            await _send_json(send, 200, {"status": "ok", "pid": os.getpid()}, None)
            return
        dev = self.dev
        if dev is None:
            await self._refuse(send, scope or {"headers": []}, source_ip, errors.UnknownOperation(), 404)
            return
        body = await self._read_body({"headers": []}, receive) or b""
        user_agent = next((v.decode("latin-1") for k, v in (scope or {}).get("headers", []) if k == b"user-agent"), None)

        def control() -> tuple[int, dict[str, Any]]:
            status, payload = dev_endpoint(dev, method, path, body)
            event = self.edge_audit.dev_control(method, path, dev_params(path, body), source_ip, user_agent, status,
                                                payload.get("message"))
            try:
                self.edge_audit.record(event)
            except AuditWriteError:
                return 500, {"message": "internal error"}
            return status, payload

        status, payload = await asyncio.get_running_loop().run_in_executor(self._executor, control)
        await _send_json(send, status, payload, None)


def dev_endpoint(dev: DevControls, method: str, path: str, body: bytes) -> tuple[int, dict[str, Any]]:
    """The --dev endpoints, for both front doors. May block (a reset, the sweep after a
    clock jump): callers run it on a worker thread."""
    try:
        if path == "/_trent/reset" and method == "POST":
            dev.reset()
            return 200, {"reset": True}
        if path == "/_trent/clock" and method == "GET":
            return 200, dev.clock_status()
        if path == "/_trent/audit/flush" and method == "POST" and dev.audit_flush is not None:
            report = dev.audit_flush()
            return (500 if report.get("errors") else 200), report
        if path == "/_trent/clock" and method == "POST":
            request = orjson.loads(body or b"{}")
            if not isinstance(request, dict) or "advance" not in request:
                raise ValueError('expected {"advance": "<n>[smhd]" | seconds}')
            return 200, dev.advance_clock(request["advance"], request.get("sweep", True) is not False)
    except (ValueError, orjson.JSONDecodeError) as exc:
        return 400, {"message": str(exc)}
    return 404, {"message": "not found"}


def error_code_of(response: Response) -> str | None:
    """The AWS error code of a JSON error response (metrics, access log), else None."""
    if response.status < 400:
        return None
    try:
        body = orjson.loads(response.body)
    except orjson.JSONDecodeError:
        return f"HTTP{response.status}"
    return str(body.get("__type", f"HTTP{response.status}")) if isinstance(body, dict) else f"HTTP{response.status}"


async def _send_response(send: Send, response: Response, *, more: bool = False) -> None:
    length = len(response.body) if response.content_length is None else response.content_length
    await send(
        {
            "type": "http.response.start",
            "status": response.status,
            "headers": [
                *([(b"content-type", response.content_type)] if response.content_type else []),
                (b"x-amzn-requestid", response.request_id.encode()),
                (b"content-length", str(length).encode()),
                *response.headers,
            ],
        }
    )
    await send({"type": "http.response.body", "body": response.body, "more_body": more})


class _AsgiBody:
    """An ASGI request body as a blocking ``BodySource`` for a worker thread (issue 17);
    the ASGI server sends ``100 Continue`` at the first ``receive``."""

    def __init__(self, receive: Receive, loop: asyncio.AbstractEventLoop) -> None:
        self._receive = receive
        self._loop = loop
        self._done = False

    async def _next(self) -> dict[str, Any]:
        return dict(await self._receive())

    def chunks(self) -> Any:
        while not self._done:
            message = asyncio.run_coroutine_threadsafe(self._next(), self._loop).result()
            if message.get("type") == "http.disconnect":
                raise errors.IncompleteBody(audit_reason="the client closed the connection")
            chunk = message.get("body", b"")
            if not message.get("more_body", False):
                self._done = True
            if chunk:
                yield chunk

    def read_all(self, limit: int) -> bytes:
        return read_at_most(self.chunks(), limit)

    @property
    def consumed(self) -> bool:
        return self._done


async def _send_json(send: Send, status: int, payload: dict[str, Any], request_id: str | None) -> None:
    await _send_response(send, Response(status, orjson.dumps(payload), request_id or new_uuid4()))
