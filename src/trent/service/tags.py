"""TagResource / UntagResource / ListResourceTags and the tag rules of spec §5.6."""

from __future__ import annotations

from collections.abc import Sequence

from trent.domain.key_states import check_state
from trent.domain.keys import Key, Tag
from trent.errors import TagError
from trent.service.context import RequestContext
from trent.service.deps import ServiceDeps
from trent.service.pagination import paginate_list
from trent.service.authorization import authorized_key
from trent.service.availability import effective
from trent.service.locking import locked_key
from trent.storage.repositories import Page

MAX_TAGS_PER_KEY = 50
_RESERVED_PREFIX = "aws:"


def check_new_tags(tags: Sequence[Tag], existing: Sequence[Tag] = ()) -> None:
    """spec §5.6 errors, in the order AWS reports them."""
    keys = [t.key for t in tags]
    if len(set(keys)) != len(keys):
        raise TagError("Duplicate tag keys")
    if any(k.lower().startswith(_RESERVED_PREFIX) for k in keys):
        raise TagError("Tags beginning with aws: are reserved")
    if len(set(keys) | {t.key for t in existing}) > MAX_TAGS_PER_KEY:
        raise TagError("Too many tags")


def tag_resource(deps: ServiceDeps, ctx: RequestContext, key_id: str, tags: Sequence[Tag]) -> Key:
    key = authorized_key(deps, ctx, key_id, "TagResource", request_tags={t.key: t.value for t in tags})
    check_state("TagResource", key)
    # The 50-tag limit is counted on the tags as stored, under the key's row lock (issue 20).
    with locked_key(deps, key) as stored:
        check_state("TagResource", effective(deps, stored))
        check_new_tags(tags, deps.storage.get_tags(key.region, key.key_id))
        deps.storage.put_tags(key.region, key.key_id, tags)
    return key


def untag_resource(deps: ServiceDeps, ctx: RequestContext, key_id: str, tag_keys: Sequence[str]) -> Key:
    key = authorized_key(deps, ctx, key_id, "UntagResource", tag_keys=tuple(tag_keys))
    check_state("UntagResource", key)
    with locked_key(deps, key) as stored:
        check_state("UntagResource", effective(deps, stored))
        deps.storage.remove_tags(key.region, key.key_id, tag_keys)
    return key


def list_resource_tags(
    deps: ServiceDeps, ctx: RequestContext, key_id: str, limit: int, marker: str | None
) -> tuple[Key, Page[Tag]]:
    key = authorized_key(deps, ctx, key_id, "ListResourceTags")
    return key, paginate_list(deps.storage.get_tags(key.region, key.key_id), limit, marker)
