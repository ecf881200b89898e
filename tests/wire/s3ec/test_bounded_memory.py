"""Constant memory: a 192 MiB file (24 parts of the default 8 MiB) goes up and comes back in a
process whose peak RSS stays under 64 MiB — Python, boto3 (S3 and KMS clients) and OpenSSL
included, ~58 MiB of it before the first byte moves. The 5 GiB case is run by
bench/s3ec_throughput.py --rss (too slow for the suite on moto)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from tests.fixtures.moto_s3 import MotoS3

from .conftest import KmsKey
from .rss_child import generate

SIZE = 192 << 20
LIMIT = 64 << 20


def test_upload_and_download_in_bounded_memory(moto_s3: MotoS3, kms_endpoint: Any, kms_key: KmsKey, bucket: str,
                                               tmp_path: Path) -> None:
    source_sha256 = generate(str(tmp_path / "plain"), SIZE)
    env = dict(os.environ, AWS_ACCESS_KEY_ID="test", AWS_SECRET_ACCESS_KEY="test", AWS_DEFAULT_REGION=kms_endpoint.region)
    for k in ("AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL_KMS"):
        env.pop(k, None)
    r = subprocess.run([sys.executable, str(Path(__file__).with_name("rss_child.py")), moto_s3.endpoint_url,
                        kms_endpoint.endpoint_url, kms_key.arn, bucket, str(SIZE), str(tmp_path)],
                       capture_output=True, text=True, env=env, timeout=600)
    assert r.returncode == 0, r.stderr
    result = json.loads(r.stdout)
    assert result["download_sha256"] == source_sha256
    assert result["peak_rss"] <= LIMIT, f"peak RSS {result['peak_rss'] / 2**20:.1f} MiB"
    # what the transfer itself adds (measured: ~1.4 MiB; the part size is 8 MiB)
    assert result["peak_rss"] - result["rss_with_clients"] <= 4 << 20
