"""Drive Amazon's S3 Encryption Client (amazon-s3-encryption-client-python 4.0.0) for the
interop tests and the benchmark. Runs in .venv-s3ec (its cryptography<49 pin does not fit
Trent's venv), as ``python amazon_driver.py < plan.json > results.json``.

Plan: {"s3": {endpoint_url, region}, "kms": {endpoint_url, region}, "ops": [...]}; each op
{"op": "put"|"get", "bucket", "key", "file", "format": "v2"|"v3", "keyring": {...},
"context": {...}, "chunk": int|null (put: multipart upload_file with this part size)}.
Credentials come from the environment. Results: one {"ok", "error", "seconds"} per op;
``get`` writes the plaintext to "file" only after Amazon's client returned it.

Keyrings: {"kind": "kms", "key_id": ...} is Amazon's KmsKeyring. {"kind": "aes", "key_hex"}
is a *test-side* raw AES keyring: Amazon's Python client ships none (and its put pipeline
labels every object kms+context, so it cannot write raw-keyring objects at all). It is
written from client-wire-formats.md §4.2 and only plugs into Amazon's *decrypt* pipeline,
which still does the metadata parsing, version detection, commitment check and content
decryption — the key unwrap is the only step not Amazon's own code.
"""

from __future__ import annotations

import json
import sys
import time
import traceback

import boto3
from botocore.config import Config
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from s3_encryption import S3EncryptionClient, S3EncryptionClientConfig
from s3_encryption.exceptions import S3EncryptionClientError
from s3_encryption.materials.keyring import S3Keyring
from s3_encryption.materials.kms_keyring import KmsKeyring
from s3_encryption.materials.materials import AlgorithmSuite, CommitmentPolicy

_AAD = {AlgorithmSuite.ALG_AES_256_GCM_HKDF_SHA512_COMMIT_KEY: b"115",
        AlgorithmSuite.ALG_AES_256_GCM_IV12_TAG16_NO_KDF: b"AES/GCM/NoPadding"}


class SpecAesKeyring(S3Keyring):
    """Decrypt-only AES/GCM unwrap (§4.2): EDK = IV(12) ‖ ct ‖ tag, AAD = cek-alg value."""

    def __init__(self, key: bytes, aad: bytes) -> None:
        # Amazon's pipeline sets materials.algorithm_suite only after the keyring ran, so the
        # plan's format names the suite (and so the AAD) the object was written with.
        self._aead, self._aad = AESGCM(key), aad

    def on_encrypt(self, enc_materials):  # noqa: ANN001
        raise S3EncryptionClientError("test keyring is decrypt-only")

    def on_decrypt(self, dec_materials, encrypted_data_keys=None):  # noqa: ANN001
        dec_materials = super().on_decrypt(dec_materials, encrypted_data_keys)
        edk = dec_materials.encrypted_data_keys[0]
        if edk.key_provider_info != "AES/GCM":
            raise S3EncryptionClientError(f"not an AES/GCM key: {edk.key_provider_info}")
        blob = edk.encrypted_data_key
        dec_materials.plaintext_data_key = self._aead.decrypt(blob[:12], blob[12:], self._aad)
        return dec_materials


def peak_rss() -> int:
    with open("/proc/self/status") as f:
        return next(int(line.split()[1]) * 1024 for line in f if line.startswith("VmHWM:"))


def s3_config(plan: dict) -> Config | None:
    """The benchmark's "lean" S3 client (the same for every client it measures): no SHA-256
    payload signing over http, checksums only where S3 requires them."""
    if not plan["s3"].get("lean"):
        return None
    return Config(s3={"payload_signing_enabled": False}, request_checksum_calculation="when_required",
                  response_checksum_validation="when_required")


def client(plan: dict, op: dict) -> S3EncryptionClient:
    s3 = boto3.client("s3", endpoint_url=plan["s3"]["endpoint_url"], region_name=plan["s3"]["region"],
                      config=s3_config(plan))
    v3 = op.get("format", "v3") == "v3"
    suite = (AlgorithmSuite.ALG_AES_256_GCM_HKDF_SHA512_COMMIT_KEY if v3
             else AlgorithmSuite.ALG_AES_256_GCM_IV12_TAG16_NO_KDF)
    policy = (CommitmentPolicy.REQUIRE_ENCRYPT_REQUIRE_DECRYPT if v3
              else CommitmentPolicy.FORBID_ENCRYPT_ALLOW_DECRYPT)
    kr = op["keyring"]
    if kr["kind"] == "kms":
        kms = boto3.client("kms", endpoint_url=plan["kms"]["endpoint_url"], region_name=plan["kms"]["region"])
        keyring = KmsKeyring(kms, kr["key_id"])
    else:
        keyring = SpecAesKeyring(bytes.fromhex(kr["key_hex"]), _AAD[suite])
    return S3EncryptionClient(s3, S3EncryptionClientConfig(keyring, encryption_algorithm=suite, commitment_policy=policy))


def run(plan: dict, op: dict) -> tuple[float, float]:
    """Runs one op; returns (wall, CPU) seconds (the client is built before the clocks start)."""
    c = client(plan, op)
    t, cpu = time.perf_counter(), time.process_time()
    ctx = op.get("context") or None
    if op["op"] == "put":
        if op.get("chunk"):
            kw = {"EncryptionContext": ctx} if ctx else {}
            c.upload_file(op["file"], op["bucket"], op["key"], multipart_threshold=op["chunk"],
                          multipart_chunksize=op["chunk"], **kw)
        else:
            with open(op["file"], "rb") as f:
                body = f.read()
            kw = {"EncryptionContext": ctx} if ctx else {}
            c.put_object(Bucket=op["bucket"], Key=op["key"], Body=body, **kw)
    elif op["op"] == "get":
        kw = {"EncryptionContext": ctx} if ctx else {}
        data = c.get_object(Bucket=op["bucket"], Key=op["key"], **kw)["Body"].read()
        with open(op["file"], "wb") as f:
            f.write(data)
    else:
        raise ValueError(op["op"])
    return time.perf_counter() - t, time.process_time() - cpu


def main() -> None:
    plan = json.load(sys.stdin)
    results = []
    for op in plan["ops"]:
        try:
            seconds, cpu = run(plan, op)
            results.append({"ok": True, "seconds": seconds, "cpu_seconds": cpu, "peak_rss": peak_rss()})
        except Exception as e:  # reported, not raised: the test decides
            results.append({"ok": False, "error": f"{type(e).__name__}: {e}",
                            "trace": traceback.format_exc(limit=3)})
    json.dump(results, sys.stdout)


if __name__ == "__main__":
    main()
