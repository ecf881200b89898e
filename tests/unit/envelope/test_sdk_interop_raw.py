"""Interop with the aws-encryption-sdk package using raw keys (no KMS needed).

The KMS-backed interop, against a running server, lives in tests/wire/envelope.
"""

from __future__ import annotations

import os

import aws_encryption_sdk as sdk
import pytest
from aws_encryption_sdk.identifiers import Algorithm, CommitmentPolicy
from aws_encryption_sdk.identifiers import EncryptionKeyType, WrappingAlgorithm
from aws_encryption_sdk.internal.crypto.wrapping_keys import WrappingKey
from aws_encryption_sdk.key_providers.raw import RawMasterKeyProvider
from cryptography.hazmat.primitives.asymmetric import rsa

from trent import envelope as ev
from trent.envelope.suites import SUITES

from .conftest import sdk_aes_provider

ALLOW = ev.CommitmentPolicy.REQUIRE_ENCRYPT_ALLOW_DECRYPT
SIZES = [0, 1, 4096, 8192, 10_000]


def _sdk(policy: CommitmentPolicy = CommitmentPolicy.REQUIRE_ENCRYPT_REQUIRE_DECRYPT) -> sdk.EncryptionSDKClient:
    return sdk.EncryptionSDKClient(commitment_policy=policy)


@pytest.mark.parametrize("suite_id", [0x0478, 0x0578])
@pytest.mark.parametrize("frame_length", [1, 128, 4096, 65536])
@pytest.mark.parametrize("size", SIZES)
def test_trent_writes_sdk_reads(keyring: ev.RawAesKeyring, suite_id: int, frame_length: int, size: int) -> None:
    pt = os.urandom(size)
    ctx = {"purpose": "interop", "ünï": "cödé"}
    e = ev.encrypt(pt, keyring=keyring, suite=ev.suite_by_id(suite_id), frame_length=frame_length,
                   encryption_context=ctx)
    out, header = _sdk().decrypt(source=e.ciphertext, key_provider=sdk_aes_provider())
    assert out == pt
    assert header.algorithm.algorithm_id == suite_id and header.frame_length == frame_length
    assert {k: header.encryption_context[k] for k in ctx} == ctx


@pytest.mark.parametrize(("suite_id", "frame_length"), [
    (s, f) for s in sorted(SUITES) for f in (0, 512, 4096) if f or SUITES[s].message_format == 1])
@pytest.mark.parametrize("size", SIZES)
def test_sdk_writes_trent_reads_every_suite(keyring: ev.RawAesKeyring, suite_id: int, frame_length: int,
                                           size: int) -> None:
    suite = SUITES[suite_id]
    policy = (CommitmentPolicy.REQUIRE_ENCRYPT_REQUIRE_DECRYPT if suite.committing
              else CommitmentPolicy.FORBID_ENCRYPT_ALLOW_DECRYPT)
    pt = os.urandom(size)
    ct, _ = _sdk(policy).encrypt(source=pt, key_provider=sdk_aes_provider(), frame_length=frame_length,
                                 algorithm=Algorithm.get_by_id(suite_id), encryption_context={"k": "v"})
    d = ev.decrypt(ct, keyring=keyring,
                   commitment_policy=ev.CommitmentPolicy.REQUIRE_ENCRYPT_REQUIRE_DECRYPT if suite.committing else ALLOW)
    assert d.plaintext == pt and d.header.suite.suite_id == suite_id and d.encryption_context["k"] == "v"


def test_non_committing_suites_refused_by_default(keyring: ev.RawAesKeyring) -> None:
    ct, _ = _sdk(CommitmentPolicy.FORBID_ENCRYPT_ALLOW_DECRYPT).encrypt(
        source=b"x", key_provider=sdk_aes_provider(), algorithm=Algorithm.AES_256_GCM_IV12_TAG16_HKDF_SHA384_ECDSA_P384)
    with pytest.raises(ev.DecryptionFailed):
        ev.decrypt(ct, keyring=keyring)
    assert ev.decrypt(ct, keyring=keyring, commitment_policy=ALLOW).plaintext == b"x"


