"""THE operation x key-state table (spec §4.3) and its messages (spec §4.2).

``check_state(operation, key)`` raises the AWS error for a key whose state does not
allow the operation, and returns quietly otherwise. Rows are operations, columns
states; a missing cell means "allowed".
"""

from __future__ import annotations

import enum
from types import MappingProxyType

from trent.domain.keys import Key, KeyState
from trent.errors import Disabled, KMSInvalidState


class Verdict(enum.Enum):
    DIS = "is disabled."
    PDEL = "is pending deletion."
    NPD = "is not pending deletion."
    PIMP = "is pending import."
    UNAV = "is unavailable."
    CRE = "is creating."
    UPD = "is updating."


S = KeyState
V = Verdict
_ALL = tuple(KeyState)

# Crypto with a KMS key (spec §4.3 rows 1-2).
_CRYPTO: dict[KeyState, Verdict] = {S.DISABLED: V.DIS, S.PENDING_DELETION: V.PDEL, S.PENDING_REPLICA_DELETION: V.PDEL,
           S.PENDING_IMPORT: V.PIMP, S.UNAVAILABLE: V.UNAV, S.CREATING: V.CRE}
_ANY_STATE: dict[KeyState, Verdict] = {}
_ENABLE_DISABLE: dict[KeyState, Verdict] = {S.PENDING_DELETION: V.PDEL, S.PENDING_REPLICA_DELETION: V.PDEL,
                   S.PENDING_IMPORT: V.PIMP, S.CREATING: V.CRE, S.UPDATING: V.UPD}
_NOT_PENDING_DELETION: dict[KeyState, Verdict] = {s: V.NPD for s in _ALL if s not in (S.PENDING_DELETION, S.PENDING_REPLICA_DELETION)}
_MANAGE: dict[KeyState, Verdict] = {S.PENDING_DELETION: V.PDEL, S.PENDING_REPLICA_DELETION: V.PDEL}

_Row = tuple[tuple[str, ...], dict[KeyState, Verdict]]  # (operations, their verdicts by state)


def _typed_rows(*rows: _Row) -> tuple[_Row, ...]:
    """The rows as given; typed, so that each row's dict literal is a dict[KeyState, Verdict]."""
    return rows


STATE_TABLE: MappingProxyType[str, MappingProxyType[KeyState, Verdict]] = MappingProxyType(
    {
        op: MappingProxyType(row)
        for ops, row in _typed_rows(
            (
                (
                    "Encrypt", "Decrypt", "ReEncrypt", "GenerateDataKey", "GenerateDataKeyWithoutPlaintext",
                    "GenerateDataKeyPair", "GenerateDataKeyPairWithoutPlaintext",
                    "Sign", "Verify", "GenerateMac", "VerifyMac", "GetPublicKey", "DeriveSharedSecret",
                    "Encapsulate", "Decapsulate",
                ),
                _CRYPTO,
            ),
            (("CreateGrant",), {k: v for k, v in _CRYPTO.items() if k is not S.UNAVAILABLE}),
            (
                (
                    "DescribeKey", "GetKeyPolicy", "PutKeyPolicy", "ListGrants", "ListKeyPolicies",
                    "ListResourceTags", "ListAliases", "DeleteAlias", "RetireGrant", "RevokeGrant",
                    "GetKeyLastUsage",
                ),
                _ANY_STATE,
            ),
            (("EnableKey", "DisableKey"), _ENABLE_DISABLE),
            (("ScheduleKeyDeletion",), {S.PENDING_DELETION: V.PDEL, S.PENDING_REPLICA_DELETION: V.PDEL,
                                        S.UPDATING: V.UPD}),
            (("CancelKeyDeletion",), _NOT_PENDING_DELETION),
            (("CreateAlias", "TagResource", "UntagResource", "UpdateKeyDescription", "UpdateAlias"), _MANAGE),
            # Rotation and import (issue 4). Key-type and origin refusals (UNS, EXT) are
            # checked before these by service/rotation.py and service/imports.py.
            (("EnableKeyRotation", "DisableKeyRotation"),
             {k: v for k, v in _CRYPTO.items() if k is not S.UNAVAILABLE}),
            (("GetKeyRotationStatus", "ListKeyRotations"), _ANY_STATE),
            (("RotateKeyOnDemand",), {**{k: v for k, v in _CRYPTO.items() if k is not S.UNAVAILABLE},
                                      S.UPDATING: V.UPD}),
            (("GetParametersForImport",), {**_MANAGE, S.CREATING: V.CRE, S.UPDATING: V.UPD}),
            (("ImportKeyMaterial",), {**_MANAGE, S.CREATING: V.CRE}),
            (("DeleteImportedKeyMaterial",), {S.CREATING: V.CRE, S.UPDATING: V.UPD}),
            # Multi-Region keys (issue 19, spec §4.3 last rows).
            (("ReplicateKey",), {S.DISABLED: V.DIS, **_MANAGE, S.PENDING_IMPORT: V.PIMP, S.CREATING: V.CRE,
                                 S.UPDATING: V.UPD}),
            (("UpdatePrimaryRegion",), {S.DISABLED: V.DIS, **_MANAGE, S.PENDING_IMPORT: V.PIMP,
                                        S.CREATING: V.CRE}),
        )
        for op in ops
    }
)


def state_error(verdict: Verdict, key: Key) -> Exception:
    """The exception for a verdict, with the key ARN as AWS writes it (spec §4.2)."""
    message = f"{key.arn} {verdict.value}"
    if verdict is Verdict.DIS:
        return Disabled(message)
    return KMSInvalidState(message)


def check_state(operation: str, key: Key) -> None:
    verdict = STATE_TABLE[operation].get(key.state)
    if verdict is not None:
        raise state_error(verdict, key)
