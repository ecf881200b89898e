"""Custom key stores on the wire (issue 7, spec §10.1): the six store operations,
GenerateRandom with CustomKeyStoreId, and CloudHsmClusterId in KeyMetadata.

Merged into ``OPERATIONS`` by :func:`register` (before issue 4's usage wrapping).
"""

from __future__ import annotations

from typing import Any

from trent.domain.custom_key_stores import CustomKeyStore
from trent.protocol.operations import Handler, Operation, Outcome, Request, b64
from trent.service import custom_key_stores as cks
from trent.service import encryption
from trent.service.context import RequestContext
from trent.service.deps import ServiceDeps


def store_entry(store: CustomKeyStore) -> dict[str, Any]:
    """CustomKeyStoresListEntry; optional members omitted (spec §1.2)."""
    entry: dict[str, Any] = {
        "CustomKeyStoreId": store.custom_key_store_id,
        "CustomKeyStoreName": store.name,
        "CustomKeyStoreType": str(store.store_type),
    }
    if store.cloud_hsm_cluster_id is not None:
        entry["CloudHsmClusterId"] = store.cloud_hsm_cluster_id
    if store.trust_anchor_certificate is not None:
        entry["TrustAnchorCertificate"] = store.trust_anchor_certificate
    entry["ConnectionState"] = str(store.connection_state)
    if store.connection_error_code is not None:
        entry["ConnectionErrorCode"] = str(store.connection_error_code)
    entry["CreationDate"] = store.created_at
    return entry


def _create(deps: ServiceDeps, ctx: RequestContext, r: Request) -> Outcome:
    store = cks.create(
        deps,
        ctx,
        cks.CreateRequest(
            name=r["CustomKeyStoreName"],
            store_type=r.get("CustomKeyStoreType"),
            cloud_hsm_cluster_id=r.get("CloudHsmClusterId"),
            trust_anchor_certificate=r.get("TrustAnchorCertificate"),
            key_store_password=r.get("KeyStorePassword"),
        ),
    )
    return Outcome({"CustomKeyStoreId": store.custom_key_store_id}, (), {"customKeyStoreId": store.custom_key_store_id})


def _describe(deps: ServiceDeps, ctx: RequestContext, r: Request) -> Outcome:
    page = cks.describe(deps, ctx, r.get("CustomKeyStoreId"), r.get("CustomKeyStoreName"), r.get("Limit"), r.get("Marker"))
    body: dict[str, Any] = {"CustomKeyStores": [store_entry(s) for s in page.items], "Truncated": page.next_marker is not None}
    if page.next_marker is not None:
        body["NextMarker"] = page.next_marker
    return Outcome(body)


def _update(deps: ServiceDeps, ctx: RequestContext, r: Request) -> Outcome:
    cks.update(
        deps,
        ctx,
        cks.UpdateRequest(
            custom_key_store_id=r["CustomKeyStoreId"],
            new_name=r.get("NewCustomKeyStoreName"),
            cloud_hsm_cluster_id=r.get("CloudHsmClusterId"),
            key_store_password=r.get("KeyStorePassword"),
        ),
    )
    return Outcome({})


def _by_id(fn) -> Handler:
    def handler(deps: ServiceDeps, ctx: RequestContext, r: Request) -> Outcome:
        fn(deps, ctx, r["CustomKeyStoreId"])
        return Outcome({})

    return handler


def _generate_random(deps: ServiceDeps, ctx: RequestContext, r: Request) -> Outcome:
    store_id = r.get("CustomKeyStoreId")
    n = r.get("NumberOfBytes")
    if store_id is None or n is None:  # without NumberOfBytes: the same validation error
        return Outcome({"Plaintext": b64(encryption.generate_random(deps, ctx, n))})
    return Outcome({"Plaintext": b64(cks.generate_random(deps, ctx, int(n), store_id))})


def _with_cluster_id(handler: Handler) -> Handler:
    """DescribeKey/CreateKey: a key in a CloudHSM store also shows CloudHsmClusterId."""

    def wrapped(deps: ServiceDeps, ctx: RequestContext, r: Request) -> Outcome:
        outcome = handler(deps, ctx, r)
        md = outcome.body.get("KeyMetadata")
        if md is not None and "CustomKeyStoreId" in md:
            store = deps.storage.get_custom_key_store(md["CustomKeyStoreId"])
            if store is not None and store.cloud_hsm_cluster_id is not None:
                md["CloudHsmClusterId"] = store.cloud_hsm_cluster_id
        return outcome

    return wrapped


CUSTOM_KEY_STORE_OPERATIONS = (
    Operation("CreateCustomKeyStore", _create),
    Operation("DescribeCustomKeyStores", _describe),
    Operation("UpdateCustomKeyStore", _update),
    Operation("ConnectCustomKeyStore", _by_id(cks.connect)),
    Operation("DisconnectCustomKeyStore", _by_id(cks.disconnect)),
    Operation("DeleteCustomKeyStore", _by_id(cks.delete)),
)


def register(operations: dict[str, Operation]) -> None:
    operations.update({op.name: op for op in CUSTOM_KEY_STORE_OPERATIONS})
    old = operations["GenerateRandom"]
    # A CustomKeyStoreId means the HSM's generator (a management-like call: worker thread).
    operations["GenerateRandom"] = Operation("GenerateRandom", _generate_random, inline=old.inline)
    for name in ("CreateKey", "DescribeKey"):
        op = operations[name]
        operations[name] = Operation(op.name, _with_cluster_id(op.handler), inline=op.inline)
