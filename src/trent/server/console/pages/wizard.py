"""The create-key wizard, in the order the AWS console walks it (issue 21): key type ->
usage -> spec (only valid combinations, ``choices.py``) -> origin -> alias, description,
tags -> key administrators -> key users -> review of the generated, editable key policy
-> create.

No server-side state: each step posts every answer so far (hidden fields), the step's
own answers are checked, and Back keeps them. Create is two API calls as the signed-in
principal: CreateKey (with the reviewed policy and the tags) and, if an alias was asked
for, CreateAlias.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from trent.domain.keys import Origin
from trent.server.console.calls import CallFailed, ConsoleCaller
from trent.server.console.choices import (
    KEY_TYPES,
    ORIGIN_TEXT,
    USAGE_TEXT,
    origins_for,
    specs_for,
    usages_for,
)
from trent.server.console.forms import arn_lines, key_value_lines
from trent.server.console.http import Form, Reply
from trent.server.console.page import Page
from trent.server.console.pages import key_detail
from trent.server.console.policy_template import console_key_policy
from trent.service.directory import LIST_ROLES, LIST_USERS

STEPS = ("type", "usage", "spec", "origin", "labels", "admins", "users", "review")
STEP_TITLES = {
    "type": "Key type",
    "usage": "Key usage",
    "spec": "Key spec",
    "origin": "Key material origin",
    "labels": "Alias, description and tags",
    "admins": "Key administrators",
    "users": "Key users",
    "review": "Review and create",
}
# Every answer, carried from step to step; the multi-valued ones are lists.
SINGLE = ("type", "usage", "spec", "origin", "store_id", "multi_region", "alias", "description", "tags",
          "admins_other", "admin_delete", "users_other", "other_accounts", "policy")
MULTI = ("admins", "users")
# Which answers each step edits (the rest travel as hidden fields).
EDITS = {
    "type": ("type",), "usage": ("usage",), "spec": ("spec",), "origin": ("origin", "store_id", "multi_region"),
    "labels": ("alias", "description", "tags"), "admins": ("admins", "admins_other", "admin_delete"),
    "users": ("users", "users_other", "other_accounts"), "review": ("policy",),
}
_ALIAS = re.compile(r"^[a-zA-Z0-9/_-]{1,250}$")


@dataclass
class Answers:
    single: dict[str, str]
    multi: dict[str, list[str]]
    errors: list[str] = field(default_factory=list)

    @classmethod
    def from_form(cls, form: Form) -> Answers:
        # The last value wins: a checkbox follows the hidden "false" that stands for unchecked.
        single = {n: (form.getlist(n) or [""])[-1] for n in SINGLE}
        return cls(single, {n: [v for v in form.getlist(n) if v] for n in MULTI})

    def __getitem__(self, name: str) -> str:
        return self.single[name]

    def hidden(self, step: str) -> list[tuple[str, str]]:
        """(name, value) pairs for every answer this step does not edit."""
        edited = EDITS[step]
        pairs = [(n, v) for n, v in self.single.items() if n not in edited and v]
        pairs += [(n, v) for n in MULTI if n not in edited for v in self.multi[n]]
        return pairs

    def administrators(self) -> list[str]:
        return _unique(self.multi["admins"] + arn_lines(self["admins_other"]))

    def users(self, partition: str = "aws") -> list[str]:
        accounts = [f"arn:{partition}:iam::{a}:root" for a in self["other_accounts"].split() if a.strip()]
        return _unique(self.multi["users"] + arn_lines(self["users_other"]) + accounts)


def _unique(items: list[str]) -> list[str]:
    return list(dict.fromkeys(i.strip() for i in items if i.strip()))


def _check(step: str, a: Answers) -> list[str]:
    """The step's own answers, against the choices it offered."""
    if step == "type" and a["type"] not in KEY_TYPES:
        return ["Choose a key type."]
    if step == "usage" and a["usage"] not in {str(u) for u in usages_for(a["type"])}:
        return ["Choose a key usage."]
    if step == "spec" and a["spec"] not in {str(c.spec) for c in specs_for(a["type"], a["usage"])}:
        return ["Choose a key spec."]
    if step == "origin":
        if a["origin"] not in {str(o) for o in origins_for(a["spec"])}:
            return ["Choose where the key material comes from."]
        if a["origin"] == Origin.AWS_CLOUDHSM:
            if not a["store_id"]:
                return ["Choose a connected custom key store."]
            if a["multi_region"]:
                return ["Multi-Region keys cannot be created in a custom key store."]
    if step == "labels":
        errors = []
        alias = a["alias"].strip().removeprefix("alias/")
        if alias and (not _ALIAS.match(alias) or alias.startswith("aws/")):
            errors.append("An alias has letters, digits, '/', '_' and '-' only, and does not begin with 'aws/'.")
        try:
            key_value_lines(a["tags"])
        except ValueError as exc:
            errors.append(str(exc))
        return errors
    if step in ("admins", "users"):
        try:
            arn_lines(a["admins_other" if step == "admins" else "users_other"])
        except ValueError as exc:
            return [str(exc)]
        if step == "users" and any(not re.fullmatch(r"[0-9]{12}", x) for x in a["other_accounts"].split()):
            return ["Other AWS accounts are 12-digit account ids."]
    return []


