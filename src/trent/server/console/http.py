"""The console's own view of an HTTP exchange: a parsed request (query, cookies, form
fields and uploaded files) and the reply a page builds.

Forms arrive as ``application/x-www-form-urlencoded`` (every page) or
``multipart/form-data`` (the import page's file uploads, parsed by python-multipart).
Bodies are already bounded by the front door (1 MiB by default).
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass, field
from http.cookies import CookieError, SimpleCookie
from urllib.parse import parse_qs

from python_multipart.multipart import MultipartParser, parse_options_header

PREFIX = "/console"
MAX_FIELDS = 1000


def is_console_path(path: str) -> bool:
    return path == PREFIX or path.startswith(PREFIX + "/")


class BadRequest(Exception):
    """The request cannot be a console form (undecodable, too many fields, bad multipart)."""


@dataclass(frozen=True, slots=True)
class Upload:
    filename: str
    data: bytes = field(repr=False)


@dataclass(frozen=True, slots=True)
class Form:
    fields: dict[str, list[str]]
    files: dict[str, Upload] = field(default_factory=dict)

    def get(self, name: str, default: str = "") -> str:
        values = self.fields.get(name)
        return values[0] if values else default

    def getlist(self, name: str) -> list[str]:
        return list(self.fields.get(name, ()))

    def file(self, name: str) -> Upload | None:
        upload = self.files.get(name)
        return upload if upload is not None and (upload.filename or upload.data) else None


@dataclass(frozen=True)
class ConsoleRequest:
    method: str
    path: str
    query_string: str
    headers: Sequence[tuple[bytes, bytes]] = field(repr=False)
    body: bytes = field(repr=False)
    source_ip: str
    secure: bool = False  # reached over TLS: cookies get the Secure attribute

    def header(self, name: bytes) -> str | None:
        for key, value in self.headers:
            if key == name:
                return value.decode("latin-1")
        return None

    @functools.cached_property
    def query(self) -> dict[str, list[str]]:
        return _parse_urlencoded(self.query_string)

    def arg(self, name: str, default: str = "") -> str:
        values = self.query.get(name)
        return values[0] if values else default

    @functools.cached_property
    def cookies(self) -> dict[str, str]:
        jar: SimpleCookie = SimpleCookie()
        for value in (v for k, v in self.headers if k == b"cookie"):
            try:
                jar.load(value.decode("latin-1"))
            except CookieError:
                continue
        return {name: morsel.value for name, morsel in jar.items()}

    @functools.cached_property
    def form(self) -> Form:
        content_type, options = parse_options_header(self.header(b"content-type") or "")
        if content_type == b"multipart/form-data":
            boundary = options.get(b"boundary")
            if not boundary:
                raise BadRequest("multipart body without a boundary")
            return _parse_multipart(self.body, boundary)
        try:
            text = self.body.decode("utf-8", "strict")
        except UnicodeDecodeError:
            raise BadRequest("undecodable form") from None
        return Form(_parse_urlencoded(text))


def _parse_urlencoded(text: str) -> dict[str, list[str]]:
    try:
        return parse_qs(text, keep_blank_values=True, strict_parsing=False, errors="strict",
                        max_num_fields=MAX_FIELDS)
    except (UnicodeDecodeError, ValueError):
        raise BadRequest("undecodable form") from None


def _parse_multipart(body: bytes, boundary: bytes) -> Form:
    fields: dict[str, list[str]] = {}
    files: dict[str, Upload] = {}
    state: dict[str, object] = {}

    def on_part_begin() -> None:
        state.update(headers={}, data=[], header_name=b"", header_value=b"")

    def on_header_field(data: bytes, start: int, end: int) -> None:
        state["header_name"] = state["header_name"] + data[start:end]  # type: ignore[operator]

    def on_header_value(data: bytes, start: int, end: int) -> None:
        state["header_value"] = state["header_value"] + data[start:end]  # type: ignore[operator]

    def on_header_end() -> None:
        headers = state["headers"]
        headers[bytes(state["header_name"]).lower()] = bytes(state["header_value"])  # type: ignore[index,call-overload]  # state holds object
        state.update(header_name=b"", header_value=b"")

    def on_part_data(data: bytes, start: int, end: int) -> None:
        state["data"].append(data[start:end])  # type: ignore[attr-defined]

    def on_part_end() -> None:
        headers: dict[bytes, bytes] = state["headers"]  # type: ignore[assignment]
        disposition, params = parse_options_header(headers.get(b"content-disposition", b""))
        name = params.get(b"name")
        if disposition != b"form-data" or name is None:
            raise BadRequest("multipart part without a form-data name")
        if len(fields) + len(files) >= MAX_FIELDS:
            raise BadRequest("too many form fields")
        data = b"".join(state["data"])  # type: ignore[arg-type]
        key = name.decode("utf-8", "strict")
        if b"filename" in params:
            files[key] = Upload(params[b"filename"].decode("utf-8", "replace"), data)
        else:
            fields.setdefault(key, []).append(data.decode("utf-8", "strict"))

    parser = MultipartParser(
        boundary,
        {
            "on_part_begin": on_part_begin,
            "on_header_field": on_header_field,
            "on_header_value": on_header_value,
            "on_header_end": on_header_end,
            "on_part_data": on_part_data,
            "on_part_end": on_part_end,
        },
    )
    try:
        parser.write(body)
        parser.finalize()
    except BadRequest:
        raise
    except Exception:  # noqa: BLE001 - any malformed multipart body is the same answer
        raise BadRequest("malformed multipart body") from None
    return Form(fields, files)


@dataclass(frozen=True, slots=True)
class Reply:
    """What a page answers; ``Console`` adds the security headers to every one."""

    status: int
    body: bytes = field(repr=False)
    content_type: str = "text/html; charset=utf-8"
    headers: tuple[tuple[str, str], ...] = ()
    cacheable: bool = False  # static assets only; pages and downloads are no-store


def redirect(location: str, *headers: tuple[str, str]) -> Reply:
    """303 See Other: a POST that worked goes back to a page (post/redirect/get)."""
    return Reply(303, b"", "text/plain; charset=utf-8", (("location", location), *headers))
