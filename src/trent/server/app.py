"""The ASGI application: ``POST /`` -> the KMS pipeline, plus Trent's own endpoints.

    GET  /_trent/health          200 once the server can serve (always, once listening)
    POST /_trent/reset           --dev only: delete every key, alias and tag
    GET  /_trent/clock           --dev only: the server's time and offset
    POST /_trent/clock           --dev only: {"advance": "400d" | seconds} moves time forward
                                 and sweeps at once ({"sweep": false}: leave it to the timer)

Request bodies are bounded (``max_body_bytes``): a larger body is refused with a
SerializationException before it is read to the end, so a client cannot make the
server buffer without limit.
"""

from __future__ import annotations

import asyncio
import logging
import os
from trent.domain.ids import new_uuid4
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import orjson

from trent import errors
from trent.protocol.errors import error_body
from trent.protocol.pipeline import KmsPipeline, Response, run_handler
from trent.protocol import explain_endpoint
from trent.protocol.sts import StsFrontDoor, is_sts_request
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
        self.sts = StsFrontDoor(pipeline)  # issue 5: STS query-protocol calls on the same port
        self.explain = explain_endpoint.ExplainFrontDoor(pipeline)  # issue 5: POST /_trent/authz/explain
        self.dev = dev
        self.max_body_bytes = max_body_bytes
        self._executor = executor or ThreadPoolExecutor(max_workers=8, thread_name_prefix="trent-op")
        self._on_startup = on_startup
        self._on_shutdown = on_shutdown

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
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                if self._on_shutdown is not None:
                    await self._on_shutdown()
                self._executor.shutdown(wait=False, cancel_futures=True)
                await send({"type": "lifespan.shutdown.complete"})
                return

    async def _http(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope["path"]
        method = scope["method"]
        if path in ("/_trent/health", "/_trent/ready"):
            await self._trent_endpoint(method, path, receive, send)
            return
        client = scope.get("client")
        connection = Connection(client[0] if client else "127.0.0.1", scope.get("scheme") == "https")
        try:
            origin = self.transport.origin(connection, scope["headers"])
        except errors.TrentError as exc:  # plain HTTP where only HTTPS is accepted: audited
            prepared = self.pipeline.refuse(scope["headers"], connection.peer, exc)
            await _send_response(send, self.pipeline.finish(prepared, None, exc))
            return
        if path.startswith("/_trent/") and path != explain_endpoint.PATH:
            await self._trent_endpoint(method, path, receive, send)
            return
        body = await self._read_body(scope, receive)
        if body is None:
            await _send_json(send, 413, error_body(errors.SerializationError("Request body is too large."))[1], None)
            return
        if path == explain_endpoint.PATH:
            response = await asyncio.get_running_loop().run_in_executor(
                self._executor, self.explain.handle, method, path, scope.get("query_string", b"").decode("latin-1"),
                scope["headers"], body, origin.source_ip,
            )
            await _send_response(send, response)
            return
        if method != "POST" or path != "/":
            # spec §1.1: KMS is only ever POST /.
            status, payload = error_body(errors.UnknownOperation())
            await _send_json(send, status if method == "POST" else 405, payload, None)
            return
        source_ip = origin.source_ip
        query = scope.get("query_string", b"").decode("latin-1")
        if is_sts_request(scope["headers"]):
            response = await asyncio.get_running_loop().run_in_executor(
                self._executor, self.sts.handle, method, path, query, scope["headers"], body, source_ip,
                origin.secure, origin.tls_details,
            )
            await _send_response(send, response)
            return
        pipeline = self.pipeline
        prepared = pipeline.prepare(method, path, query, scope["headers"], body, source_ip, origin.secure,
                                    origin.tls_details)
        outcome = error = None
        if prepared.error is None:
            if prepared.operation is not None and prepared.operation.inline:
                outcome, error = run_handler(pipeline.deps, prepared)
            else:
                loop = asyncio.get_running_loop()
                outcome, error = await loop.run_in_executor(self._executor, run_handler, pipeline.deps, prepared)
        # The audit append is one write(2): cheap enough to do on the loop for every call.
        await _send_response(send, pipeline.finish(prepared, outcome, error))

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

    async def _trent_endpoint(self, method: str, path: str, receive: Receive, send: Send) -> None:
        if path == "/_trent/health" and method == "GET":
            await _send_json(send, 200, {"status": "ok", "pid": os.getpid()}, None)
            return
        dev = self.dev
        if dev is None:
            await _send_json(send, 404, {"message": "not found"}, None)
            return
        body = await self._read_body({"headers": []}, receive)
        status, payload = await asyncio.get_running_loop().run_in_executor(
            self._executor, dev_endpoint, dev, method, path, body or b""
        )
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
        if path == "/_trent/clock" and method == "POST":
            request = orjson.loads(body or b"{}")
            if not isinstance(request, dict) or "advance" not in request:
                raise ValueError('expected {"advance": "<n>[smhd]" | seconds}')
            return 200, dev.advance_clock(request["advance"], request.get("sweep", True) is not False)
    except (ValueError, orjson.JSONDecodeError) as exc:
        return 400, {"message": str(exc)}
    return 404, {"message": "not found"}


async def _send_response(send: Send, response: Response) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": response.status,
            "headers": [
                (b"content-type", response.content_type),
                (b"x-amzn-requestid", response.request_id.encode()),
                (b"content-length", str(len(response.body)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": response.body})


async def _send_json(send: Send, status: int, payload: dict[str, Any], request_id: str | None) -> None:
    await _send_response(send, Response(status, orjson.dumps(payload), request_id or new_uuid4()))
