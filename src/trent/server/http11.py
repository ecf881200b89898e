"""Trent's HTTP/1.1 front door: an asyncio Protocol on httptools (llhttp) and uvloop.

Why not uvicorn for the KMS port: a KMS request is small and its work is ~50 µs,
so the server's own per-request cost decides throughput. uvicorn spends a task,
two socket writes and the ASGI message dance per request. Here a request parsed
in ``data_received`` is handled on the loop in the same tick (crypto on cached keys
never blocks), its audit event joins a batch that is committed to the chained trail in
one transaction (group commit, ``audit_batcher.py``) before any of its responses is
released, each in one socket write. Fail-closed follows by construction: if the batch
commit fails, every response in it becomes KMSInternalException. Management calls run
on a thread pool and commit their changes and their event in one transaction (issue 16);
only a call that changed nothing joins the batch.

KMS calls are served in stages per event-loop tick: the calls read in one tick are
first all prepared (SigV4, model validation), then all handled, then all concluded
(event, response), instead of each call running every stage before the next starts.
Each stage's code and data then stay in the CPU's caches across the tick's calls: a call
touches ~100 µs of different code paths (HTTP, SigV4, JSON, policy engine, OpenSSL,
orjson), and running them back to back per call measured crypto at ~3× its cost in a
tight loop. Staged, an Encrypt's CPU fell ~17 % (``bench/encrypt_cpu.py``, issue 16,
bench/README.md, "stages per loop tick"). Nothing is reordered that a client could observe:
the calls of one tick come from different connections, which were never ordered (the
calls one connection pipelines run one after the other, below). The S3 requests
served on the loop (``S3FrontDoor.on_loop``: GetObject, HeadObject, a PutObject kept
inline) get the first stage: the signatures of those read in one tick are all checked
(``S3FrontDoor.authenticate``), then each is handled. SigV4 is ~6 % of a 1 KiB PUT's
CPU, yet checking them together cut that CPU by ~10 % (bench/S3_SSE.md, session of
2026-12-07 02:01): the handling that follows runs with warmer caches too.

Pipelining (RFC 9112 §9.3.2; ``pipeline_order.py``): each request takes a slot in its
connection's order; a response is written when it and every response before it are
ready, so responses leave in request order. Safe requests (GET, HEAD, OPTIONS) of a
connection run in parallel; an unsafe one (PUT, POST, DELETE: every KMS call) starts
only after every earlier request of the connection has finished, and later ones wait
for it, so each request sees what the requests before it did. A ``100 Continue`` is
written only at its request's turn, after every earlier response (a streamed download's
last byte included). With 64 requests unanswered the connection stops reading, through
the same counted hold a streamed upload's ``BodyPipe`` uses.

The last request of a connection (RFC 9112 §9.6): after a request that closes the
connection (``Connection: close``, HTTP/1.0 without keep-alive, or one the server closes
on: a body too large, a malformed request, a shutdown under way) nothing more is parsed.
Whatever the client sent after it is read and dropped: never run, audited or answered.
The closing request's own body is still read to its end (a streamed upload's included);
its response, the last, carries ``connection: close`` and leaves after every earlier one,
then the connection closes.
The ASGI app (``trent.server.app``) serves the same pipeline for anyone who prefers to
run Trent under an ASGI server (pipelining there is the ASGI server's business).

Limits: request bodies are bounded (413 before the body is read), headers are
bounded by llhttp, a parse error closes the connection with 400. Every request gets one
answer, however it fails: a streamed upload whose body llhttp cannot parse (its chunked
framing breaks, RFC 9112 §7.1) already holds its slot, so its handler answers it (the pipe
ends as if the client had left: S3's IncompleteBody, nothing stored), not a second 400.
A refusal at the door whose method and URL were read (413, a malformed header, ...) is
answered in the format of the service the router names (``EdgeAudit.refused_by_service``:
S3's XML for an S3 request), else in KMS's JSON.

Upgrade (RFC 9110 §7.8): a server may ignore it and answer in HTTP/1.1, as AWS's endpoints
do (``curl --http2`` over plain HTTP sends ``Upgrade: h2c``). A request without a body that
asks to upgrade is served as any other, never with a 101, and the connection goes on after
it. llhttp stops after such a head (the rest would be the new protocol's), so what follows
is parsed by a new parser. A CONNECT, or an Upgrade with a body, is refused (400) instead.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Executor, ThreadPoolExecutor
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any

import httptools
import orjson

from trent import errors
from trent.domain.ids import new_uuid4
from trent.protocol.errors import error_body
from trent.protocol.pipeline import KmsPipeline, Prepared, Response, run_handler
from trent.protocol.recording import Concluded
from trent.protocol import explain_endpoint
from trent.audit.sink import AuditWriteError
from trent.protocol.cloudtrail.front_door import CloudTrailFrontDoor
from trent.protocol.header_lines import header_value
from trent.protocol.router import Service, route
from trent.protocol.sigv4 import LowercaseHeaders
from trent.protocol.s3.front_door import OnLoop, S3FrontDoor
from trent.protocol.s3.routes import virtual_host_bucket
from trent.protocol.sts import StsFrontDoor
from trent.protocol.transport import Connection, Origin, TransportPolicy
from trent.server.access_log import AccessLog
from trent.server.app import DevControls, dev_endpoint
from trent.server.audit_batcher import AuditBatcher, Pending
from trent.server.body_framing import BodyFraming
from trent.server.body_pipe import BodyFiller, BodyPipe
from trent.server.console import Console, is_console_path
from trent.server.edge_audit import EdgeAudit, dev_params
from trent.server.pipeline_order import SAFE_METHODS, PipelineOrder, ReadHold, Ticket
from trent.server.metrics import CONTENT_TYPE as METRICS_CONTENT_TYPE, RequestMetrics, render as render_metrics
from trent.server.readiness import Readiness
from trent.server.root_controls import RootControls
from trent.server.tls import TlsFiles

log = logging.getLogger("trent.server")

_MAX_HEADERS = 100
PROBES = frozenset({"/_trent/health", "/_trent/ready"})
METRICS_PATH = "/metrics"
_REASONS = {s.value: s.phrase.encode() for s in HTTPStatus}


def encode_response(response: Response, keep_alive: bool) -> bytes:
    extra = b"".join(b"%s: %s\r\n" % h for h in response.headers) if response.headers else b""
    head = (
        b"HTTP/1.1 %d %s\r\n%sx-amzn-requestid: %s\r\ncontent-length: %d\r\n%s%s\r\n"
        % (
            response.status,
            _REASONS.get(response.status, b"Unknown"),
            b"content-type: %s\r\n" % response.content_type if response.content_type else b"",
            response.request_id.encode(),
            len(response.body) if response.content_length is None else response.content_length,
            extra,
            b"" if keep_alive else b"connection: close\r\n",
        )
    )
    return head + response.body


def _last_response(data: bytes) -> bytes:
    """A response encoded to keep the connection open (``encode_response``), made the
    connection's last: ``connection: close`` ends its head, as ``keep_alive=False`` writes it."""
    head, blank, body = data.partition(b"\r\n\r\n")
    return head + b"\r\nconnection: close" + blank + body


