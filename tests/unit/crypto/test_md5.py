"""StreamingMd5 (S3 ETags, Content-MD5): RFC 1321's test suite, pieces of any size, and a
digest that can be asked for twice (write_blob checks Content-MD5, then keeps the ETag)."""

from __future__ import annotations

import hashlib
import os

import pytest
from cryptography.exceptions import AlreadyFinalized

from trent.crypto.md5 import StreamingMd5

# RFC 1321 appendix A.5
RFC_1321 = [
    (b"", "d41d8cd98f00b204e9800998ecf8427e"),
    (b"a", "0cc175b9c0f1b6a831c399e269772661"),
    (b"abc", "900150983cd24fb0d6963f7d28e17f72"),
    (b"message digest", "f96b697d7cb7938d525a2f31aaf161d0"),
    (b"abcdefghijklmnopqrstuvwxyz", "c3fcd3d76192e4007dfb496cca67e13b"),
    (b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789", "d174ab98d277d9f5a5611c2c9f419d9f"),
    (b"1234567890" * 8, "57edf4a22be3c955ac49da2e2107b67a"),
]


@pytest.mark.parametrize(("message", "hex_digest"), RFC_1321)
def test_rfc_1321_suite(message: bytes, hex_digest: str) -> None:
    md5 = StreamingMd5()
    md5.update(message)
    assert md5.digest().hex() == hex_digest


def test_pieces_of_every_kind_give_the_whole_body_digest() -> None:
    body = os.urandom(3 * 65536 + 12345)
    md5 = StreamingMd5()
    view = memoryview(body)
    for start, end in [(0, 1), (1, 64), (64, 65536 + 7), (65536 + 7, 200000), (200000, len(body))]:
        piece = view[start:end]
        md5.update(bytearray(piece) if start % 2 else piece)
    assert md5.digest() == hashlib.md5(body).digest()


def test_digest_twice_is_the_same_and_no_update_follows() -> None:
    md5 = StreamingMd5()
    md5.update(b"object data")
    first = md5.digest()
    assert md5.digest() == first == hashlib.md5(b"object data").digest()
    with pytest.raises(AlreadyFinalized):
        md5.update(b"more")
