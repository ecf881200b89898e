"""Interop both ways with the aws-encryption-sdk, both sides using the running KMS endpoint."""

from __future__ import annotations

import os
from typing import Any

import aws_encryption_sdk as sdk
import pytest
from aws_encryption_sdk.identifiers import Algorithm, CommitmentPolicy

from trent import envelope as ev

from .conftest import KmsKey

# 256 frames of 4 KiB fill the engines' 1 MiB chunk: sizes on both sides of it (issue 15)
SIZES = [0, 1, 4095, 4096, 2 * 4096, 70_000, (1 << 20) - 1, 1 << 20, (1 << 20) + 1]
FRAMES = [512, 4096, 65536]


def _provider(session: Any, *arns: str) -> sdk.StrictAwsKmsMasterKeyProvider:
    return sdk.StrictAwsKmsMasterKeyProvider(key_ids=list(arns), botocore_session=session)


@pytest.mark.parametrize("suite_id", [0x0478, 0x0578])
@pytest.mark.parametrize("frame_length", FRAMES)
@pytest.mark.parametrize("size", SIZES)
def test_trent_to_sdk(kms_client: Any, key1: KmsKey, sdk_env: Any, sdk_client: Any,
                      suite_id: int, frame_length: int, size: int) -> None:
    pt = os.urandom(size)
    ctx = {"app": "wire", "size": str(size)}
    e = ev.encrypt(pt, keyring=ev.AwsKmsKeyring(key1.arn, kms_client), encryption_context=ctx,
                   suite=ev.suite_by_id(suite_id), frame_length=frame_length)
    edk = e.header.encrypted_data_keys[0]
    assert edk.provider_id == "aws-kms" and edk.provider_info == key1.arn.encode()
    out, header = sdk_client.decrypt(source=e.ciphertext, key_provider=_provider(sdk_env, key1.arn))
    assert out == pt and header.algorithm.algorithm_id == suite_id
    assert {k: header.encryption_context[k] for k in ctx} == ctx


@pytest.mark.parametrize("suite_id", [0x0478, 0x0578])
@pytest.mark.parametrize("frame_length", FRAMES)
@pytest.mark.parametrize("size", SIZES)
def test_sdk_to_trent(kms_client: Any, key1: KmsKey, sdk_env: Any, sdk_client: Any,
                      suite_id: int, frame_length: int, size: int) -> None:
    pt = os.urandom(size)
    ct, _ = sdk_client.encrypt(source=pt, key_provider=_provider(sdk_env, key1.arn),
                               algorithm=Algorithm.get_by_id(suite_id), frame_length=frame_length,
                               encryption_context={"from": "sdk"})
    d = ev.decrypt(ct, keyring=ev.AwsKmsKeyring(key1.arn, kms_client), encryption_context={"from": "sdk"})
    assert d.plaintext == pt and d.header.suite.suite_id == suite_id


@pytest.mark.parametrize("suite_id", [0x0178, 0x0378])
def test_sdk_legacy_suites_to_trent(kms_client: Any, key1: KmsKey, sdk_env: Any, suite_id: int) -> None:
    client = sdk.EncryptionSDKClient(commitment_policy=CommitmentPolicy.FORBID_ENCRYPT_ALLOW_DECRYPT)
    ct, _ = client.encrypt(source=b"legacy", key_provider=_provider(sdk_env, key1.arn),
                           algorithm=Algorithm.get_by_id(suite_id))
    kr = ev.AwsKmsKeyring(key1.arn, kms_client)
    with pytest.raises(ev.DecryptionFailed):
        ev.decrypt(ct, keyring=kr)
    assert ev.decrypt(ct, keyring=kr, commitment_policy=ev.CommitmentPolicy.REQUIRE_ENCRYPT_ALLOW_DECRYPT
                      ).plaintext == b"legacy"


