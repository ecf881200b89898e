"""Multi-Region key operations (issue 19, spec §12): ReplicateKey and UpdatePrimaryRegion."""

from __future__ import annotations

from trent.protocol.operations import Operation, Outcome, Request, _tags
from trent.protocol.shapes import key_metadata, lower_camel
from trent.service import multi_region
from trent.service.context import RequestContext
from trent.service.deps import ServiceDeps


def _replicate_key(deps: ServiceDeps, ctx: RequestContext, r: Request) -> Outcome:
    done = multi_region.replicate_key(
        deps,
        ctx,
        multi_region.ReplicateKeyRequest(
            key_id=r["KeyId"],
            replica_region=r["ReplicaRegion"],
            policy=r.get("Policy"),
            bypass_policy_lockout_safety_check=bool(r.get("BypassPolicyLockoutSafetyCheck", False)),
            description=r.get("Description", ""),
            tags=_tags(r.get("Tags")),
        ),
    )
    replica = done.replica
    md = key_metadata(replica, multi_region.configuration_of(deps, replica))
    md.pop("CurrentKeyMaterialId", None)  # spec §5.2: absent in ReplicateKey's immediate response [V]
    body = {
        "ReplicaKeyMetadata": md,
        "ReplicaPolicy": replica.policy,
        "ReplicaTags": [{"TagKey": t.key, "TagValue": t.value} for t in done.tags],
    }
    return Outcome(body, (done.primary, replica), {"replicaKeyMetadata": lower_camel(md)})


def _update_primary_region(deps: ServiceDeps, ctx: RequestContext, r: Request) -> Outcome:
    key = multi_region.update_primary_region(deps, ctx, r["KeyId"], r["PrimaryRegion"])
    return Outcome({}, (key,))


MULTI_REGION_OPERATIONS = (
    Operation("ReplicateKey", _replicate_key),
    Operation("UpdatePrimaryRegion", _update_primary_region),
)


def register(operations: dict[str, Operation]) -> None:
    operations.update({op.name: op for op in MULTI_REGION_OPERATIONS})
