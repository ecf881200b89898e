"""Objects written by Trent decrypt with Amazon's S3 Encryption Client and the other way round,
byte for byte, on a moto S3 server with Trent as the KMS (client-wire-formats.md §4.2).

Sizes cross every boundary of Trent's code: 0, the GCM block (16), the download read size
(R), the multipart part size (P, parts of P + the tag on the last), several parts. Amazon's
side has no boundaries of its own below its 5 MiB minimum part (it encrypts and decrypts
one-shot), so its multipart objects are checked at 2 x 5 MiB + 1.
"""

from __future__ import annotations

import io
import os
from pathlib import Path
from typing import Any

import pytest

from trent.s3ec import (
    CommitmentPolicy,
    FormatVersion,
    KmsKeyring,
    RawAesKeyring,
    S3ecConfig,
    S3EncryptionClient,
)

from .conftest import Amazon, KmsKey

R = 16 * 1024  # Trent's read size in these tests
P = 64 * 1024  # Trent's part size in these tests
SIZES = [0, 1, 15, 16, 17, R - 1, R, R + 1, P - 1, P, P + 1, 2 * P, 2 * P + 1, 3 * P + 17]
CONTEXT = {"team": "s3ec", "purpose": "interop"}
AES_KEY = bytes(range(32))


def policy(fmt: str) -> CommitmentPolicy:
    return (CommitmentPolicy.REQUIRE_ENCRYPT_REQUIRE_DECRYPT if fmt == "v3"
            else CommitmentPolicy.FORBID_ENCRYPT_ALLOW_DECRYPT)


def trent_client(s3: Any, kms_client: Any, key: KmsKey | None, fmt: str, *, instruction_file: bool = False,
                 **cfg: Any) -> S3EncryptionClient:
    keyring = KmsKeyring(key.arn, kms_client) if key else RawAesKeyring(AES_KEY, material_description={"kid": "k1"})
    config = S3ecConfig(format=FormatVersion(int(fmt[1])), commitment_policy=policy(fmt),
                        instruction_file=instruction_file, part_size=P, read_size=R, **cfg)
    return S3EncryptionClient(s3, keyring, config)


def payload(n: int) -> bytes:
    return os.urandom(n)


@pytest.mark.parametrize("storage", ["metadata", "instruction"])
@pytest.mark.parametrize("kind", ["kms", "aes"])
@pytest.mark.parametrize("fmt", ["v3", "v2"])
def test_trent_writes_amazon_reads(fmt: str, kind: str, storage: str, s3: Any, bucket: str, kms_client: Any,
                                   kms_key: KmsKey, amazon: Amazon, tmp_path: Path) -> None:
    c = trent_client(s3, kms_client, kms_key if kind == "kms" else None, fmt, instruction_file=storage == "instruction")
    ctx = CONTEXT if kind == "kms" else {}
    keyring = {"kind": "kms", "key_id": kms_key.arn} if kind == "kms" else {"kind": "aes", "key_hex": AES_KEY.hex()}
    expected: dict[str, bytes] = {}
    for n in SIZES:
        data = payload(n)
        expected[f"known-{n}"] = data
        c.upload_fileobj(io.BytesIO(data), bucket, f"known-{n}", size=n, encryption_context=ctx)
    for n in (0, P - 1, P, 2 * P + 1):  # size unknown: a pipe, read one byte ahead per part
        data = payload(n)
        expected[f"pipe-{n}"] = data
        c.upload_fileobj(io.BufferedReader(io.BytesIO(data)), bucket, f"pipe-{n}", encryption_context=ctx)
    expected["put"] = data = payload(R + 3)
    c.put_object(bucket, "put", data, encryption_context=ctx)

    if storage == "instruction":  # the data key is in <key>.instruction, not in the metadata
        meta = s3.head_object(Bucket=bucket, Key="put")["Metadata"]
        assert not {"x-amz-key-v2", "x-amz-3"} & set(meta)
        assert s3.head_object(Bucket=bucket, Key="put.instruction")["Metadata"] == {"x-amz-crypto-instr-file": ""}
    ops = [{"op": "get", "bucket": bucket, "key": k, "file": str(tmp_path / k), "format": fmt,
            "keyring": keyring, "context": ctx} for k in expected]
    results = amazon.run(ops)
    for (k, data), r in zip(expected.items(), results, strict=True):
        assert r["ok"], (k, r)
        assert (tmp_path / k).read_bytes() == data, k


@pytest.mark.parametrize("fmt", ["v3", "v2"])
def test_amazon_writes_trent_reads(fmt: str, s3: Any, bucket: str, kms_client: Any, kms_key: KmsKey,
                                   amazon: Amazon, tmp_path: Path) -> None:
    keyring = {"kind": "kms", "key_id": kms_key.arn}
    expected: dict[str, tuple[bytes, dict[str, str]]] = {}
    ops = []
    for n in SIZES:
        for ctx in ({}, CONTEXT):
            k = f"amz-{n}-{len(ctx)}"
            src = tmp_path / k
            src.write_bytes(payload(n))
            expected[k] = (src.read_bytes(), ctx)
            ops.append({"op": "put", "bucket": bucket, "key": k, "file": str(src), "format": fmt,
                        "keyring": keyring, "context": ctx})
    big = 2 * (5 << 20) + 1  # Amazon's upload_file: 5 MiB parts (its minimum), 3 parts
    (tmp_path / "amz-multipart").write_bytes(payload(big))
    expected["amz-multipart"] = ((tmp_path / "amz-multipart").read_bytes(), CONTEXT)
    ops.append({"op": "put", "bucket": bucket, "key": "amz-multipart", "file": str(tmp_path / "amz-multipart"),
                "format": fmt, "keyring": keyring, "context": CONTEXT, "chunk": 5 << 20})
    assert all(r["ok"] for r in amazon.run(ops)), "Amazon's client failed to write"

    by_arn = trent_client(s3, kms_client, kms_key, fmt, enable_legacy_unauthenticated_modes=True)
    discovery = S3EncryptionClient(s3, KmsKeyring(None, kms_client),
                                   S3ecConfig(format=FormatVersion(int(fmt[1])), commitment_policy=policy(fmt), read_size=R))
    for k, (data, ctx) in expected.items():
        assert by_arn.get_object(bucket, k, encryption_context=ctx) == data, k
        assert discovery.get_object(bucket, k, encryption_context=ctx) == data, k
        out = tmp_path / f"{k}.out"
        assert by_arn.download_file(bucket, k, out, encryption_context=ctx) == len(data)
        assert out.read_bytes() == data, k
        info = by_arn.head_object(bucket, k)
        assert info.metadata is not None and info.metadata.version == FormatVersion(int(fmt[1]))
        assert info.plaintext_length == len(data)
        n = len(data)
        for first, last in ((0, 0), (1, 17), (15, 16), (R - 1, R + 16), (n // 2, None), (n - 1, n + 100)):
            if n and first < n and (last is None or last >= first):
                want = data[first:None if last is None else last + 1]
                assert by_arn.get_object(bucket, k, encryption_context=ctx, range=(first, last)) == want, (k, first, last)
