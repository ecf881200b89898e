"""Legacy reads (decrypt-only, behind enable_legacy_unauthenticated_modes): v1 objects (AES-CBC
content; data key wrapped by KMS ``kms`` mode or RFC 3394 ``AESWrap``) and v2 CBC objects.

No client at hand writes these any more (Amazon's Python client reads v1 but never wrote it),
so the objects are built here from client-wire-formats.md §4.2 with plain boto3 and pyca: a
self-consistency check of the legacy path, not an interop proof."""

from __future__ import annotations

import base64
import json
import os
from typing import Any

import pytest
from cryptography.hazmat.primitives import padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.keywrap import aes_key_wrap

from trent.s3ec import (
    CommitmentPolicy,
    KmsKeyring,
    LegacyRefused,
    RawAesKeyring,
    S3ecConfig,
    S3EncryptionClient,
)

from .conftest import KmsKey

WRAP = os.urandom(32)
POLICY = CommitmentPolicy.REQUIRE_ENCRYPT_ALLOW_DECRYPT


def cbc(key: bytes, iv: bytes, pt: bytes) -> bytes:
    p = padding.PKCS7(128).padder()
    e = Cipher(algorithms.AES(key), modes.CBC(iv)).encryptor()
    return e.update(p.update(pt) + p.finalize()) + e.finalize()


def b64(b: bytes) -> str:
    return base64.b64encode(b).decode()


@pytest.mark.parametrize("n", [0, 1, 15, 16, 17, 300_001])
def test_v1_aeswrap_and_v2_cbc(s3: Any, bucket: str, n: int) -> None:
    pt, dk, iv = os.urandom(n), os.urandom(32), os.urandom(16)
    s3.put_object(Bucket=bucket, Key="v1", Body=cbc(dk, iv, pt), Metadata={
        "x-amz-key": b64(aes_key_wrap(WRAP, dk)), "x-amz-wrap-alg": "AESWrap", "x-amz-iv": b64(iv),
        "x-amz-matdesc": "{}", "x-amz-unencrypted-content-length": str(n)})
    s3.put_object(Bucket=bucket, Key="v2cbc", Body=cbc(dk, iv, pt), Metadata={
        "x-amz-key-v2": b64(aes_key_wrap(WRAP, dk)), "x-amz-wrap-alg": "AESWrap", "x-amz-iv": b64(iv),
        "x-amz-cek-alg": "AES/CBC/PKCS5Padding", "x-amz-matdesc": "{}"})
    strict = S3EncryptionClient(s3, RawAesKeyring(WRAP), S3ecConfig(commitment_policy=POLICY))
    legacy = S3EncryptionClient(s3, RawAesKeyring(WRAP), S3ecConfig(commitment_policy=POLICY, read_size=4096,
                                                                     enable_legacy_unauthenticated_modes=True))
    for key in ("v1", "v2cbc"):
        with pytest.raises(LegacyRefused, match="enable legacy"):
            strict.get_object(bucket, key)
        assert legacy.get_object(bucket, key) == pt


def test_v1_kms_mode(s3: Any, bucket: str, kms_client: Any, kms_key: KmsKey) -> None:
    matdesc = {"kms_cmk_id": kms_key.arn}
    r = kms_client.generate_data_key(KeyId=kms_key.arn, KeySpec="AES_256", EncryptionContext=matdesc)
    pt, iv = b"legacy object " * 100, os.urandom(16)
    s3.put_object(Bucket=bucket, Key="v1kms", Body=cbc(r["Plaintext"], iv, pt), Metadata={
        "x-amz-key": b64(r["CiphertextBlob"]), "x-amz-wrap-alg": "kms", "x-amz-iv": b64(iv),
        "x-amz-matdesc": json.dumps(matdesc)})
    keyring = KmsKeyring(kms_key.arn, kms_client)
    with pytest.raises(LegacyRefused):
        S3EncryptionClient(s3, keyring, S3ecConfig(commitment_policy=POLICY)).get_object(bucket, "v1kms")
    legacy = S3EncryptionClient(s3, keyring, S3ecConfig(commitment_policy=POLICY, enable_legacy_unauthenticated_modes=True))
    assert legacy.get_object(bucket, "v1kms") == pt
