"""CreateAlias, UpdateAlias, DeleteAlias, ListAliases (spec §2.1, §4.3, §5.5)."""

from __future__ import annotations

from trent.domain.ids import ALIAS_NAME_CHARS_RE, ALIAS_PREFIX, RESERVED_ALIAS_PREFIX, alias_arn, parse_key_ref
from trent.domain.key_specs import KEY_SPECS
from trent.domain.key_states import Verdict, check_state, state_error
from trent.domain.keys import Alias, Key, KeyState
from trent.errors import (
    AlreadyExists,
    InvalidMarker,
    LimitExceeded,
    NotAuthorized,
    NotFound,
    ValidationError,
)
from trent.service.aws_managed_keys import ensure_predefined_aliases
from trent.service.context import RequestContext
from trent.service.deps import ServiceDeps
from trent.service.authorization import authorize, authorize_account, authorize_alias, authorized_key
from trent.service.availability import effective
from trent.service.locking import locked_key
from trent.service.resolve import resolve_key
from trent.storage.repositories import BadMarker, Duplicate, Page

MAX_ALIASES_PER_KEY = 50
_PREFIX_MESSAGE = (
    'Alias must start with the prefix "alias/". '
    "Please see https://docs.aws.amazon.com/kms/latest/developerguide/kms-alias.html"
)


def _check_alias_name(name: str) -> None:
    """spec §2.1 rules beyond the model's pattern (which validation already applied)."""
    if not name.startswith(ALIAS_PREFIX):
        raise ValidationError(_PREFIX_MESSAGE)
    if name.startswith(RESERVED_ALIAS_PREFIX):
        raise NotAuthorized()
    if not ALIAS_NAME_CHARS_RE.match(name):
        raise ValidationError(f"{name} contains invalid characters for an alias")


def _target(deps: ServiceDeps, ctx: RequestContext, target_key_id: str, operation: str) -> Key:
    if parse_key_ref(target_key_id).is_alias:
        raise ValidationError("Aliases must refer to keys. Not aliases")
    return authorized_key(deps, ctx, target_key_id, operation)


def _alias_arn(ctx: RequestContext, name: str) -> str:
    return alias_arn(ctx.partition, ctx.region, ctx.account_id, name)


def create_alias(deps: ServiceDeps, ctx: RequestContext, name: str, target_key_id: str) -> Key:
    _check_alias_name(name)
    # spec §7.3: permission on the alias (IAM) and on the key (key policy).
    authorize_alias(deps, ctx, "CreateAlias", name)
    key = _target(deps, ctx, target_key_id, "CreateAlias")
    check_state("CreateAlias", key)
    # Counted and inserted under the target key's row lock (issue 20): the per-key limit
    # holds, and no alias is made for a key that was scheduled for deletion meanwhile.
    with locked_key(deps, key) as stored:
        check_state("CreateAlias", effective(deps, stored))
        if deps.storage.count_aliases_for_key(key.region, key.key_id) >= MAX_ALIASES_PER_KEY:
            raise LimitExceeded(
                f"The request would exceed the limit of {MAX_ALIASES_PER_KEY} aliases for the key {key.arn}."
            )
        alias = Alias(ctx.account_id, ctx.region, ctx.partition, name, key.key_id, ctx.now, ctx.now)
        try:
            deps.storage.create_alias(alias)
        except Duplicate:
            raise AlreadyExists(f"An alias with the name {_alias_arn(ctx, name)} already exists") from None
    return key


def _existing_alias(deps: ServiceDeps, ctx: RequestContext, name: str) -> Alias:
    alias = deps.storage.get_alias(ctx.account_id, ctx.region, name)
    if alias is None:
        raise NotFound(f"Alias {_alias_arn(ctx, name)} is not found.")
    return alias


def update_alias(deps: ServiceDeps, ctx: RequestContext, name: str, target_key_id: str) -> tuple[Key, Key | None]:
    """Returns (new target, old target)."""
    _check_alias_name(name)
    _existing_alias(deps, ctx, name)
    authorize_alias(deps, ctx, "UpdateAlias", name)
    new = _target(deps, ctx, target_key_id, "UpdateAlias")
    # Decided on the alias and the new target as stored, under the new target's row lock
    # (issue 20): a ScheduleKeyDeletion of the new target cannot slip in between.
    with locked_key(deps, new) as stored:
        return _update_alias_locked(deps, ctx, name, effective(deps, stored))


def _update_alias_locked(deps: ServiceDeps, ctx: RequestContext, name: str, new: Key) -> tuple[Key, Key | None]:
    alias = _existing_alias(deps, ctx, name)
    # spec §2.1: the *new* target may not be pending deletion; the current one may.
    if new.state in (KeyState.PENDING_DELETION, KeyState.PENDING_REPLICA_DELETION):
        raise state_error(Verdict.PDEL, new)
    old = deps.storage.get_key(ctx.region, alias.target_key_id) if alias.target_key_id else None
    if old is not None:
        # spec §7.3: UpdateAlias needs kms:UpdateAlias on the current target key too.
        authorize(deps, ctx, "UpdateAlias", old)
        old_family, new_family = KEY_SPECS[old.key_spec].family, KEY_SPECS[new.key_spec].family
        if old.key_usage is not new.key_usage:
            raise ValidationError(
                f"Alias {name} cannot be changed from a CMK with key usage {old.key_usage} to a CMK with key "
                f"usage {new.key_usage}. The key usage of the current CMK and the new CMK must be the same."
            )
        if old_family is not new_family and "SYMMETRIC" in (old_family, new_family):
            raise ValidationError(
                f"Alias {name} cannot be changed from a CMK with key spec {old.key_spec} to a CMK with key "
                f"spec {new.key_spec}. The key spec of the current CMK and the new CMK must be compatible."
            )
    deps.storage.update_alias(
        Alias(alias.account_id, alias.region, alias.partition, alias.name, new.key_id, alias.created_at, ctx.now)
    )
    return new, old


def delete_alias(deps: ServiceDeps, ctx: RequestContext, name: str) -> Key | None:
    _check_alias_name(name)
    alias = _existing_alias(deps, ctx, name)
    authorize_alias(deps, ctx, "DeleteAlias", name)
    target = deps.storage.get_key(ctx.region, alias.target_key_id) if alias.target_key_id else None
    if target is not None:
        authorize(deps, ctx, "DeleteAlias", target)
    deps.storage.delete_alias(ctx.account_id, ctx.region, name)
    return target


def list_aliases(
    deps: ServiceDeps, ctx: RequestContext, key_id: str | None, limit: int, marker: str | None
) -> Page[Alias]:
    authorize_account(deps, ctx, "ListAliases")  # IAM-only (spec §7.3)
    filter_key_id = None
    if key_id is not None:
        filter_key_id = resolve_key(deps, ctx, key_id, "ListAliases").key_id
    else:
        # AWS lists the predefined alias/aws/<service> aliases of the account and Region
        # even before the service created its key (no TargetKeyId then) (issue 19).
        ensure_predefined_aliases(deps, ctx.account_id, ctx.region, ctx.partition, ctx.now)
    try:
        return deps.storage.list_aliases(ctx.account_id, ctx.region, filter_key_id, limit, marker)
    except BadMarker:
        raise InvalidMarker() from None
