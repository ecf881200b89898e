"""Who may use a key. Until the policy evaluator lands (issue 5), every key carries
the default key policy of spec §7.1, which allows exactly the key's own account:
so a caller from another account is denied with the resource-policy message of
spec §7.5, and a caller from the owning account is allowed.
"""

from __future__ import annotations

from trent.domain.keys import Key
from trent.errors import AccessDenied
from trent.service.context import RequestContext


def authorize(ctx: RequestContext, action: str, key: Key) -> None:
    if key.account_id != ctx.account_id:
        raise AccessDenied(
            f"User: {ctx.principal.arn} is not authorized to perform: kms:{action} on resource: {key.arn} "
            f"because no resource-based policy allows the kms:{action} action"
        )


def may_use(ctx: RequestContext, key: Key) -> bool:
    return key.account_id == ctx.account_id
