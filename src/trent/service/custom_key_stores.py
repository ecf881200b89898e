"""Custom key stores of type AWS_CLOUDHSM, backed by configured PKCS#11 tokens (spec §10.1).

CloudHsmClusterId names a token in Trent's configuration (``--hsm-cluster``);
KeyStorePassword is that token's user PIN (AWS's ``kmsuser`` password), kept only
wrapped under the root of trust. Connection state lives in the database; the live
PKCS#11 sessions live in this process's :class:`~trent.keystores.router.KeyStoreRouter`.

ConnectCustomKeyStore is asynchronous at AWS (CONNECTING, then CONNECTED or FAILED).
Logging in to a local token takes milliseconds, so Trent records CONNECTING, connects
within the call and records the outcome before answering ``{}``: a caller that polls
DescribeCustomKeyStores, as AWS's documentation says to, sees the final state at once.
"""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass, field

from trent.domain.custom_key_stores import (
    ConnectionErrorCode,
    ConnectionState,
    CustomKeyStore,
    CustomKeyStoreType,
)
from trent.domain.keys import KeySpec, Origin
from trent.errors import (
    CloudHsmClusterNotFound,
    CustomKeyStoreHasCMKs,
    CustomKeyStoreInvalidState,
    CustomKeyStoreNameInUse,
    CustomKeyStoreNotFound,
    IncorrectTrustAnchor,
    KMSInternal,
    LimitExceeded,
    UnsupportedOperation,
    ValidationError,
)
from trent.keystores.base import KeyStoreError
from trent.service.locking import locked_account, locked_store
from trent.keystores.pkcs11 import LoginFailed, Pkcs11KeyStore, TokenNotFound, find_token
from trent.service.authorization import authorize_account
from trent.service.context import RequestContext
from trent.service.deps import ServiceDeps
from trent.service.pagination import paginate_list
from trent.storage.repositories import Duplicate, Page

MAX_STORES_PER_REGION = 10  # spec §10.1
_PASSWORD_AAD = b"trent/custom-key-store-password/v1\x00"
_PEM_RE = re.compile(
    r"^\s*-----BEGIN CERTIFICATE-----\s*([A-Za-z0-9+/=\s]+?)\s*-----END CERTIFICATE-----\s*$"
)


@dataclass(frozen=True, slots=True)
class CreateRequest:
    name: str
    store_type: str | None
    cloud_hsm_cluster_id: str | None
    trust_anchor_certificate: str | None
    key_store_password: str | None = field(default=None, repr=False)


@dataclass(frozen=True, slots=True)
class UpdateRequest:
    custom_key_store_id: str
    new_name: str | None = None
    cloud_hsm_cluster_id: str | None = None
    key_store_password: str | None = field(default=None, repr=False)


def _password_aad(store_id: str) -> bytes:
    return _PASSWORD_AAD + store_id.encode()


password_aad = _password_aad  # public: `trent admin rewrap-root` re-wraps these rows


def check_trust_anchor(pem: str) -> None:
    """Form only: one PEM CERTIFICATE block whose body is base64 of a DER SEQUENCE.

    AWS also checks that it issued the cluster's HSM certificates; a PKCS#11 token
    has no such chain, so the form is what can be validated (issue 7).
    """
    m = _PEM_RE.match(pem)
    der = b""
    if m is not None:
        try:
            der = base64.b64decode("".join(m[1].split()), validate=True)
        except (binascii.Error, ValueError):
            der = b""
    if len(der) < 2 or der[0] != 0x30:
        raise IncorrectTrustAnchor("The trust anchor certificate is not a valid PEM-encoded X.509 certificate.")


def _require_cluster(deps: ServiceDeps, cluster_id: str) -> None:
    config = deps.hsm_clusters.get(cluster_id)
    if config is None:
        raise CloudHsmClusterNotFound(f"Cluster {cluster_id} does not exist or is not configured on this server.")
    try:
        find_token(config)
    except KeyStoreError:
        raise CloudHsmClusterNotFound(f"The token for cluster {cluster_id} cannot be found.") from None


