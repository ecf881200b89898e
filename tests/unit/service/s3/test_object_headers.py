"""Object metadata, conditional-request and Range rules (pure functions)."""

from __future__ import annotations

import pytest

from trent import errors
from trent.service.s3.object_headers import (
    Conditions,
    check_conditions,
    http_date,
    metadata_response_headers,
    parse_conditions,
    parse_http_date,
    parse_metadata,
    parse_range,
)

T = 1_800_000_000.5
ETAG = '"0123456789abcdef0123456789abcdef"'


def test_metadata_defaults_and_user_metadata() -> None:
    meta = parse_metadata({"x-amz-meta-color": "blue", "content-encoding": "gzip,aws-chunked", "cache-control": "no"})
    assert meta.content_type == "binary/octet-stream"
    assert meta.user == {"color": "blue"}
    assert meta.system == {"Content-Encoding": "gzip", "Cache-Control": "no"}
    assert metadata_response_headers(meta) == {
        "Content-Type": "binary/octet-stream", "Content-Encoding": "gzip", "Cache-Control": "no",
        "x-amz-meta-color": "blue",
    }
    assert "Content-Encoding" not in parse_metadata({"content-encoding": "aws-chunked"}).system


def test_user_metadata_limit_is_2_kb_of_names_and_values() -> None:
    parse_metadata({"x-amz-meta-a": "v" * 2047})  # 1 + 2047 bytes
    with pytest.raises(errors.MetadataTooLarge):
        parse_metadata({"x-amz-meta-a": "v" * 2048})
    with pytest.raises(errors.MetadataTooLarge):
        parse_metadata({"x-amz-meta-é": "v" * 2047})  # é is two bytes: 2049


def test_http_dates() -> None:
    assert http_date(T) == "Fri, 15 Jan 2027 08:00:00 GMT"
    assert parse_http_date(http_date(T)) == 1_800_000_000.0
    assert parse_http_date("not a date") is None


@pytest.mark.parametrize(
    ("conditions", "outcome"),
    [
        (Conditions(if_match=ETAG), None),
        (Conditions(if_match='"other", ' + ETAG), None),
        (Conditions(if_match="*"), None),
        (Conditions(if_match='"other"'), errors.PreconditionFailed),
        (Conditions(if_unmodified_since=T - 1), errors.PreconditionFailed),
        (Conditions(if_unmodified_since=T), None),
        # S3: If-Match true and If-Unmodified-Since false -> 200
        (Conditions(if_match=ETAG, if_unmodified_since=T - 100), None),
        (Conditions(if_none_match=ETAG), errors.NotModified),
        (Conditions(if_none_match='"other"'), None),
        (Conditions(if_modified_since=T), errors.NotModified),
        (Conditions(if_modified_since=T - 1), None),
        # S3: If-None-Match false and If-Modified-Since true -> 304
        (Conditions(if_none_match=ETAG, if_modified_since=T - 100), errors.NotModified),
        (Conditions(if_none_match='"other"', if_modified_since=T + 100), None),
        # copy sources: every failure is 412
        (Conditions(if_none_match=ETAG, copy_source=True), errors.PreconditionFailed),
        (Conditions(if_modified_since=T, copy_source=True), errors.PreconditionFailed),
    ],
)
def test_conditions(conditions: Conditions, outcome: type[Exception] | None) -> None:
    if outcome is None:
        check_conditions(conditions, ETAG, T)
    else:
        with pytest.raises(outcome):
            check_conditions(conditions, ETAG, T)


def test_parse_conditions_reads_copy_source_variants() -> None:
    headers = {"x-amz-copy-source-if-match": ETAG, "if-match": '"x"', "if-modified-since": http_date(T)}
    assert parse_conditions(headers, copy_source=True) == Conditions(if_match=ETAG, copy_source=True)
    assert parse_conditions(headers) == Conditions(if_match='"x"', if_modified_since=1_800_000_000.0)


@pytest.mark.parametrize(
    ("header", "size", "expected"),
    [
        ("bytes=0-9", 100, (0, 9)),
        ("bytes=90-200", 100, (90, 99)),
        ("bytes=50-", 100, (50, 99)),
        ("bytes=-10", 100, (90, 99)),
        ("bytes=-1000", 100, (0, 99)),
        ("bytes=99-99", 100, (99, 99)),
        ("bytes=100-", 100, errors.InvalidRange),
        ("bytes=-0", 100, errors.InvalidRange),
        ("bytes=0-", 0, errors.InvalidRange),
    ],
)
def test_ranges(header: str, size: int, expected: tuple[int, int] | type[Exception]) -> None:
    byte_range = parse_range(header)
    assert byte_range is not None
    if isinstance(expected, tuple):
        assert byte_range.resolve(size) == expected
    else:
        with pytest.raises(expected) as raised:
            byte_range.resolve(size)
        assert raised.value.details == {"RangeRequested": header, "ActualObjectSize": str(size)}  # type: ignore[attr-defined]


@pytest.mark.parametrize("header", [None, "bytes=0-1,5-6", "items=0-1", "bytes=5-1", "bytes=a-b", "bytes="])
def test_ranges_s3_ignores(header: str | None) -> None:
    assert parse_range(header) is None


# --- http_date: Last-Modified, exactly what email.utils.formatdate writes -------------------

from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402


@settings(max_examples=500)
@given(st.floats(min_value=0, max_value=253402300799, allow_nan=False))  # to 9999-12-31T23:59:59Z
def test_http_date_writes_what_formatdate_writes(epoch):
    import email.utils

    from trent.service.s3.object_headers import http_date

    assert http_date(epoch) == email.utils.formatdate(int(epoch), usegmt=True)