def _stores(api: ConsoleCaller) -> list[dict] | CallFailed:
    try:
        return [s for s in api.pages("DescribeCustomKeyStores", {}, "CustomKeyStores")
                if s.get("ConnectionState") == "CONNECTED"]
    except CallFailed as failed:
        return failed


def _render(page: Page, step: str, a: Answers, error: CallFailed | None = None, status: int = 200) -> Reply:
    api = page.api
    extra: dict[str, Any] = {}
    if step == "usage":
        extra["usages"] = [(str(u), USAGE_TEXT[u]) for u in usages_for(a["type"])]
    elif step == "spec":
        extra["specs"] = specs_for(a["type"], a["usage"])
    elif step == "origin":
        extra["origins"] = [(str(o), ORIGIN_TEXT[o]) for o in origins_for(a["spec"])]
        extra["stores"] = _stores(api) if Origin.AWS_CLOUDHSM in origins_for(a["spec"]) else []
    elif step in ("admins", "users"):
        extra["directory"] = [(action, _directory(api, action)) for action in (LIST_USERS, LIST_ROLES)]
    return page.render("wizard.html", status, section="create", step=step, steps=STEPS, titles=STEP_TITLES,
                       answers=a, hidden=a.hidden(step), key_types=KEY_TYPES, error=error, **extra)


def _directory(api: ConsoleCaller, action: str) -> list | CallFailed:
    try:
        return list(api.list_principals(action))
    except CallFailed as failed:
        return failed


def start(page: Page) -> Reply:
    return _render(page, "type", Answers({n: "" for n in SINGLE} | {"admin_delete": "true"}, {n: [] for n in MULTI}))


def step(page: Page) -> Reply:
    form = page.form
    a = Answers.from_form(form)
    current = form.get("step")
    if current not in STEPS:
        return start(page)
    index = STEPS.index(current)
    go = form.get("go")
    if go == "back":
        return _render(page, STEPS[max(0, index - 1)], a)
    a.errors = _check(current, a)
    if a.errors:
        return _render(page, current, a, status=400)
    if go == "create" and current == "review":
        return _create(page, a)
    following = STEPS[min(index + 1, len(STEPS) - 1)]
    if following == "review":
        principal = page.api.identity.principal
        partition = principal.arn.split(":")[1]
        try:
            a.single["policy"] = console_key_policy(
                principal.account_id, a["spec"], a["usage"], a.administrators(), a.users(partition),
                administrators_may_delete=a["admin_delete"] == "true", partition=partition,
            )
        except (ValueError, KeyError):  # answers of earlier steps altered on the way
            return start(page)
    return _render(page, following, a)


def _create(page: Page, a: Answers) -> Reply:
    api = page.api
    params: dict[str, object] = {"KeySpec": a["spec"], "KeyUsage": a["usage"], "Origin": a["origin"],
                                 "Description": a["description"], "Policy": a["policy"]}
    if a["origin"] == Origin.AWS_CLOUDHSM:
        params["CustomKeyStoreId"] = a["store_id"]
    if a["multi_region"]:
        params["MultiRegion"] = True
    tags = key_value_lines(a["tags"])
    if tags:
        params["Tags"] = [{"TagKey": k, "TagValue": v} for k, v in tags]
    try:
        key_id = api.call("CreateKey", params)["KeyMetadata"]["KeyId"]
    except CallFailed as failed:
        return _render(page, "review", a, failed, failed.status)
    alias = a["alias"].strip().removeprefix("alias/")
    if alias:
        try:
            api.call("CreateAlias", {"AliasName": "alias/" + alias, "TargetKeyId": key_id})
        except CallFailed as failed:
            return key_detail.page(page, key_id, error=failed, status=failed.status)
    return page.back("keys", key_id, notice="created")
