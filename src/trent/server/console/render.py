"""Server-side HTML: Jinja2 templates with autoescaping on (every value a page shows is
text, never markup), undefined names as errors, and the few filters pages share."""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote, urlencode

import jinja2

from trent.server.console.http import PREFIX, Reply


def _when(epoch: float | int | None) -> str:
    if epoch is None:
        return "—"
    return time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(float(epoch)))


def _iso(epoch: float | int | None) -> str:
    return "" if epoch is None else time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(float(epoch)))


def _day(epoch: float | int | None) -> str:
    return "" if epoch is None else time.strftime("%Y-%m-%d", time.gmtime(float(epoch)))


def _pretty_json(value: Any) -> str:
    return json.dumps(value, indent=2, sort_keys=False, ensure_ascii=False)


def url(*segments: str, **query: Any) -> str:
    """A console URL: path segments percent-encoded (key ids, grant ids, alias names),
    empty query values dropped."""
    path = PREFIX + "".join("/" + quote(str(s), safe="") for s in segments)
    pairs = [(k, v) for k, v in query.items() if v not in (None, "")]
    return path + ("?" + urlencode(pairs) if pairs else "")


class Renderer:
    def __init__(self) -> None:
        self._env = jinja2.Environment(
            loader=jinja2.PackageLoader("trent.server.console", "templates"),
            autoescape=True,
            undefined=jinja2.StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
        )
        self._env.filters.update(when=_when, iso=_iso, day=_day, pretty_json=_pretty_json)
        self._env.globals.update(url=url)

    def html(self, template: str, values: Mapping[str, Any], status: int = 200,
             headers: tuple[tuple[str, str], ...] = ()) -> Reply:
        body = self._env.get_template(template).render(**values)
        return Reply(status, body.encode("utf-8"), headers=headers)