def _get(deps: ServiceDeps, ctx: RequestContext, store_id: str) -> CustomKeyStore:
    store = deps.storage.get_custom_key_store(store_id)
    if store is None or store.account_id != ctx.account_id or store.region != ctx.region:
        raise CustomKeyStoreNotFound(f"Custom key store ID {store_id} is not found.")
    return store


def _new_store_id(deps: ServiceDeps) -> str:
    # The model's CustomKeyStoreIdType: "cks-" + 17 hex digits, like AWS's.
    return "cks-" + deps.rng(9).hex()[:17]


def create(deps: ServiceDeps, ctx: RequestContext, req: CreateRequest) -> CustomKeyStore:
    authorize_account(deps, ctx, "CreateCustomKeyStore")  # IAM-only (spec §7.3)
    store_type = CustomKeyStoreType(req.store_type or CustomKeyStoreType.AWS_CLOUDHSM)
    if store_type is CustomKeyStoreType.EXTERNAL_KEY_STORE:
        raise UnsupportedOperation("External key stores (XKS) are not supported by this Trent server.")
    for member, value in (
        ("CloudHsmClusterId", req.cloud_hsm_cluster_id),
        ("TrustAnchorCertificate", req.trust_anchor_certificate),
        ("KeyStorePassword", req.key_store_password),
    ):
        if value is None:
            raise ValidationError(f"{member} is required for a custom key store of type AWS_CLOUDHSM.")
    assert req.cloud_hsm_cluster_id and req.trust_anchor_certificate and req.key_store_password
    _require_cluster(deps, req.cloud_hsm_cluster_id)
    check_trust_anchor(req.trust_anchor_certificate)
    store_id = _new_store_id(deps)
    store = CustomKeyStore(
        custom_key_store_id=store_id,
        account_id=ctx.account_id,
        region=ctx.region,
        name=req.name,
        store_type=store_type,
        cloud_hsm_cluster_id=req.cloud_hsm_cluster_id,
        trust_anchor_certificate=req.trust_anchor_certificate,
        wrapped_password=deps.root_key.wrap(req.key_store_password.encode(), _password_aad(store_id)),
        created_at=ctx.now,
    )
    # The per-Region limit is counted under the account's row lock (issue 20).
    with locked_account(deps, ctx.account_id):
        if len(deps.storage.list_custom_key_stores(ctx.account_id, ctx.region)) >= MAX_STORES_PER_REGION:
            raise LimitExceeded(
                f"The request was rejected because you have reached the limit of {MAX_STORES_PER_REGION} custom key stores."
            )
        try:
            deps.storage.create_custom_key_store(store)
        except Duplicate:
            raise CustomKeyStoreNameInUse(f"Custom key store name {req.name} is already in use.") from None
    return store


def describe(
    deps: ServiceDeps,
    ctx: RequestContext,
    store_id: str | None,
    name: str | None,
    limit: int | None,
    marker: str | None,
) -> Page[CustomKeyStore]:
    authorize_account(deps, ctx, "DescribeCustomKeyStores")  # IAM-only (spec §7.3)
    if store_id is not None and name is not None:
        raise ValidationError("You cannot specify both CustomKeyStoreId and CustomKeyStoreName.")
    stores = deps.storage.list_custom_key_stores(ctx.account_id, ctx.region)
    if store_id is not None:
        stores = [s for s in stores if s.custom_key_store_id == store_id]
        if not stores:
            raise CustomKeyStoreNotFound(f"Custom key store ID {store_id} is not found.")
    elif name is not None:
        stores = [s for s in stores if s.name == name]
        if not stores:
            raise CustomKeyStoreNotFound(f"Custom key store name {name} is not found.")
    return paginate_list(stores, limit or 1000, marker)


