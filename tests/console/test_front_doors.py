"""Both HTTP front doors send /console to the console (issue 21): the ASGI face here
(in-process), the built-in HTTP/1.1 server in the browser tests. Other paths are not
affected."""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor

from trent import bootstrap


def _asgi(app, method: str, path: str, scheme: str = "http") -> tuple[int, list[tuple[bytes, bytes]], bytes]:
    sent: list[dict] = []

    async def receive() -> dict:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict) -> None:
        sent.append(message)

    scope = {"type": "http", "method": method, "path": path, "raw_path": path.encode(), "query_string": b"",
             "headers": [(b"host", b"trent.test")], "client": ("127.0.0.1", 5000), "scheme": scheme}
    # A thread of its own: the caller's thread may already run an event loop.
    with ThreadPoolExecutor(1) as pool:
        pool.submit(asyncio.run, app(scope, receive, send)).result()
    start, body = sent
    return start["status"], start["headers"], body["body"]


def test_the_asgi_face_serves_the_console(runtime: bootstrap.Runtime) -> None:
    status, headers, body = _asgi(runtime.app, "GET", "/console/signin")
    assert status == 200 and b"Sign in to Trent" in body
    names = [k for k, _ in headers]
    assert b"content-security-policy" in names and b"set-cookie" in names
    status, headers, _ = _asgi(runtime.app, "GET", "/console/signin", scheme="https")
    assert any(k == b"set-cookie" and v.startswith(b"__Secure-") and v.endswith(b"; Secure") for k, v in headers)
    status, _, body = _asgi(runtime.app, "GET", "/consoleX")
    # not the console: the one router sends an unsigned GET of another path to S3, which
    # refuses an anonymous caller (issue 16)
    assert status == 403 and b"<Code>AccessDenied</Code>" in body


def test_console_can_be_turned_off(tmp_path) -> None:
    from trent.config import Settings

    rt = bootstrap.build(Settings(dev=True, data_dir=tmp_path / "data", console=False).validate())
    try:
        assert rt.http.console is None and rt.app.console is None
        status, _, body = _asgi(rt.app, "GET", "/console/signin")
        assert status == 403 and b"<Code>AccessDenied</Code>" in body  # S3's answer, not a page
    finally:
        rt.audit.close()
        rt.deps.storage.close()