def test_multi_key_both_ways(kms_client: Any, key1: KmsKey, key2: KmsKey, sdk_env: Any, sdk_client: Any) -> None:
    pt = os.urandom(10_000)
    multi = ev.MultiKeyring(ev.AwsKmsKeyring(key1.alias, kms_client), [ev.AwsKmsKeyring(key2.key_id, kms_client)])
    e = ev.encrypt(pt, keyring=multi)
    assert [k.provider_info for k in e.header.encrypted_data_keys] == [key1.arn.encode(), key2.arn.encode()]
    for arn in (key1.arn, key2.arn):
        assert sdk_client.decrypt(source=e.ciphertext, key_provider=_provider(sdk_env, arn))[0] == pt
        assert ev.decrypt(e.ciphertext, keyring=ev.AwsKmsKeyring(arn, kms_client)).plaintext == pt
    ct, _ = sdk_client.encrypt(source=pt, key_provider=_provider(sdk_env, key1.arn, key2.arn))
    assert ev.decrypt(ct, keyring=ev.AwsKmsKeyring(key2.arn, kms_client)).plaintext == pt


def test_decrypt_needs_the_arn_and_the_right_key(kms_client: Any, key1: KmsKey, key2: KmsKey) -> None:
    ct = ev.encrypt(b"x", keyring=ev.AwsKmsKeyring(key1.arn, kms_client)).ciphertext
    with pytest.raises(ev.ConfigurationError):
        ev.decrypt(ct, keyring=ev.AwsKmsKeyring(key1.alias, kms_client))
    with pytest.raises(ev.DecryptionFailed):
        ev.decrypt(ct, keyring=ev.AwsKmsKeyring(key2.arn, kms_client))


def test_discovery_keyring_and_filter(kms_endpoint: Any, kms_client: Any, key1: KmsKey) -> None:
    ct = ev.encrypt(b"found", keyring=ev.AwsKmsKeyring(key1.arn, kms_client)).ciphertext
    factory = ev.kms_client_factory(endpoint_url=kms_endpoint.endpoint_url, region=kms_endpoint.region,
                                    aws_access_key_id=kms_endpoint.access_key_id,
                                    aws_secret_access_key=kms_endpoint.secret_access_key)
    assert ev.decrypt(ct, keyring=ev.AwsKmsDiscoveryKeyring(factory)).plaintext == b"found"
    account = key1.arn.split(":")[4]
    partition = key1.arn.split(":")[1]
    ok = ev.DiscoveryFilter(frozenset({account}), partition)
    assert ev.decrypt(ct, keyring=ev.AwsKmsDiscoveryKeyring(factory, discovery_filter=ok)).plaintext == b"found"
    for flt in (ev.DiscoveryFilter(frozenset({"999999999999"}), partition),
                ev.DiscoveryFilter(frozenset({account}), "aws-cn")):
        with pytest.raises(ev.DecryptionFailed):
            ev.decrypt(ct, keyring=ev.AwsKmsDiscoveryKeyring(factory, discovery_filter=flt))


def test_context_is_bound_by_kms(kms_client: Any, key1: KmsKey) -> None:
    kr = ev.AwsKmsKeyring(key1.arn, kms_client)
    e = ev.encrypt(b"x", keyring=kr, encryption_context={"a": "1"})
    # rewrite the stored context value (same length) -> KMS refuses and the header auth fails
    bad = e.ciphertext.replace(b"\x00\x01a\x00\x011", b"\x00\x01a\x00\x012", 1)
    assert bad != e.ciphertext
    with pytest.raises(ev.DecryptionFailed):
        ev.decrypt(bad, keyring=kr)


def test_kms_errors_on_encrypt_name_the_code(kms_client: Any) -> None:
    with pytest.raises(ev.KeyringError) as info:
        ev.encrypt(b"x", keyring=ev.AwsKmsKeyring("alias/does-not-exist", kms_client))
    assert "NotFoundException" in str(info.value)


def test_caching_cmm_saves_kms_calls(kms_client: Any, key1: KmsKey) -> None:
    calls = []
    kms_client.meta.events.register("before-call.kms.GenerateDataKey", lambda **kw: calls.append(1))
    cmm = ev.CachingMaterialsManager(ev.AwsKmsKeyring(key1.arn, kms_client), ev.LocalMaterialsCache(4),
                                     max_age=300, max_messages=10)
    msgs = [ev.encrypt(b"m%d" % i, materials_manager=cmm).ciphertext for i in range(5)]
    assert len(calls) == 1
    kms_client.meta.events.unregister("before-call.kms.GenerateDataKey")
    for i, m in enumerate(msgs):
        assert ev.decrypt(m, keyring=ev.AwsKmsKeyring(key1.arn, kms_client)).plaintext == b"m%d" % i
