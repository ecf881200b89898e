"""A raw-socket HTTP/1.1 client for wire tests that need what boto3 will not send: several
requests in one write (pipelining), heads llhttp refuses, Upgrade headers. Requests are
SigV4-signed by botocore's own signers, then written as bytes; ``Reader`` parses the
server's byte stream strictly (one final response per request, in order)."""

from __future__ import annotations

import json
import socket
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from botocore.auth import S3SigV4Auth, SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from tests.fixtures.trent_server import TrentServer

CREDENTIALS = Credentials("test", "test")


def raw_request(server: TrentServer, request: AWSRequest, path: str) -> bytes:
    head = f"{request.method} {path} HTTP/1.1\r\nHost: {urlsplit(server.endpoint_url).netloc}\r\n" + "".join(
        f"{k}: {v}\r\n" for k, v in request.headers.items() if k.lower() != "host") + "\r\n"
    data = request.data if isinstance(request.data, bytes) else b""
    return head.encode() + data


def s3_request(server: TrentServer, method: str, path: str, data: bytes = b"", expect: bool = False,
               with_body: bool = True) -> bytes:
    """A SigV4-signed S3 request as bytes (``with_body=False``: its head only)."""
    headers = {"Content-Length": str(len(data))} if method in ("PUT", "POST") else {}
    if expect:
        headers["Expect"] = "100-continue"
    request = AWSRequest(method, server.endpoint_url + path, headers=headers, data=data)
    S3SigV4Auth(CREDENTIALS, "s3", server.region).add_auth(request)
    raw = raw_request(server, request, path)
    return raw if with_body else raw[: len(raw) - len(data)]


def with_header(raw: bytes, header: bytes) -> bytes:
    """``raw`` with one more header line (unsigned: SigV4 need not cover it)."""
    line_end = raw.index(b"\r\n") + 2
    return raw[:line_end] + header + b"\r\n" + raw[line_end:]


def http10(raw: bytes) -> bytes:
    """``raw`` sent as HTTP/1.0: no keep-alive unless it asks for it (RFC 9112 §9.3)."""
    line_end = raw.index(b"\r\n")
    assert raw[:line_end].endswith(b" HTTP/1.1")
    return raw[:line_end - 3] + b"1.0" + raw[line_end:]


def kms_request(server: TrentServer, operation: str, params: dict[str, Any]) -> bytes:
    data = json.dumps(params).encode()
    headers = {"Content-Type": "application/x-amz-json-1.1", "X-Amz-Target": f"TrentService.{operation}",
               "Content-Length": str(len(data))}
    request = AWSRequest("POST", server.endpoint_url + "/", headers=headers, data=data)
    SigV4Auth(CREDENTIALS, "kms", server.region).add_auth(request)
    return raw_request(server, request, "/")


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes
    continued: bool = False  # a 100 Continue came right before this final response


@dataclass
class Reader:
    """Parses the server's byte stream strictly: a status line, headers, Content-Length bytes."""

    sock: socket.socket
    buffer: bytes = b""
    interim: list[int] = field(default_factory=list)

    def _fill(self) -> None:
        data = self.sock.recv(1 << 20)
        if not data:
            raise AssertionError(f"connection closed; unparsed: {self.buffer[:200]!r}")
        self.buffer += data

    def _head(self) -> tuple[int, dict[str, str]]:
        while (end := self.buffer.find(b"\r\n\r\n")) < 0:
            self._fill()
        head, self.buffer = self.buffer[:end].decode("latin-1"), self.buffer[end + 4:]
        status_line, *lines = head.split("\r\n")
        assert status_line.startswith("HTTP/1.1 "), f"not a status line: {status_line[:200]!r}"
        headers = {}
        for line in lines:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        return int(status_line.split(" ", 2)[1]), headers

    def interim_response(self) -> int:
        status, _ = self._head()
        return status

    def response(self, method: str = "GET", expected_continue: bool = False) -> Answer:
        """The next final response; a 100 Continue before it only if ``expected_continue``."""
        status, headers = self._head()
        continued = False
        if status == 100:
            assert expected_continue, "a 100 Continue for a request that did not ask for one (or not its turn)"
            continued = True
            status, headers = self._head()
        assert status >= 200, f"a second interim response {status}"
        length = 0 if method == "HEAD" else int(headers.get("content-length", "0"))
        while len(self.buffer) < length:
            self._fill()
        data, self.buffer = self.buffer[:length], self.buffer[length:]
        return Answer(status, headers, data, continued)

    def nothing_more(self) -> None:
        self.sock.settimeout(0.3)
        try:
            extra = self.sock.recv(65536)
        except TimeoutError:
            extra = b""
        finally:
            self.sock.settimeout(20)
        assert extra == b"" and self.buffer == b"", f"bytes after the last response: {(self.buffer + extra)[:200]!r}"


    def closed(self) -> None:
        """The server closed the connection after the last response: nothing more came."""
        self.sock.settimeout(5)
        try:
            extra = self.sock.recv(65536)
        finally:
            self.sock.settimeout(20)
        assert extra == b"" and self.buffer == b"", f"bytes after the last response: {(self.buffer + extra)[:200]!r}"


def connect(server: TrentServer) -> socket.socket:
    parts = urlsplit(server.endpoint_url)
    return socket.create_connection((parts.hostname, parts.port), timeout=20)
