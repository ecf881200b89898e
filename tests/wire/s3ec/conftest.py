"""S3EC wire tests: Trent's S3 Encryption Client and Amazon's, against a real moto S3 server
(subprocess) with a real Trent as the KMS (``kms_endpoint``), byte for byte."""

from __future__ import annotations

import json
import os
import subprocess
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.fixtures.moto_s3 import MotoS3, moto_s3_server

ROOT = Path(__file__).resolve().parents[3]
DRIVER = Path(__file__).with_name("amazon_driver.py")
#: Amazon's client lives in its own venv (Makefile target .venv-s3ec): it pins cryptography<49
AMAZON_PYTHON = Path(os.environ.get("TRENT_S3EC_AMAZON_PYTHON", ROOT / ".venv-s3ec/bin/python"))
#: moto accepts parts this small, so the client's part boundaries are crossed with small objects
MIN_PART = 1024


@dataclass(frozen=True)
class KmsKey:
    arn: str
    key_id: str
    alias: str


@pytest.fixture(scope="session")
def moto_s3() -> Iterator[MotoS3]:
    yield from moto_s3_server(MIN_PART)


@pytest.fixture(scope="session")
def s3(moto_s3: MotoS3) -> Any:
    return moto_s3.client()


@pytest.fixture()
def bucket(s3: Any) -> str:
    name = f"s3ec-{uuid.uuid4().hex[:16]}"
    s3.create_bucket(Bucket=name)
    return name


@pytest.fixture(scope="session")
def kms_client(kms_endpoint: Any) -> Any:
    return kms_endpoint.client()


@pytest.fixture(scope="session")
def kms_key(kms_client: Any) -> KmsKey:
    meta = kms_client.create_key(Description="s3ec wire test")["KeyMetadata"]
    alias = f"alias/s3ec-{uuid.uuid4().hex[:12]}"
    kms_client.create_alias(AliasName=alias, TargetKeyId=meta["KeyId"])
    return KmsKey(meta["Arn"], meta["KeyId"], alias)


@pytest.fixture(scope="session")
def other_kms_key(kms_client: Any) -> KmsKey:
    meta = kms_client.create_key(Description="s3ec wire test, the wrong key")["KeyMetadata"]
    return KmsKey(meta["Arn"], meta["KeyId"], "")


class Amazon:
    """Runs a batch of operations with Amazon's client in one subprocess."""

    def __init__(self, moto: MotoS3, kms: Any) -> None:
        self.plan = {"s3": {"endpoint_url": moto.endpoint_url, "region": moto.region},
                     "kms": {"endpoint_url": kms.endpoint_url, "region": kms.region}}
        self.env = dict(os.environ, AWS_ACCESS_KEY_ID=kms.access_key_id, AWS_SECRET_ACCESS_KEY=kms.secret_access_key,
                        AWS_DEFAULT_REGION=kms.region)
        for k in ("AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL_KMS"):
            self.env.pop(k, None)

    def run(self, ops: list[dict[str, Any]]) -> list[dict[str, Any]]:
        r = subprocess.run([str(AMAZON_PYTHON), str(DRIVER)], input=json.dumps({**self.plan, "ops": ops}).encode(),
                           capture_output=True, env=self.env, timeout=600)
        assert r.returncode == 0, r.stderr.decode()
        results = json.loads(r.stdout)
        assert len(results) == len(ops)
        return results


@pytest.fixture(scope="session")
def amazon(moto_s3: MotoS3, kms_endpoint: Any) -> Amazon:
    if not AMAZON_PYTHON.exists():
        pytest.fail(f"{AMAZON_PYTHON} is missing: `make .venv-s3ec/.installed-stamp` installs Amazon's client")
    return Amazon(moto_s3, kms_endpoint)
