"""Encrypted parts leave in 256 KiB sends (send_blocks.py), over a real boto3 client and a real
S3 server, and the bytes are the same as before: the object decrypts to the source."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Any

import boto3
import pytest

from tests.fixtures.moto_s3 import MotoS3
from trent.s3ec import RawAesKeyring, S3ecConfig, S3EncryptionClient
from trent.s3ec import file_parts
from trent.s3ec.send_blocks import SEND_BLOCK, widen_send_blocks

WRAP = bytes(range(32))


def _fresh_s3(moto_s3: MotoS3) -> Any:
    # a client no other test has touched: its pools still have urllib3's 16 KiB default
    return boto3.client("s3", endpoint_url=moto_s3.endpoint_url, region_name="us-east-1",
                        aws_access_key_id="test", aws_secret_access_key="test")


def test_parts_are_read_in_send_blocks_and_round_trip(moto_s3: MotoS3, bucket: str, tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    asked: list[int] = []
    real_read = file_parts.EncryptingPart.read

    def spy(self: file_parts.EncryptingPart, size: int = -1) -> bytearray:
        asked.append(size)
        return real_read(self, size)

    monkeypatch.setattr(file_parts.EncryptingPart, "read", spy)
    s3 = _fresh_s3(moto_s3)
    size = 11 * (1 << 20) + 12345  # 3 parts of 5 MiB, the last one short and not block-aligned
    src = tmp_path / "plain"
    src.write_bytes(os.urandom(size))
    client = S3EncryptionClient(s3, RawAesKeyring(WRAP), S3ecConfig(part_size=5 << 20))
    client.upload_file(src, bucket, "blocks")
    # urllib3 asks for the pool's block size (16384 without send_blocks.py); botocore's default
    # configuration also reads each part once in 1 MiB steps for its CRC32 checksum
    assert SEND_BLOCK in asked and min(asked) >= SEND_BLOCK
    client.download_file(bucket, "blocks", tmp_path / "back")
    assert hashlib.sha256((tmp_path / "back").read_bytes()).digest() == hashlib.sha256(src.read_bytes()).digest()


def test_unknown_http_session_is_left_alone() -> None:
    class NotBotocore:
        pass

    assert widen_send_blocks(NotBotocore()) is False
    assert widen_send_blocks(object()) is False
