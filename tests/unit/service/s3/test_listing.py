"""ListObjects v1/v2 and ListMultipartUploads: order, delimiters, pages (issue 17)."""

from __future__ import annotations

import pytest

from trent import errors
from trent.service.s3 import buckets, listing, multipart
from trent.service.s3.multipart import CreateMultipartUploadRequest

from .conftest import World
from .test_objects import put

KEYS = ["a.txt", "dir/1", "dir/2", "dir/sub/3", "dir2/x", "e/é", "e/z", "photos/2024/a", "photos/2025/b", "z"]


@pytest.fixture()
def w(world: World) -> World:
    buckets.create_bucket(world.s3, world.ctx(), "bkt", None)
    for key in KEYS:
        put(world, key, b"x")
    return world


def test_v2_everything_in_binary_order(w: World) -> None:
    page = listing.list_objects_v2(w.s3, w.ctx(), "bkt").page
    assert [o.key for o in page.contents] == sorted(KEYS) and not page.is_truncated and page.key_count == len(KEYS)


def test_delimiter_rolls_up_common_prefixes(w: World) -> None:
    page = listing.list_objects_v2(w.s3, w.ctx(), "bkt", delimiter="/").page
    assert [o.key for o in page.contents] == ["a.txt", "z"]
    assert page.common_prefixes == ["dir/", "dir2/", "e/", "photos/"]
    sub = listing.list_objects_v2(w.s3, w.ctx(), "bkt", prefix="dir/", delimiter="/").page
    assert [o.key for o in sub.contents] == ["dir/1", "dir/2"] and sub.common_prefixes == ["dir/sub/"]


@pytest.mark.parametrize("page_size", [1, 2, 3, 4])
def test_v2_pages_with_tokens_cover_everything_once(w: World, page_size: int) -> None:
    seen: list[str] = []
    token = None
    while True:
        result = listing.list_objects_v2(w.s3, w.ctx(), "bkt", delimiter="/", max_keys=page_size,
                                         continuation_token=token)
        seen += [o.key for o in result.page.contents] + list(result.page.common_prefixes)
        assert result.page.key_count <= page_size
        if not result.page.is_truncated:
            break
        token = result.next_continuation_token
        assert token is not None
    # each page holds keys and prefixes separately; together, every entry exactly once
    assert sorted(seen) == ["a.txt", "dir/", "dir2/", "e/", "photos/", "z"] and len(seen) == len(set(seen))


@pytest.mark.parametrize("page_size", [1, 3])
def test_v1_pages_with_markers(w: World, page_size: int) -> None:
    seen: list[str] = []
    marker = None
    while True:
        page = listing.list_objects(w.s3, w.ctx(), "bkt", delimiter="/", max_keys=page_size, marker=marker)
        seen += [o.key for o in page.contents] + list(page.common_prefixes)
        if not page.is_truncated:
            break
        marker = page.last  # NextMarker (a delimiter was given)
    # each page holds keys and prefixes separately; together, every entry exactly once
    assert sorted(seen) == ["a.txt", "dir/", "dir2/", "e/", "photos/", "z"] and len(seen) == len(set(seen))


def test_start_after_and_max_keys(w: World) -> None:
    page = listing.list_objects_v2(w.s3, w.ctx(), "bkt", start_after="e/z").page
    assert [o.key for o in page.contents] == ["e/é", "photos/2024/a", "photos/2025/b", "z"]  # UTF-8 binary order
    assert listing.list_objects_v2(w.s3, w.ctx(), "bkt", max_keys=5000).page.key_count == len(KEYS)
    with pytest.raises(errors.InvalidArgument):
        listing.list_objects_v2(w.s3, w.ctx(), "bkt", max_keys=-1)
    with pytest.raises(errors.InvalidArgument):
        listing.list_objects_v2(w.s3, w.ctx(), "bkt", continuation_token="bogus")
    empty = listing.list_objects_v2(w.s3, w.ctx(), "bkt", prefix="nothing/").page
    assert empty.contents == [] and not empty.is_truncated


def test_list_multipart_uploads(w: World) -> None:
    ids = {}
    for key in ("a/1", "a/2", "b", "b"):
        upload = multipart.create_multipart_upload(w.s3, w.ctx(), CreateMultipartUploadRequest("bkt", key))
        ids.setdefault(key, []).append(upload.upload_id)
        w.kms.clock.advance(1)  # type: ignore[attr-defined]
    page = listing.list_multipart_uploads(w.s3, w.ctx(), "bkt", delimiter="/")
    assert page.common_prefixes == ["a/"] and [u.upload_id for u in page.uploads] == ids["b"]
    first = listing.list_multipart_uploads(w.s3, w.ctx(), "bkt", max_uploads=2)
    assert first.is_truncated and (first.next_key_marker, first.next_upload_id_marker) == ("a/2", ids["a/2"][0])
    rest = listing.list_multipart_uploads(w.s3, w.ctx(), "bkt", key_marker=first.next_key_marker,
                                          upload_id_marker=first.next_upload_id_marker)
    assert [u.upload_id for u in rest.uploads] == ids["b"] and not rest.is_truncated
