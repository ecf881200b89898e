"""Trent's HTTP/1.1 front door: an asyncio Protocol on httptools (llhttp) and uvloop.

Why not uvicorn for the KMS port: a KMS request is small and its work is ~50 µs,
so the server's own per-request cost decides throughput. uvicorn spends a task,
two socket writes and the ASGI message dance per request. Here a request parsed
in ``data_received`` is handled right there (crypto on cached keys never blocks),
its audit event joins the loop tick's batch, and once per tick the whole batch is
written to the audit log in one ``write(2)`` (group commit) before any of its
responses is released, each in one socket write. Fail-closed follows by
construction: if the batch write fails, every response in it becomes
KMSInternalException. Management calls (database writes) run on a thread pool and
join the batch of the tick in which they finish.

Responses on a connection leave in request order (HTTP/1.1 pipelining): each
request takes a slot in the connection's queue; a slot is written when it and
every slot before it are ready. The ASGI app (``trent.server.app``) serves the
same pipeline for anyone who prefers to run Trent under an ASGI server.

Limits: request bodies are bounded (413 before the body is read), headers are
bounded by llhttp, a parse error closes the connection with 400.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
from collections import deque
from collections.abc import Callable
from concurrent.futures import Executor
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any

import httptools
import orjson

from trent import errors
from trent.audit.sink import AuditSink, AuditWriteError
from trent.domain.ids import new_uuid4
from trent.protocol.errors import error_body
from trent.protocol.pipeline import KmsPipeline, Prepared, Response, run_handler
from trent.protocol import explain_endpoint
from trent.protocol.sts import StsFrontDoor, is_sts_request
from trent.protocol.transport import Connection, TransportPolicy
from trent.server.app import DevControls, dev_endpoint
from trent.server.root_controls import RootControls
from trent.server.tls import TlsFiles

log = logging.getLogger("trent.server")

_MAX_HEADERS = 100
PROBES = frozenset({"/_trent/health", "/_trent/ready"})
_REASONS = {s.value: s.phrase.encode() for s in HTTPStatus}


def encode_response(response: Response, keep_alive: bool) -> bytes:
    head = (
        b"HTTP/1.1 %d %s\r\ncontent-type: %s\r\nx-amzn-requestid: %s\r\ncontent-length: %d\r\n%s\r\n"
        % (
            response.status,
            _REASONS.get(response.status, b"Unknown"),
            response.content_type,
            response.request_id.encode(),
            len(response.body),
            b"" if keep_alive else b"connection: close\r\n",
        )
    )
    return head + response.body


def _plain(status: int, payload: dict[str, Any]) -> Response:
    return Response(status, orjson.dumps(payload), new_uuid4())


def _error(status: int, exc: errors.TrentError) -> Response:
    return Response(status, orjson.dumps(error_body(exc)[1]), new_uuid4())


@dataclass(slots=True)
class _Slot:
    """One request's place in its connection's response order."""

    keep_alive: bool
    data: bytes | None = None


@dataclass(slots=True)
class _Pending:
    """A finished call waiting for its audit event to be committed."""

    prepared: Prepared
    event: dict[str, Any] = field(repr=False)
    response: Response
    connection: KmsHttpProtocol
    slot: _Slot


class AuditBatcher:
    """Collects the events of one loop tick and commits them with one write."""

    def __init__(self, sink: AuditSink, pipeline: KmsPipeline) -> None:
        self._sink = sink
        self._pipeline = pipeline
        self._batch: list[_Pending] = []
        self._loop: asyncio.AbstractEventLoop | None = None

    def add(self, pending: _Pending) -> None:
        if not self._batch:
            loop = self._loop or asyncio.get_running_loop()
            self._loop = loop
            loop.call_soon(self._commit)
        self._batch.append(pending)

    def _commit(self) -> None:
        batch, self._batch = self._batch, []
        try:
            self._sink.write_many([p.event for p in batch])
            failed = False
        except AuditWriteError:
            failed = True
        touched: dict[int, KmsHttpProtocol] = {}
        for p in batch:
            response = self._pipeline.refuse_unaudited(p.prepared) if failed else p.response
            p.slot.data = encode_response(response, p.slot.keep_alive)
            touched[id(p.connection)] = p.connection
        for connection in touched.values():
            connection.flush()


class KmsHttpProtocol(asyncio.Protocol):
    """One client connection."""

    def __init__(self, server: HttpServer) -> None:
        self._server = server
        self._parser = httptools.HttpRequestParser(self)
        self._transport: asyncio.Transport | None = None
        self._slots: deque[_Slot] = deque()
        self._closing = False
        self._reset()

    def _reset(self) -> None:
        self._url = b""
        self._headers: list[tuple[bytes, bytes]] = []
        self._body: list[bytes] = []
        self._body_size = 0
        self._too_large = False

    # --- asyncio.Protocol --------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = transport  # type: ignore[assignment]
        peer = transport.get_extra_info("peername")
        self._peer = peer[0] if isinstance(peer, tuple) else "127.0.0.1"
        tls = transport.get_extra_info("ssl_object")
        cipher = tls.cipher() if tls is not None else None
        self.connection = Connection(self._peer, tls is not None, tls.version() if tls is not None else None,
                                     cipher[0] if cipher else None)

    def connection_lost(self, exc: Exception | None) -> None:
        self._transport = None
        self._slots.clear()

    def data_received(self, data: bytes) -> None:
        try:
            self._parser.feed_data(data)
        except httptools.HttpParserUpgrade:
            self._fail(_plain(400, {"message": "upgrades are not supported"}))
        except httptools.HttpParserError:
            self._fail(_error(400, errors.SerializationError("Malformed HTTP request.")))

    # --- httptools callbacks -----------------------------------------------------------

    def on_message_begin(self) -> None:
        self._reset()

    def on_url(self, url: bytes) -> None:
        self._url += url

    def on_header(self, name: bytes, value: bytes) -> None:
        if len(self._headers) >= _MAX_HEADERS:
            raise httptools.HttpParserError("too many headers")
        self._headers.append((name.lower(), value))

    def on_headers_complete(self) -> None:
        for name, value in self._headers:
            if name == b"content-length":
                try:
                    self._too_large = int(value) > self._server.max_body_bytes
                except ValueError:
                    self._too_large = True

    def on_body(self, body: bytes) -> None:
        if self._too_large:
            return
        self._body_size += len(body)
        if self._body_size > self._server.max_body_bytes:
            self._too_large = True
            self._body.clear()
        else:
            self._body.append(body)

    def on_message_complete(self) -> None:
        keep_alive = self._parser.should_keep_alive() and not self._closing
        slot = _Slot(keep_alive)
        self._slots.append(slot)
        if not keep_alive:
            self._closing = True
        if self._too_large:
            # The rest of a too-large body is not read: answer and close.
            slot.keep_alive = False
            self._closing = True
            self._ready(slot, _error(413, errors.SerializationError("Request body is too large.")))
            return
        body = self._body[0] if len(self._body) == 1 else b"".join(self._body)
        self._server.dispatch(self, slot, self._parser.get_method().decode("latin-1"), self._url, self._headers, body)

    # --- responses -----------------------------------------------------------------------

    def _ready(self, slot: _Slot, response: Response) -> None:
        slot.data = encode_response(response, slot.keep_alive)
        self.flush()

    def _fail(self, response: Response) -> None:
        slot = _Slot(False)
        self._slots.append(slot)
        self._closing = True
        self._ready(slot, response)

    def flush(self) -> None:
        """Write every ready response at the head of the queue, in order."""
        transport = self._transport
        if transport is None:
            return
        out: list[bytes] = []
        close = False
        while self._slots and self._slots[0].data is not None:
            slot = self._slots.popleft()
            out.append(slot.data)  # type: ignore[arg-type]
            if not slot.keep_alive:
                close = True
                self._slots.clear()
                break
        if out:
            transport.write(out[0] if len(out) == 1 else b"".join(out))
        if close:
            transport.close()
            self._transport = None


class HttpServer:
    """Routes parsed requests: the KMS API, health, and the --dev endpoints."""

    def __init__(
        self,
        pipeline: KmsPipeline,
        executor: Executor,
        *,
        dev: DevControls | None = None,
        max_body_bytes: int,
        transport: TransportPolicy | None = None,
    ) -> None:
        self.pipeline = pipeline
        self.executor = executor
        self.dev = dev
        self.max_body_bytes = max_body_bytes
        self.transport = transport or TransportPolicy()
        self.audit = AuditBatcher(pipeline.audit, pipeline)
        self.sts = StsFrontDoor(pipeline)  # issue 5: STS query-protocol calls on the same port
        self.explain = explain_endpoint.ExplainFrontDoor(pipeline)  # issue 5: POST /_trent/authz/explain
        # Sealed root (issue 7): /_trent/seal-status, /_trent/unseal, /_trent/seal.
        self.root_controls: RootControls | None = None

    def protocol_factory(self) -> KmsHttpProtocol:
        return KmsHttpProtocol(self)

    def dispatch(
        self, conn: KmsHttpProtocol, slot: _Slot, method: str, url: bytes, headers: list[tuple[bytes, bytes]], body: bytes
    ) -> None:
        path, _, query = url.partition(b"?")
        path_text = path.decode("latin-1")
        if path_text in PROBES:  # answered whatever the transport: they reveal nothing
            self._trent_endpoint(conn, slot, method, path_text, body)
            return
        try:
            origin = self.transport.origin(conn.connection, headers)
        except errors.TrentError as exc:  # plain HTTP where only HTTPS is accepted: audited
            prepared = self.pipeline.refuse(headers, conn._peer, exc)
            self._conclude(conn, slot, prepared, None, exc)
            return
        if path_text == explain_endpoint.PATH:
            self._blocking(conn, slot, self.explain.handle, method, path_text, query.decode("latin-1"), headers, body,
                           origin.source_ip)
            return
        if path_text.startswith("/_trent/"):
            self._trent_endpoint(conn, slot, method, path_text, body)
            return
        if method != "POST" or path_text != "/":
            # spec §1.1: KMS is only ever POST /.
            conn._ready(slot, _error(405 if method != "POST" else 400, errors.UnknownOperation()))
            return
        if is_sts_request(headers):
            self._blocking(conn, slot, self.sts.handle, method, path_text, query.decode("latin-1"), headers, body,
                           origin.source_ip, origin.secure, origin.tls_details)
            return
        pipeline = self.pipeline
        prepared = pipeline.prepare(method, path_text, query.decode("latin-1"), headers, body, origin.source_ip,
                                    origin.secure, origin.tls_details)
        if prepared.error is not None:
            self._conclude(conn, slot, prepared, None, prepared.error)
        elif prepared.operation is not None and prepared.operation.inline:
            outcome, error = run_handler(pipeline.deps, prepared)
            self._conclude(conn, slot, prepared, outcome, error)
        else:
            loop = asyncio.get_running_loop()
            future = loop.run_in_executor(self.executor, run_handler, pipeline.deps, prepared)
            future.add_done_callback(lambda f: self._after_thread(conn, slot, prepared, f))

    def _after_thread(self, conn: KmsHttpProtocol, slot: _Slot, prepared: Prepared, future: asyncio.Future) -> None:
        try:
            outcome, error = future.result()
        except BaseException:  # noqa: BLE001 - cancelled at shutdown, or a bug: never a traceback on the wire
            log.exception("operation %s failed outside the pipeline", prepared.operation_name)
            outcome, error = None, errors.KMSInternal()
        self._conclude(conn, slot, prepared, outcome, error)

    def _conclude(self, conn: KmsHttpProtocol, slot: _Slot, prepared: Prepared, outcome, error) -> None:
        try:
            event, response = self.pipeline.conclude(prepared, outcome, error)
        except Exception:  # noqa: BLE001 - an event we cannot even build is an unrecorded call
            log.exception("could not build the audit event for %s", prepared.request_id)
            conn._ready(slot, self.pipeline.refuse_unaudited(prepared))
            return
        self.audit.add(_Pending(prepared, event, response, conn, slot))

    def _blocking(
        self, conn: KmsHttpProtocol, slot: _Slot, handle: Callable[..., Response], method: str, path: str,
        query: str, headers: list[tuple[bytes, bytes]], body: bytes, *origin: Any,
    ) -> None:
        """STS (protocol/sts.py) and explain (protocol/explain_endpoint.py): blocking (they
        read or write the database), audited synchronously by their handlers."""

        def done(future: asyncio.Future) -> None:
            try:
                conn._ready(slot, future.result())
            except BaseException:  # noqa: BLE001 - never a traceback on the wire
                log.exception("%s request failed outside its handler", path)
                conn._ready(slot, _error(500, errors.KMSInternal()))

        asyncio.get_running_loop().run_in_executor(
            self.executor, handle, method, path, query, headers, body, *origin
        ).add_done_callback(done)

    # --- Trent's own endpoints ----------------------------------------------------------------

    def _root_endpoint(
        self, conn: KmsHttpProtocol, slot: _Slot, method: str, path: str, body: bytes, root: RootControls
    ) -> None:
        if path == "/_trent/seal-status" and method == "GET":
            conn._ready(slot, _plain(*root.status()))
            return
        if method != "POST" or path == "/_trent/seal-status":
            conn._ready(slot, _plain(405, {"message": "method not allowed"}))
            return
        action = root.unseal if path == "/_trent/unseal" else root.seal

        def done(future: asyncio.Future) -> None:
            try:
                conn._ready(slot, _plain(*future.result()))
            except Exception:  # noqa: BLE001 - never a share or a traceback on the wire
                log.error("%s failed", path)
                conn._ready(slot, _plain(500, {"message": "internal error"}))

        asyncio.get_running_loop().run_in_executor(self.executor, action, body).add_done_callback(done)

    def _trent_endpoint(self, conn: KmsHttpProtocol, slot: _Slot, method: str, path: str, body: bytes) -> None:
        root = self.root_controls
        if path == "/_trent/health" and method == "GET":
            # Up and answering (200) even when sealed; the body says which.
            health: dict[str, Any] = {"status": "ok"} if root is None else {
                "status": "sealed" if root.root.sealed else "ok", "sealed": root.root.sealed}
            health["pid"] = os.getpid()  # which worker answered (issue 20: --workers N)
            conn._ready(slot, _plain(200, health))
            return
        if root is not None and path in ("/_trent/seal-status", "/_trent/unseal", "/_trent/seal"):
            self._root_endpoint(conn, slot, method, path, body, root)
            return
        dev = self.dev
        if dev is None:
            conn._ready(slot, _plain(404, {"message": "not found"}))
            return

        def done(future: asyncio.Future) -> None:
            try:
                status, payload = future.result()
            except Exception:  # noqa: BLE001
                log.exception("dev endpoint %s failed", path)
                status, payload = 500, {"message": "internal error"}
            conn._ready(slot, _plain(status, payload))

        asyncio.get_running_loop().run_in_executor(self.executor, dev_endpoint, dev, method, path, body).add_done_callback(
            done
        )


async def serve(
    server: HttpServer,
    host: str,
    port: int,
    on_startup: Callable[[], Any] | None = None,
    on_shutdown: Callable[[], Any] | None = None,
    ready: Callable[[], None] | None = None,
    reuse_port: bool = False,
    tls: TlsFiles | None = None,
) -> None:
    """Listen until SIGINT or SIGTERM, then stop cleanly. ``reuse_port``: one of several
    worker processes listening on the same port (SO_REUSEPORT; the kernel spreads
    connections over them)."""
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    if tls is not None:
        loop.add_signal_handler(signal.SIGHUP, tls.reload)
    listener = await loop.create_server(
        server.protocol_factory, host, port, backlog=2048, reuse_address=True, reuse_port=reuse_port or None,
        ssl=tls.context if tls is not None else None,
    )
    if on_startup is not None:
        await on_startup()
    if ready is not None:
        ready()
    try:
        await stop.wait()
    finally:
        listener.close()
        if on_shutdown is not None:
            await on_shutdown()
