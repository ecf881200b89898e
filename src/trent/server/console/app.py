"""The web console's front: one ``handle`` the HTTP front doors call for every path
under ``/console`` (issue 21). Blocking (it calls the service): run it on a worker thread.

Per request: static assets are served as they are; everything else passes the sealed
gate, the cross-site check for POSTs, finds its session (``service.console_sign_in``),
checks the CSRF token of every POST, and runs its page with a ``ConsoleCaller`` that
acts as the signed-in principal through the API's own pipeline (``calls.py``). Every
answer carries the security headers (``security.py``); an unexpected failure is a plain
500 page, never a traceback.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from importlib import resources

from trent.domain.clock import Clock
from trent.objectstore import ObjectStore
from trent.protocol.cloudtrail.front_door import CloudTrailFrontDoor
from trent.protocol.explain_endpoint import ExplainFrontDoor
from trent.protocol.pipeline import KmsPipeline, Response
from trent.server.console import security
from trent.server.console.calls import AuditUnavailable, ConsoleCaller, Identity
from trent.server.console.http import PREFIX, BadRequest, ConsoleRequest, Reply, redirect
from trent.server.console.page import Page
from trent.server.console.render import Renderer, url
from trent.server.console.routes import ROUTES, Route
from trent.service import console_sign_in
from trent.service.console_sign_in import SignInPolicy
from trent.service.identity import Authenticator

log = logging.getLogger("trent.console")

_STATIC_TYPES = {".css": "text/css; charset=utf-8", ".js": "text/javascript; charset=utf-8",
                 ".svg": "image/svg+xml"}
_STATIC_NAME = re.compile(r"^[a-z0-9][a-z0-9._-]*$")


@dataclass(frozen=True, slots=True)
class TrailAccess:
    """The audit pages' way to the trail (issue 21 phase 2): the CloudTrail front door,
    whose use cases they call as the signed-in principal, and the trail's bucket, which
    the integrity page's bounded verification reads."""

    door: CloudTrailFrontDoor
    bucket: ObjectStore