def _refuse_kms(response: Response) -> Response:
    """Fail closed (KMS JSON): the call's event could not be recorded."""
    log.error("audit write failed; refusing request %s", response.request_id)
    status, body = error_body(errors.KMSInternal())
    return Response(status, orjson.dumps(body), response.request_id)


def _plain(status: int, payload: dict[str, Any]) -> Response:
    return Response(status, orjson.dumps(payload), new_uuid4())


def _error(status: int, exc: errors.TrentError) -> Response:
    return Response(status, orjson.dumps(error_body(exc)[1]), new_uuid4())


class _Slot(Ticket):
    """One request's place in its connection's order (pipeline_order.py) and its response."""

    __slots__ = ("keep_alive", "data", "stream")

    def __init__(self, keep_alive: bool, unsafe: bool) -> None:
        # Ticket's fields set here rather than by super().__init__: one call less per request.
        self.unsafe = unsafe
        self._state = 0  # waiting
        self._start = None
        self._on_head = None
        self.keep_alive = keep_alive
        self.data: bytes | None = None
        self.stream: Iterator[bytes | memoryview] | None = None  # issue 17: S3 object bytes after the head


_CONTINUE = b"HTTP/1.1 100 Continue\r\n\r\n"
_NO_CONNECT = "CONNECT is not supported."
_NO_UPGRADE_WITH_BODY = "A request that asks to upgrade (Upgrade) must not have a body."
_STREAM_PIECE = 256 << 10  # bytes of a streamed response per socket write
# What one socket read takes at most (uvloop's own read size): the server's connections
# share one buffer of it (KmsHttpProtocol.get_buffer), parsed before the next read.
_READ_BUFFER = 256 << 10
S3_THREADS = 32  # S3 requests and streamed downloads in progress at once (per worker process)
_STALLED = 300.0  # seconds a client may leave one piece unread before its download is cut
# An S3 upload whose Content-Length is at most this, and that does not wait for 100 Continue,
# is read whole before its handler starts, as a KMS request is, instead of through a
# BodyPipe: the pipe's hand-offs between the loop and the worker thread (~4 context
# switches per request) cost a 1 KiB PUT more than its encryption (issue 17, bench/S3_SSE.md
# issue-17m). One segment of content: the buffer per connection stays small.
S3_BUFFERED_UPLOAD_MAX = 64 * 1024
_NO_BODY = BodyFraming()


def _request_line(method: bytes, url: bytes) -> tuple[str, str, bytes] | None:
    """(method, path, query) of a request line read whole, as ``HttpServer.refuse`` takes
    them to answer a refusal in its service's format; None for a CONNECT, whose target is a
    host and port (RFC 9110 §9.3.6), no service's resource: KMS's JSON answers it."""
    if method == b"CONNECT":
        return None
    path, _, query = url.partition(b"?")
    return method.decode("latin-1"), path.decode("latin-1"), query


class _AfterLastRequest(Exception):
    """Stops llhttp at a request that follows the connection's last one (RFC 9112 §9.6)."""


