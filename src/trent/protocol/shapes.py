"""Domain objects -> AWS JSON output shapes (member names exactly as the model's).

Optional members are omitted, never null (spec §1.2).
"""

from __future__ import annotations

from typing import Any

from trent.domain.key_specs import KEY_SPECS
from trent.domain.keys import Alias, Key, KeySpec, KeyState, KeyUsage
from trent.domain.multi_region import MultiRegionConfiguration

# CustomerMasterKeySpec's enum lacks the newer specs (spec §3.1): emit KeySpec only there.
_LEGACY_SPECS = frozenset(
    s for s in KeySpec
    if s not in (KeySpec.ECC_NIST_EDWARDS25519, KeySpec.ML_DSA_44, KeySpec.ML_DSA_65, KeySpec.ML_DSA_87,
                 KeySpec.ML_KEM_512, KeySpec.ML_KEM_768, KeySpec.ML_KEM_1024)
)


def key_metadata(key: Key, mrk: MultiRegionConfiguration | None = None) -> dict[str, Any]:
    """DescribeKey's KeyMetadata with the presence rules of spec §5.2; ``mrk`` is the
    multi-Region configuration of a multi-Region key (service.multi_region.configuration_of)."""
    info = KEY_SPECS[key.key_spec]
    md: dict[str, Any] = {
        "AWSAccountId": key.account_id,
        "KeyId": key.key_id,
        "Arn": key.arn,
        "CreationDate": key.created_at,
        "Enabled": key.enabled,
        "Description": key.description,
        "KeyUsage": str(key.key_usage),
        "KeyState": str(key.state),
        "Origin": str(key.origin),
        "KeyManager": str(key.key_manager),
    }
    if key.key_spec in _LEGACY_SPECS:
        md["CustomerMasterKeySpec"] = str(key.key_spec)
    md["KeySpec"] = str(key.key_spec)
    if key.deletion_date is not None and key.state is KeyState.PENDING_DELETION:
        md["DeletionDate"] = key.deletion_date
    if key.state is KeyState.PENDING_REPLICA_DELETION and key.pending_window_days is not None:
        md["PendingDeletionWindowInDays"] = key.pending_window_days
    algorithms = info.algorithms_by_usage[key.key_usage]
    member = {
        KeyUsage.ENCRYPT_DECRYPT: "EncryptionAlgorithms",
        KeyUsage.SIGN_VERIFY: "SigningAlgorithms",
        KeyUsage.GENERATE_VERIFY_MAC: "MacAlgorithms",
        KeyUsage.KEY_AGREEMENT: "KeyAgreementAlgorithms",
        KeyUsage.ENCAPSULATE_DECAPSULATE: "EncapsulationAlgorithms",
    }[key.key_usage]
    md[member] = list(algorithms)
    md["MultiRegion"] = key.multi_region
    if key.multi_region and mrk is not None:
        md["MultiRegionConfiguration"] = {
            "MultiRegionKeyType": mrk.key_type,
            "PrimaryKey": {"Arn": mrk.primary.arn, "Region": mrk.primary.region},
            "ReplicaKeys": [{"Arn": r.arn, "Region": r.region} for r in mrk.replicas],
        }
    if key.key_spec is KeySpec.SYMMETRIC_DEFAULT and key.current_material_id is not None:
        md["CurrentKeyMaterialId"] = key.current_material_id
    if key.custom_key_store_id is not None:
        md["CustomKeyStoreId"] = key.custom_key_store_id
    # spec §5.2: EXTERNAL keys with material imported; ValidTo only when it expires.
    if key.expiration_model is not None:
        md["ExpirationModel"] = key.expiration_model
        if key.valid_to is not None:
            md["ValidTo"] = key.valid_to
    return md


def alias_entry(alias: Alias) -> dict[str, Any]:
    entry: dict[str, Any] = {"AliasName": alias.name, "AliasArn": alias.arn}
    if alias.target_key_id is not None:
        entry["TargetKeyId"] = alias.target_key_id
    entry["CreationDate"] = alias.created_at
    entry["LastUpdatedDate"] = alias.updated_at
    return entry


def lower_camel(obj: Any) -> Any:
    """CloudTrail renders response elements in lowerCamelCase (spec §11)."""
    if isinstance(obj, dict):
        return {(k[:1].lower() + k[1:]): lower_camel(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [lower_camel(v) for v in obj]
    return obj
