"""S3's flexible checksums (trent/crypto/checksums.py) against two independent references: the
CRC catalogue's check values (the CRC of the nine ASCII bytes "123456789", from Greg Cook's
"Catalogue of parametrised CRC algorithms", the source crc-catalog and awscrt cite) and the AWS
common runtime, which botocore uses to compute the same checksums on the client side."""

from __future__ import annotations

import base64
import os

import pytest
from awscrt import checksums as crt

from trent import errors
from trent.crypto.checksums import Checksum, checksum_of

CHECK = b"123456789"
CATALOGUE = {"crc32": 0xCBF43926, "crc32c": 0xE3069283, "crc64nvme": 0xAE8B14860A799888}
CRT = {"crc32": crt.crc32, "crc32c": crt.crc32c, "crc64nvme": crt.crc64nvme}
WIDTH = {"crc32": 4, "crc32c": 4, "crc64nvme": 8}


@pytest.mark.parametrize("algorithm", sorted(CATALOGUE))
def test_catalogue_check_values(algorithm: str) -> None:
    want = CATALOGUE[algorithm].to_bytes(WIDTH[algorithm], "big")
    assert base64.b64decode(checksum_of(algorithm, CHECK)) == want


@pytest.mark.parametrize("algorithm", sorted(CRT))
@pytest.mark.parametrize("size", [0, 1, 7, 8, 4096, (1 << 20) + 3])
def test_incremental_updates_agree_with_the_aws_common_runtime(algorithm: str, size: int) -> None:
    data = os.urandom(size)
    want = CRT[algorithm](data, 0).to_bytes(WIDTH[algorithm], "big")
    for cuts in ([], [size // 3], [1, size // 2, size - 1]):
        c = Checksum(algorithm)
        start = 0
        for cut in [*sorted(x for x in cuts if 0 <= x <= size), size]:
            c.update(memoryview(data)[start:cut])
            start = cut
        assert base64.b64decode(c.b64digest()) == want, cuts


def test_a_wrong_checksum_is_bad_digest_naming_the_algorithm() -> None:
    c = Checksum("crc64nvme")
    c.update(b"data")
    with pytest.raises(errors.BadDigest, match="The CRC64NVME you specified did not match"):
        c.verify(checksum_of("crc64nvme", b"other"))
