"""wire_base64 against the stdlib it replaces: same bytes, and refused exactly when
``binascii.a2b_base64(strict_mode=True)`` refuses (the SerializationException verdict)."""

from __future__ import annotations

import base64
import binascii

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from trent.protocol import wire_base64

# the alphabet, padding, the URL-safe pair, whitespace and a non-ASCII letter
NEAR_BASE64 = st.text(alphabet="ABCXYZabcxyz0189+/=-_ \n\r\té", max_size=24)


def stdlib(text: str) -> bytes | None:
    try:
        return binascii.a2b_base64(text, strict_mode=True)
    except ValueError:
        return None


def ours(text: str) -> bytes | None:
    try:
        return wire_base64.decode_strict(text)
    except ValueError:
        return None


@settings(max_examples=3000)
@given(NEAR_BASE64)
def test_decode_gives_the_stdlib_verdict_for_near_base64_text(text: str) -> None:
    assert ours(text) == stdlib(text)


@settings(max_examples=500)
@given(st.binary(max_size=5000))
def test_round_trip_and_encoding_equal_the_stdlib(data: bytes) -> None:
    encoded = wire_base64.encode(data)
    assert encoded == base64.b64encode(data).decode("ascii")
    assert wire_base64.decode_strict(encoded) == data


@settings(max_examples=1000)
@given(st.binary(min_size=1, max_size=64), st.integers(min_value=0, max_value=200), st.sampled_from("=A/+ \n-_é"))
def test_one_character_changed_in_valid_text_keeps_the_stdlib_verdict(data: bytes, at: int, char: str) -> None:
    text = base64.b64encode(data).decode("ascii")
    i = at % len(text)
    changed = text[:i] + char + text[i + 1:]
    assert ours(changed) == stdlib(changed)
    assert ours(text + char) == stdlib(text + char)
    assert ours(char + text) == stdlib(char + text)


@pytest.mark.parametrize("text", [
    "", "QQ==", "QUI=", "QUJD", "QQ=", "QQ", "Q===", "====", "=QQ=", "QQ==QQ==", "QQ=A", "Q=Q=", "QUJD====",
    "QU JD", "QUJD\n", "QUJ-", "QUJ_", "QQ==\n", "QR==", "QUJ=", "éUJD",
])
def test_padding_and_alphabet_edge_cases_match_the_stdlib(text: str) -> None:
    assert ours(text) == stdlib(text)
    if stdlib(text) is None:
        with pytest.raises(ValueError):
            wire_base64.decode_strict(text)
