"""server/http11.py, RFC 9112 §9.6: after the request that closes a connection (``Connection:
close``, HTTP/1.0 without keep-alive, or one the server closes on: a shutdown under way, a
malformed request), nothing the client sent on that connection is run, audited or
answered; the closing request's own body is read whole, its response carries ``connection:
close`` and the connection closes after it. A request the server cannot parse whole (its
chunked body breaks, a CONNECT, an Upgrade with a body) gets one answer and closes the
connection too; an Upgrade without a body is ignored (served, and the connection goes on).
In process (a ``trent serve --dev`` runtime fed
through an in-memory connection, as test_kms_stages.py does): what the server dispatched
and refused is seen directly, and no request is left counted in flight (a shutdown's drain
would wait for it)."""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from botocore.auth import S3SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from trent.config import DEV_ACCESS_KEY_ID, DEV_SECRET_ACCESS_KEY

from .signed_requests import signed_kms

HEALTH = b"GET /_trent/health HTTP/1.1\r\nHost: 127.0.0.1:8080\r\n\r\n"
HEALTH_CLOSE = b"GET /_trent/health HTTP/1.1\r\nHost: 127.0.0.1:8080\r\nConnection: close\r\n\r\n"


def _s3(method: str, path: str, data: bytes = b"", headers: dict[str, str] | None = None) -> bytes:
    """A signed S3 request; with ``Transfer-Encoding: chunked`` in ``headers``, its head only
    (the payload hash still covers ``data``: the caller sends it in chunks)."""
    all_headers = {"Host": "127.0.0.1:8080", **(headers or {})}
    chunked = all_headers.get("Transfer-Encoding") == "chunked"
    if not chunked and method in ("PUT", "POST"):
        all_headers["Content-Length"] = str(len(data))
    request = AWSRequest(method=method, url=f"http://127.0.0.1:8080{path}", data=data, headers=all_headers)
    S3SigV4Auth(Credentials(DEV_ACCESS_KEY_ID, DEV_SECRET_ACCESS_KEY), "s3", "us-east-1").add_auth(request)
    head = (f"{method} {path} HTTP/1.1\r\n" + "".join(f"{k}: {v}\r\n" for k, v in request.headers.items())
            + "\r\n").encode()
    return head if chunked else head + data


def _chunk(piece: bytes) -> bytes:
    return b"%x\r\n" % len(piece) + piece + b"\r\n"


BROKEN_CHUNK = b"zz\r\n"  # a chunk size that is not hex (RFC 9112 §7.1: chunk-size = 1*HEXDIG)


class _Wire(asyncio.Transport):
    """The client's end: every byte the server writes, and whether it closed."""

    def __init__(self) -> None:
        super().__init__()
        self.written = b""
        self.closed = asyncio.Event()

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return ("127.0.0.1", 40000) if name == "peername" else default

    def write(self, data: Any) -> None:
        assert not self.closed.is_set(), "written after close"
        self.written += bytes(data)

    def is_closing(self) -> bool:
        return self.closed.is_set()

    def close(self) -> None:
        self.closed.set()

    def pause_reading(self) -> None:
        pass

    def resume_reading(self) -> None:
        pass

    def responses(self) -> list[tuple[int, str, bytes]]:
        """(status, head, body) of each response written."""
        out, rest = [], self.written
        while rest:
            head, _, rest = rest.partition(b"\r\n\r\n")
            text = head.decode("latin-1").lower()
            length = int(text.split("content-length: ")[1].split("\r\n")[0])
            out.append((int(text.split(" ", 2)[1]), text, rest[:length]))
            rest = rest[length:]
        return out


class _Seen:
    """What the server did with the connection's requests."""

    def __init__(self, http: Any) -> None:
        self.dispatched: list[tuple[str, bytes]] = []
        self.refused: list[str] = []
        dispatch, refuse = http.dispatch, http.refuse

        def seen_dispatch(conn, slot, method, url, headers, body) -> None:  # type: ignore[no-untyped-def]
            self.dispatched.append((url.decode(), body if isinstance(body, bytes) else b""))
            dispatch(conn, slot, method, url, headers, body)

        def seen_refuse(conn, slot, headers, error, *args: Any, **kwargs: Any) -> None:  # type: ignore[no-untyped-def]
            self.refused.append(str(error))
            refuse(conn, slot, headers, error, *args, **kwargs)

        http.dispatch, http.refuse = seen_dispatch, seen_refuse


