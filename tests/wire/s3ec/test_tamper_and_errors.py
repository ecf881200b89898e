"""Tampering with ciphertext, tag, metadata, key commitment or instruction file is detected by
Trent's client and by Amazon's; wrong key, wrong context, missing metadata and policy refusals
are clear errors; a failed download leaves nothing on disk."""

from __future__ import annotations

import base64
import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from trent.s3ec import (
    ContextMismatch,
    DecryptionFailed,
    KeyringError,
    KmsKeyring,
    LegacyRefused,
    NotEncrypted,
    RawAesKeyring,
    S3ecError,
    S3EncryptionClient,
)

from .conftest import Amazon, KmsKey
from .test_amazon_interop import AES_KEY, CONTEXT, P, trent_client

DATA = os.urandom(3 * P + 5)  # a multipart object


def _flip(b: bytes, i: int) -> bytes:
    out = bytearray(b)
    out[i] ^= 1
    return bytes(out)


def _b64_flip(text: str) -> str:
    return base64.b64encode(_flip(base64.b64decode(text), 0)).decode()


def tampered_copy(s3: Any, bucket: str, src: str, dst: str, *, body: Callable[[bytes], bytes] = lambda b: b,
                  meta: Callable[[dict[str, str]], dict[str, str]] = lambda m: m) -> None:
    r = s3.get_object(Bucket=bucket, Key=src)
    s3.put_object(Bucket=bucket, Key=dst, Body=body(r["Body"].read()), Metadata=meta(dict(r["Metadata"])))


def _with(key: str, value: str) -> Callable[[dict[str, str]], dict[str, str]]:
    return lambda m: {**m, key: value}


def _ctx_changed(m: dict[str, str]) -> dict[str, str]:
    return {**m, "x-amz-t": json.dumps({**json.loads(m["x-amz-t"]), "team": "mallory"})}


CASES: dict[str, dict[str, Any]] = {
    "ciphertext": {"body": lambda b: _flip(b, P + 7)},
    "tag": {"body": lambda b: _flip(b, len(b) - 1)},
    "truncated": {"body": lambda b: b[:-1]},
    "appended": {"body": lambda b: b + b"\0"},
    "commitment": {"meta": lambda m: {**m, "x-amz-d": _b64_flip(m["x-amz-d"])}},
    "message-id": {"meta": lambda m: {**m, "x-amz-i": _b64_flip(m["x-amz-i"])}},
    "cipher-id": {"meta": _with("x-amz-c", "114")},
    "wrap-alg": {"meta": _with("x-amz-w", "13")},
    "mixed-versions": {"meta": _with("x-amz-key-v2", "AAAA")},
}


def test_tampering_detected_by_both(s3: Any, bucket: str, kms_client: Any, kms_key: KmsKey, amazon: Amazon,
                                    tmp_path: Path) -> None:
    trent = trent_client(s3, kms_client, kms_key, "v3")
    trent.upload_fileobj(__import__("io").BytesIO(DATA), bucket, "orig", size=len(DATA), encryption_context=CONTEXT)
    assert trent.get_object(bucket, "orig", encryption_context=CONTEXT) == DATA
    for name, how in CASES.items():
        tampered_copy(s3, bucket, "orig", name, **how)
    tampered_copy(s3, bucket, "orig", "kms-context", meta=_ctx_changed)
    tampered_copy(s3, bucket, "orig", "data-key", meta=lambda m: {**m, "x-amz-3": _b64_flip(m["x-amz-3"])})

    for name in CASES:
        with pytest.raises(DecryptionFailed) as e:
            trent.get_object(bucket, name, encryption_context=CONTEXT)
        assert str(e.value) == "message could not be decrypted", name
        out = tmp_path / name
        with pytest.raises(DecryptionFailed):
            trent.download_file(bucket, name, out, encryption_context=CONTEXT)
        assert not out.exists()
    # the wrapped data key and the stored context are what KMS authenticates: KMS refuses
    with pytest.raises(KeyringError, match="InvalidCiphertextException"):
        trent.get_object(bucket, "kms-context", encryption_context={**CONTEXT, "team": "mallory"})
    with pytest.raises(KeyringError, match="InvalidCiphertextException"):
        trent.get_object(bucket, "data-key", encryption_context=CONTEXT)
    assert sorted(p.name for p in tmp_path.iterdir()) == []  # no partial plaintext, no temp files

    names = [*CASES, "kms-context", "data-key"]
    ops = [{"op": "get", "bucket": bucket, "key": n, "file": str(tmp_path / f"amz-{n}"), "format": "v3",
            "keyring": {"kind": "kms", "key_id": kms_key.arn},
            "context": {**CONTEXT, "team": "mallory"} if n == "kms-context" else CONTEXT} for n in ["orig", *names]]
    results = amazon.run(ops)
    assert results[0]["ok"], results[0]
    for n, r in zip(names, results[1:], strict=True):
        assert not r["ok"], f"Amazon's client accepted the '{n}' tampering"


