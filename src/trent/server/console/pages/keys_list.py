"""The keys list with filters (issue 21): state, spec, usage, origin, alias, tag.

What the AWS console does, with the same API calls: ListAliases for the alias column,
ListKeys page by page, DescribeKey per key (and ListResourceTags when filtering by tag),
each one authorized and audited as the signed-in principal. A key the principal may list
but not describe is shown by id only, marked as such (or left out while filtering by an
attribute it cannot see). Pages of ListKeys are read until half a page of matches is
found, so a narrow filter still fills the table.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from trent.domain.keys import KeyState, KeyUsage, Origin
from trent.server.console.calls import CallFailed, ConsoleCaller
from trent.server.console.choices import specs_for, SYMMETRIC, ASYMMETRIC
from trent.server.console.http import Reply
from trent.server.console.page import Page

PAGE_SIZE = 50
MAX_LIST_PAGES = 10
FILTERS = ("state", "spec", "usage", "origin", "alias", "tag")


@dataclass(frozen=True, slots=True)
class KeyRow:
    key_id: str
    arn: str
    aliases: tuple[str, ...]
    metadata: dict[str, Any] | None  # None: DescribeKey was denied
    denied: str | None = None


def _all_specs() -> list[str]:
    seen: list[str] = []
    for key_type in (SYMMETRIC, ASYMMETRIC):
        for usage in KeyUsage:
            for choice in specs_for(key_type, usage):
                if str(choice.spec) not in seen:
                    seen.append(str(choice.spec))
    return seen


SPECS = _all_specs()


def _aliases_by_key(api: ConsoleCaller) -> tuple[dict[str, list[str]], CallFailed | None]:
    found: dict[str, list[str]] = {}
    try:
        for entry in api.pages("ListAliases", {"Limit": 100}, "Aliases"):
            if "TargetKeyId" in entry:
                found.setdefault(entry["TargetKeyId"], []).append(entry["AliasName"])
    except CallFailed as failed:
        return found, failed
    return found, None


def _tag_matches(api: ConsoleCaller, key_id: str, wanted: str) -> bool:
    name, has_value, value = wanted.partition("=")
    result = api.attempt("ListResourceTags", {"KeyId": key_id, "Limit": 50})
    if isinstance(result, CallFailed):
        return False
    for tag in result.get("Tags", ()):
        if tag["TagKey"] == name.strip() and (not has_value or tag["TagValue"] == value.strip()):
            return True
    return False


def _row(api: ConsoleCaller, entry: dict[str, str], aliases: dict[str, list[str]], wanted: dict[str, str],
         aliases_known: bool) -> KeyRow | None:
    key_id = entry["KeyId"]
    names = tuple(sorted(aliases.get(key_id, ())))
    if wanted["alias"]:
        if not aliases_known or not any(wanted["alias"].lower() in n.lower() for n in names):
            return None
    result = api.attempt("DescribeKey", {"KeyId": key_id})
    attribute_filter = any(wanted[f] for f in ("state", "spec", "usage", "origin", "tag"))
    if isinstance(result, CallFailed):
        return None if attribute_filter else KeyRow(key_id, entry["KeyArn"], names, None, result.message)
    md = result["KeyMetadata"]
    for name, member in (("state", "KeyState"), ("spec", "KeySpec"), ("usage", "KeyUsage"), ("origin", "Origin")):
        if wanted[name] and md.get(member) != wanted[name]:
            return None
    if wanted["tag"] and not _tag_matches(api, key_id, wanted["tag"]):
        return None
    return KeyRow(key_id, entry["KeyArn"], names, md)


def page(page: Page) -> Reply:
    api = page.api
    wanted = {name: page.request.arg(name).strip() for name in FILTERS}
    marker = page.request.arg("marker") or None
    aliases, alias_error = _aliases_by_key(api)
    rows: list[KeyRow] = []
    error: CallFailed | None = None
    next_marker: str | None = None
    params: dict[str, Any] = {"Limit": PAGE_SIZE}
    if marker:
        params["Marker"] = marker
    try:
        for _ in range(MAX_LIST_PAGES):
            body = api.call("ListKeys", params)
            for entry in body.get("Keys", ()):
                row = _row(api, entry, aliases, wanted, alias_error is None)
                if row is not None:
                    rows.append(row)
            next_marker = body.get("NextMarker") if body.get("Truncated") else None
            if next_marker is None or len(rows) >= PAGE_SIZE // 2:
                break
            params["Marker"] = next_marker
    except CallFailed as failed:
        error = failed
    return page.render(
        "keys_list.html", section="keys", rows=rows, error=error, alias_error=alias_error, wanted=wanted,
        filtering=any(wanted.values()), next_marker=next_marker,
        states=[str(s) for s in KeyState], specs=SPECS, usages=[str(u) for u in KeyUsage],
        origins=[str(o) for o in Origin],
    )