async def _connection(http: Any, *feeds: bytes, between: float = 0.0) -> tuple[_Wire, _Seen]:
    """``feeds`` read one after another (``between`` seconds apart) on a new connection, until
    the server closes it."""
    seen, wire = _Seen(http), _Wire()
    protocol = http.protocol_factory()
    protocol.connection_made(wire)
    try:
        for data in feeds:
            protocol.data_received(data)
            await asyncio.sleep(between)
        await asyncio.wait_for(wire.closed.wait(), 20)
        await asyncio.sleep(0.05)  # a request wrongly let through would run (and be refused, or dispatched) now
    finally:
        protocol.connection_lost(None)  # also frees a handler that still waits on its body (a failed test)
        del http.dispatch, http.refuse
    return wire, seen


def _run(tmp_path: Path, scenario: Callable[[Any], Awaitable[None]]) -> None:
    from trent.bootstrap import build
    from trent.cli.main import _settings, build_parser

    async def main() -> None:
        settings = _settings(build_parser().parse_args(["serve", "--dev", "--data-dir", str(tmp_path)])).validate()
        runtime = build(settings)
        await runtime.start()
        try:
            await scenario(runtime.http)
            assert runtime.http.in_flight == 0  # else a shutdown's drain would wait for a request never answered
        finally:
            await runtime.http.drain(10)
            await runtime.stop()

    asyncio.run(main())


def test_nothing_after_connection_close(tmp_path: Path) -> None:
    """A probe with ``Connection: close`` (answered on the loop, at once), then a CreateKey and
    a probe in the same read, and more in a later read: only the first is dispatched; nothing
    is refused (a refusal is audited) and one response is written."""

    async def scenario(http: Any) -> None:
        wire, seen = await _connection(http, HEALTH_CLOSE + signed_kms("CreateKey", {}) + HEALTH,
                                       signed_kms("CreateKey", {}))
        assert [url for url, _ in seen.dispatched] == ["/_trent/health"] and seen.refused == []
        [(status, head, _)] = wire.responses()
        assert status == 200 and "\r\nconnection: close" in head

    _run(tmp_path, scenario)


def test_an_http10_request_is_the_last_and_its_body_is_read_whole(tmp_path: Path) -> None:
    """HTTP/1.0 without keep-alive (RFC 9112 §9.3), its body in three reads, the last one
    followed by another call: the call is answered from its whole body; the next never runs."""
    first = signed_kms("GenerateRandom", {"NumberOfBytes": 7}).replace(b" HTTP/1.1\r\n", b" HTTP/1.0\r\n", 1)
    body_at = first.index(b"\r\n\r\n") + 4
    feeds = (first[:body_at + 3], first[body_at + 3:-4], first[-4:] + signed_kms("CreateKey", {}))

    async def scenario(http: Any) -> None:
        wire, seen = await _connection(http, *feeds)
        assert seen.dispatched == [("/", first[body_at:])] and seen.refused == []
        [(status, head, body)] = wire.responses()
        assert status == 200 and "\r\nconnection: close" in head and len(json.loads(body)["Plaintext"]) == 12

    _run(tmp_path, scenario)


def test_nothing_after_the_first_request_read_while_shutting_down(tmp_path: Path) -> None:
    """A shutdown is under way (drain): the next request read is answered with ``connection:
    close``, so the one pipelined behind it is the server's to ignore (RFC 9112 §9.6, a
    server that sends "close")."""

    async def scenario(http: Any) -> None:
        http.draining = True
        wire, seen = await _connection(http, HEALTH + HEALTH)
        http.draining = False
        assert [url for url, _ in seen.dispatched] == ["/_trent/health"] and seen.refused == []
        [(status, head, _)] = wire.responses()
        assert status == 200 and "\r\nconnection: close" in head

    _run(tmp_path, scenario)


