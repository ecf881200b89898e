"""Import key material, BYOK (spec §9): GetParametersForImport, ImportKeyMaterial,
DeleteImportedKeyMaterial, and the sweeper step that expires material at ValidTo.

The import token is self-contained: the wrapping private key, the key ARN it is bound
to, the wrapping algorithm and the expiry, sealed under the root key (AES-GCM with a
fixed AAD). Nothing about it is stored, so the private key is never at rest outside
the token, which only the root key opens; a token for another key, a garbled one, or
one from another Trent fails authentication (InvalidImportToken), and one past its
24 hours is ExpiredImportToken.

Each member of a multi-Region key imports on its own (spec §9, §12; issue 19): the
material versions are shared by key id, while each member's import (bytes,
ExpirationModel, ValidTo) is its own ``MaterialImport``. A replica accepts only material
already associated with the key — the same material as its primary — and its key state,
ExpirationModel and ValidTo follow its own imports; deleting or expiring material in one
Region leaves the other members working.
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace

from trent.crypto import key_import
from trent.domain.key_states import check_state
from trent.domain.keys import (
    IMPORTED,
    PENDING_IMPORT,
    Key,
    KeyMaterial,
    KeySpec,
    KeyState,
    KeyUsage,
    MaterialImport,
    MaterialState,
    Origin,
    as_seen_by,
)
from trent.errors import (
    ExpiredImportToken,
    IncorrectKeyMaterial,
    InvalidCiphertext,
    InvalidImportToken,
    KMSInvalidState,
    NotFound,
    UnsupportedOperation,
    ValidationError,
)
from trent.service.context import RequestContext
from trent.service.deps import ServiceDeps
from trent.service.authorization import authorized_key
from trent.service.availability import effective
from trent.service.locking import locked_member
from trent.service.multi_region import not_primary

DAY = 86_400.0
PARAMETERS_VALID_SECONDS = DAY  # spec §9: token and public key valid 24 h
MAX_VALID_TO_SECONDS = 365 * DAY
EXPIRES = "KEY_MATERIAL_EXPIRES"
DOES_NOT_EXPIRE = "KEY_MATERIAL_DOES_NOT_EXPIRE"
NEW_KEY_MATERIAL = "NEW_KEY_MATERIAL"
EXISTING_KEY_MATERIAL = "EXISTING_KEY_MATERIAL"
_TOKEN_AAD = b"trent/import-token/v1"
_TOKEN_VERSION = b"\x01"
# HMAC material lengths in bytes (spec §3.4 / §9).
_HMAC_BYTES = {
    KeySpec.HMAC_224: (28, 64), KeySpec.HMAC_256: (32, 64), KeySpec.HMAC_384: (48, 128), KeySpec.HMAC_512: (64, 128),
}


@dataclass(frozen=True, slots=True)
class ImportParameters:
    key: Key
    token: bytes = field(repr=False)
    public_key: bytes
    valid_to: float


@dataclass(frozen=True, slots=True)
class ImportRequest:
    token: bytes = field(repr=False)
    encrypted_material: bytes = field(repr=False)
    valid_to: float | None = None
    expiration_model: str | None = None
    import_type: str | None = None
    description: str | None = None
    key_material_id: str | None = None


def _origin_error(key: Key) -> UnsupportedOperation:
    return UnsupportedOperation(f"{key.arn} origin is {key.origin} which is not valid for this operation.")


def _require_external(key: Key, operation: str) -> None:
    if key.origin is not Origin.EXTERNAL:
        raise _origin_error(key)
    check_state(operation, key)


# --- the token -----------------------------------------------------------------------


def _field(data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + data


def _seal_token(deps: ServiceDeps, key: Key, algorithm: str, valid_to: float, private: bytes) -> bytes:
    body = b"".join(
        (_field(key.arn.encode()), _field(algorithm.encode()), struct.pack(">d", valid_to), _field(private))
    )
    return _TOKEN_VERSION + deps.root_key.wrap(body, _TOKEN_AAD)


def _open_token(deps: ServiceDeps, key: Key, token: bytes, now: float) -> tuple[str, bytes]:
    """(wrapping algorithm, private key DER) or the AWS token errors."""
    try:
        if token[:1] != _TOKEN_VERSION:
            raise ValueError
        body = deps.root_key.unwrap(token[1:], _TOKEN_AAD)
        fields: list[bytes] = []
        offset = 0
        for _ in range(2):
            (n,) = struct.unpack_from(">I", body, offset)
            fields.append(body[offset + 4 : offset + 4 + n])
            offset += 4 + n
        (valid_to,) = struct.unpack_from(">d", body, offset)
        (n,) = struct.unpack_from(">I", body, offset + 8)
        private = body[offset + 12 : offset + 12 + n]
    except Exception:  # noqa: BLE001 - anything wrong with a token is the same answer
        raise InvalidImportToken(audit_reason="token does not open") from None
    if fields[0] != key.arn.encode():
        raise InvalidImportToken(audit_reason="token was issued for another key")
    if now > valid_to:
        raise ExpiredImportToken()
    return fields[1].decode(), private


def get_parameters_for_import(
    deps: ServiceDeps, ctx: RequestContext, key_id: str, algorithm: str, wrapping_key_spec: str
) -> ImportParameters:
    key = authorized_key(
        deps, ctx, key_id, "GetParametersForImport",
        extra={"kms:WrappingAlgorithm": algorithm, "kms:WrappingKeySpec": wrapping_key_spec},
    )
    _require_external(key, "GetParametersForImport")
    if algorithm not in key_import.WRAPPING_ALGORITHMS:
        # RSAES_PKCS1_V1_5 is no longer accepted (since 2023-10-10); SM2PKE is China-only.
        raise ValidationError(f"Wrapping algorithm {algorithm} is not supported.")
    if wrapping_key_spec not in key_import.WRAPPING_KEY_BITS:
        raise ValidationError(f"Wrapping key spec {wrapping_key_spec} is not supported.")
    private, public = key_import.new_wrapping_key(wrapping_key_spec)
    valid_to = ctx.now + PARAMETERS_VALID_SECONDS
    return ImportParameters(key, _seal_token(deps, key, algorithm, valid_to, private), public, valid_to)


# --- importing -------------------------------------------------------------------------


def _check_expiration(req: ImportRequest, now: float) -> tuple[str, float | None]:
    model = req.expiration_model or EXPIRES
    if model == EXPIRES:
        if req.valid_to is None:
            raise ValidationError("A validTo date must be set if the ExpirationModel is KEY_MATERIAL_EXPIRES")
        if req.valid_to <= now or req.valid_to > now + MAX_VALID_TO_SECONDS:
            raise ValidationError("ValidTo must be in the future and at most 365 days from now.")
        return model, req.valid_to
    if req.valid_to is not None:
        raise ValidationError("ValidTo must not be set if the ExpirationModel is KEY_MATERIAL_DOES_NOT_EXPIRE")
    return model, None


def _check_material(key: Key, raw: bytes) -> None:
    """spec §9 material formats; anything else is IncorrectKeyMaterial."""
    if key.key_spec is KeySpec.SYMMETRIC_DEFAULT:
        ok = len(raw) == 32
    elif key.key_spec in _HMAC_BYTES:
        low, high = _HMAC_BYTES[key.key_spec]
        ok = low <= len(raw) <= high
    else:
        ok = key_import.private_key_spec(raw) == key.key_spec.value
    if not ok:
        raise IncorrectKeyMaterial(audit_reason="material does not fit the key spec")


def key_with_import_summary(key: Key, materials: Sequence[KeyMaterial]) -> Key:
    """Key state and DescribeKey's ExpirationModel/ValidTo from its materials (spec §5.2, §9).

    The key is usable only when every associated (not pending) material is imported.
    """
    associated = [m for m in materials if m.state is not MaterialState.PENDING_ROTATION]
    complete = bool(associated) and all(m.import_state == IMPORTED for m in associated)
    # A member in a transient state (Creating, Updating; spec §4.1) keeps reading it: the
    # import decides the state it settles to.
    transient = key.state in (KeyState.CREATING, KeyState.UPDATING) and key.settled_state is not None
    state = key.settled_state if transient and key.settled_state is not None else key.state
    if complete and state is KeyState.PENDING_IMPORT:
        state = KeyState.ENABLED
    elif not complete and state not in (KeyState.PENDING_DELETION, KeyState.PENDING_REPLICA_DELETION):
        state = KeyState.PENDING_IMPORT
    model: str | None = None
    valid_to: float | None = None
    if complete:
        expiring = [m.valid_to for m in associated if m.expiration_model == EXPIRES and m.valid_to is not None]
        model = EXPIRES if expiring else DOES_NOT_EXPIRE
        valid_to = min(expiring) if expiring else None
    if transient:
        return key.with_changes(settled_state=state, expiration_model=model, valid_to=valid_to)
    return key.with_changes(state=state, expiration_model=model, valid_to=valid_to)


def import_key_material(deps: ServiceDeps, ctx: RequestContext, key_id: str, req: ImportRequest) -> tuple[Key, str]:
    key = authorized_key(deps, ctx, key_id, "ImportKeyMaterial")
    _require_external(key, "ImportKeyMaterial")
    model, valid_to = _check_expiration(req, ctx.now)
    algorithm, private = _open_token(deps, key, req.token, ctx.now)
    try:
        raw = key_import.unwrap(private, algorithm, req.encrypted_material)
    except key_import.UnwrapError:
        raise InvalidCiphertext(audit_reason="wrapped key material does not unwrap") from None
    _check_material(key, raw)
    material_id, wrapped = deps.keystore.wrap_material(key.key_id, raw)
    if req.key_material_id is not None and req.key_material_id != material_id:
        raise IncorrectKeyMaterial(audit_reason="material is not the one KeyMaterialId names")
    # Decided on the key and its materials as stored, under the key's row lock (issue 20):
    # "another key material is pending rotation" and the first import hold under races.
    # A replica also locks its primary's row first: the versions are shared (issue 19).
    with locked_member(deps, key) as stored:
        _require_external(effective(deps, stored), "ImportKeyMaterial")
        imported = MaterialImport(key.region, key.key_id, material_id, wrapped, model, valid_to)
        return _import_locked(deps, ctx, effective(deps, stored), req, imported)


def shared_version(material: KeyMaterial) -> KeyMaterial:
    """The version every member shares, without any member's import (storage's
    ``key_materials`` row of imported material holds no bytes)."""
    return replace(material, wrapped=b"", import_state=PENDING_IMPORT, expiration_model=None, valid_to=None)


def _import_locked(
    deps: ServiceDeps, ctx: RequestContext, key: Key, req: ImportRequest, imported: MaterialImport
) -> tuple[Key, str]:
    # The versions as this member holds them (spec §9, §12: each member imports on its own).
    materials = list(deps.storage.list_materials(key.key_id, key.region))
    known = {m.material_id: m for m in materials}
    material_id = imported.material_id
    import_type = req.import_type or (EXISTING_KEY_MATERIAL if materials else NEW_KEY_MATERIAL)

    if import_type == EXISTING_KEY_MATERIAL:
        previous = known.get(material_id)
        if previous is None:
            # Only previously associated material may come back; for a replica that is the
            # material imported into its primary, so other material is refused (spec §12).
            raise IncorrectKeyMaterial(audit_reason="material was never associated with this key")
        if req.description and req.description != previous.description:
            deps.storage.update_material(shared_version(replace(previous, description=req.description)))
        deps.storage.put_material_import(imported)
        mine = as_seen_by(replace(previous, description=req.description or previous.description), imported)
        materials = [mine if m.material_id == material_id else m for m in materials]
        if key.current_material_id is None:  # a multi-Region replica's first import (spec §9, §12)
            current = next((m.material_id for m in materials if m.state is MaterialState.CURRENT), None)
            key = key.with_changes(current_material_id=current)
        updated = key_with_import_summary(key, materials)
        if updated != key:
            deps.storage.update_key(updated)
        return updated, material_id

    if key.is_replica:
        # New material goes into the primary only; replicas then import the same material
        # as EXISTING_KEY_MATERIAL (ImportKeyMaterial, ImportType docs). [?: AWS's error]
        raise not_primary(key)

    if not materials:  # the first import binds the key to this material
        version = KeyMaterial(key.key_id, material_id, b"", MaterialState.CURRENT, ctx.now,
                              import_state=PENDING_IMPORT, description=req.description)
        first = key_with_import_summary(key.with_changes(current_material_id=material_id),
                                        [as_seen_by(version, imported)])
        deps.storage.rotate_material(first, version)
        deps.storage.put_material_import(imported)
        return first, material_id

    # NEW_KEY_MATERIAL into a key that has material: symmetric only, becomes PENDING_ROTATION
    # (PENDING_MULTI_REGION_IMPORT_AND_ROTATION while replicas lack it; rotation.py).
    if key.key_spec is not KeySpec.SYMMETRIC_DEFAULT or key.key_usage is not KeyUsage.ENCRYPT_DECRYPT:
        raise IncorrectKeyMaterial(audit_reason="asymmetric and HMAC keys accept only their first material")
    if material_id in known:
        raise IncorrectKeyMaterial(audit_reason="material is already associated; use EXISTING_KEY_MATERIAL")
    pending = [m for m in materials if m.state is MaterialState.PENDING_ROTATION]
    if pending:
        raise KMSInvalidState(
            f"New key material (id: {material_id}) cannot be imported into KMS key {key.arn}, because another "
            f"key material (id: {pending[0].material_id}) is pending rotation."
        )
    deps.storage.add_material(KeyMaterial(key.key_id, material_id, b"", MaterialState.PENDING_ROTATION, ctx.now,
                                          import_state=PENDING_IMPORT, description=req.description))
    deps.storage.put_material_import(imported)
    return key, material_id


# --- deleting and expiring ------------------------------------------------------------------


def _remove(deps: ServiceDeps, key: Key, material: KeyMaterial) -> Key:
    """This member forgets the material's bytes (spec §9); the version stays so ciphertexts
    and re-import can name it, and the other members keep theirs (spec §12).

    Pending material deleted from a primary is deleted from every member: it is not yet
    associated with the key (DeleteImportedKeyMaterial, multi-Region considerations)."""
    if material.state is MaterialState.PENDING_ROTATION and not key.is_replica:
        deps.storage.delete_material(key.key_id, material.material_id)
        return key
    deps.storage.delete_material_import(key.region, key.key_id, material.material_id)
    forget = getattr(deps.keystore, "forget", None)
    if forget is not None:
        forget(key.key_id)
    updated = key_with_import_summary(key, deps.storage.list_materials(key.key_id, key.region))
    if updated != key:
        deps.storage.update_key(updated)
    return updated


def delete_imported_key_material(
    deps: ServiceDeps, ctx: RequestContext, key_id: str, key_material_id: str | None
) -> tuple[Key, str | None]:
    key = authorized_key(deps, ctx, key_id, "DeleteImportedKeyMaterial")
    _require_external(key, "DeleteImportedKeyMaterial")
    with locked_member(deps, key) as stored:
        key = effective(deps, stored)
        _require_external(key, "DeleteImportedKeyMaterial")
        material_id = key_material_id or key.current_material_id
        if material_id is None:
            return key, None  # nothing was ever imported: no effect (spec §4.3)
        material = deps.storage.get_material(key.key_id, material_id, key.region)
        if material is None:
            raise NotFound(f"Key material {material_id} is not found for {key.arn}.")
        if material.import_state != IMPORTED:
            return key, material_id
        return _remove(deps, key, material), material_id


def _expired(material: KeyMaterial, now: float) -> bool:
    return material.import_state == IMPORTED and material.valid_to is not None and material.valid_to <= now


def expire_due_material(deps: ServiceDeps, now: float, on_expired: Callable[[Key, KeyMaterial], None]) -> int:
    """The sweeper's step: imported material past its ValidTo is deleted (spec §9 "Expiry")
    from the member that imported it; the other members keep theirs (spec §12)."""
    expired = 0
    while True:
        due = deps.storage.materials_expiring(now)
        if not due:
            return expired
        for due_key, due_material in due:
            # Re-read under the key's row lock (issue 20): material re-imported with a
            # later ValidTo, or already expired by another node's sweep, is left alone.
            # The expiry and its DeleteExpiredKeyMaterial event commit together (issue 16).
            with deps.storage.transaction():
                if due_key.is_replica and due_key.primary_region is not None:  # locking.locked_member's order
                    deps.storage.lock_key(due_key.primary_region, due_key.key_id)
                key = deps.storage.lock_key(due_key.region, due_key.key_id)
                material = deps.storage.get_material(due_material.key_id, due_material.material_id, due_key.region)
                if key is None or material is None or not _expired(material, now):
                    continue
                _remove(deps, key, material)
                on_expired(key, material)
            expired += 1
