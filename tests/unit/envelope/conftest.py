"""Shared helpers: a raw AES keyring and the matching aws-encryption-sdk key provider."""

from __future__ import annotations

import pytest
from aws_encryption_sdk.identifiers import EncryptionKeyType, WrappingAlgorithm
from aws_encryption_sdk.internal.crypto.wrapping_keys import WrappingKey
from aws_encryption_sdk.key_providers.raw import RawMasterKeyProvider

from trent.envelope import RawAesKeyring

AES_KEY = bytes(range(32))
NAMESPACE = "trent-test"
KEY_NAME = "aes-key-1"


class SdkAesProvider(RawMasterKeyProvider):  # type: ignore[misc]
    provider_id = NAMESPACE

    def _get_raw_key(self, key_id: bytes) -> WrappingKey:
        return WrappingKey(
            wrapping_algorithm=WrappingAlgorithm.AES_256_GCM_IV12_TAG16_NO_PADDING,
            wrapping_key=AES_KEY,
            wrapping_key_type=EncryptionKeyType.SYMMETRIC,
        )


def sdk_aes_provider() -> SdkAesProvider:
    p = SdkAesProvider()
    p.add_master_key(KEY_NAME.encode())
    return p


@pytest.fixture
def keyring() -> RawAesKeyring:
    return RawAesKeyring(NAMESPACE, KEY_NAME, AES_KEY)
