"""Client-side wrapping for BYOK tests, done the way the AWS guide tells users to:
with pyca `cryptography` (RSA-OAEP, AES key wrap with padding) or the openssl CLI.
Nothing here imports Trent."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding
from cryptography.hazmat.primitives.keywrap import aes_key_wrap_with_padding

ALGORITHMS = ("RSAES_OAEP_SHA_1", "RSAES_OAEP_SHA_256", "RSA_AES_KEY_WRAP_SHA_1", "RSA_AES_KEY_WRAP_SHA_256")


def wrap(public_key_der: bytes, algorithm: str, material: bytes) -> bytes:
    public = serialization.load_der_public_key(public_key_der)
    digest = hashes.SHA1 if algorithm.endswith("SHA_1") else hashes.SHA256
    oaep = padding.OAEP(mgf=padding.MGF1(digest()), algorithm=digest(), label=None)
    if algorithm.startswith("RSAES_OAEP"):
        return public.encrypt(material, oaep)
    aes_key = os.urandom(32)  # RSA-OAEP(aes key) || KWP(material), RSA part first
    return public.encrypt(aes_key, oaep) + aes_key_wrap_with_padding(aes_key, material)


def wrap_with_openssl(public_key_der: bytes, material: bytes, workdir: Path) -> bytes:
    """RSAES_OAEP_SHA_256 exactly as in the AWS guide's openssl example."""
    (workdir / "PublicKey.bin").write_bytes(public_key_der)
    (workdir / "PlaintextKeyMaterial.bin").write_bytes(material)
    subprocess.run(
        ["openssl", "pkeyutl", "-encrypt", "-in", "PlaintextKeyMaterial.bin", "-out", "EncryptedKeyMaterial.bin",
         "-inkey", "PublicKey.bin", "-keyform", "DER", "-pubin", "-pkeyopt", "rsa_padding_mode:oaep",
         "-pkeyopt", "rsa_oaep_md:sha256", "-pkeyopt", "rsa_mgf1_md:sha256"],
        cwd=workdir, check=True, capture_output=True,
    )
    return (workdir / "EncryptedKeyMaterial.bin").read_bytes()


def import_material(kms, key_id: str, material: bytes, algorithm: str = "RSAES_OAEP_SHA_256",
                    spec: str = "RSA_2048", **import_args):
    params = kms.get_parameters_for_import(KeyId=key_id, WrappingAlgorithm=algorithm, WrappingKeySpec=spec)
    wrapped = wrap(params["PublicKey"], algorithm, material)
    import_args.setdefault("ExpirationModel", "KEY_MATERIAL_DOES_NOT_EXPIRE")
    return kms.import_key_material(KeyId=key_id, ImportToken=params["ImportToken"],
                                   EncryptedKeyMaterial=wrapped, **import_args)
