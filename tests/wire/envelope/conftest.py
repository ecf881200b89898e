"""Envelope wire tests: Trent's envelope library and the aws-encryption-sdk, both using a
running KMS endpoint (the ``kms_endpoint`` fixture from tests/fixtures/trent_server.py, a real
Trent). Keys are created with standard boto3 calls so any AWS-KMS-compatible endpoint works."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import aws_encryption_sdk as sdk
import botocore.session
import pytest
from aws_encryption_sdk.identifiers import CommitmentPolicy


@dataclass(frozen=True)
class KmsKey:
    arn: str
    key_id: str
    alias: str


@pytest.fixture(scope="session")
def kms_client(kms_endpoint: Any) -> Any:
    return kms_endpoint.client()


def _new_key(client: Any) -> KmsKey:
    meta = client.create_key(Description="envelope wire test")["KeyMetadata"]
    alias = f"alias/envelope-{uuid.uuid4().hex[:12]}"
    client.create_alias(AliasName=alias, TargetKeyId=meta["KeyId"])
    return KmsKey(meta["Arn"], meta["KeyId"], alias)


@pytest.fixture(scope="session")
def key1(kms_client: Any) -> KmsKey:
    return _new_key(kms_client)


@pytest.fixture(scope="session")
def key2(kms_client: Any) -> KmsKey:
    return _new_key(kms_client)


@pytest.fixture()
def sdk_env(kms_endpoint: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[botocore.session.Session]:
    """Point the SDK's own boto clients at the endpoint (botocore honours AWS_ENDPOINT_URL_KMS)."""
    monkeypatch.setenv("AWS_ENDPOINT_URL_KMS", kms_endpoint.endpoint_url)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", kms_endpoint.access_key_id)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", kms_endpoint.secret_access_key)
    monkeypatch.setenv("AWS_DEFAULT_REGION", kms_endpoint.region)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    yield botocore.session.Session()


@pytest.fixture()
def sdk_client() -> sdk.EncryptionSDKClient:
    return sdk.EncryptionSDKClient(commitment_policy=CommitmentPolicy.REQUIRE_ENCRYPT_REQUIRE_DECRYPT)