class KmsHttpProtocol(asyncio.BufferedProtocol):
    """One client connection.

    A BufferedProtocol: the socket is read into a buffer the protocol gives. Heads and small
    bodies go to llhttp from the server's one read buffer (llhttp's callbacks copy what they
    keep, so nothing refers to it after the read is parsed). The rest of a streamed upload
    of known length bypasses llhttp: it is read into the upload's own pieces
    (``body_pipe.BodyFiller``), and the next request gets a new parser.
    """

    def __init__(self, server: HttpServer) -> None:
        self._server = server
        self._parser = httptools.HttpRequestParser(self)
        self._transport: asyncio.Transport | None = None
        self._hold = ReadHold(self._pause_reading, self._resume_reading)  # pipes and the order share it
        self._order: PipelineOrder[_Slot] = PipelineOrder(asyncio.get_running_loop().call_soon, self._hold)
        self._closing = False
        self._last_read = False  # the request that closes the connection was read whole (RFC 9112 §9.6)
        self._pumping = False  # a streamed response is being written
        self._writable = asyncio.Event()
        self._writable.set()
        self._reset()

    def _reset(self) -> None:
        self._url = b""
        self._headers = LowercaseHeaders()  # on_header lowercases each name
        self._framing = _NO_BODY  # read from the headers once they are all in
        self._body: list[bytes] = []
        self._body_size = 0
        self._too_large = False
        self._pipe: BodyPipe | None = None  # issue 17: an S3 upload streamed to its handler
        self._pipe_slot: _Slot | None = None  # that upload's place in the order (taken at its head)
        self._piped = 0  # bytes of that upload's body llhttp passed to the pipe
        self._filler: BodyFiller | None = None  # reads the rest of that body past llhttp

    # --- asyncio.Protocol --------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._server.connections.add(self)
        self._transport = transport  # type: ignore[assignment]
        peer = transport.get_extra_info("peername")
        self._peer = peer[0] if isinstance(peer, tuple) else "127.0.0.1"
        tls = transport.get_extra_info("ssl_object")
        cipher = tls.cipher() if tls is not None else None
        self.connection = Connection(self._peer, tls is not None, tls.version() if tls is not None else None,
                                     cipher[0] if cipher else None)

    def connection_lost(self, exc: Exception | None) -> None:
        self._transport = None
        self._filler = None
        self._writable.set()
        if self._pipe is not None:
            self._pipe.abort(errors.IncompleteBody(audit_reason="the client closed the connection"))
        self._server.in_flight -= len(self._order.queue)
        self._order.close()
        self._server.connections.discard(self)

    @property
    def idle(self) -> bool:
        return not self._order.queue and not self._pumping

    def _pause_reading(self) -> None:
        if self._transport is not None:
            self._transport.pause_reading()

    def _resume_reading(self) -> None:
        if self._transport is not None:
            self._transport.resume_reading()

    def close(self) -> None:
        if self._transport is not None:
            self._transport.close()

    def get_buffer(self, sizehint: int) -> memoryview:
        if self._filler is not None:
            return self._filler.buffer()
        return self._server.read_buffer

    def buffer_updated(self, nbytes: int) -> None:
        filler = self._filler
        if filler is None:
            self._parse(self._server.read_buffer[:nbytes])
        elif filler.received(nbytes):
            # The upload's body is all in. llhttp, which stopped at its first bytes, would
            # still wait for the rest: the next request starts a new parser.
            self._filler = None
            self._parser = httptools.HttpRequestParser(self)
            self.on_message_complete()

    def data_received(self, data: bytes) -> None:
        """Bytes read elsewhere (the in-process tests): the path of a socket read."""
        view = memoryview(data)
        while view:
            buffer = self.get_buffer(len(view))
            n = min(len(buffer), len(view))
            buffer[:n] = view[:n]
            self.buffer_updated(n)
            view = view[n:]

    def _parse(self, data: memoryview) -> None:
        if self._last_read:
            # RFC 9112 §9.6: "MUST NOT process any further requests received on that
            # connection". Read and dropped rather than left unread: a socket closed with
            # unread bytes answers them with a reset, which can destroy the last response
            # before the client reads it (the TCP reset problem, same section).
            return
        view = data
        while True:
            try:
                self._parser.feed_data(view)
                self._read_rest_directly()
                return
            except httptools.HttpParserUpgrade as upgrade:
                # llhttp stops after a request that asks to switch protocols (Upgrade, CONNECT):
                # what follows its head would be the new protocol's. on_message_complete refused
                # it (the connection's last), or served it as HTTP/1.1 (an Upgrade without a
                # body, ignored: RFC 9110 §7.8), and then the rest is the next request: a new
                # parser reads it (llhttp's own state after an upgrade is not relied on).
                if self._last_read:
                    return
                view = view[int(upgrade.args[0]):]
                self._parser = httptools.HttpRequestParser(self)
                if not view:
                    return
            except httptools.HttpParserError as exc:
                if not self._last_read:  # else llhttp refused the bytes after `Connection: close`, or we stopped it
                    # A bad URL may have reached on_url cut short; any later error leaves it whole.
                    self._fail(errors.SerializationError("Malformed HTTP request."),
                               url_read=not isinstance(exc, httptools.HttpParserInvalidURLError))
                return

    def _read_rest_directly(self) -> None:
        """A streamed upload whose head was just parsed, its Content-Length not all read yet:
        the rest goes straight to its pipe (``BodyFiller``). A chunked body stays with llhttp,
        which decodes its framing."""
        pipe = self._pipe  # (no filler is reading: the bytes just parsed came from the read buffer)
        if pipe is None or self._framing.chunked:
            return
        length = self._framing.content_length
        if length is None:
            return
        remaining = int(length) - self._piped  # llhttp checked it is a number
        if remaining > 0:
            self._filler = BodyFiller(pipe, remaining, self._server.read_buffer)

    # --- httptools callbacks -----------------------------------------------------------

    def on_message_begin(self) -> None:
        if self._last_read:
            # A request after the last one. llhttp stops by itself after a request that is not
            # keep-alive, but not after one the server closes on (413, a shutdown): stop it here.
            raise _AfterLastRequest
        self._reset()

    def on_url(self, url: bytes) -> None:
        self._url += url

    def on_header(self, name: bytes, value: bytes) -> None:
        if len(self._headers) >= _MAX_HEADERS:
            raise httptools.HttpParserError("too many headers")
        self._headers.append((name.lower(), value))

    def pause_writing(self) -> None:
        self._writable.clear()

    def resume_writing(self) -> None:
        self._writable.set()

    def on_headers_complete(self) -> None:
        server = self._server
        framing = self._framing = BodyFraming.of(self._headers)
        # llhttp reads no body after an upgrade request's head (on_message_complete serves it
        # if it announces none, else refuses it): it never streams.
        if server.streams_body(self._parser.get_method(), self._url, self._headers, framing) \
                and not self._parser.should_upgrade():
            if not (self.idle and server.continues_at_once(self._parser.get_method(), self._url, self._headers,
                                                           framing)):
                self._stream_body()
                return
            # RFC 9110 §10.1.1 lets a server send 100 (Continue) before it looks at the
            # request; with nothing before it on the connection this is its turn. The body
            # (an object kept inline, at most a few KiB) is then read whole, and the upload is
            # served like one sent without Expect: on the loop (HttpServer.continues_at_once).
            assert self._transport is not None
            self._transport.write(_CONTINUE)
        self._too_large = framing.exceeds(server.max_body_bytes)

    def on_body(self, body: bytes) -> None:
        if self._pipe is not None:
            self._piped += len(body)
            self._pipe.feed(body)
            return
        if self._too_large:
            return
        self._body_size += len(body)
        if self._body_size > self._server.max_body_bytes:
            self._too_large = True
            self._body.clear()
        else:
            self._body.append(body)

    def on_message_complete(self) -> None:
        if self._pipe is not None:  # a streamed upload's body is all in; its slot was taken at its head
            self._pipe.close()
            self._pipe = self._pipe_slot = None
        else:
            server = self._server
            keep_alive = self._parser.should_keep_alive() and not self._closing and not server.draining
            method = self._parser.get_method()
            slot = self._new_slot(keep_alive, method)
            if not keep_alive:
                self._closing = True
            headers = self._headers
            if self._too_large:
                # The rest of a too-large body is not kept: answer (audited) and close.
                slot.keep_alive = False
                self._closing = True
                request = _request_line(method, self._url)
                error = errors.RequestBodyTooLarge()
                self._order.admit(slot, lambda: server.refuse(self, slot, headers, error, 413, request=request))
            elif self._parser.should_upgrade() and (method == b"CONNECT" or self._framing.announces_body):
                # A server may decline to switch protocols and serve the request as HTTP/1.1
                # (RFC 9110 §7.8), but llhttp ends an upgrade request at its head and hands
                # everything after it to the new protocol, the body included: the body RFC 9112
                # §6.3 frames is never read, so neither the request nor where the next one
                # starts is known here. A CONNECT (RFC 9110 §9.3.6) asks for a tunnel, which a
                # 2xx would open: refused too. Refused (audited) instead of run, and the last:
                # what follows is not HTTP/1.1 to us. (Without a body, an Upgrade is ignored
                # and the request served, below.)
                slot.keep_alive = False
                self._closing = True
                request = _request_line(method, self._url)
                refused = errors.SerializationError(_NO_CONNECT if method == b"CONNECT" else _NO_UPGRADE_WITH_BODY)
                self._order.admit(slot, lambda: server.refuse(self, slot, headers, refused, 400, request=request))
            else:
                body = self._body[0] if len(self._body) == 1 else b"".join(self._body)
                self._order.admit(slot, server.dispatch, self, slot, method.decode("latin-1"), self._url, headers,
                                  body)
        if self._closing:
            # This request's response closes the connection: it was the last one (RFC 9112 §9.6).
            self._last_read = True

    # --- streamed request bodies (issue 17) ----------------------------------------------

    def _stream_body(self) -> None:
        """An S3 upload: its handler starts now, on a worker thread, and reads the body
        from a pipe as it arrives (no size limit here: S3's own limits apply)."""
        keep_alive = self._parser.should_keep_alive() and not self._closing and not self._server.draining
        method = self._parser.get_method()
        slot = self._new_slot(keep_alive, method)
        if not keep_alive:
            self._closing = True
        expects = self._framing.expects_continue
        transport = self._transport
        loop = asyncio.get_running_loop()

        def write_continue() -> None:
            """At the request's turn (pipeline_order: after every earlier response, never
            inside one), unless the body came anyway, or broke, or the handler answered meanwhile."""
            if self._transport is transport and transport is not None and not pipe.complete \
                    and not pipe.aborted and not pipe.discarding and slot.data is None:
                pipe.continue_sent = True
                transport.write(_CONTINUE)

        def send_continue() -> None:  # the handler's first pull of the body (BodyPipe.on_first_read)
            if self._transport is transport and not pipe.complete:
                self._order.at_head(slot, write_continue)

        hold = self._hold
        pipe = self._pipe = BodyPipe(loop, pause=hold.hold, resume=hold.release,
                                     on_first_read=send_continue if expects else None)
        self._pipe_slot = slot
        pipe.expects_continue = expects
        self._order.admit(slot, self._server.dispatch, self, slot, method.decode("latin-1"), self._url,
                          self._headers, pipe)

    def body_answered(self, slot: _Slot, pipe: BodyPipe) -> None:
        """The handler answered: a body not read to its end is dropped as it comes, or,
        if the client still waits for 100 Continue, never comes (the connection closes)."""
        if pipe.complete:
            pipe.discard_rest()  # what the handler left unread; a hold it still had is released
            return
        if pipe.expects_continue and not pipe.continue_sent:
            slot.keep_alive = False
            self._closing = True
        pipe.discard_rest()

    # --- responses -----------------------------------------------------------------------

    def _ready(self, slot: _Slot, response: Response) -> None:
        self.fill(slot, response)
        self.flush()

    def fill(self, slot: _Slot, response: Response) -> None:
        """Put ``response`` in ``slot`` (sent by :meth:`flush`, in order): its request has
        finished, the requests it held back may start (pipeline_order.py)."""
        slot.data = encode_response(response, slot.keep_alive)
        slot.stream = response.stream
        self._order.finished(slot)

    def _new_slot(self, keep_alive: bool, method: bytes) -> _Slot:
        slot = _Slot(keep_alive, method not in SAFE_METHODS)
        self._server.in_flight += 1
        return slot

    def _fail(self, error: errors.TrentError, url_read: bool) -> None:
        """llhttp could not parse the request: answer 400 (audited) and close. If its method
        and URL were read (``url_read``: the URL was not what broke, and on_url saw it; the
        method comes before it), the answer is in the format of the service they and the
        headers read so far route to (``HttpServer.refuse``); garbage gets KMS's."""
        if self._pipe is not None and self._pipe_slot is not None:
            self._body_broke(self._pipe, self._pipe_slot)
            return
        slot = self._new_slot(False, b"")  # at the door: takes its turn like an unsafe request
        self._closing = True
        self._last_read = True  # nothing after it can be parsed, or answered (RFC 9112 §9.6)
        headers, server = self._headers, self._server
        request = _request_line(self._parser.get_method(), self._url) if url_read and self._url else None
        self._order.admit(slot, lambda: server.refuse(self, slot, headers, error, 400, request=request))

    def _body_broke(self, pipe: BodyPipe, slot: _Slot) -> None:
        """llhttp could not parse the rest of a streamed upload's body (its chunked framing,
        RFC 9112 §7.1). The request holds its slot already, so it is its handler that answers,
        not a second slot's 400 (two answers to one request): the pipe ends as when the client
        leaves mid-body, the handler fails on it as on any body cut short (S3's 400
        IncompleteBody, audited with its PutObject, the temporary blob removed). Nothing after
        it can be parsed, so that answer is the connection's last (RFC 9112 §9.6)."""
        self._pipe = self._pipe_slot = None
        self._closing = True
        self._last_read = True
        kept_open, slot.keep_alive = slot.keep_alive, False  # an answer still to come carries `connection: close`
        pipe.abort(errors.IncompleteBody(audit_reason="the chunked framing of the body is malformed"))
        if slot.data is None or not kept_open:
            return
        # The handler answered before the body ended (a refusal), and the rest was being dropped.
        if slot in self._order.queue:  # still waiting for an earlier response: now the last one
            slot.data = _last_response(slot.data)
        elif self._transport is not None:  # written already: nothing is left to answer on this connection
            self._transport.close()
            self._transport = None

    def flush(self) -> None:
        """Write every ready response at the head of the queue, in order."""
        transport = self._transport
        if transport is None:
            return
        order = self._order
        queue = order.queue
        out: list[bytes] = []
        close = False
        while queue and queue[0].data is not None and not self._pumping:
            slot = queue[0]
            out.append(slot.data)  # type: ignore[arg-type]
            if slot.stream is not None:  # the head until its last byte is written (_pump pops it)
                transport.write(b"".join(out))
                self._pump(slot)
                return
            order.pop_head()
            self._server.in_flight -= 1
            if not slot.keep_alive:
                close = True
                self._server.in_flight -= len(queue)
                order.close()
                break
        if out:
            transport.write(out[0] if len(out) == 1 else b"".join(out))
        if close:
            transport.close()
            self._transport = None
        elif queue:
            order.head_turn()  # its 100 Continue, if it waits for one, goes after what was just written

    def _pump(self, slot: _Slot) -> None:
        """Write a streamed response (its head is out) from a worker thread, with the
        socket's flow control; later responses wait. A stream that fails midway (a
        stored segment that does not authenticate) aborts the connection: the client
        sees a short body, never wrong bytes."""
        assert slot.stream is not None
        stream, slot.stream = slot.stream, None
        self._pumping = True
        loop = asyncio.get_running_loop()

        async def write(data: bytes | memoryview) -> None:
            if self._transport is None:
                raise ConnectionError("client gone")
            self._transport.write(data)
            await self._writable.wait()

        def send(pending: list[bytes | memoryview]) -> None:
            data = pending[0] if len(pending) == 1 else b"".join(pending)
            asyncio.run_coroutine_threadsafe(write(data), loop).result(_STALLED)

        def pump() -> bool:
            # The pieces are written as they are, not copied: a stream's pieces do not
            # change once yielded (Answer.stream). A GET's decrypted MiB is one write; small
            # pieces are joined up to _STREAM_PIECE. (A copy of each piece was one more MiB
            # per GET in flight: `aws s3 cp`'s 10 parallel ranged GETs peaked ~8 MiB higher,
            # test_aws_s3_cp_200_mib_up_and_down_with_flat_rss.)
            pending: list[bytes | memoryview] = []
            size = 0
            try:
                for piece in stream:
                    pending.append(piece)
                    size += len(piece)
                    del piece  # written, it is freed before the next one is made
                    if size >= _STREAM_PIECE:
                        send(pending)
                        pending, size = [], 0
                if pending:
                    send(pending)
                return True
            except (ConnectionError, TimeoutError, RuntimeError):  # gone, stalled, or the loop closed
                return False
            except Exception:  # noqa: BLE001 - after the head: the only honest answer is to cut
                log.exception("streamed response failed midway; aborting the connection")
                return False
            finally:
                close = getattr(stream, "close", None)
                if close is not None:
                    close()

        def done(future: asyncio.Future) -> None:
            self._pumping = False
            order = self._order
            if order.queue and order.queue[0] is slot:  # else the connection was lost meanwhile
                order.pop_head()
                self._server.in_flight -= 1
            ok = not future.cancelled() and future.exception() is None and future.result()
            if not ok or not slot.keep_alive:
                if self._transport is not None:
                    (self._transport.close if ok else self._transport.abort)()
                    self._transport = None
                self._server.in_flight -= len(order.queue)
                order.close()
                return
            self.flush()

        loop.run_in_executor(self._server.s3_executor, pump).add_done_callback(done)


