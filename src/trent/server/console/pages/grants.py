"""A key's grants (issue 21): ListGrants, CreateGrant with constraints, RevokeGrant and
RetireGrant, as the signed-in principal.

CreateGrant returns a grant token; the page does not show it (a token lets its holder
use the grant at once, and the console never needs one: it creates grants for others).
The operations offered are those the key can be used for (``service.grants.operations_for``,
spec §8).
"""

from __future__ import annotations

from typing import Any

from trent.domain.keys import KeySpec, KeyUsage
from trent.server.console.calls import CallFailed
from trent.server.console.forms import key_value_lines
from trent.server.console.http import Reply
from trent.server.console.page import Page
from trent.service.grants import EQUALS, SUBSET, operations_for

_ORDER = ("Encrypt", "Decrypt", "ReEncryptFrom", "ReEncryptTo", "GenerateDataKey", "GenerateDataKeyWithoutPlaintext",
          "GenerateDataKeyPair", "GenerateDataKeyPairWithoutPlaintext", "Sign", "Verify", "GetPublicKey",
          "GenerateMac", "VerifyMac", "DeriveSharedSecret", "Encapsulate", "Decapsulate", "DescribeKey", "CreateGrant",
          "RetireGrant")


def _operations(md: dict[str, Any]) -> list[str]:
    allowed = operations_for(KeySpec(md["KeySpec"]), KeyUsage(md["KeyUsage"]))
    return [op for op in _ORDER if op in allowed]


def page(page: Page, key_id: str, *, error: CallFailed | str | None = None, draft: dict[str, Any] | None = None,
         status: int = 200) -> Reply:
    api = page.api
    md = api.attempt("DescribeKey", {"KeyId": key_id})
    if isinstance(md, CallFailed):
        return page.render("problem.html", md.status, title="Key not available", message="", error=md)
    metadata = md["KeyMetadata"]
    try:
        grants: list[dict[str, Any]] | CallFailed = list(
            api.pages("ListGrants", {"KeyId": metadata["KeyId"], "Limit": 100}, "Grants"))
    except CallFailed as failed:
        grants = failed
    if isinstance(error, CallFailed) and status == 200:
        status = error.status
    elif isinstance(error, str) and status == 200:
        status = 400
    return page.render("grants.html", status, section="keys", md=metadata, grants=grants, error=error,
                       operations=_operations(metadata), draft=draft or {"operations": []},
                       symmetric=metadata["KeySpec"] == "SYMMETRIC_DEFAULT")


def create(page: Page, key_id: str) -> Reply:
    form = page.form
    draft: dict[str, Any] = {
        "grantee": form.get("grantee").strip(), "retiring": form.get("retiring").strip(),
        "name": form.get("name").strip(), "operations": form.getlist("operations"),
        "constraint": form.get("constraint"), "context": form.get("context"),
    }
    params: dict[str, Any] = {"KeyId": key_id, "GranteePrincipal": draft["grantee"],
                              "Operations": draft["operations"]}
    if draft["retiring"]:
        params["RetiringPrincipal"] = draft["retiring"]
    if draft["name"]:
        params["Name"] = draft["name"]
    if draft["constraint"] in (EQUALS, SUBSET):
        try:
            pairs = key_value_lines(draft["context"])
        except ValueError as exc:
            return page_with(page, key_id, f"Encryption context: {exc}", draft)
        params["Constraints"] = {draft["constraint"]: dict(pairs)}
    try:
        page.api.call("CreateGrant", params)
    except CallFailed as failed:
        return page_with(page, key_id, failed, draft)
    return page.back("keys", key_id, "grants", notice="grant-created")


def page_with(page_: Page, key_id: str, error: CallFailed | str, draft: dict[str, Any]) -> Reply:
    return page(page_, key_id, error=error, draft=draft)


def end(page_: Page, key_id: str, grant_id: str, how: str) -> Reply:
    operation = "RevokeGrant" if how == "revoke" else "RetireGrant"
    try:
        page_.api.call(operation, {"KeyId": key_id, "GrantId": grant_id})
    except CallFailed as failed:
        return page(page_, key_id, error=failed)
    return page_.back("keys", key_id, "grants", notice="grant-revoked" if how == "revoke" else "grant-retired")
