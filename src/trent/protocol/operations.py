"""THE operation table: wire name -> handler (and whether it may run on the event loop).

A handler takes the validated request (model member names; blobs already decoded
to bytes) and returns an :class:`Outcome`: the response body, the keys the call
touched (CloudTrail ``resources``) and the non-secret response elements that the
audit event may echo. Handlers translate between the wire and the use cases in
``trent.service``; they hold no rules of their own.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from trent.domain.keys import Key, Tag
from trent.protocol import wire_base64
from trent.protocol.shapes import alias_entry, key_metadata, lower_camel
from trent.service import aliases, encryption, keys, multi_region, tags
from trent.service.context import RequestContext
from trent.service.deps import ServiceDeps

Request = Mapping[str, Any]


class Outcome(NamedTuple):
    """What a handler returns. A NamedTuple (immutable, typed): one per request on the hot
    path, where a frozen dataclass's ``__init__`` costs three times as much."""

    body: dict[str, Any]
    resources: Sequence[Key] = ()
    response_elements: dict[str, Any] | None = None
    # Key material ids used (CloudTrail additionalEventData.keyMaterialId)
    key_material_id: str | None = None


Handler = Callable[[ServiceDeps, RequestContext, Request], Outcome]


@dataclass(frozen=True, slots=True)
class Operation:
    name: str
    handler: Handler = field(repr=False)
    # Hot-path operations run on the event loop (cache-served, no blocking I/O but
    # the audit append); the rest go to a worker thread.
    inline: bool = False


def b64(data: bytes) -> str:
    return wire_base64.encode(data)


def _tags(raw: Sequence[Mapping[str, str]] | None) -> list[Tag]:
    return [Tag(t["TagKey"], t["TagValue"]) for t in raw or ()]


# --- keys -------------------------------------------------------------------------


def _create_key(deps: ServiceDeps, ctx: RequestContext, r: Request) -> Outcome:
    key = keys.create_key(
        deps,
        ctx,
        keys.CreateKeyRequest(
            key_spec=r.get("KeySpec"),
            customer_master_key_spec=r.get("CustomerMasterKeySpec"),
            key_usage=r.get("KeyUsage"),
            origin=r.get("Origin"),
            description=r.get("Description", ""),
            policy=r.get("Policy"),
            tags=_tags(r.get("Tags")),
            multi_region=bool(r.get("MultiRegion", False)),
            custom_key_store_id=r.get("CustomKeyStoreId"),
            xks_key_id=r.get("XksKeyId"),
            bypass_policy_lockout_safety_check=bool(r.get("BypassPolicyLockoutSafetyCheck", False)),
        ),
    )
    md = key_metadata(key, multi_region.configuration_of(deps, key))
    return Outcome({"KeyMetadata": md}, (key,), {"keyMetadata": lower_camel(md)})


def _describe_key(deps: ServiceDeps, ctx: RequestContext, r: Request) -> Outcome:
    key = keys.describe_key(deps, ctx, r["KeyId"])
    return Outcome({"KeyMetadata": key_metadata(key, multi_region.configuration_of(deps, key))}, (key,))


def _list_keys(deps: ServiceDeps, ctx: RequestContext, r: Request) -> Outcome:
    page = keys.list_keys(deps, ctx, r.get("Limit", 100), r.get("Marker"))
    body: dict[str, Any] = {"Keys": [{"KeyId": k.key_id, "KeyArn": k.arn} for k in page.items]}
    return Outcome(_paged(body, page.next_marker))


def _paged(body: dict[str, Any], next_marker: str | None) -> dict[str, Any]:
    # spec §1.2: Truncated always present, NextMarker only when truncated.
    if next_marker is not None:
        body["NextMarker"] = next_marker
    body["Truncated"] = next_marker is not None
    return body


def _no_output(fn: Callable[[ServiceDeps, RequestContext, str], Key]) -> Handler:
    def handler(deps: ServiceDeps, ctx: RequestContext, r: Request) -> Outcome:
        return Outcome({}, (fn(deps, ctx, r["KeyId"]),))

    return handler


def _update_key_description(deps: ServiceDeps, ctx: RequestContext, r: Request) -> Outcome:
    return Outcome({}, (keys.update_key_description(deps, ctx, r["KeyId"], r["Description"]),))


def _schedule_key_deletion(deps: ServiceDeps, ctx: RequestContext, r: Request) -> Outcome:
    key = keys.schedule_key_deletion(deps, ctx, r["KeyId"], r.get("PendingWindowInDays"))
    body: dict[str, Any] = {"KeyId": key.arn}
    elements: dict[str, Any] = {"keyId": key.arn, "keyState": str(key.state)}
    if key.deletion_date is not None:  # not for a primary waiting in PendingReplicaDeletion (spec §12)
        body["DeletionDate"] = key.deletion_date
        elements["deletionDate"] = key.deletion_date
    else:
        elements["pendingWindowInDays"] = key.pending_window_days  # spec §11
    body["KeyState"] = str(key.state)
    body["PendingWindowInDays"] = key.pending_window_days
    return Outcome(body, (key,), elements)


