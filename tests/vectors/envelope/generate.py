"""Regenerate the envelope known-answer vectors (see README.md). Run from the repo root:

    .venv/bin/python tests/vectors/envelope/generate.py

1. aws-encryption-sdk writes one message per algorithm suite (v1 suites framed and, once,
   non-framed); each is decrypted again by the SDK before it is saved.
2. Trent writes one fully deterministic 0x0478 message (fixed data key, message ID and
   wrapping IV via the ``rng``/``message_id`` parameters); the SDK must decrypt it.
"""

from __future__ import annotations

import json
from importlib.metadata import version
from pathlib import Path

import aws_encryption_sdk as sdk
from aws_encryption_sdk.identifiers import Algorithm, CommitmentPolicy, EncryptionKeyType, WrappingAlgorithm
from aws_encryption_sdk.internal.crypto.wrapping_keys import WrappingKey
from aws_encryption_sdk.key_providers.raw import RawMasterKeyProvider

HERE = Path(__file__).parent
KEY = bytes(range(32))
NAMESPACE = "trent-vectors"
KEY_NAME = "aes-256-key"
PLAINTEXT = bytes(range(256)) + b"Trent envelope vectors\n" * 3  # 325 bytes
CONTEXT = {"purpose": "known-answer", "lang": "python"}


class Provider(RawMasterKeyProvider):  # type: ignore[misc]
    provider_id = NAMESPACE

    def _get_raw_key(self, key_id: bytes) -> WrappingKey:
        return WrappingKey(wrapping_algorithm=WrappingAlgorithm.AES_256_GCM_IV12_TAG16_NO_PADDING,
                           wrapping_key=KEY, wrapping_key_type=EncryptionKeyType.SYMMETRIC)


def provider() -> Provider:
    p = Provider()
    p.add_master_key(KEY_NAME.encode())
    return p


def counter_rng() -> object:
    state = {"n": 0}

    def rng(n: int) -> bytes:
        out = bytes((state["n"] + i) % 256 for i in range(n))
        state["n"] += n
        return out

    return rng


def trent_deterministic() -> bytes:
    from trent import envelope as ev

    kr = ev.RawAesKeyring(NAMESPACE, KEY_NAME, KEY, rng=counter_rng())  # type: ignore[arg-type]
    return ev.encrypt(PLAINTEXT, keyring=kr, suite=ev.suite_by_id(0x0478), frame_length=100,
                      encryption_context=CONTEXT, message_id=bytes(range(100, 132))).ciphertext


def main() -> None:
    manifest = {"sdk": f"aws-encryption-sdk {version('aws-encryption-sdk')}", "key_hex": KEY.hex(),
                "namespace": NAMESPACE, "key_name": KEY_NAME, "plaintext_file": "plaintext.bin",
                "encryption_context": CONTEXT, "vectors": []}
    (HERE / "plaintext.bin").write_bytes(PLAINTEXT)
    for alg in Algorithm:
        committing = alg.is_committing()
        policy = (CommitmentPolicy.REQUIRE_ENCRYPT_REQUIRE_DECRYPT if committing
                  else CommitmentPolicy.FORBID_ENCRYPT_ALLOW_DECRYPT)
        client = sdk.EncryptionSDKClient(commitment_policy=policy)
        for frame in ([128] if committing else [128, 0]):
            if frame == 0 and alg.algorithm_id != 0x0378:
                continue
            ct, _ = client.encrypt(source=PLAINTEXT, key_provider=provider(), algorithm=alg,
                                   frame_length=frame, encryption_context=CONTEXT)
            pt, _ = sdk.EncryptionSDKClient(
                commitment_policy=CommitmentPolicy.REQUIRE_ENCRYPT_ALLOW_DECRYPT).decrypt(
                source=ct, key_provider=provider())
            assert pt == PLAINTEXT
            name = f"sdk-{alg.algorithm_id:04x}-frame{frame}.bin"
            (HERE / name).write_bytes(ct)
            manifest["vectors"].append({"file": name, "writer": "aws-encryption-sdk", "suite": f"0x{alg.algorithm_id:04X}",
                                        "frame_length": frame, "committing": committing})
    ct = trent_deterministic()
    pt, _ = sdk.EncryptionSDKClient().decrypt(source=ct, key_provider=provider())
    assert pt == PLAINTEXT
    (HERE / "trent-0478-deterministic.bin").write_bytes(ct)
    manifest["vectors"].append({"file": "trent-0478-deterministic.bin", "writer": "trent (deterministic)",
                                "suite": "0x0478", "frame_length": 100, "committing": True})
    (HERE / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")


if __name__ == "__main__":
    main()
