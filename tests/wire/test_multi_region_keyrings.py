"""The AWS Encryption SDK's MRK-aware *keyrings* (the Material Providers Library, the
``aws-encryption-sdk[MPL]`` test extra) across Regions against Trent (issue 19 §1, spec §12).

AWS: related multi-Region keys share key id and material, so the aws-kms-mrk-aware keyrings
treat the primary's and a replica's ARNs as one key: a message whose data key was wrapped
by the primary in us-east-1 is unwrapped by the replica in us-west-2 — by the strict MRK
keyring given the replica's ARN, and by the MRK discovery keyring of us-west-2 — without
a call to us-east-1. The SDK reaches Trent the way a user points it there: the default
client supplier's boto3 clients read ``AWS_ENDPOINT_URL_KMS``.
"""

from __future__ import annotations

import os

import pytest

from tests.wire.multi_region_fixtures import (  # noqa: F401 - pytest fixtures, registered by being imported
    EAST, EU, WEST, east_fixture, eu_fixture, server_fixture, settle, west_fixture,
)


@pytest.fixture
def sdk_env(server, monkeypatch):
    monkeypatch.setenv("AWS_ENDPOINT_URL_KMS", server.endpoint_url)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", server.access_key_id)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", server.secret_access_key)
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def keyrings():
    from aws_cryptographic_material_providers.mpl import AwsCryptographicMaterialProviders
    from aws_cryptographic_material_providers.mpl.config import MaterialProvidersConfig

    return AwsCryptographicMaterialProviders(config=MaterialProvidersConfig())


def _related_keys(east, west, eu) -> tuple[str, str, str]:
    key = east.create_key(MultiRegion=True, Description="mrk keyrings")["KeyMetadata"]
    for region in (WEST, EU):
        east.replicate_key(KeyId=key["KeyId"], ReplicaRegion=region)
    settle(west, key["KeyId"]), settle(eu, key["KeyId"])
    return key["Arn"], key["Arn"].replace(EAST, WEST), key["Arn"].replace(EAST, EU)


def test_mrk_keyrings_decrypt_across_regions(server, east, west, eu, sdk_env, keyrings):
    import aws_encryption_sdk
    from aws_cryptographic_material_providers.mpl.models import (
        CreateAwsKmsMrkDiscoveryMultiKeyringInput,
        CreateAwsKmsMrkKeyringInput,
        CreateAwsKmsMrkMultiKeyringInput,
        DiscoveryFilter,
    )
    from aws_encryption_sdk.identifiers import CommitmentPolicy

    primary_arn, west_arn, eu_arn = _related_keys(east, west, eu)
    client = aws_encryption_sdk.EncryptionSDKClient(commitment_policy=CommitmentPolicy.REQUIRE_ENCRYPT_REQUIRE_DECRYPT)
    plaintext = os.urandom(50_000)
    context = {"purpose": "mrk keyrings", "tenant": "t-1"}

    encrypting = keyrings.create_aws_kms_mrk_multi_keyring(
        input=CreateAwsKmsMrkMultiKeyringInput(generator=primary_arn))
    message, header = client.encrypt(source=plaintext, keyring=encrypting, encryption_context=context)
    wrapped = [k.key_provider.key_info.decode() for k in header.encrypted_data_keys]
    assert wrapped == [primary_arn]  # the primary wrapped the data key, in us-east-1

    # Strict MRK keyring with the replica's ARN: unwraps the primary's EDK in us-west-2.
    strict_west = keyrings.create_aws_kms_mrk_keyring(
        input=CreateAwsKmsMrkKeyringInput(kms_key_id=west_arn, kms_client=server.client(region_name=WEST)))
    out, dec_header = client.decrypt(source=message, keyring=strict_west)
    assert out == plaintext and dec_header.encryption_context.items() >= context.items()

    # MRK discovery in us-west-2 (and eu-west-1), filtered to the account.
    for region in (WEST, EU):
        discovery = keyrings.create_aws_kms_mrk_discovery_multi_keyring(input=CreateAwsKmsMrkDiscoveryMultiKeyringInput(
            regions=[region], discovery_filter=DiscoveryFilter(account_ids=[server.account_id], partition="aws")))
        assert client.decrypt(source=message, keyring=discovery)[0] == plaintext

    # The other way round: the replica in eu-west-1 generates, the primary's keyring decrypts.
    eu_ring = keyrings.create_aws_kms_mrk_multi_keyring(input=CreateAwsKmsMrkMultiKeyringInput(generator=eu_arn))
    message, _ = client.encrypt(source=plaintext, keyring=eu_ring, encryption_context=context)
    assert client.decrypt(source=message, keyring=encrypting)[0] == plaintext


def test_mrk_keyring_refuses_a_key_that_is_not_related(server, east, west, eu, sdk_env, keyrings):
    """Keyring spec: the strict MRK keyring unwraps only EDKs of its own key (related MRKs
    count as the same key); a message for another multi-Region key does not decrypt."""
    import aws_encryption_sdk
    from aws_cryptographic_material_providers.mpl.models import (
        CreateAwsKmsMrkKeyringInput,
        CreateAwsKmsMrkMultiKeyringInput,
    )
    from aws_encryption_sdk.exceptions import AWSEncryptionSDKClientError
    from aws_encryption_sdk.identifiers import CommitmentPolicy

    primary_arn, _, _ = _related_keys(east, west, eu)
    _, other_west, _ = _related_keys(east, west, eu)
    client = aws_encryption_sdk.EncryptionSDKClient(commitment_policy=CommitmentPolicy.REQUIRE_ENCRYPT_REQUIRE_DECRYPT)
    ring = keyrings.create_aws_kms_mrk_multi_keyring(input=CreateAwsKmsMrkMultiKeyringInput(generator=primary_arn))
    message, _ = client.encrypt(source=b"not for the other key", keyring=ring)
    other = keyrings.create_aws_kms_mrk_keyring(
        input=CreateAwsKmsMrkKeyringInput(kms_key_id=other_west, kms_client=server.client(region_name=WEST)))
    with pytest.raises(AWSEncryptionSDKClientError, match="No Encrypted Data Keys found to match"):
        client.decrypt(source=message, keyring=other)