def _cancel_key_deletion(deps: ServiceDeps, ctx: RequestContext, r: Request) -> Outcome:
    key = keys.cancel_key_deletion(deps, ctx, r["KeyId"])
    return Outcome({"KeyId": key.arn}, (key,), {"keyId": key.arn})


# --- aliases ------------------------------------------------------------------------


def _create_alias(deps: ServiceDeps, ctx: RequestContext, r: Request) -> Outcome:
    return Outcome({}, (aliases.create_alias(deps, ctx, r["AliasName"], r["TargetKeyId"]),))


def _update_alias(deps: ServiceDeps, ctx: RequestContext, r: Request) -> Outcome:
    new, old = aliases.update_alias(deps, ctx, r["AliasName"], r["TargetKeyId"])
    return Outcome({}, (new,) if old is None or old.key_id == new.key_id else (new, old))


def _delete_alias(deps: ServiceDeps, ctx: RequestContext, r: Request) -> Outcome:
    key = aliases.delete_alias(deps, ctx, r["AliasName"])
    return Outcome({}, (key,) if key is not None else ())


def _list_aliases(deps: ServiceDeps, ctx: RequestContext, r: Request) -> Outcome:
    page = aliases.list_aliases(deps, ctx, r.get("KeyId"), r.get("Limit", 50), r.get("Marker"))
    return Outcome(_paged({"Aliases": [alias_entry(a) for a in page.items]}, page.next_marker))


# --- tags ---------------------------------------------------------------------------


def _tag_resource(deps: ServiceDeps, ctx: RequestContext, r: Request) -> Outcome:
    return Outcome({}, (tags.tag_resource(deps, ctx, r["KeyId"], _tags(r["Tags"])),))


def _untag_resource(deps: ServiceDeps, ctx: RequestContext, r: Request) -> Outcome:
    return Outcome({}, (tags.untag_resource(deps, ctx, r["KeyId"], r["TagKeys"]),))


def _list_resource_tags(deps: ServiceDeps, ctx: RequestContext, r: Request) -> Outcome:
    key, page = tags.list_resource_tags(deps, ctx, r["KeyId"], r.get("Limit", 50), r.get("Marker"))
    body = {"Tags": [{"TagKey": t.key, "TagValue": t.value} for t in page.items]}
    return Outcome(_paged(body, page.next_marker), (key,))


# --- cryptography -------------------------------------------------------------------


def _encrypt(deps: ServiceDeps, ctx: RequestContext, r: Request) -> Outcome:
    sealed = encryption.encrypt(
        deps, ctx, r["KeyId"], r["Plaintext"], r.get("EncryptionContext"), r.get("EncryptionAlgorithm"),
        r.get("DryRun", False),
    )
    body = {
        "CiphertextBlob": b64(sealed.blob),
        "KeyId": sealed.key.arn,
        "EncryptionAlgorithm": sealed.algorithm,
    }  # the model's EncryptResponse has no KeyMaterialId; the audit event records it
    return Outcome(body, (sealed.key,), key_material_id=sealed.material_id)


def _ignores_ciphertext(r: Request) -> bool:
    return "IGNORE_CIPHERTEXT" in (r.get("DryRunModifiers") or ())


def _decrypt(deps: ServiceDeps, ctx: RequestContext, r: Request) -> Outcome:
    opened = encryption.decrypt(
        deps, ctx, r.get("CiphertextBlob"), r.get("KeyId"), r.get("EncryptionContext"), r.get("EncryptionAlgorithm"),
        r.get("DryRun", False), _ignores_ciphertext(r),
    )
    body = {
        "KeyId": opened.key.arn,
        "Plaintext": b64(opened.plaintext),
        "EncryptionAlgorithm": opened.algorithm,
    }
    if opened.material_id is not None:  # spec §6.3: symmetric only
        body["KeyMaterialId"] = opened.material_id
    return Outcome(body, (opened.key,), key_material_id=opened.material_id)


