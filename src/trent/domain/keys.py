"""Keys and their material, as plain frozen data (no I/O).

A :class:`Key` is the KMS key's metadata; the material lives in
:class:`KeyMaterial` rows, one per version, so a rotation adds a row and every
older ciphertext can still name the version it was sealed under (spec §5.4).
Material is only ever held *wrapped* (``wrapped`` is the key store's opaque
blob: ciphertext under the root key, or an HSM handle).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field, replace


class KeySpec(enum.StrEnum):
    SYMMETRIC_DEFAULT = "SYMMETRIC_DEFAULT"
    RSA_2048 = "RSA_2048"
    RSA_3072 = "RSA_3072"
    RSA_4096 = "RSA_4096"
    ECC_NIST_P256 = "ECC_NIST_P256"
    ECC_NIST_P384 = "ECC_NIST_P384"
    ECC_NIST_P521 = "ECC_NIST_P521"
    ECC_SECG_P256K1 = "ECC_SECG_P256K1"
    ECC_NIST_EDWARDS25519 = "ECC_NIST_EDWARDS25519"
    ML_DSA_44 = "ML_DSA_44"
    ML_DSA_65 = "ML_DSA_65"
    ML_DSA_87 = "ML_DSA_87"
    HMAC_224 = "HMAC_224"
    HMAC_256 = "HMAC_256"
    HMAC_384 = "HMAC_384"
    HMAC_512 = "HMAC_512"
    SM2 = "SM2"
    ML_KEM_512 = "ML_KEM_512"
    ML_KEM_768 = "ML_KEM_768"
    ML_KEM_1024 = "ML_KEM_1024"


class KeyUsage(enum.StrEnum):
    ENCRYPT_DECRYPT = "ENCRYPT_DECRYPT"
    SIGN_VERIFY = "SIGN_VERIFY"
    GENERATE_VERIFY_MAC = "GENERATE_VERIFY_MAC"
    KEY_AGREEMENT = "KEY_AGREEMENT"
    ENCAPSULATE_DECAPSULATE = "ENCAPSULATE_DECAPSULATE"


class Origin(enum.StrEnum):
    AWS_KMS = "AWS_KMS"
    EXTERNAL = "EXTERNAL"
    AWS_CLOUDHSM = "AWS_CLOUDHSM"
    EXTERNAL_KEY_STORE = "EXTERNAL_KEY_STORE"


class KeyState(enum.StrEnum):
    """spec §4.1. ``Enabled`` on the wire is derived: true iff state is ENABLED."""

    CREATING = "Creating"
    ENABLED = "Enabled"
    DISABLED = "Disabled"
    PENDING_DELETION = "PendingDeletion"
    PENDING_IMPORT = "PendingImport"
    PENDING_REPLICA_DELETION = "PendingReplicaDeletion"
    UNAVAILABLE = "Unavailable"
    UPDATING = "Updating"


class KeyManager(enum.StrEnum):
    AWS = "AWS"
    CUSTOMER = "CUSTOMER"


class MaterialState(enum.StrEnum):
    """Key material lifecycle (spec §5.4 ListKeyRotations.KeyMaterialState)."""

    CURRENT = "CURRENT"
    NON_CURRENT = "NON_CURRENT"
    PENDING_ROTATION = "PENDING_ROTATION"
    # Never stored: how ListKeyRotations shows PENDING_ROTATION material of a multi-Region
    # key that not every member has imported yet (spec §9, "Multi-Region").
    PENDING_MULTI_REGION_IMPORT_AND_ROTATION = "PENDING_MULTI_REGION_IMPORT_AND_ROTATION"


@dataclass(frozen=True, slots=True)
class KeyMaterial:
    """One version of a key's material, wrapped by the key store that made it.

    Generated material is shared by every member of a multi-Region key. Imported material
    is imported into each member separately (spec §9, §12): the version (id, state,
    rotation) is shared, while the bytes, ExpirationModel and ValidTo belong to one member
    (:class:`MaterialImport`). Storage hands material out as one member sees it
    (:func:`as_seen_by`); without an import, ``wrapped`` is empty and ``import_state`` is
    PENDING_IMPORT.
    """

    key_id: str
    material_id: str  # 64 lowercase hex (spec §2.1)
    wrapped: bytes = field(repr=False)  # opaque to everyone but the key store
    state: MaterialState
    created_at: float
    rotation_type: str | None = None  # AUTOMATIC | ON_DEMAND; None for the first material
    # Imported material only (spec §9); None for material Trent generated. A deleted or
    # expired import keeps its row (ciphertexts name it) with ``wrapped == b""``. The
    # three fields below are the member's (its MaterialImport), see the class doc.
    import_state: str | None = None  # IMPORTED | PENDING_IMPORT
    expiration_model: str | None = None  # KEY_MATERIAL_EXPIRES | KEY_MATERIAL_DOES_NOT_EXPIRE
    valid_to: float | None = None
    description: str | None = None


IMPORTED = "IMPORTED"
PENDING_IMPORT = "PENDING_IMPORT"


@dataclass(frozen=True, slots=True)
class MaterialImport:
    """Imported material as one member (Region) of a key holds it (spec §9, §12): each
    member imports, deletes and expires it on its own. A row exists only while the
    material is imported there."""

    region: str
    key_id: str
    material_id: str
    wrapped: bytes = field(repr=False)
    expiration_model: str  # KEY_MATERIAL_EXPIRES | KEY_MATERIAL_DOES_NOT_EXPIRE
    valid_to: float | None = None


def as_seen_by(material: KeyMaterial, imported: MaterialImport | None) -> KeyMaterial:
    """``material`` as the member holding ``imported`` (or no import of it) sees it."""
    if imported is None:
        return material
    return replace(material, wrapped=imported.wrapped, import_state=IMPORTED,
                   expiration_model=imported.expiration_model, valid_to=imported.valid_to)


@dataclass(frozen=True, slots=True)
class Key:
    """A KMS key's metadata. Never holds material."""

    key_id: str
    account_id: str
    region: str
    partition: str
    key_spec: KeySpec
    key_usage: KeyUsage
    origin: Origin
    state: KeyState
    created_at: float
    description: str = ""
    key_manager: KeyManager = KeyManager.CUSTOMER
    multi_region: bool = False
    current_material_id: str | None = None
    deletion_date: float | None = None
    pending_window_days: int | None = None
    policy: str | None = None
    custom_key_store_id: str | None = None
    # EXTERNAL keys with material imported (spec §5.2): DescribeKey's ExpirationModel and
    # ValidTo (earliest expiry of the associated material), kept here for the hot path.
    expiration_model: str | None = None
    valid_to: float | None = None
    # Multi-Region keys (spec §12): every member row (one per Region, same key id) names
    # the Region of the current primary. None for single-Region keys.
    primary_region: str | None = None
    # A transient state (Creating after ReplicateKey, Updating during UpdatePrimaryRegion,
    # spec §4.1) lasts until ``transient_until`` on the service clock; then the key reads
    # as ``settled_state`` (service/availability.py lays this over the stored row).
    transient_until: float | None = None
    settled_state: KeyState | None = None
    # The key ARN, derived once per Key object (it is read 3-4 times per crypto call:
    # authorization, the response's KeyId, the audit event's resources).
    arn: str = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "arn", f"arn:{self.partition}:kms:{self.region}:{self.account_id}:key/{self.key_id}")

    @property
    def is_replica(self) -> bool:
        return self.multi_region and self.primary_region is not None and self.primary_region != self.region

    @property
    def enabled(self) -> bool:
        return self.state is KeyState.ENABLED

    def with_changes(self, **changes: object) -> Key:
        return replace(self, **changes)  # type: ignore[arg-type]


@dataclass(frozen=True, slots=True)
class Alias:
    account_id: str
    region: str
    partition: str
    name: str  # "alias/..."
    target_key_id: str | None
    created_at: float
    updated_at: float

    @property
    def arn(self) -> str:
        return f"arn:{self.partition}:kms:{self.region}:{self.account_id}:{self.name}"


@dataclass(frozen=True, slots=True)
class Tag:
    key: str
    value: str
