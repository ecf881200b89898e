from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from hypothesis import given
from hypothesis import strategies as st

from trent.crypto.kdf import hkdf_sha256


def test_rfc5869_case_1():
    # RFC 5869 Appendix A.1
    ikm = bytes.fromhex("0b" * 22)
    salt = bytes.fromhex("000102030405060708090a0b0c")
    info = bytes.fromhex("f0f1f2f3f4f5f6f7f8f9")
    okm = hkdf_sha256(ikm, salt, info, 42)
    assert okm.hex() == (
        "3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865"
    )


@given(st.binary(min_size=1, max_size=64), st.binary(max_size=32), st.binary(max_size=32), st.integers(1, 100))
def test_matches_pyca(ikm, salt, info, length):
    expected = HKDF(hashes.SHA256(), length, salt or None, info).derive(ikm)
    assert hkdf_sha256(ikm, salt, info, length) == expected
