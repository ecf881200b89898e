"""Keys over time on the wire (issue 4): rotation, import, GetKeyLastUsage, and the
usage recording wrapped around the cryptographic handlers.

Imported last by ``protocol/operations.py`` (it needs the types defined there) and
merged into ``OPERATIONS`` by :func:`register`.
"""

from __future__ import annotations

from typing import Any

from trent.domain.keys import KeyMaterial
from trent.protocol.operations import Handler, Operation, Outcome, Request, b64
from trent.service import imports, rotation, usage
from trent.service.context import RequestContext
from trent.service.deps import ServiceDeps

# --- rotation -------------------------------------------------------------------------


def _enable_key_rotation(deps: ServiceDeps, ctx: RequestContext, r: Request) -> Outcome:
    return Outcome({}, (rotation.enable_key_rotation(deps, ctx, r["KeyId"], r.get("RotationPeriodInDays")),))


def _disable_key_rotation(deps: ServiceDeps, ctx: RequestContext, r: Request) -> Outcome:
    return Outcome({}, (rotation.disable_key_rotation(deps, ctx, r["KeyId"]),))


def _get_key_rotation_status(deps: ServiceDeps, ctx: RequestContext, r: Request) -> Outcome:
    status = rotation.get_key_rotation_status(deps, ctx, r["KeyId"])
    # AWS answers with the key ARN, as RotateKeyOnDemand does (recorded; issue 19).
    body: dict[str, Any] = {"KeyId": status.key.arn, "KeyRotationEnabled": status.enabled}
    if status.enabled:
        body["RotationPeriodInDays"] = status.period_days
        body["NextRotationDate"] = status.next_rotation_at
    return Outcome(body, (status.key,))


def _rotate_key_on_demand(deps: ServiceDeps, ctx: RequestContext, r: Request) -> Outcome:
    key = rotation.rotate_key_on_demand(deps, ctx, r["KeyId"])
    return Outcome({"KeyId": key.arn}, (key,), {"keyId": key.arn})


def rotation_entry(key_id: str, m: KeyMaterial) -> dict[str, Any]:
    """One ListKeyRotations entry (spec §5.4): optional members omitted, never null."""
    entry: dict[str, Any] = {"KeyId": key_id, "KeyMaterialId": m.material_id}
    if m.description:
        entry["KeyMaterialDescription"] = m.description
    if m.import_state is not None:
        entry["ImportState"] = m.import_state
    entry["KeyMaterialState"] = str(m.state)
    if m.expiration_model is not None:
        entry["ExpirationModel"] = m.expiration_model
    if m.valid_to is not None:
        entry["ValidTo"] = m.valid_to
    if m.rotation_type is not None:
        entry["RotationDate"] = m.created_at
        entry["RotationType"] = m.rotation_type
    return entry


def _list_key_rotations(deps: ServiceDeps, ctx: RequestContext, r: Request) -> Outcome:
    key, page = rotation.list_key_rotations(
        deps, ctx, r["KeyId"], r.get("IncludeKeyMaterial"), r.get("Limit", 100), r.get("Marker")
    )
    body: dict[str, Any] = {"Rotations": [rotation_entry(key.key_id, m) for m in page.items]}
    if page.next_marker is not None:
        body["NextMarker"] = page.next_marker
    body["Truncated"] = page.next_marker is not None
    return Outcome(body, (key,))


# --- import ---------------------------------------------------------------------------


def _get_parameters_for_import(deps: ServiceDeps, ctx: RequestContext, r: Request) -> Outcome:
    params = imports.get_parameters_for_import(deps, ctx, r["KeyId"], r["WrappingAlgorithm"], r["WrappingKeySpec"])
    body = {
        "KeyId": params.key.arn,
        "ImportToken": b64(params.token),
        "PublicKey": b64(params.public_key),
        "ParametersValidTo": params.valid_to,
    }
    return Outcome(body, (params.key,))


def _import_key_material(deps: ServiceDeps, ctx: RequestContext, r: Request) -> Outcome:
    key, material_id = imports.import_key_material(
        deps,
        ctx,
        r["KeyId"],
        imports.ImportRequest(
            token=r["ImportToken"],
            encrypted_material=r["EncryptedKeyMaterial"],
            valid_to=r.get("ValidTo"),
            expiration_model=r.get("ExpirationModel"),
            import_type=r.get("ImportType"),
            description=r.get("KeyMaterialDescription"),
            key_material_id=r.get("KeyMaterialId"),
        ),
    )
    body = {"KeyId": key.arn, "KeyMaterialId": material_id}
    return Outcome(body, (key,), {"keyId": key.arn, "keyMaterialId": material_id}, key_material_id=material_id)


def _delete_imported_key_material(deps: ServiceDeps, ctx: RequestContext, r: Request) -> Outcome:
    key, material_id = imports.delete_imported_key_material(deps, ctx, r["KeyId"], r.get("KeyMaterialId"))
    body = {"KeyId": key.arn}
    if material_id is not None:
        body["KeyMaterialId"] = material_id
    return Outcome(body, (key,), {"keyId": key.arn}, key_material_id=material_id)


# --- usage ------------------------------------------------------------------------------


def _get_key_last_usage(deps: ServiceDeps, ctx: RequestContext, r: Request) -> Outcome:
    found = usage.get_key_last_usage(deps, ctx, r["KeyId"])
    body: dict[str, Any] = {
        "KeyId": found.key.key_id,
        "TrackingStartDate": found.tracking_start,
        "KeyCreationDate": found.key.created_at,
    }
    if found.last is not None:
        last: dict[str, Any] = {"Operation": found.last.operation, "Timestamp": found.last.used_at}
        if found.last.request_id:
            last["KmsRequestId"] = found.last.request_id
        body["KeyLastUsage"] = last
    return Outcome(body, (found.key,))


def _tracked(name: str, handler: Handler) -> Handler:
    """Record a successful cryptographic use of every key the call touched (in memory)."""

    def tracked(deps: ServiceDeps, ctx: RequestContext, r: Request) -> Outcome:
        outcome = handler(deps, ctx, r)
        record = deps.usage.record
        for key in outcome.resources:
            record(key, name, ctx.now, ctx.request_id)
        return outcome

    return tracked


LIFECYCLE_OPERATIONS = (
    Operation("EnableKeyRotation", _enable_key_rotation),
    Operation("DisableKeyRotation", _disable_key_rotation),
    Operation("GetKeyRotationStatus", _get_key_rotation_status),
    Operation("RotateKeyOnDemand", _rotate_key_on_demand),
    Operation("ListKeyRotations", _list_key_rotations),
    Operation("GetParametersForImport", _get_parameters_for_import),
    Operation("ImportKeyMaterial", _import_key_material),
    Operation("DeleteImportedKeyMaterial", _delete_imported_key_material),
    Operation("GetKeyLastUsage", _get_key_last_usage),
)


def register(operations: dict[str, Operation]) -> None:
    """Add this module's operations and wrap the crypto ones registered so far with usage
    tracking (call after every module that registers cryptographic operations)."""
    operations.update({op.name: op for op in LIFECYCLE_OPERATIONS})
    for name in usage.TRACKED_OPERATIONS & operations.keys():
        op = operations[name]
        operations[name] = Operation(op.name, _tracked(name, op.handler), inline=op.inline)