def _SdkRsa(key: rsa.RSAPrivateKey, alg: WrappingAlgorithm) -> RawMasterKeyProvider:
    cls = type("SdkRsa", (_SdkRsaBase,), {"_key": key, "_alg": alg})
    return cls()


class _SdkRsaBase(RawMasterKeyProvider):  # type: ignore[misc]
    provider_id = "rsa-ns"
    _key: rsa.RSAPrivateKey
    _alg: WrappingAlgorithm

    def _get_raw_key(self, key_id: bytes) -> WrappingKey:
        from cryptography.hazmat.primitives import serialization

        pem = self._key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                      serialization.NoEncryption())
        return WrappingKey(wrapping_algorithm=self._alg, wrapping_key=pem,
                           wrapping_key_type=EncryptionKeyType.PRIVATE)


RSA_PADDINGS = {
    ev.RsaPadding.PKCS1: WrappingAlgorithm.RSA_PKCS1,
    ev.RsaPadding.OAEP_SHA1_MGF1: WrappingAlgorithm.RSA_OAEP_SHA1_MGF1,
    ev.RsaPadding.OAEP_SHA256_MGF1: WrappingAlgorithm.RSA_OAEP_SHA256_MGF1,
    ev.RsaPadding.OAEP_SHA384_MGF1: WrappingAlgorithm.RSA_OAEP_SHA384_MGF1,
    ev.RsaPadding.OAEP_SHA512_MGF1: WrappingAlgorithm.RSA_OAEP_SHA512_MGF1,
}


@pytest.fixture(scope="module")
def rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.mark.parametrize("padding", list(RSA_PADDINGS))
def test_raw_rsa_both_ways(rsa_key: rsa.RSAPrivateKey, padding: ev.RsaPadding) -> None:
    provider = _SdkRsa(rsa_key, RSA_PADDINGS[padding])
    provider.add_master_key(b"rsa-1")
    kr = ev.RawRsaKeyring("rsa-ns", "rsa-1", padding_scheme=padding, private_key=rsa_key)
    pt = os.urandom(5000)
    e = ev.encrypt(pt, keyring=kr)
    assert _sdk().decrypt(source=e.ciphertext, key_provider=provider)[0] == pt
    ct, _ = _sdk().encrypt(source=pt, key_provider=provider)
    assert ev.decrypt(ct, keyring=kr).plaintext == pt


def test_multi_key_messages_both_ways(keyring: ev.RawAesKeyring, rsa_key: rsa.RSAPrivateKey) -> None:
    rsa_provider = _SdkRsa(rsa_key, WrappingAlgorithm.RSA_OAEP_SHA256_MGF1)
    rsa_provider.add_master_key(b"rsa-1")
    rsa_kr = ev.RawRsaKeyring("rsa-ns", "rsa-1", private_key=rsa_key)
    multi = ev.MultiKeyring(generator=keyring, children=[rsa_kr])
    pt = os.urandom(9000)
    e = ev.encrypt(pt, keyring=multi)
    assert [k.provider_id for k in e.header.encrypted_data_keys] == ["trent-test", "rsa-ns"]
    # each key alone decrypts, on either side
    assert _sdk().decrypt(source=e.ciphertext, key_provider=rsa_provider)[0] == pt
    assert _sdk().decrypt(source=e.ciphertext, key_provider=sdk_aes_provider())[0] == pt
    assert ev.decrypt(e.ciphertext, keyring=rsa_kr).plaintext == pt
    aes = sdk_aes_provider()
    aes.add_master_key_provider(rsa_provider)
    ct, _ = _sdk().encrypt(source=pt, key_provider=aes)
    assert ev.decrypt(ct, keyring=rsa_kr).plaintext == pt
    assert ev.decrypt(ct, keyring=keyring).plaintext == pt
