import pytest
from hypothesis import given
from hypothesis import strategies as st

from trent.domain import ciphertext

KEY_ID = "1234abcd-12ab-34cd-56ef-1234567890ab"
MATERIAL_ID = "ab" * 32


def test_header_layout_is_pinned():
    header = ciphertext.encode_header(KEY_ID, MATERIAL_ID)
    assert header.raw == bytes.fromhex("01" "01" "1234abcd12ab34cd56ef1234567890ab" + "ab" * 32)
    assert len(header.raw) == ciphertext.HEADER_LEN == 50


def test_multi_region_ids_round_trip():
    mrk = "mrk-" + "0123456789abcdef" * 2
    header = ciphertext.encode_header(mrk, MATERIAL_ID)
    assert header.raw[1] == ciphertext.FORM_MRK
    parsed, payload = ciphertext.split(header.raw + b"payload")
    assert (parsed.key_id, parsed.material_id, bytes(payload)) == (mrk, MATERIAL_ID, b"payload")


def test_split_round_trip():
    header = ciphertext.encode_header(KEY_ID, MATERIAL_ID)
    parsed, payload = ciphertext.split(header.raw + b"xyz")
    assert parsed == header and bytes(payload) == b"xyz"


@pytest.mark.parametrize("blob", [b"", b"\x01", b"\x02" + bytes(60), b"\x01\x09" + bytes(60)])
def test_split_rejects_foreign_blobs(blob):
    with pytest.raises(ValueError):
        ciphertext.split(blob)


@given(st.binary(max_size=120))
def test_split_never_raises_anything_but_value_error(blob):
    try:
        ciphertext.split(blob)
    except ValueError:
        pass