def connect(deps: ServiceDeps, ctx: RequestContext, store_id: str) -> None:
    authorize_account(deps, ctx, "ConnectCustomKeyStore")  # IAM-only (spec §7.3)
    _get(deps, ctx, store_id)
    # DISCONNECTED -> CONNECTING under the row lock (issue 20): of racing Connect calls one
    # logs in; the others see CONNECTING (or CONNECTED) and answer accordingly.
    with locked_store(deps, store_id) as store:
        if store.connection_state is ConnectionState.CONNECTED:
            return  # already connected: AWS answers success
        if store.connection_state is not ConnectionState.DISCONNECTED:
            raise CustomKeyStoreInvalidState(
                f"Custom key store {store_id} is in the {store.connection_state} state; "
                "disconnect it before connecting it again."
            )
        deps.storage.update_custom_key_store(
            store.with_changes(connection_state=ConnectionState.CONNECTING, connection_error_code=None)
        )
    outcome = store.with_changes(connection_state=ConnectionState.CONNECTED, connection_error_code=None)
    try:
        attach(deps, store)
    except LoginFailed:
        outcome = store.with_changes(
            connection_state=ConnectionState.FAILED, connection_error_code=ConnectionErrorCode.INVALID_CREDENTIALS
        )
    except TokenNotFound:
        outcome = store.with_changes(
            connection_state=ConnectionState.FAILED, connection_error_code=ConnectionErrorCode.CLUSTER_NOT_FOUND
        )
    except KeyStoreError:
        outcome = store.with_changes(
            connection_state=ConnectionState.FAILED, connection_error_code=ConnectionErrorCode.INTERNAL_ERROR
        )
    deps.storage.update_custom_key_store(outcome)


def attach(deps: ServiceDeps, store: CustomKeyStore) -> None:
    """Log in to the store's token and route its keys to it (connect; server start)."""
    router = deps.key_stores
    config = deps.hsm_clusters.get(store.cloud_hsm_cluster_id or "")
    if router is None or config is None:
        raise TokenNotFound("the store's cluster is not configured on this server")
    pin = deps.root_key.unwrap(store.wrapped_password, _password_aad(store.custom_key_store_id)).decode()
    router.attach(store.custom_key_store_id, Pkcs11KeyStore(config, pin, store.custom_key_store_id))


def disconnect(deps: ServiceDeps, ctx: RequestContext, store_id: str) -> None:
    authorize_account(deps, ctx, "DisconnectCustomKeyStore")  # IAM-only (spec §7.3)
    store = _get(deps, ctx, store_id)
    if deps.key_stores is not None:
        deps.key_stores.detach(store_id)
    if store.connection_state is not ConnectionState.DISCONNECTED:
        deps.storage.update_custom_key_store(
            store.with_changes(connection_state=ConnectionState.DISCONNECTED, connection_error_code=None)
        )


def update(deps: ServiceDeps, ctx: RequestContext, req: UpdateRequest) -> None:
    authorize_account(deps, ctx, "UpdateCustomKeyStore")  # IAM-only (spec §7.3)
    _get(deps, ctx, req.custom_key_store_id)
    with locked_store(deps, req.custom_key_store_id) as store:
        _update_locked(deps, req, store)


def _update_locked(deps: ServiceDeps, req: UpdateRequest, store: CustomKeyStore) -> None:
    changed = store
    if req.cloud_hsm_cluster_id is not None or req.key_store_password is not None:
        # spec §10.1: only the name may change while the store is not DISCONNECTED.
        if store.connection_state is not ConnectionState.DISCONNECTED:
            raise CustomKeyStoreInvalidState(
                f"Custom key store {store.custom_key_store_id} must be disconnected to change its "
                "cluster or password."
            )
    if req.cloud_hsm_cluster_id is not None:
        _require_cluster(deps, req.cloud_hsm_cluster_id)
        changed = changed.with_changes(cloud_hsm_cluster_id=req.cloud_hsm_cluster_id)
    if req.key_store_password is not None:
        wrapped = deps.root_key.wrap(req.key_store_password.encode(), _password_aad(store.custom_key_store_id))
        changed = changed.with_changes(wrapped_password=wrapped)
    if req.new_name is not None:
        changed = changed.with_changes(name=req.new_name)
    if changed != store:
        try:
            deps.storage.update_custom_key_store(changed)
        except Duplicate:
            raise CustomKeyStoreNameInUse(f"Custom key store name {req.new_name} is already in use.") from None


