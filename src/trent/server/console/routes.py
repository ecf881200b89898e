"""Every console URL, in one table: method, path pattern, page function, and whether it
is public (served without a session: the sign-in pages)."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import unquote

from trent.server.console.http import Reply
from trent.server.console.page import Page
from trent.server.console.pages import (
    audit,
    audit_activity,
    audit_integrity,
    grants,
    imports,
    key_actions,
    key_detail,
    key_stores,
    keys_list,
    policy,
    signin,
    wizard,
)

_KEY = r"/console/keys/(?P<key_id>[^/]+)"


@dataclass(frozen=True)
class Route:
    method: str
    path: str
    handler: Callable[..., Reply]
    public: bool = False
    pattern: re.Pattern[str] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "pattern", re.compile(self.path))

    @staticmethod
    def params(match: re.Match[str]) -> dict[str, str]:
        return {name: unquote(value) for name, value in match.groupdict().items()}


def _home(page: Page) -> Reply:
    return page.back("keys")


ROUTES: tuple[Route, ...] = (
    Route("GET", r"/console/?", _home),
    Route("GET", r"/console/signin", signin.form, public=True),
    Route("POST", r"/console/signin", signin.submit, public=True),
    Route("POST", r"/console/signin/dev", signin.dev, public=True),
    Route("POST", r"/console/signout", signin.sign_out),
    Route("POST", r"/console/region", signin.switch_region),
    Route("GET", r"/console/keys", keys_list.page),
    Route("GET", r"/console/keys/new", wizard.start),
    Route("POST", r"/console/keys/new", wizard.step),
    Route("GET", _KEY, key_detail.page),
    Route("POST", _KEY + r"/(?P<action>" + "|".join(key_actions.ACTIONS) + ")", key_actions.run),
    Route("GET", _KEY + r"/policy", policy.page),
    Route("POST", _KEY + r"/policy", policy.submit),
    Route("GET", _KEY + r"/explain", policy.explain),
    Route("GET", _KEY + r"/grants", grants.page),
    Route("POST", _KEY + r"/grants", grants.create),
    Route("POST", _KEY + r"/grants/(?P<grant_id>[^/]+)/(?P<how>revoke|retire)", grants.end),
    Route("GET", _KEY + r"/import", imports.page),
    Route("POST", _KEY + r"/import/parameters", imports.parameters),
    Route("POST", _KEY + r"/import/material", imports.upload),
    Route("POST", _KEY + r"/import/delete", imports.delete),
    Route("GET", r"/console/key-stores", key_stores.page),
    Route("POST", r"/console/key-stores", key_stores.create),
    Route("POST", r"/console/key-stores/(?P<store_id>[^/]+)/(?P<action>connect|disconnect|delete)", key_stores.act),
    Route("GET", r"/console/audit", audit.page),
    Route("GET", r"/console/audit/events/(?P<event_id>[^/]+)", audit.event),
    Route("GET", r"/console/audit/activity", audit_activity.page),
    Route("GET", r"/console/audit/integrity", audit_integrity.page),
)