def _re_encrypt(deps: ServiceDeps, ctx: RequestContext, r: Request) -> Outcome:
    result = encryption.re_encrypt(
        deps,
        ctx,
        r.get("CiphertextBlob"),
        r.get("SourceKeyId"),
        r.get("SourceEncryptionContext"),
        r.get("SourceEncryptionAlgorithm"),
        r["DestinationKeyId"],
        r.get("DestinationEncryptionContext"),
        r.get("DestinationEncryptionAlgorithm"),
        r.get("DryRun", False),
        _ignores_ciphertext(r),
    )
    src, dst = result.source, result.destination
    body = {
        "CiphertextBlob": b64(dst.blob),
        "SourceKeyId": src.key.arn,
        "KeyId": dst.key.arn,
        "SourceEncryptionAlgorithm": src.algorithm,
        "DestinationEncryptionAlgorithm": result.destination_algorithm,
    }
    # spec §6.4: material ids only for symmetric sides
    if src.material_id is not None:
        body["SourceKeyMaterialId"] = src.material_id
    if dst.material_id is not None:
        body["DestinationKeyMaterialId"] = dst.material_id
    touched = (src.key,) if src.key.key_id == dst.key.key_id else (src.key, dst.key)
    return Outcome(body, touched)


def _generate_data_key(with_plaintext: bool) -> Handler:
    operation = "GenerateDataKey" if with_plaintext else "GenerateDataKeyWithoutPlaintext"

    def handler(deps: ServiceDeps, ctx: RequestContext, r: Request) -> Outcome:
        data_key = encryption.generate_data_key(
            deps, ctx, r["KeyId"], r.get("KeySpec"), r.get("NumberOfBytes"), r.get("EncryptionContext"),
            operation, r.get("DryRun", False),
        )
        sealed = data_key.sealed
        body = {"CiphertextBlob": b64(sealed.blob), "KeyId": sealed.key.arn, "KeyMaterialId": sealed.material_id}
        if with_plaintext:
            body["Plaintext"] = b64(data_key.plaintext)
        return Outcome(body, (sealed.key,), key_material_id=sealed.material_id)

    return handler


def _generate_random(deps: ServiceDeps, ctx: RequestContext, r: Request) -> Outcome:
    return Outcome({"Plaintext": b64(encryption.generate_random(deps, ctx, r.get("NumberOfBytes")))})


OPERATIONS: dict[str, Operation] = {
    op.name: op
    for op in (
        Operation("CreateKey", _create_key),
        Operation("DescribeKey", _describe_key, inline=True),
        Operation("ListKeys", _list_keys),
        Operation("EnableKey", _no_output(keys.enable_key)),
        Operation("DisableKey", _no_output(keys.disable_key)),
        Operation("UpdateKeyDescription", _update_key_description),
        Operation("ScheduleKeyDeletion", _schedule_key_deletion),
        Operation("CancelKeyDeletion", _cancel_key_deletion),
        Operation("CreateAlias", _create_alias),
        Operation("UpdateAlias", _update_alias),
        Operation("DeleteAlias", _delete_alias),
        Operation("ListAliases", _list_aliases),
        Operation("TagResource", _tag_resource),
        Operation("UntagResource", _untag_resource),
        Operation("ListResourceTags", _list_resource_tags),
        Operation("Encrypt", _encrypt, inline=True),
        Operation("Decrypt", _decrypt, inline=True),
        Operation("ReEncrypt", _re_encrypt, inline=True),
        Operation("GenerateDataKey", _generate_data_key(True), inline=True),
        Operation("GenerateDataKeyWithoutPlaintext", _generate_data_key(False), inline=True),
        Operation("GenerateRandom", _generate_random, inline=True),
    )
}

# Rotation, import and last usage (issue 4); registered last of all, because it also
# wraps every cryptographic handler registered before it with usage tracking.
from trent.protocol.operations_lifecycle import register as _register_lifecycle  # noqa: E402

# Asymmetric, HMAC and key-agreement operations (issue 3) live in their own module,
# imported last because it imports the types above.
from trent.protocol.operations_asymmetric import ASYMMETRIC_OPERATIONS  # noqa: E402

OPERATIONS.update({op.name: op for op in ASYMMETRIC_OPERATIONS})

# Custom key stores (issue 7): the store operations, GenerateRandom from an HSM and
# CloudHsmClusterId in KeyMetadata.
from trent.protocol.operations_custom_key_stores import register as _register_custom_key_stores  # noqa: E402

_register_custom_key_stores(OPERATIONS)

# Key policies (issue 5, spec §7).
from trent.protocol.operations_key_policies import register as _register_key_policies  # noqa: E402

_register_key_policies(OPERATIONS)

# Grants (issue 5, spec §8).
from trent.protocol.operations_grants import register as _register_grants  # noqa: E402

_register_grants(OPERATIONS)

# Multi-Region keys (issue 19, spec §12).
from trent.protocol.operations_multi_region import register as _register_multi_region  # noqa: E402

_register_multi_region(OPERATIONS)

_register_lifecycle(OPERATIONS)