@dataclass(slots=True)
class _TickCall:
    """A request read in this loop tick, waiting for the tick's stages (module doc): a KMS
    call, or (``_S3Call``) an S3 request served on the loop."""

    conn: KmsHttpProtocol
    slot: _Slot
    method: str
    path: str
    query: str
    headers: list[tuple[bytes, bytes]]
    body: bytes
    origin: Origin
    received: float


@dataclass(slots=True)
class _S3Call(_TickCall):
    parsed: OnLoop  # as ``S3FrontDoor.on_loop`` parsed and routed it


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
        # Issue 17: S3 requests hold a thread while their body arrives or their object is
        # written out (slow clients): their own pool, so they never starve KMS management calls.
        self.s3_executor = ThreadPoolExecutor(max_workers=S3_THREADS, thread_name_prefix="trent-s3")
        self.dev = dev
        self.max_body_bytes = max_body_bytes
        self.transport = transport or TransportPolicy()
        # SQLite commits on the loop thread, a database server's on a writer thread.
        self.audit = AuditBatcher(pipeline.outbox, inline=pipeline.deps.storage.embedded, answered=self._answered)
        self.edge_audit = EdgeAudit(pipeline)  # issue 20: refusals at the door, --dev controls
        self.metrics: RequestMetrics | None = None
        self.access_log: AccessLog | None = None
        self.readiness = Readiness()
        # Issue 20, graceful shutdown: open connections, requests read but not yet answered.
        self.connections: set[KmsHttpProtocol] = set()
        self.in_flight = 0
        self.draining = False
        self._tick_calls: list[_TickCall] = []  # KMS calls read in this loop tick (module doc)
        self._s3_tick_calls: list[_S3Call] = []  # S3 requests served on the loop, read in this tick
        self.sts = StsFrontDoor(pipeline)  # issue 5: STS query-protocol calls on the same port
        # issue 16: the CloudTrail API and the trail bucket over S3 (set by bootstrap)
        self.cloudtrail: CloudTrailFrontDoor | None = None
        self.s3: S3FrontDoor | None = None
        self.explain = explain_endpoint.ExplainFrontDoor(pipeline)  # issue 5: POST /_trent/authz/explain
        # Sealed root (issue 7): /_trent/seal-status, /_trent/unseal, /_trent/seal.
        self.root_controls: RootControls | None = None
        self.console: Console | None = None  # issue 21: the web console under /console
        self.read_buffer = memoryview(bytearray(_READ_BUFFER))  # every connection's socket reads

    def protocol_factory(self) -> KmsHttpProtocol:
        return KmsHttpProtocol(self)

    def streams_body(self, method: bytes, url: bytes, headers: list[tuple[bytes, bytes]],
                     framing: BodyFraming) -> bool:
        """Issue 17: an S3 upload (PUT/POST to an SSE bucket) gets its body through a pipe,
        unless it is small (``BodyFraming.read_whole``, S3_BUFFERED_UPLOAD_MAX); every other body is read whole, under
        ``max_body_bytes``. ``/`` and ``/?...`` are KMS's and STS's paths, and path-style
        S3's service itself, where no operation takes a body; but with virtual-hosted
        addressing (``--s3-domain``: the bucket in the Host header) they are a bucket's own
        requests (``POST /?delete``, ``PUT /?policy``, ``PUT /``: CreateBucket), streamed
        as path-style ones are. Not a bucket's ``POST /``, the KMS hot path's URL: that is
        PostObject there (a browser's form upload), which Trent does not implement."""
        if url == b"/" and method == b"POST":
            return False  # the KMS hot path pays two comparisons
        if method not in (b"PUT", b"POST"):
            return False
        s3 = self.s3
        if s3 is None or s3.sse is None:
            return False
        if url[:2] in (b"/", b"/?") and (
                s3.s3_domain is None or virtual_host_bucket(header_value(headers, b"host"), s3.s3_domain) is None):
            return False
        if framing.read_whole(S3_BUFFERED_UPLOAD_MAX):
            return False
        path, _, query = url.partition(b"?")
        text = path.decode("latin-1")
        if text.startswith("/_trent/") or text == explain_endpoint.PATH or (
                self.console is not None and is_console_path(text)):
            return False
        return route(method.decode("latin-1"), text, query, headers) is Service.S3

    def continues_at_once(self, method: bytes, url: bytes, headers: list[tuple[bytes, bytes]],
                          framing: BodyFraming) -> bool:
        """Whether an S3 upload that waits for ``100 Continue`` (``streams_body``) gets it at
        once and is read whole instead of streamed: a PUT the S3 front door serves on the
        loop (``S3FrontDoor.on_loop``: an object kept inline in its row, at most
        ``s3_inline_max_bytes``), with ``Expect: 100-continue`` and no chunked coding. boto3
        and the AWS CLI ask for 100 Continue on every upload; streamed, a 1 KiB PutObject
        took a worker thread and its hand-offs, and the interim response waited for the
        handler's authorization. The price: a small upload that is then refused (a bad
        signature, no such bucket) was sent whole, at most a few KiB. S3 sends 100 only
        after such checks; either is HTTP/1.1 (RFC 9110 §10.1.1), and clients take both."""
        s3 = self.s3
        if s3 is None:
            return False
        if framing.chunked or not framing.expects_continue:
            return False
        path, _, query = url.partition(b"?")
        return s3.on_loop(method.decode("latin-1"), path.decode("latin-1"), query.decode("latin-1"),
                          headers) is not None

    def dispatch(
        self, conn: KmsHttpProtocol, slot: _Slot, method: str, url: bytes, headers: list[tuple[bytes, bytes]],
        body: bytes | BodyPipe,
    ) -> None:
        received = time.monotonic()
        path, _, query = url.partition(b"?")
        path_text = path.decode("latin-1")
        streamed = body
        body = body if isinstance(body, bytes) else b""  # a pipe only ever reaches the S3 branch
        if path_text in PROBES:  # answered whatever the transport: they reveal nothing
            self._trent_endpoint(conn, slot, method, path_text, body, headers)
            return
        try:
            origin = self.transport.origin(conn.connection, headers)
        except errors.TrentError as exc:  # plain HTTP where only HTTPS is accepted: audited
            if isinstance(streamed, BodyPipe):
                conn.body_answered(slot, streamed)
            self.refuse(conn, slot, headers, exc, request=(method, path_text, query), body=body)
            return
        if path_text == explain_endpoint.PATH:
            self._blocking(conn, slot, self.explain.handle, method, path_text, query.decode("latin-1"), headers, body,
                           origin.source_ip, label="AuthzExplain", received=received)
            return
        if path_text == METRICS_PATH and method == "GET":
            self._metrics(conn, slot)
            return
        if path_text.startswith("/_trent/"):
            self._trent_endpoint(conn, slot, method, path_text, body, headers, origin.source_ip)
            return
        if self.console is not None and is_console_path(path_text):
            self._blocking(conn, slot, self.console.handle, method, path_text, query.decode("latin-1"), headers, body,
                           origin.source_ip, origin.secure, label="Console", received=received)
            return
        service = route(method, path_text, query, headers)  # issue 16: one router for every service
        if service is not Service.KMS:
            self._other_service(conn, slot, service, method, path_text, query.decode("latin-1"), headers, streamed,
                                origin, received)
            return
        if method != "POST" or path_text != "/":
            # spec §1.1: KMS is only ever POST /. (Audited: a refusal at the door.)
            self.refuse(conn, slot, headers, errors.UnknownOperation(), 405 if method != "POST" else 400,
                        origin.source_ip)
            return
        calls = self._tick_calls
        calls.append(_TickCall(conn, slot, method, path_text, query.decode("latin-1"), headers, body, origin, received))
        if len(calls) == 1:
            asyncio.get_running_loop().call_soon(self._serve_kms_tick)

    def _serve_kms_tick(self) -> None:
        """The KMS calls read in this loop tick, stage by stage (module doc)."""
        calls, self._tick_calls = self._tick_calls, []
        pipeline = self.pipeline
        deps = pipeline.deps
        prepared = [self._prepare(call) for call in calls]
        # The use cases that run on the loop (crypto, reads; run_handler never raises).
        results = [
            run_handler(deps, p) if p.error is None and p.operation is not None and p.operation.inline else None
            for p in prepared
        ]
        for call, p, result in zip(calls, prepared, results):
            if result is not None:
                self._conclude(call.conn, call.slot, p, result[0], result[1], call.received)
            elif p.error is not None:
                self._conclude(call.conn, call.slot, p, None, p.error, call.received)
            else:
                self._execute(call, p)

    def _prepare(self, call: _TickCall) -> Prepared:
        try:
            return self.pipeline.prepare(call.method, call.path, call.query, call.headers, call.body,
                                         call.origin.source_ip, call.origin.secure, call.origin.tls_details)
        except Exception:  # noqa: BLE001 - one call's bug must not leave the tick's other calls unanswered
            log.exception("a KMS request could not be prepared")
            return self.pipeline.refuse(call.headers, call.origin.source_ip, errors.KMSInternal())

    def _execute(self, call: _TickCall, prepared: Prepared) -> None:
        """A call that may write: the use case and its event commit in one transaction
        (issue 16), on the executor."""
        future = asyncio.get_running_loop().run_in_executor(self.executor, self.pipeline.execute, prepared)
        future.add_done_callback(lambda f: self._after_execute(call.conn, call.slot, prepared, f, call.received))

    def refuse(
        self, conn: KmsHttpProtocol, slot: _Slot, headers: list[tuple[bytes, bytes]], error: errors.TrentError,
        status: int | None = None, source_ip: str | None = None, request: tuple[str, str, bytes] | None = None,
        body: bytes = b"",
    ) -> None:
        """A request refused at the door (413, malformed, no such route, plain HTTP):
        audited through the one seam (edge_audit.py), answered after its event is recorded.
        ``request`` (method, path, query), when its request line was read, and ``body``, when
        the request was read whole: one the router sends to S3 or STS is refused in that
        service's format (``EdgeAudit.refused_by_service``), with ``status`` too."""
        source_ip = source_ip or conn._peer
        if request is not None:
            method, path, query = request
            try:
                refusal = self.edge_audit.refused_by_service(self.s3, self.sts, method, path, query, headers, body,
                                                             source_ip, error, status)
            except Exception:  # noqa: BLE001 - never a traceback on the wire
                log.exception("could not build the audit event of a refused request")
                conn._ready(slot, _error(500, errors.KMSInternal()))
                return
            if refusal is not None:
                self.audit.add(Pending(refusal.entry, refusal.response, conn, slot, refusal.fail_closed, None,
                                       time.monotonic()))
                return
        try:
            prepared, entry, response = self.edge_audit.refused(headers, source_ip, error, status)
        except Exception:  # noqa: BLE001 - never a traceback on the wire
            log.exception("could not build the audit event of a refused request")
            conn._ready(slot, _error(status or 400, error))
            return
        self.audit.add(Pending(entry, response, conn, slot, _refuse_kms, prepared, time.monotonic()))

    def _after_execute(
        self, conn: KmsHttpProtocol, slot: _Slot, prepared: Prepared, future: asyncio.Future, received: float
    ) -> None:
        try:
            concluded = future.result()
        except BaseException:  # noqa: BLE001 - cancelled at shutdown, or a bug: never a traceback on the wire
            log.exception("operation %s failed outside the pipeline", prepared.operation_name)
            self._conclude(conn, slot, prepared, None, errors.KMSInternal(), received)
            return
        if concluded.recorded:
            conn._ready(slot, concluded.response)
            self._answered(Pending(concluded.entry, concluded.response, conn, slot, _refuse_kms, prepared, received),
                           concluded.response)
        else:
            self.audit.add(Pending(concluded.entry, concluded.response, conn, slot, _refuse_kms, prepared, received))

    def _conclude(
        self, conn: KmsHttpProtocol, slot: _Slot, prepared: Prepared, outcome, error, received: float = 0.0
    ) -> None:
        try:
            entry, response = self.pipeline.conclude(prepared, outcome, error)
        except Exception:  # noqa: BLE001 - an event we cannot even build is an unrecorded call
            log.exception("could not build the audit event for %s", prepared.request_id)
            conn._ready(slot, self.pipeline.refuse_unaudited(prepared))
            return
        self.audit.add(Pending(entry, response, conn, slot, _refuse_kms, prepared, received or time.monotonic()))

    def _other_service(
        self, conn: KmsHttpProtocol, slot: _Slot, service: Service, method: str, path: str, query: str,
        headers: list[tuple[bytes, bytes]], body: bytes | BodyPipe, origin: Origin, received: float,
    ) -> None:
        if service is Service.STS:
            assert isinstance(body, bytes)  # pipes only for S3 (streams_body)
            self._blocking(conn, slot, self.sts.handle, method, path, query, headers, body,
                           origin.source_ip, origin.secure, origin.tls_details, label="STS", received=received)
            return
        front = self.cloudtrail if service is Service.CLOUDTRAIL else self.s3
        if front is None:  # a service this server does not run: refused at the door, audited
            self.refuse(conn, slot, headers, errors.UnknownOperation(), 400, origin.source_ip)
            return

        def done(future: asyncio.Future) -> None:
            if isinstance(body, BodyPipe):
                conn.body_answered(slot, body)
            try:
                concluded = future.result()
            except BaseException:  # noqa: BLE001 - never a traceback on the wire
                self._failed(conn, slot, service)
                return
            self._answer(conn, slot, service, front, concluded, received, origin.source_ip)

        s3 = self.s3
        if service is Service.S3 and s3 is not None and isinstance(body, bytes):
            # A GetObject / HeadObject / small PutObject whose reads are all local runs here,
            # on the loop, without a worker thread's hand-offs (S3FrontDoor.on_loop says
            # when), in this loop tick's stages (module doc).
            try:
                parsed = s3.on_loop(method, path, query, headers)
            except Exception:  # noqa: BLE001 - never a traceback on the wire
                self._failed(conn, slot, service)
                return
            if parsed is not None:
                calls = self._s3_tick_calls
                calls.append(_S3Call(conn, slot, method, path, query, headers, body, origin, received, parsed))
                if len(calls) == 1:
                    asyncio.get_running_loop().call_soon(self._serve_s3_tick)
                return

        extra = (origin.secure,) if service is Service.S3 else ()
        handle: Callable[..., Concluded[Response]] = front.handle
        pool = self.s3_executor if service is Service.S3 else self.executor
        asyncio.get_running_loop().run_in_executor(
            pool, handle, method, path, query, headers, body, origin.source_ip, *extra
        ).add_done_callback(done)

    def _serve_s3_tick(self) -> None:
        """The S3 requests served on the loop that were read in this loop tick, in two
        stages (module doc): every signature is checked, then each request is handled."""
        calls, self._s3_tick_calls = self._s3_tick_calls, []
        s3 = self.s3
        assert s3 is not None
        checked = [s3.authenticate(c.parsed, c.method, c.path, c.query, c.headers) for c in calls]
        for call, parsed in zip(calls, checked):
            try:
                concluded = s3.handle(call.method, call.path, call.query, call.headers, call.body,
                                      call.origin.source_ip, call.origin.secure, parsed)
            except Exception:  # noqa: BLE001 - one call's bug must not leave the tick's other calls unanswered
                self._failed(call.conn, call.slot, Service.S3)
                continue
            self._answer(call.conn, call.slot, Service.S3, s3, concluded, call.received, call.origin.source_ip)

    def _answer(
        self, conn: KmsHttpProtocol, slot: _Slot, service: Service, front: S3FrontDoor | CloudTrailFrontDoor,
        concluded: Concluded[Response], received: float, source_ip: str,
    ) -> None:
        """Another service's concluded call: answered now if its event is recorded, else
        group-committed with the loop's other events (audit_batcher.py)."""
        if concluded.recorded:
            conn._ready(slot, concluded.response)
            self._observe(service.value, concluded.response, received, source_ip)
        else:
            self.audit.add(Pending(concluded.entry, concluded.response, conn, slot, front.refuse, None, received,
                                   concluded.companions, concluded.change))

    def _failed(self, conn: KmsHttpProtocol, slot: _Slot, service: Service) -> None:
        log.exception("%s request failed outside its handler", service.value)
        conn._ready(slot, _error(500, errors.KMSInternal()))

    def _answered(self, pending: Pending, response: Response) -> None:
        """Every response released after its event was recorded: metrics and the access log."""
        prepared = pending.prepared
        if prepared is None:  # CloudTrail, S3: their own labels
            self._observe(str(pending.entry.event.get("eventSource", "")).split(".")[0], response,
                          pending.received, str(pending.entry.event.get("sourceIPAddress", "")))
            return
        seconds = time.monotonic() - pending.received
        code = pending.entry.event.get("errorCode")
        if self.metrics is not None:
            self.metrics.record(prepared.operation_name, code or "ok", seconds)
        if self.access_log is not None:
            ctx = prepared.ctx
            self.access_log.record(
                request_id=response.request_id, operation=prepared.operation_name, status=response.status, code=code,
                seconds=seconds, principal=ctx.principal.arn if ctx is not None else None,
                access_key_id=prepared.access_key_id, source_ip=prepared.source_ip, user_agent=prepared.user_agent,
            )

    def _observe(self, label: str, response: Response, received: float, source_ip: str) -> None:
        """Responses of the other front doors (STS, explain, CloudTrail, S3): metrics and access log."""
        seconds = time.monotonic() - received
        code = "ok" if response.status < 400 else f"HTTP{response.status}"
        if self.metrics is not None:
            self.metrics.record(label, code, seconds)
        if self.access_log is not None:
            self.access_log.record(request_id=response.request_id, operation=label, status=response.status,
                                   code=None if code == "ok" else code, seconds=seconds, source_ip=source_ip)

    def _metrics(self, conn: KmsHttpProtocol, slot: _Slot) -> None:
        """GET /metrics: every worker's values (read from files: off the loop)."""
        if self.metrics is not None:
            self.metrics.flush()

        def done(future: asyncio.Future) -> None:
            try:
                body = future.result()
                conn._ready(slot, Response(200, body, new_uuid4(), METRICS_CONTENT_TYPE))
            except Exception:  # noqa: BLE001
                log.exception("could not render /metrics")
                conn._ready(slot, _plain(500, {"message": "internal error"}))

        asyncio.get_running_loop().run_in_executor(self.executor, render_metrics).add_done_callback(done)

    def _blocking(
        self, conn: KmsHttpProtocol, slot: _Slot, handle: Callable[..., Response], method: str, path: str,
        query: str, headers: list[tuple[bytes, bytes]], body: bytes, *origin: Any, label: str = "", received: float = 0.0,
    ) -> None:
        """STS (protocol/sts.py) and explain (protocol/explain_endpoint.py): blocking (they
        read or write the database), audited synchronously by their handlers."""

        def done(future: asyncio.Future) -> None:
            try:
                response = future.result()
            except BaseException:  # noqa: BLE001 - never a traceback on the wire
                log.exception("%s request failed outside its handler", path)
                response = _error(500, errors.KMSInternal())
            conn._ready(slot, response)
            self._observe(label, response, received, str(origin[0]) if origin else conn._peer)

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

    def _trent_endpoint(
        self, conn: KmsHttpProtocol, slot: _Slot, method: str, path: str, body: bytes,
        headers: list[tuple[bytes, bytes]], source_ip: str | None = None,
    ) -> None:
        root = self.root_controls
        if path == "/_trent/health" and method == "GET":
            # Liveness: up and answering (200) even when sealed; the body says which.
            health: dict[str, Any] = {"status": "ok"} if root is None else {
                "status": "sealed" if root.root.sealed else "ok", "sealed": root.root.sealed}
            health["pid"] = os.getpid()  # which worker answered (issue 20: --workers N)
            conn._ready(slot, _plain(200, health))
            return
        if path == "/_trent/ready" and method == "GET":
            self._run_blocking(conn, slot, lambda: _plain(*self.readiness.answer()))
            return
        if root is not None and path in ("/_trent/seal-status", "/_trent/unseal", "/_trent/seal"):
            self._root_endpoint(conn, slot, method, path, body, root)
            return
        dev = self.dev
        if dev is None:
            self.refuse(conn, slot, headers, errors.UnknownOperation(), 404, source_ip)
            return
        user_agent = next((v.decode("latin-1") for k, v in headers if k == b"user-agent"), None)

        def control() -> Response:
            """Run the --dev control and record it (issue 20); fail closed like any call."""
            status, payload = dev_endpoint(dev, method, path, body)
            event = self.edge_audit.dev_control(method, path, dev_params(path, body), source_ip or conn._peer,
                                                user_agent, status, payload.get("message"))
            try:
                self.edge_audit.record(event)
            except AuditWriteError:
                log.error("audit write failed; refusing dev control %s", path)
                return _plain(500, {"message": "internal error"})
            return _plain(status, payload)

        self._run_blocking(conn, slot, control)

    def _run_blocking(self, conn: KmsHttpProtocol, slot: _Slot, work: Callable[[], Response]) -> None:
        def done(future: asyncio.Future) -> None:
            try:
                response = future.result()
            except Exception:  # noqa: BLE001
                log.exception("Trent endpoint failed")
                response = _plain(500, {"message": "internal error"})
            conn._ready(slot, response)

        asyncio.get_running_loop().run_in_executor(self.executor, work).add_done_callback(done)

    # --- graceful shutdown (issue 20) ---------------------------------------------------------

    async def drain(self, timeout: float) -> bool:
        """Stop taking requests and answer every request already read, within ``timeout``.

        Keep-alive connections get ``connection: close`` on their next response; idle
        ones are closed now. Returns False if requests were still unanswered at the
        deadline (they are then cut off with their connections)."""
        self.draining = True
        self.readiness.draining = True
        deadline = time.monotonic() + timeout
        while True:
            for connection in [c for c in self.connections if c.idle]:
                connection.close()
            if self.in_flight <= 0:
                break
            if time.monotonic() > deadline:
                log.error("shutdown: %d requests still unanswered after %.0fs", self.in_flight, timeout)
                break
            await asyncio.sleep(0.005)
        await self.audit.drain()
        if self.access_log is not None:
            self.access_log.flush()
        for connection in list(self.connections):
            connection.close()
        return self.in_flight <= 0


