"""The package's public surface (trent/s3ec/__init__.py) and the habit-7 doors for secrets."""

from __future__ import annotations

import pickle

import pytest

import trent.s3ec as s3ec
from trent.s3ec.suites import KC_GCM


def test_public_names() -> None:
    assert set(s3ec.__all__) == {
        "CommitmentPolicy", "ConfigurationError", "ContentMetadata", "ContextMismatch", "DecryptionFailed",
        "EnvelopeError", "FormatVersion", "KeyringError", "KmsKeyring", "LegacyRefused", "NotEncrypted",
        "ObjectInfo", "RawAesKeyring", "RawRsaKeyring", "S3EncryptionClient", "S3Keyring", "S3ecConfig",
        "S3ecError", "WrapAlg"}
    for name in s3ec.__all__:
        assert getattr(s3ec, name) is not None


def test_keys_stay_out_of_repr_and_pickle() -> None:
    kr = s3ec.RawAesKeyring(bytes(range(32)))
    dk = kr.generate(KC_GCM, {})
    assert dk.plaintext.hex() not in repr(dk) and "000102" not in repr(kr)
    with pytest.raises(TypeError):
        pickle.dumps(kr)
    with pytest.raises(TypeError):
        pickle.dumps(dk)


def test_default_writes_v3_and_refuses_policy_conflicts() -> None:
    c = s3ec.S3EncryptionClient(object(), s3ec.RawAesKeyring(bytes(32)))
    assert c.suite.suite_id == 0x0073
    with pytest.raises(s3ec.ConfigurationError):
        s3ec.S3EncryptionClient(object(), s3ec.RawAesKeyring(bytes(32)), s3ec.S3ecConfig(format=s3ec.FormatVersion.V2))
    with pytest.raises(s3ec.ConfigurationError):
        s3ec.S3EncryptionClient(object(), s3ec.RawAesKeyring(bytes(32)), s3ec.S3ecConfig(
            commitment_policy=s3ec.CommitmentPolicy.FORBID_ENCRYPT_ALLOW_DECRYPT))
