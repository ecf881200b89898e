from hypothesis import given
from hypothesis import strategies as st

from trent.domain import encryption_context as ec

contexts = st.dictionaries(st.text(max_size=20), st.text(max_size=20), max_size=8)


def test_layout_is_pinned():
    # u16 count | (u16 len key | key | u16 len value | value)* sorted by key bytes
    assert ec.encode({"b": "2", "a": "1"}) == bytes.fromhex("0002" "0001" "61" "0001" "31" "0001" "62" "0001" "32")


def test_empty_and_absent_are_the_same():
    assert ec.encode(None) == ec.encode({}) == b"\x00\x00"


def test_lengths_make_it_injective_where_concatenation_is_not():
    assert ec.encode({"ab": "c"}) != ec.encode({"a": "bc"})


@given(contexts)
def test_round_trip(context):
    assert ec.decode(ec.encode(context)) == context


@given(contexts, contexts)
def test_injective(a, b):
    assert (ec.encode(a) == ec.encode(b)) == (a == b)


@given(st.binary(max_size=64))
def test_decode_rejects_or_round_trips(data):
    try:
        decoded = ec.decode(data)
    except ValueError:  # UnicodeDecodeError is a ValueError too
        pass
    else:
        assert ec.encode(decoded) == data