def test_a_malformed_request_is_refused_once(tmp_path: Path) -> None:
    """A request llhttp cannot parse is answered 400 (audited) and closes the connection;
    what the client sends after it is not parsed again (each attempt was another refusal)."""

    async def scenario(http: Any) -> None:
        wire, seen = await _connection(http, b"NOT HTTP AT ALL\r\n\r\n", HEALTH, signed_kms("CreateKey", {}))
        assert seen.dispatched == [] and seen.refused == ["Malformed HTTP request."]
        [(status, head, _)] = wire.responses()
        assert status == 400 and "\r\nconnection: close" in head

    _run(tmp_path, scenario)


# --- a request that cannot be parsed whole: one answer, then the connection closes ---------------


def _temporary_blobs(data_dir: Path) -> list[Path]:
    return [p for p in (data_dir / "objects").rglob(".put-*")]


def test_a_streamed_upload_whose_framing_breaks_gets_its_handlers_answer(tmp_path: Path) -> None:
    """A chunked PUT (streamed: its handler reads the body from a pipe on a worker thread)
    whose framing breaks after two valid chunks: the handler, which held the request's slot,
    answers S3's 400 IncompleteBody with ``connection: close``; nothing is refused at the
    door (a second answer, and a second event), nothing is left in flight, no temporary blob
    remains. (Before, the handler waited on its pipe until the client left.)"""
    data = os.urandom(3 * 64 * 1024)
    head = _s3("PUT", "/broken/object", data, {"Transfer-Encoding": "chunked"})

    async def scenario(http: Any) -> None:
        await _connection(http, _s3("PUT", "/broken", headers={"Connection": "close"}))
        wire, seen = await _connection(http, head + _chunk(data[:65536]) + _chunk(data[65536:131072]), BROKEN_CHUNK,
                                       between=0.2)
        assert [url for url, _ in seen.dispatched] == ["/broken/object"] and seen.refused == []
        [(status, head_text, body)] = wire.responses()
        assert status == 400 and "\r\nconnection: close" in head_text and b"<Code>IncompleteBody</Code>" in body
        assert _temporary_blobs(tmp_path) == []

    _run(tmp_path, scenario)


def test_no_100_continue_for_a_body_that_broke(tmp_path: Path) -> None:
    """A chunked PUT with ``Expect: 100-continue`` whose client sent the body anyway, and it
    broke (one read): the handler's first pull of the body comes after the break, so no
    ``100 Continue`` invites a body the server will not read; just the handler's 400."""
    data = os.urandom(2 * 64 * 1024)
    head = _s3("PUT", "/expecting/object", data, {"Transfer-Encoding": "chunked", "Expect": "100-continue"})

    async def scenario(http: Any) -> None:
        await _connection(http, _s3("PUT", "/expecting", headers={"Connection": "close"}))
        wire, seen = await _connection(http, head + _chunk(data[:65536]) + BROKEN_CHUNK)
        assert b"100 Continue" not in wire.written and seen.refused == []
        [(status, head_text, body)] = wire.responses()
        assert status == 400 and "\r\nconnection: close" in head_text and b"<Code>IncompleteBody</Code>" in body

    _run(tmp_path, scenario)


def test_framing_that_breaks_behind_an_unwritten_answer_makes_it_the_last(tmp_path: Path) -> None:
    """A GET of a large object (streamed out, the client not reading: the transport paused
    writing), then a chunked PUT refused before its body is read (a wrong signature): its 403
    is ready but waits behind the download when the PUT's framing breaks. The 403 becomes
    the connection's last response (``connection: close``), written after the download's
    last byte; no second answer."""
    large = os.urandom(300_000)  # above the 64 KiB read whole: its content streams out
    put = _s3("PUT", "/pumped/refused", os.urandom(128 * 1024), {"Transfer-Encoding": "chunked"})
    put = put.replace(b"Signature=", b"Signature=0", 1)

    async def scenario(http: Any) -> None:
        await _connection(http, _s3("PUT", "/pumped") + _s3("PUT", "/pumped/large", large, {"Connection": "close"}))
        seen, wire = _Seen(http), _Wire()
        protocol = http.protocol_factory()
        protocol.connection_made(wire)
        try:
            protocol.pause_writing()  # the client is not reading: the download stalls after its first piece
            protocol.data_received(_s3("GET", "/pumped/large") + put + _chunk(b"x" * 65536))
            queue = protocol._order.queue  # noqa: SLF001
            for _ in range(400):  # the PUT's 403, ready behind the download
                if len(queue) == 2 and queue[1].data is not None:
                    break
                await asyncio.sleep(0.025)
            assert len(queue) == 2 and queue[1].data is not None and b"connection: close" not in queue[1].data
            protocol.data_received(BROKEN_CHUNK)
            protocol.resume_writing()
            await asyncio.wait_for(wire.closed.wait(), 20)
        finally:
            protocol.resume_writing()
            protocol.connection_lost(None)
            del http.dispatch, http.refuse
        assert seen.refused == []
        [(got, _, content), (refused, head_text, _)] = wire.responses()
        assert got == 200 and content == large
        assert refused == 403 and "\r\nconnection: close" in head_text

    _run(tmp_path, scenario)