def delete(deps: ServiceDeps, ctx: RequestContext, store_id: str) -> None:
    authorize_account(deps, ctx, "DeleteCustomKeyStore")  # IAM-only (spec §7.3)
    _get(deps, ctx, store_id)
    # Under the store's row lock, which CreateKey in this store also takes (issue 20).
    with locked_store(deps, store_id) as store:
        if store.connection_state is not ConnectionState.DISCONNECTED:
            raise CustomKeyStoreInvalidState(
                f"Custom key store {store_id} must be disconnected before it can be deleted."
            )
        if deps.storage.count_keys_in_custom_key_store(store_id):
            raise CustomKeyStoreHasCMKs(
                f"Custom key store {store_id} still holds KMS keys; delete them before deleting the store."
            )
        deps.storage.delete_custom_key_store(store_id)


def store_for_new_key(
    deps: ServiceDeps, ctx: RequestContext, origin: Origin, store_id: str | None, spec: KeySpec, multi_region: bool
) -> str:
    """CreateKey in a custom key store (spec §10.1): the checks, in AWS's order.

    Returns the store id; the key's material is then created inside its HSM.
    """
    if origin is Origin.EXTERNAL_KEY_STORE:
        raise UnsupportedOperation("External key stores (XKS) are not supported by this Trent server.")
    if store_id is None:
        raise ValidationError("You must specify a CustomKeyStoreId when Origin is AWS_CLOUDHSM.")
    if origin is not Origin.AWS_CLOUDHSM:
        raise ValidationError("When you specify a CustomKeyStoreId, Origin must be AWS_CLOUDHSM.")
    store = _get(deps, ctx, store_id)
    if spec is not KeySpec.SYMMETRIC_DEFAULT:
        raise UnsupportedOperation(f"KeySpec {spec} is not supported for KMS keys in a custom key store.")
    if multi_region:
        raise UnsupportedOperation("Multi-Region keys cannot be created in a custom key store.")
    require_connected(store)
    if deps.key_stores is None:
        raise CustomKeyStoreInvalidState(f"Custom key store {store_id} is not connected.")
    if not deps.key_stores.connected(store_id):
        # Connected according to the database, but not in this process (another node).
        raise KMSInternal(audit_reason="custom key store not attached in this process")
    return store_id


def require_connected(store: CustomKeyStore) -> None:
    """CreateKey's rule (spec §10.1); checked again under the store's row lock (issue 20)."""
    if store.connection_state is not ConnectionState.CONNECTED:
        raise CustomKeyStoreInvalidState(f"Custom key store {store.custom_key_store_id} is not connected.")


def new_key_material(deps: ServiceDeps, store_id: str, key_id: str) -> tuple[str, bytes]:
    assert deps.key_stores is not None
    try:
        return deps.key_stores.new_material_in(store_id, key_id)
    except KeyStoreError as exc:
        raise KMSInternal(audit_reason=f"HSM key generation: {exc}") from None


def generate_random(deps: ServiceDeps, ctx: RequestContext, number_of_bytes: int, store_id: str) -> bytes:
    """GenerateRandom with CustomKeyStoreId: from the HSM's generator (spec §10.1)."""
    authorize_account(deps, ctx, "GenerateRandom")  # IAM-only (spec §7.3)
    _get(deps, ctx, store_id)
    if deps.key_stores is None or not deps.key_stores.connected(store_id):
        raise CustomKeyStoreInvalidState(f"Custom key store {store_id} is not connected.")
    try:
        return deps.key_stores.store(store_id).random_bytes(number_of_bytes)
    except KeyStoreError as exc:
        raise KMSInternal(audit_reason=f"HSM random: {exc}") from None


def reconnect_all(deps: ServiceDeps) -> list[str]:
    """Server start: log in again to every store the database says is CONNECTED.

    A store whose token no longer accepts its PIN (or has gone) becomes FAILED.
    Returns the ids that could not be reconnected.
    """
    failed: list[str] = []
    for store in deps.storage.list_custom_key_stores():
        if store.connection_state is not ConnectionState.CONNECTED:
            continue
        try:
            attach(deps, store)
        except KeyStoreError:
            failed.append(store.custom_key_store_id)
            deps.storage.update_custom_key_store(
                store.with_changes(
                    connection_state=ConnectionState.FAILED, connection_error_code=ConnectionErrorCode.INTERNAL_ERROR
                )
            )
    return failed
