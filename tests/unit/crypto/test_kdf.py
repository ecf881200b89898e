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


def test_hmac_rfc4231_cases():
    import hashlib
    import hmac

    from trent.crypto.kdf import hmac_sha256

    # RFC 4231 §4.2 (case 1) and §4.7 (case 6: a key longer than the block, hashed first)
    assert hmac_sha256(bytes.fromhex("0b" * 20), b"Hi There").hex() == (
        "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"
    )
    long_key = bytes.fromhex("aa" * 131)
    message = b"Test Using Larger Than Block-Size Key - Hash Key First"
    assert hmac_sha256(long_key, message).hex() == (
        "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"
    )
    assert hmac_sha256(long_key, message) == hmac.digest(long_key, message, hashlib.sha256)


@given(st.binary(max_size=200), st.binary(max_size=300))
def test_hmac_matches_the_stdlib(key, message):
    import hashlib
    import hmac

    from trent.crypto.kdf import hmac_sha256

    assert hmac_sha256(key, message) == hmac.digest(key, message, hashlib.sha256)
