"""server/http11.py, RFC 9112 §9.6: after the request that closes a connection (``Connection:
close``, HTTP/1.0 without keep-alive, or one the server closes on: a shutdown under way, a
malformed request), nothing the client sent on that connection is run, audited or
answered; the closing request's own body is read whole, its response carries ``connection:
close`` and the connection closes after it. In process (a ``trent serve --dev`` runtime fed
through an in-memory connection, as test_kms_stages.py does): what the server dispatched
and refused is seen directly, and no request is left counted in flight (a shutdown's drain
would wait for it)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from trent.config import DEV_ACCESS_KEY_ID, DEV_SECRET_ACCESS_KEY

HEALTH = b"GET /_trent/health HTTP/1.1\r\nHost: 127.0.0.1:8080\r\n\r\n"
HEALTH_CLOSE = b"GET /_trent/health HTTP/1.1\r\nHost: 127.0.0.1:8080\r\nConnection: close\r\n\r\n"


def _signed(op: str, body: dict[str, Any], extra: str = "") -> bytes:
    data = json.dumps(body).encode()
    headers = {"Host": "127.0.0.1:8080", "Content-Type": "application/x-amz-json-1.1",
               "X-Amz-Target": f"TrentService.{op}"}
    request = AWSRequest(method="POST", url="http://127.0.0.1:8080/", data=data, headers=headers)
    SigV4Auth(Credentials(DEV_ACCESS_KEY_ID, DEV_SECRET_ACCESS_KEY), "kms", "us-east-1").add_auth(request)
    lines = [f"{k}: {v}" for k, v in request.headers.items()] + [f"Content-Length: {len(data)}"]
    return ("POST / HTTP/1.1\r\n" + extra + "\r\n".join(lines) + "\r\n\r\n").encode() + data


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

        def seen_refuse(conn, slot, headers, error, *args: Any) -> None:  # type: ignore[no-untyped-def]
            self.refused.append(str(error))
            refuse(conn, slot, headers, error, *args)

        http.dispatch, http.refuse = seen_dispatch, seen_refuse


async def _connection(http: Any, *feeds: bytes) -> tuple[_Wire, _Seen]:
    """``feeds`` read one after another on a new connection, until the server closes it."""
    seen, wire = _Seen(http), _Wire()
    protocol = http.protocol_factory()
    protocol.connection_made(wire)
    for data in feeds:
        protocol.data_received(data)
        await asyncio.sleep(0)
    await asyncio.wait_for(wire.closed.wait(), 20)
    await asyncio.sleep(0.05)  # a request wrongly let through would run (and be refused, or dispatched) now
    protocol.connection_lost(None)
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
        wire, seen = await _connection(http, HEALTH_CLOSE + _signed("CreateKey", {}) + HEALTH, _signed("CreateKey", {}))
        assert [url for url, _ in seen.dispatched] == ["/_trent/health"] and seen.refused == []
        [(status, head, _)] = wire.responses()
        assert status == 200 and "\r\nconnection: close" in head

    _run(tmp_path, scenario)


def test_an_http10_request_is_the_last_and_its_body_is_read_whole(tmp_path: Path) -> None:
    """HTTP/1.0 without keep-alive (RFC 9112 §9.3), its body in three reads, the last one
    followed by another call: the call is answered from its whole body; the next never runs."""
    first = _signed("GenerateRandom", {"NumberOfBytes": 7}).replace(b" HTTP/1.1\r\n", b" HTTP/1.0\r\n", 1)
    body_at = first.index(b"\r\n\r\n") + 4
    feeds = (first[:body_at + 3], first[body_at + 3:-4], first[-4:] + _signed("CreateKey", {}))

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
        wire, seen = await _connection(http, b"NOT HTTP AT ALL\r\n\r\n", HEALTH, _signed("CreateKey", {}))
        assert seen.dispatched == [] and seen.refused == ["Malformed HTTP request."]
        [(status, head, _)] = wire.responses()
        assert status == 400 and "\r\nconnection: close" in head

    _run(tmp_path, scenario)
