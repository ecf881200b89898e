"""Encryption-context encoding (client-wire-formats.md §4.1 header item 4)."""

from __future__ import annotations

import pytest
from aws_encryption_sdk.internal.formatting.encryption_context import serialize_encryption_context
from hypothesis import given
from hypothesis import strategies as st

from trent.envelope import context as ctxmod
from trent.envelope.errors import ConfigurationError, DecryptionFailed

texts = st.text(min_size=0, max_size=20)


def test_layout_is_pinned() -> None:
    assert ctxmod.serialize({}) == b""
    assert ctxmod.serialize_header_field({}) == b"\x00\x00"
    assert ctxmod.serialize({"b": "2", "a": "1"}) == (
        b"\x00\x02" + b"\x00\x01a\x00\x011" + b"\x00\x01b\x00\x012"
    )
    assert ctxmod.serialize_header_field({"a": "1"}) == b"\x00\x08\x00\x01\x00\x01a\x00\x011"


def test_length_prefixes_make_it_injective() -> None:
    assert ctxmod.serialize({"ab": "c"}) != ctxmod.serialize({"a": "bc"})


def test_sorted_by_utf8_bytes_not_code_points() -> None:
    # U+FF5E sorts after U+10000 by code point? No: by UTF-8 bytes EF.. < F0..
    ctx = {"\U00010000": "x", "\uff5e": "y"}
    assert ctxmod.serialize(ctx) == serialize_encryption_context(ctx)


@given(st.dictionaries(texts, texts, max_size=8))
def test_matches_the_sdk_and_round_trips(ctx: dict[str, str]) -> None:
    assert ctxmod.serialize(ctx) == serialize_encryption_context(ctx)
    assert ctxmod.deserialize(ctxmod.serialize(ctx)) == ctx


@pytest.mark.parametrize("block", [b"\x00", b"\x00\x01\x00\x05ab", b"\x00\x00",
                                   b"\x00\x01\x00\x01a\x00\x011extra",
                                   b"\x00\x02\x00\x01a\x00\x011\x00\x01a\x00\x012",
                                   b"\x00\x01\x00\x01\xff\x00\x011"])
def test_malformed_blocks_are_opaque_failures(block: bytes) -> None:
    with pytest.raises(DecryptionFailed):
        ctxmod.deserialize(block)


def test_reserved_prefix_refused() -> None:
    with pytest.raises(ConfigurationError):
        ctxmod.check_caller_context({"aws-crypto-public-key": "x"})
    with pytest.raises(ConfigurationError):
        ctxmod.check_caller_context({"k": 1})  # type: ignore[dict-item]
