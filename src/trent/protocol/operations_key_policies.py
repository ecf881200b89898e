"""Key policies on the wire (issue 5, spec §7.1-7.2): GetKeyPolicy, PutKeyPolicy,
ListKeyPolicies. Merged into ``OPERATIONS`` by :func:`register`."""

from __future__ import annotations

from trent.protocol.operations import Operation, Outcome, Request, _paged
from trent.service import key_policies
from trent.service.context import RequestContext
from trent.service.deps import ServiceDeps
from trent.service.pagination import paginate_list


def _get_key_policy(deps: ServiceDeps, ctx: RequestContext, r: Request) -> Outcome:
    key, policy = key_policies.get_key_policy(deps, ctx, r["KeyId"], r.get("PolicyName"))
    # The policy is not secret, but CloudTrail does not echo it either (spec §11).
    return Outcome({"Policy": policy, "PolicyName": key_policies.DEFAULT_POLICY_NAME}, (key,))


def _put_key_policy(deps: ServiceDeps, ctx: RequestContext, r: Request) -> Outcome:
    key = key_policies.put_key_policy(
        deps, ctx, r["KeyId"], r.get("PolicyName"), r["Policy"], bool(r.get("BypassPolicyLockoutSafetyCheck", False))
    )
    return Outcome({}, (key,))


def _list_key_policies(deps: ServiceDeps, ctx: RequestContext, r: Request) -> Outcome:
    key = key_policies.list_key_policies(deps, ctx, r["KeyId"])
    page = paginate_list([key_policies.DEFAULT_POLICY_NAME], r.get("Limit", 100), r.get("Marker"))
    return Outcome(_paged({"PolicyNames": list(page.items)}, page.next_marker), (key,))


KEY_POLICY_OPERATIONS = (
    Operation("GetKeyPolicy", _get_key_policy),
    Operation("PutKeyPolicy", _put_key_policy),
    Operation("ListKeyPolicies", _list_key_policies),
)


def register(operations: dict[str, Operation]) -> None:
    operations.update({op.name: op for op in KEY_POLICY_OPERATIONS})
