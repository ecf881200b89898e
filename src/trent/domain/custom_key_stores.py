"""Custom key stores (spec §10.1) as plain frozen data.

A CloudHSM-type store maps to a configured PKCS#11 token: ``cloud_hsm_cluster_id``
names the token in Trent's configuration, and ``key_store_password`` (the token's
user PIN, AWS's ``kmsuser`` password) is kept only wrapped under the root of trust.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field, replace


class CustomKeyStoreType(enum.StrEnum):
    AWS_CLOUDHSM = "AWS_CLOUDHSM"
    EXTERNAL_KEY_STORE = "EXTERNAL_KEY_STORE"


class ConnectionState(enum.StrEnum):
    """spec §10.1: DISCONNECTED -> CONNECTING -> CONNECTED | FAILED; DISCONNECTING -> DISCONNECTED."""

    CONNECTED = "CONNECTED"
    CONNECTING = "CONNECTING"
    FAILED = "FAILED"
    DISCONNECTED = "DISCONNECTED"
    DISCONNECTING = "DISCONNECTING"


class ConnectionErrorCode(enum.StrEnum):
    """The subset of the model's ConnectionErrorCodeType a PKCS#11 token can produce."""

    INVALID_CREDENTIALS = "INVALID_CREDENTIALS"
    CLUSTER_NOT_FOUND = "CLUSTER_NOT_FOUND"
    NETWORK_ERRORS = "NETWORK_ERRORS"
    INTERNAL_ERROR = "INTERNAL_ERROR"
    INSUFFICIENT_CLOUDHSM_HSMS = "INSUFFICIENT_CLOUDHSM_HSMS"
    USER_LOCKED_OUT = "USER_LOCKED_OUT"


@dataclass(frozen=True, slots=True)
class CustomKeyStore:
    custom_key_store_id: str  # cks-<17 hex>
    account_id: str
    region: str
    name: str
    store_type: CustomKeyStoreType
    cloud_hsm_cluster_id: str | None
    trust_anchor_certificate: str | None
    wrapped_password: bytes = field(repr=False)  # the PIN, wrapped under the root key
    connection_state: ConnectionState = ConnectionState.DISCONNECTED
    connection_error_code: ConnectionErrorCode | None = None
    created_at: float = 0.0

    def with_changes(self, **changes: object) -> CustomKeyStore:
        return replace(self, **changes)  # type: ignore[arg-type]
