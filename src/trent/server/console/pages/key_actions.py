"""The actions on a key's page (issue 21), one API call each, as the signed-in principal:
enable/disable, schedule/cancel deletion (with the waiting period), rotate now, automatic
rotation on/off with its period, and edits of the description, tags and aliases.

A success goes back to the key's page with a notice; a failure shows the key's page with
the API's error (its type and message, as the wire has them).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from trent.server.console.calls import CallFailed
from trent.server.console.http import Form, Reply
from trent.server.console.page import Page
from trent.server.console.pages import key_detail

Plan = tuple[str, dict[str, Any], str]  # (operation, parameters, notice)


def _number(text: str) -> int | str:
    """An integer field; anything else goes to the API as typed, which refuses it in its own words."""
    text = text.strip()
    return int(text) if text.isdigit() else text


def _alias_name(text: str) -> str:
    text = text.strip()
    return text if text.startswith("alias/") else "alias/" + text


def _enable(key_id: str, form: Form) -> Plan:
    return "EnableKey", {"KeyId": key_id}, "enabled"


def _disable(key_id: str, form: Form) -> Plan:
    return "DisableKey", {"KeyId": key_id}, "disabled"


def _schedule_deletion(key_id: str, form: Form) -> Plan:
    return "ScheduleKeyDeletion", {"KeyId": key_id, "PendingWindowInDays": _number(form.get("days", "30"))}, \
        "deletion-scheduled"


def _cancel_deletion(key_id: str, form: Form) -> Plan:
    return "CancelKeyDeletion", {"KeyId": key_id}, "deletion-cancelled"


def _rotate(key_id: str, form: Form) -> Plan:
    return "RotateKeyOnDemand", {"KeyId": key_id}, "rotated"


def _rotation(key_id: str, form: Form) -> Plan:
    if form.get("enabled") == "true":
        params: dict[str, Any] = {"KeyId": key_id}
        if form.get("period").strip():
            params["RotationPeriodInDays"] = _number(form.get("period"))
        return "EnableKeyRotation", params, "rotation-enabled"
    return "DisableKeyRotation", {"KeyId": key_id}, "rotation-disabled"


def _description(key_id: str, form: Form) -> Plan:
    return "UpdateKeyDescription", {"KeyId": key_id, "Description": form.get("description")}, "description-updated"


def _tag(key_id: str, form: Form) -> Plan:
    tag = {"TagKey": form.get("tag_key").strip(), "TagValue": form.get("tag_value")}
    return "TagResource", {"KeyId": key_id, "Tags": [tag]}, "tag-saved"


def _untag(key_id: str, form: Form) -> Plan:
    return "UntagResource", {"KeyId": key_id, "TagKeys": [form.get("tag_key")]}, "tag-removed"


def _add_alias(key_id: str, form: Form) -> Plan:
    return "CreateAlias", {"AliasName": _alias_name(form.get("alias")), "TargetKeyId": key_id}, "alias-added"


def _remove_alias(key_id: str, form: Form) -> Plan:
    return "DeleteAlias", {"AliasName": _alias_name(form.get("alias"))}, "alias-removed"


ACTIONS: dict[str, Callable[[str, Form], Plan]] = {
    "enable": _enable,
    "disable": _disable,
    "schedule-deletion": _schedule_deletion,
    "cancel-deletion": _cancel_deletion,
    "rotate": _rotate,
    "rotation": _rotation,
    "description": _description,
    "tag": _tag,
    "untag": _untag,
    "alias-add": _add_alias,
    "alias-remove": _remove_alias,
}


def run(page: Page, key_id: str, action: str) -> Reply:
    operation, params, notice = ACTIONS[action](key_id, page.form)
    try:
        page.api.call(operation, params)
    except CallFailed as failed:
        return key_detail.page(page, key_id, error=failed)
    return page.back("keys", key_id, notice=notice)
