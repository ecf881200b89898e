"""A cookie-keeping client for ``Console.handle`` (no sockets): what a browser would send
(Host, Origin on POST, cookies), with the answer parsed for assertions."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from http.cookies import SimpleCookie
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

from trent.server.console import Console

from .html import Element, parse

HOST = "trent.test"


@dataclass
class Answer:
    status: int
    headers: list[tuple[str, str]]
    body: bytes = field(repr=False)

    def header(self, name: str) -> str | None:
        for k, v in self.headers:
            if k == name:
                return v
        return None

    def all(self, name: str) -> list[str]:
        return [v for k, v in self.headers if k == name]

    @property
    def text(self) -> str:
        return self.body.decode("utf-8")

    @property
    def doc(self) -> Element:
        return parse(self.text)

    @property
    def location(self) -> str:
        location = self.header("location")
        assert location is not None, f"not a redirect: {self.status}"
        return location

    def by_id(self, element_id: str) -> Element:
        found = self.doc.find(id=element_id)
        assert found is not None, f"no #{element_id} in the page"
        return found


class ConsoleClient:
    def __init__(self, console: Console, source_ip: str = "127.0.0.1") -> None:
        self.console = console
        self.source_ip = source_ip
        self.cookies: dict[str, str] = {}
        self.last: Answer | None = None

    def request(self, method: str, target: str, body: bytes = b"", content_type: str | None = None,
                headers: dict[str, str] | None = None, origin: bool = True) -> Answer:
        parts = urlsplit(target)
        sent = [("host", HOST)]
        if self.cookies:
            sent.append(("cookie", "; ".join(f"{k}={v}" for k, v in self.cookies.items())))
        if method == "POST" and origin:
            sent.append(("origin", f"http://{HOST}"))
        if content_type:
            sent.append(("content-type", content_type))
        sent += list((headers or {}).items())
        response = self.console.handle(method, parts.path, parts.query,
                                       [(k.encode(), v.encode()) for k, v in sent], body, self.source_ip)
        answer = Answer(response.status, [("content-type", response.content_type.decode())]
                        + [(k.decode(), v.decode()) for k, v in response.headers], response.body)
        for value in answer.all("set-cookie"):
            jar: SimpleCookie = SimpleCookie()
            jar.load(value)
            for name, morsel in jar.items():
                if morsel["max-age"] == "0":
                    self.cookies.pop(name, None)
                else:
                    self.cookies[name] = morsel.value
        self.last = answer
        return answer

    def get(self, target: str, **kwargs: Any) -> Answer:
        return self.request("GET", target, **kwargs)

    def post(self, target: str, form: dict[str, Any] | list[tuple[str, str]] | None = None, *, csrf: bool = True,
             **kwargs: Any) -> Answer:
        pairs = list(form.items()) if isinstance(form, dict) else list(form or [])
        flat: list[tuple[str, str]] = []
        for k, v in pairs:
            flat += [(k, x) for x in v] if isinstance(v, (list, tuple)) else [(k, str(v))]
        if csrf and not any(k == "csrf" for k, _ in flat):
            flat.append(("csrf", self.csrf()))
        return self.request("POST", target, urlencode(flat).encode(), "application/x-www-form-urlencoded", **kwargs)

    def post_multipart(self, target: str, fields: dict[str, str], files: dict[str, tuple[str, bytes]]) -> Answer:
        boundary = "----trent-test-boundary"
        chunks: list[bytes] = []
        for name, value in {**fields, "csrf": self.csrf()}.items():
            chunks.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode())
        for name, (filename, data) in files.items():
            chunks.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; filename="{filename}"\r\n'
                          f"Content-Type: application/octet-stream\r\n\r\n".encode() + data + b"\r\n")
        chunks.append(f"--{boundary}--\r\n".encode())
        return self.request("POST", target, b"".join(chunks), f"multipart/form-data; boundary={boundary}")

    def follow(self, answer: Answer) -> Answer:
        assert answer.status == 303, (answer.status, answer.text[:500])
        return self.get(answer.location)

    def csrf(self) -> str:
        """The CSRF token from a signed-in page (any will do: the wizard's first step makes
        no API call, so it adds no audit event)."""
        page = self.get("/console/keys/new")
        field_ = page.doc.find("input", name="csrf")
        assert field_ is not None, "not signed in"
        return field_.attrs["value"]

    def sign_in_dev(self) -> Answer:
        form = self.get("/console/signin").doc.find("input", name="signin_token")
        assert form is not None
        answer = self.post("/console/signin/dev", {"signin_token": form.attrs["value"]}, csrf=False)
        assert answer.status == 303, answer.text[:500]
        return answer

    def sign_in(self, access_key_id: str, secret: str, region: str = "us-east-1", token: str = "") -> Answer:
        page = self.get("/console/signin")
        signin_token = page.doc.find("input", name="signin_token")
        if signin_token is None:  # already signed in: the form redirects
            self.cookies.clear()
            signin_token = self.get("/console/signin").doc.find("input", name="signin_token")
        assert signin_token is not None
        return self.post("/console/signin", {"signin_token": signin_token.attrs["value"], "access_key_id": access_key_id,
                                             "secret_access_key": secret, "session_token": token, "region": region},
                         csrf=False)


def audit_events(database: Path) -> list[dict[str, Any]]:
    """Every event of the audit trail (issue 16) in ``database`` (SQLite), in commit order."""
    import sqlite3

    con = sqlite3.connect(f"file:{database}?mode=ro", uri=True, timeout=30)
    try:
        rows = con.execute("SELECT bodies FROM audit_segments ORDER BY rowid").fetchall()
    finally:
        con.close()
    return [json.loads(body) for row in rows for body in bytes(row[0]).split(b"\n")]