UPGRADE_H2C = b"\r\nConnection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA"


def _upgrading(request: bytes) -> bytes:
    """``request`` asking to switch to h2c, as ``curl --http2`` over plain HTTP does."""
    end = request.index(b"\r\n\r\n")
    return request[:end] + UPGRADE_H2C + request[end:]


@pytest.mark.parametrize("feeds", [
    (_upgrading(HEALTH) + _upgrading(HEALTH) + HEALTH_CLOSE,),
    (_upgrading(HEALTH), _upgrading(HEALTH), HEALTH_CLOSE),
    (_upgrading(HEALTH)[:-2], b"\r\n" + HEALTH[:20], HEALTH[20:] + HEALTH_CLOSE),
], ids=["one-read", "a-read-each", "split-heads"])
def test_an_upgrade_without_a_body_is_served_and_the_connection_goes_on(tmp_path: Path, feeds: tuple[bytes]) -> None:
    """A request without a body asking to switch protocols (RFC 9110 §7.8: the server may
    ignore it) is served as HTTP/1.1, never with a 101, and what follows its head is parsed
    as the next requests (llhttp stops at such a head), whatever the reads' boundaries."""

    async def scenario(http: Any) -> None:
        wire, seen = await _connection(http, *feeds)
        assert [url for url, _ in seen.dispatched] == ["/_trent/health"] * 3 and seen.refused == []
        responses = wire.responses()
        assert [status for status, _, _ in responses] == [200, 200, 200]
        assert ["connection: close" in head for _, head, _ in responses] == [False, False, True]

    _run(tmp_path, scenario)


@pytest.mark.parametrize(("request_bytes", "refusal"), [
    (b"CONNECT 127.0.0.1:443 HTTP/1.1\r\nHost: 127.0.0.1:443\r\n\r\n" + HEALTH, "CONNECT is not supported."),
    (_upgrading(_s3("PUT", "/upgrading/object", b"body")) + HEALTH,
     "A request that asks to upgrade (Upgrade) must not have a body."),
    (_upgrading(_s3("PUT", "/upgrading/object", headers={"Transfer-Encoding": "chunked"})) + b"0\r\n\r\n" + HEALTH,
     "A request that asks to upgrade (Upgrade) must not have a body."),
], ids=["connect", "upgrade-with-a-body", "upgrade-with-a-chunked-body"])
def test_a_connect_or_an_upgrade_with_a_body_is_refused_once_and_not_run(
    tmp_path: Path, request_bytes: bytes, refusal: str,
) -> None:
    """A CONNECT (RFC 9110 §9.3.6), or an Upgrade whose body llhttp would hand to the new
    protocol (so where the next request starts is unknown), is refused with one 400 that
    closes the connection; it is not dispatched (it used to be run and answered, then refused
    and answered again), and what follows is not parsed."""

    async def scenario(http: Any) -> None:
        wire, seen = await _connection(http, request_bytes)
        assert seen.dispatched == [] and seen.refused == [refusal]
        [(status, head, _)] = wire.responses()
        assert status == 400 and "\r\nconnection: close" in head

    _run(tmp_path, scenario)


def test_last_response_is_what_encode_response_writes_for_a_closing_response() -> None:
    from trent.protocol.pipeline import Response
    from trent.server.http11 import _last_response, encode_response

    response = Response(403, b"<Error/>", "req-1", b"application/xml", ((b"x-amz-request-id", b"req-1"),))
    assert _last_response(encode_response(response, True)) == encode_response(response, False)