def test_amazon_object_tampering_detected_by_trent(s3: Any, bucket: str, kms_client: Any, kms_key: KmsKey,
                                                   amazon: Amazon, tmp_path: Path) -> None:
    src = tmp_path / "src"
    src.write_bytes(DATA)
    [r] = amazon.run([{"op": "put", "bucket": bucket, "key": "amz", "file": str(src), "format": "v3",
                       "keyring": {"kind": "kms", "key_id": kms_key.arn}, "context": CONTEXT}])
    assert r["ok"], r
    trent = trent_client(s3, kms_client, kms_key, "v3")
    assert trent.get_object(bucket, "amz", encryption_context=CONTEXT) == DATA
    for name, how in CASES.items():
        tampered_copy(s3, bucket, "amz", f"amz-{name}", **how)
        with pytest.raises(DecryptionFailed):
            trent.get_object(bucket, f"amz-{name}", encryption_context=CONTEXT)


def test_instruction_file_tampering(s3: Any, bucket: str, kms_client: Any, kms_key: KmsKey, amazon: Amazon,
                                    tmp_path: Path) -> None:
    trent = trent_client(s3, kms_client, kms_key, "v3", instruction_file=True)
    trent.put_object(bucket, "obj", DATA[:1000], encryption_context=CONTEXT)
    inst = json.loads(s3.get_object(Bucket=bucket, Key="obj.instruction")["Body"].read())
    assert set(inst) == {"x-amz-3", "x-amz-w", "x-amz-t"}
    variants = {
        "content-keys-in-file": {**inst, "x-amz-c": "115"},  # v3 content keys belong to the object
        "v2-injected": {"x-amz-key-v2": inst["x-amz-3"], "x-amz-wrap-alg": "kms+context",
                        "x-amz-cek-alg": "AES/GCM/NoPadding", "x-amz-iv": "AAAAAAAAAAAAAAAA",
                        "x-amz-matdesc": inst["x-amz-t"]},  # downgrade attempt: v2 keys beside x-amz-c/d/i
        "unknown-member": {**inst, "x-amz-evil": "1"},
        "not-json": None,
    }
    obj = s3.get_object(Bucket=bucket, Key="obj")
    body, meta = obj["Body"].read(), obj["Metadata"]
    for name, content in variants.items():
        s3.put_object(Bucket=bucket, Key=name, Body=body, Metadata=meta)
        s3.put_object(Bucket=bucket, Key=f"{name}.instruction",
                      Body=b"{not json" if content is None else json.dumps(content).encode())
        with pytest.raises(DecryptionFailed):
            trent.get_object(bucket, name, encryption_context=CONTEXT)
    results = amazon.run([{"op": "get", "bucket": bucket, "key": n, "file": str(tmp_path / n), "format": "v3",
                           "keyring": {"kind": "kms", "key_id": kms_key.arn}, "context": CONTEXT}
                          for n in ["obj", *variants]])
    assert results[0]["ok"], results[0]
    assert [r["ok"] for r in results[1:]] == [False] * len(variants)


def test_clear_errors(s3: Any, bucket: str, kms_client: Any, kms_key: KmsKey, other_kms_key: KmsKey,
                      tmp_path: Path) -> None:
    trent = trent_client(s3, kms_client, kms_key, "v3")
    trent.put_object(bucket, "obj", b"secret", encryption_context=CONTEXT)
    with pytest.raises(ContextMismatch, match="does not match"):
        trent.get_object(bucket, "obj", encryption_context={"team": "s3ec"})
    with pytest.raises(ContextMismatch):
        trent.get_object(bucket, "obj")
    wrong = S3EncryptionClient(s3, KmsKeyring(other_kms_key.arn, kms_client))
    with pytest.raises(KeyringError, match="IncorrectKeyException"):
        wrong.get_object(bucket, "obj", encryption_context=CONTEXT)
    s3.put_object(Bucket=bucket, Key="plain", Body=b"not encrypted")
    with pytest.raises(NotEncrypted, match=r"no S3 Encryption Client metadata and no instruction file \(plain.instruction\)"):
        trent.get_object(bucket, "plain")
    assert trent.head_object(bucket, "plain").metadata is None
    with pytest.raises(LegacyRefused, match="ranged reads"):
        trent.get_object(bucket, "obj", encryption_context=CONTEXT, range=(0, 1))
    with pytest.raises(Exception, match="reserved"):
        trent.put_object(bucket, "x", b"", encryption_context={"aws:x-amz-cek-alg": "115"})

    aes = S3EncryptionClient(s3, RawAesKeyring(AES_KEY))
    aes.put_object(bucket, "aes", b"secret")
    with pytest.raises(DecryptionFailed):
        S3EncryptionClient(s3, RawAesKeyring(bytes(32))).get_object(bucket, "aes")

    v2 = trent_client(s3, kms_client, kms_key, "v2")
    v2.put_object(bucket, "v2", b"old format", encryption_context=CONTEXT)
    with pytest.raises(S3ecError, match="without key commitment"):
        trent.get_object(bucket, "v2", encryption_context=CONTEXT)
    assert v2.get_object(bucket, "v2", encryption_context=CONTEXT) == b"old format"

    trent.delete_object(bucket, "obj")
    assert "Contents" not in s3.list_objects_v2(Bucket=bucket, Prefix="obj")
