"""Custom key stores (issue 21, spec §10.1): their list and connection state,
create, connect, disconnect and delete, as the signed-in principal. The key store
password is sent to CreateCustomKeyStore and never shown again (the API never returns it)."""

from __future__ import annotations

from typing import Any

from trent.server.console.calls import CallFailed
from trent.server.console.http import Reply
from trent.server.console.page import Page

_ACTIONS = {
    "connect": ("ConnectCustomKeyStore", "store-connected"),
    "disconnect": ("DisconnectCustomKeyStore", "store-disconnected"),
    "delete": ("DeleteCustomKeyStore", "store-deleted"),
}


def page(page: Page, *, error: CallFailed | str | None = None, draft: dict[str, str] | None = None,
         status: int = 200) -> Reply:
    try:
        stores: list[dict[str, Any]] | CallFailed = list(page.api.pages("DescribeCustomKeyStores", {},
                                                                        "CustomKeyStores"))
    except CallFailed as failed:
        stores = failed
    if status == 200 and error is not None:
        status = error.status if isinstance(error, CallFailed) else 400
    return page.render("key_stores.html", status, section="key-stores", stores=stores, error=error,
                       draft=draft or {})


def create(page_: Page) -> Reply:
    form = page_.form
    draft = {"name": form.get("name").strip(), "cluster": form.get("cluster").strip(),
             "anchor": form.get("anchor")}
    params = {"CustomKeyStoreName": draft["name"], "CloudHsmClusterId": draft["cluster"],
              "TrustAnchorCertificate": draft["anchor"], "KeyStorePassword": form.get("password")}
    try:
        page_.api.call("CreateCustomKeyStore", params)
    except CallFailed as failed:
        return page(page_, error=failed, draft=draft)
    return page_.back("key-stores", notice="store-created")


def act(page_: Page, store_id: str, action: str) -> Reply:
    operation, notice = _ACTIONS[action]
    try:
        page_.api.call(operation, {"CustomKeyStoreId": store_id})
    except CallFailed as failed:
        return page(page_, error=failed)
    return page_.back("key-stores", notice=notice)