class Console:
    def __init__(
        self,
        pipeline: KmsPipeline,
        authenticator: Authenticator,
        *,
        region_ok: Callable[[str], bool],
        regions: Sequence[str] | None = None,
        default_region: str = "us-east-1",
        dev_access_key_id: str | None = None,
        policy: SignInPolicy = SignInPolicy(),
        secure: bool = False,
        clock: Clock | None = None,
        trail: TrailAccess | None = None,
    ) -> None:
        self.pipeline = pipeline
        self.deps = pipeline.deps
        self.authenticator = authenticator
        self.explain_door = ExplainFrontDoor(pipeline)
        self.region_ok = region_ok
        self.region_choices = sorted(regions) if regions else None
        self.default_region = self.region_choices[0] if self.region_choices else default_region
        self.dev_access_key_id = dev_access_key_id  # --dev: the one-click sign-in's key
        self.policy = policy
        self.secure = secure  # the front door terminates TLS
        self._clock = clock  # tests; by default the pipeline's wall clock
        self.trail = trail  # the audit pages' (None: no trail served, the pages say so)
        self.renderer = Renderer()
        self._static = {}
        for entry in resources.files("trent.server.console").joinpath("static").iterdir():
            if entry.name[entry.name.rfind("."):] in _STATIC_TYPES:
                self._static[entry.name] = entry.read_bytes()

    def now(self) -> float:
        """Sessions and sign-in windows run on real time, as credentials do (not the dev clock)."""
        return self._clock.now() if self._clock is not None else self.pipeline.wall_now()

    # --- the front doors' entry point ---------------------------------------------------

    def handle(
        self, method: str, path: str, query: str, headers: Sequence[tuple[bytes, bytes]], body: bytes,
        source_ip: str, secure: bool | None = None,
    ) -> Response:
        request = ConsoleRequest(method, path, query, headers, body, source_ip,
                                 self.secure if secure is None else secure)
        request_id = self.pipeline.new_request_id()
        try:
            reply = self._dispatch(request)
        except BadRequest:
            reply = self._problem(request, 400, "Bad request", "The form could not be read.")
        except AuditUnavailable:
            reply = self._problem(request, 500, "Not recorded",
                                  "The audit trail could not record this action, so its result is withheld.")
        except Exception:  # noqa: BLE001 - never a traceback in a page
            log.exception("console request %s %s failed (%s)", method, path, request_id)
            reply = self._problem(request, 500, "Something went wrong", f"Request {request_id} failed.")
        headers_out = security.security_headers(request.secure, reply.cacheable) + list(reply.headers)
        return Response(
            reply.status, reply.body, request_id, reply.content_type.encode(),
            tuple((k.encode("latin-1"), v.encode("latin-1")) for k, v in headers_out),
        )

    # --- steps ------------------------------------------------------------------------

    def _dispatch(self, request: ConsoleRequest) -> Reply:
        path = request.path
        if path.startswith(PREFIX + "/static/"):
            return self._static_file(request, path[len(PREFIX) + 8 :])
        gate = self.pipeline.gate
        if gate is not None and (closed := gate()) is not None:
            return self._problem(request, 503, "Sealed", closed.message or "This Trent server is sealed.")
        route, params, allowed = _find(request.method, path)
        if route is None:
            if allowed:
                return self._problem(request, 405, "Not allowed", "This page does not take that method.",
                                     (("allow", ", ".join(sorted(allowed))),))
            return self._problem(request, 404, "Not found", "There is no such page in the console.")
        if request.method == "POST" and not security.same_origin(request):
            return self._problem(request, 403, "Refused", "This form was not sent from the console's own pages.")
        token = request.cookies.get(security.cookie_name(security.SESSION_COOKIE, request.secure))
        signed_in = console_sign_in.resume(self.deps, token, self.now(), self.policy) if token else None
        page = Page(self, request, signed_in)
        if route.public:
            return route.handler(page, **params)
        if signed_in is None:
            gone = (security.clear_cookie(security.SESSION_COOKIE, request.secure),) if token else ()
            target = path if request.method == "GET" else PREFIX + "/keys"
            return redirect(url("signin", next=target, notice="expired" if token else None), *gone)
        if request.method == "POST" and not console_sign_in.csrf_matches(signed_in.token,
                                                                          request.form.get(security.CSRF_FIELD)):
            log.warning("console POST %s without a valid CSRF token from %s", path, request.source_ip)
            return self._problem(request, 403, "Refused",
                                 "This form has expired or did not come from this console. Reload the page and try again.",
                                 page=page)
        session = signed_in.session
        page.caller = ConsoleCaller(self.pipeline, self.explain_door,
                                    Identity(signed_in.principal, session.access_key_id, session.region),
                                    request.source_ip, self.trail.door if self.trail is not None else None)
        return route.handler(page, **params)

    def _static_file(self, request: ConsoleRequest, name: str) -> Reply:
        data = self._static.get(name) if _STATIC_NAME.match(name) else None
        if data is None or request.method != "GET":
            return Reply(404, b"not found", "text/plain; charset=utf-8")
        return Reply(200, data, _STATIC_TYPES[name[name.rfind("."):]], cacheable=True)

    def _problem(self, request: ConsoleRequest, status: int, title: str, message: str,
                 headers: tuple[tuple[str, str], ...] = (), page: Page | None = None) -> Reply:
        page = page or Page(self, request)
        return page.render("problem.html", status, headers, title=title, message=message)


def _find(method: str, path: str) -> tuple[Route | None, dict[str, str], set[str]]:
    allowed: set[str] = set()
    for route in ROUTES:
        match = route.pattern.fullmatch(path)
        if match is None:
            continue
        if route.method != method:
            allowed.add(route.method)
            continue
        return route, route.params(match), allowed
    return None, {}, allowed

