"""What a page handler gets: the request, the signed-in session, the caller that acts
as its principal, and helpers to answer (render a template, go back to a page)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from trent.server.console.calls import CallFailed, ConsoleCaller
from trent.server.console.http import ConsoleRequest, Form, Reply, redirect
from trent.server.console.notices import notice_text
from trent.server.console.render import url
from trent.service.console_sign_in import SignedIn

if TYPE_CHECKING:
    from trent.server.console.app import Console


@dataclass
class Page:
    console: Console
    request: ConsoleRequest
    signed_in: SignedIn | None = None
    caller: ConsoleCaller | None = None

    @property
    def form(self) -> Form:
        return self.request.form

    @property
    def api(self) -> ConsoleCaller:
        assert self.caller is not None, "a signed-in page"
        return self.caller

    def values(self) -> dict[str, Any]:
        """What every template may use (layout.html)."""
        signed_in = self.signed_in
        return {
            "me": signed_in.principal if signed_in else None,
            "region": signed_in.session.region if signed_in else None,
            "session_ends": signed_in.session.expires_at if signed_in else None,
            "regions": self.console.region_choices,
            "csrf": signed_in.csrf_token if signed_in else "",
            "dev": self.console.dev_access_key_id is not None,
            "notice": notice_text(self.request.arg("notice")),
            "error": None,
            "section": "",
        }

    def render(self, template: str, status: int = 200, headers: tuple[tuple[str, str], ...] = (),
               **values: Any) -> Reply:
        merged = self.values()
        merged.update(values)
        error = merged.get("error")
        if status == 200 and isinstance(error, CallFailed):
            status = 403 if error.denied else 400
        return self.console.renderer.html(template, merged, status, headers)

    def back(self, *segments: str, notice: str | None = None, **query: Any) -> Reply:
        return redirect(url(*segments, notice=notice, **query))


def first_error(*results: Mapping[str, Any] | CallFailed | None) -> CallFailed | None:
    for result in results:
        if isinstance(result, CallFailed):
            return result
    return None
