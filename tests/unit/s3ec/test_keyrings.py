"""S3EC keyrings: the wrapped-key layouts of §4.2, and the KMS keyring's requests (against a
recording fake KMS client: the real KMS is in tests/wire/s3ec)."""

from __future__ import annotations

import os
from typing import Any

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.keywrap import aes_key_wrap

from trent.s3ec import ContextMismatch, DecryptionFailed, KmsKeyring, LegacyRefused, RawAesKeyring, RawRsaKeyring
from trent.s3ec.errors import ConfigurationError
from trent.s3ec.metadata import ContentMetadata, WrapAlg
from trent.s3ec.suites import GCM, KC_GCM, FormatVersion

WRAP = bytes(range(32))


def meta(suite: Any, wrap: WrapAlg, edk: bytes, desc: dict[str, str] | None = None) -> ContentMetadata:
    fmt = FormatVersion.V3 if suite.committing else FormatVersion.V2
    return ContentMetadata(fmt, suite, wrap, edk, desc or {}, iv=b"\0" * 12, message_id=b"\0" * 28, commitment=b"\0" * 28)


@pytest.mark.parametrize("suite,aad", [(GCM, b"AES/GCM/NoPadding"), (KC_GCM, b"115")])
def test_raw_aes_layout(suite: Any, aad: bytes) -> None:
    dk = RawAesKeyring(WRAP, material_description={"k": "v"}).generate(suite, {})
    assert dk.wrap_alg is WrapAlg.AES_GCM and dict(dk.description) == {"k": "v"} and len(dk.encrypted) == 12 + 32 + 16
    assert AESGCM(WRAP).decrypt(dk.encrypted[:12], dk.encrypted[12:], aad) == dk.plaintext
    assert RawAesKeyring(WRAP).decrypt(meta(suite, WrapAlg.AES_GCM, dk.encrypted), {}) == dk.plaintext
    other = KC_GCM if suite is GCM else GCM  # the AAD binds the key to its content suite
    with pytest.raises(DecryptionFailed):
        RawAesKeyring(WRAP).decrypt(meta(other, WrapAlg.AES_GCM, dk.encrypted), {})
    with pytest.raises(DecryptionFailed):
        RawAesKeyring(bytes(32)).decrypt(meta(suite, WrapAlg.AES_GCM, dk.encrypted), {})


def test_raw_aes_legacy_aeswrap_needs_the_flag() -> None:
    key = os.urandom(32)
    m = meta(GCM, WrapAlg.AES_WRAP, aes_key_wrap(WRAP, key))
    with pytest.raises(LegacyRefused):
        RawAesKeyring(WRAP).decrypt(m, {})
    assert RawAesKeyring(WRAP).decrypt(m, {}, legacy=True) == key


@pytest.mark.parametrize("suite,name", [(GCM, b"AES/GCM/NoPadding"), (KC_GCM, b"115")])
def test_raw_rsa_pseudo_data_key(suite: Any, name: bytes) -> None:
    priv = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    dk = RawRsaKeyring(public_key=priv.public_key()).generate(suite, {})
    oaep = padding.OAEP(mgf=padding.MGF1(hashes.SHA1()), algorithm=hashes.SHA1(), label=None)
    assert priv.decrypt(dk.encrypted, oaep) == bytes((32,)) + dk.plaintext + name
    assert RawRsaKeyring(private_key=priv).decrypt(meta(suite, WrapAlg.RSA_OAEP_SHA1, dk.encrypted), {}) == dk.plaintext
    other = KC_GCM if suite is GCM else GCM
    with pytest.raises(DecryptionFailed):
        RawRsaKeyring(private_key=priv).decrypt(meta(other, WrapAlg.RSA_OAEP_SHA1, dk.encrypted), {})


class FakeKms:
    def __init__(self) -> None:
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.key = os.urandom(32)

    def generate_data_key(self, **kw: Any) -> dict[str, Any]:
        self.calls.append(("generate_data_key", kw))
        return {"Plaintext": self.key, "CiphertextBlob": b"blob", "KeyId": "arn:aws:kms:r:1:key/k"}

    def decrypt(self, **kw: Any) -> dict[str, Any]:
        self.calls.append(("decrypt", kw))
        return {"Plaintext": self.key, "KeyId": "arn:aws:kms:r:1:key/k"}


@pytest.mark.parametrize("suite,value", [(GCM, "AES/GCM/NoPadding"), (KC_GCM, "115")])
def test_kms_context_requests(suite: Any, value: str) -> None:
    kms = FakeKms()
    kr = KmsKeyring("alias/a", kms)
    dk = kr.generate(suite, {"team": "a"})
    assert kms.calls[-1] == ("generate_data_key", {"KeyId": "alias/a", "KeySpec": "AES_256",
                                                   "EncryptionContext": {"team": "a", "aws:x-amz-cek-alg": value}})
    assert dk.wrap_alg is WrapAlg.KMS_CONTEXT and dict(dk.description) == {"team": "a", "aws:x-amz-cek-alg": value}
    m = meta(suite, WrapAlg.KMS_CONTEXT, b"blob", dict(dk.description))
    assert kr.decrypt(m, {"team": "a"}) == kms.key
    assert kms.calls[-1] == ("decrypt", {"CiphertextBlob": b"blob", "KeyId": "alias/a",
                                         "EncryptionContext": {"team": "a", "aws:x-amz-cek-alg": value}})
    with pytest.raises(ContextMismatch):
        kr.decrypt(m, {"team": "b"})
    with pytest.raises(ContextMismatch):
        kr.decrypt(m, {})
    # the stored cek-alg must name the object's suite (KMS authenticated it)
    other = KC_GCM if suite is GCM else GCM
    with pytest.raises(DecryptionFailed):
        kr.decrypt(meta(other, WrapAlg.KMS_CONTEXT, b"blob", dict(dk.description)), {"team": "a"})
    # a decrypt-only keyring lets the ciphertext name its key
    KmsKeyring(None, kms).decrypt(m, {"team": "a"})
    assert "KeyId" not in kms.calls[-1][1]


def test_kms_caller_context_rules() -> None:
    kr = KmsKeyring("k", FakeKms())
    with pytest.raises(ConfigurationError, match="reserved"):
        kr.generate(KC_GCM, {"aws:x-amz-cek-alg": "x"})
    with pytest.raises(ConfigurationError, match="US-ASCII"):
        kr.generate(KC_GCM, {"é": "x"})
    with pytest.raises(ConfigurationError):
        KmsKeyring(None, FakeKms()).generate(KC_GCM, {})
    legacy = meta(GCM, WrapAlg.KMS, b"blob", {"kms_cmk_id": "k"})
    with pytest.raises(LegacyRefused):
        kr.decrypt(legacy, {})
    assert kr.decrypt(legacy, {}, legacy=True)
    with pytest.raises(ContextMismatch):
        kr.decrypt(legacy, {"a": "b"}, legacy=True)
    with pytest.raises(ConfigurationError):  # a raw-keyring object given to the KMS keyring
        kr.decrypt(meta(KC_GCM, WrapAlg.AES_GCM, b"x"), {})