async def serve(
    server: HttpServer,
    host: str,
    port: int,
    on_startup: Callable[[], Any] | None = None,
    on_shutdown: Callable[[], Any] | None = None,
    ready: Callable[[], None] | None = None,
    reuse_port: bool = False,
    tls: TlsFiles | None = None,
    shutdown_timeout: float = 30.0,
) -> None:
    """Listen until SIGINT or SIGTERM, then stop cleanly: stop accepting, answer every
    request already read (within ``shutdown_timeout``), write the audit, run
    ``on_shutdown``. ``reuse_port``: one of several worker processes listening on the
    same port (SO_REUSEPORT; the kernel spreads connections over them)."""
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
    flusher = asyncio.create_task(_flush_metrics(server)) if server.metrics is not None else None
    if ready is not None:
        ready()
    try:
        await stop.wait()
    finally:
        listener.close()  # stop accepting
        await server.drain(shutdown_timeout)  # every answered call's event is in the trail
        if flusher is not None:
            flusher.cancel()
        if server.metrics is not None:
            server.metrics.flush()
        if on_shutdown is not None:
            await on_shutdown()


async def _flush_metrics(server: HttpServer) -> None:
    """Counts move into the shared (multiprocess) metric values once a second."""
    assert server.metrics is not None
    while True:
        await asyncio.sleep(1.0)
        try:
            server.metrics.flush()
        except Exception:  # noqa: BLE001 - metrics must never take the server down
            log.exception("metrics flush failed")
