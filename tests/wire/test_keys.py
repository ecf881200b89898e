"""Key lifecycle over the wire with boto3 (spec §3.1, §4, §5)."""

from __future__ import annotations

import re

import pytest

from tests.wire.helpers import expect_error

UUID_RE = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")


def test_create_key_defaults(kms, trent_server):
    before = trent_server.admin("/_trent/clock")["now"]  # the server's (dev) clock, not ours
    md = kms.create_key()["KeyMetadata"]
    assert UUID_RE.match(md["KeyId"])
    assert md["Arn"] == f"arn:aws:kms:us-east-1:{trent_server.account_id}:key/{md['KeyId']}"
    assert md["AWSAccountId"] == trent_server.account_id
    assert md["Enabled"] is True and md["KeyState"] == "Enabled"
    assert md["Description"] == ""
    assert md["KeyUsage"] == "ENCRYPT_DECRYPT"
    assert md["KeySpec"] == md["CustomerMasterKeySpec"] == "SYMMETRIC_DEFAULT"
    assert md["EncryptionAlgorithms"] == ["SYMMETRIC_DEFAULT"]
    assert md["Origin"] == "AWS_KMS" and md["KeyManager"] == "CUSTOMER" and md["MultiRegion"] is False
    assert re.fullmatch(r"[0-9a-f]{64}", md["CurrentKeyMaterialId"])
    assert before <= md["CreationDate"].timestamp() <= trent_server.admin("/_trent/clock")["now"]
    for absent in ("DeletionDate", "SigningAlgorithms", "MacAlgorithms", "ValidTo", "ExpirationModel"):
        assert absent not in md


def test_describe_key_by_every_identifier(kms):
    md = kms.create_key(Description="described")["KeyMetadata"]
    kms.create_alias(AliasName="alias/describe-me", TargetKeyId=md["KeyId"])
    alias_arn = md["Arn"].replace(f"key/{md['KeyId']}", "alias/describe-me")
    for ident in (md["KeyId"], md["Arn"], "alias/describe-me", alias_arn):
        got = kms.describe_key(KeyId=ident)["KeyMetadata"]
        assert got == md | {"Description": "described"}


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"KeySpec": "HMAC_256"}, "You must specify a KeyUsage value for all KMS keys except for symmetric encryption keys."),
        ({"KeySpec": "RSA_2048", "KeyUsage": "KEY_AGREEMENT"}, "KeyUsage KEY_AGREEMENT is not compatible with KeySpec RSA_2048"),
        ({"KeySpec": "SYMMETRIC_DEFAULT", "KeyUsage": "SIGN_VERIFY"}, "KeyUsage SIGN_VERIFY is not compatible with KeySpec SYMMETRIC_DEFAULT"),
        ({"KeySpec": "HMAC_224", "KeyUsage": "ENCRYPT_DECRYPT"}, "KeyUsage ENCRYPT_DECRYPT is not compatible with KeySpec HMAC_224"),
        ({"KeySpec": "ECC_SECG_P256K1", "KeyUsage": "KEY_AGREEMENT"}, "KeyUsage KEY_AGREEMENT is not compatible with KeySpec ECC_SECG_P256K1"),
        ({"KeySpec": "ML_DSA_44", "KeyUsage": "ENCRYPT_DECRYPT"}, "KeyUsage ENCRYPT_DECRYPT is not compatible with KeySpec ML_DSA_44"),
        ({"KeySpec": "ECC_NIST_EDWARDS25519", "KeyUsage": "KEY_AGREEMENT"}, "KeyUsage KEY_AGREEMENT is not compatible with KeySpec ECC_NIST_EDWARDS25519"),
        (
            {"KeySpec": "SYMMETRIC_DEFAULT", "CustomerMasterKeySpec": "SYMMETRIC_DEFAULT"},
            "You cannot specify KeySpec and CustomerMasterKeySpec in the same request. CustomerMasterKeySpec is deprecated.",
        ),
    ],
)
def test_create_key_spec_usage_validation(kms, kwargs, message):
    expect_error(kms.create_key, "ValidationException", message, **kwargs)


def test_create_key_enum_violation_uses_the_aws_template(kms):
    err = expect_error(kms.create_key, "ValidationException", KeySpec="AES_512")
    assert err["message"].startswith(
        "1 validation error detected: Value 'AES_512' at 'keySpec' failed to satisfy constraint: "
        "Member must satisfy enum value set: ["
    )


def test_create_key_with_tags_and_description(kms):
    md = kms.create_key(Description="tagged", Tags=[{"TagKey": "team", "TagValue": "infra"}])["KeyMetadata"]
    assert md["Description"] == "tagged"
    assert kms.list_resource_tags(KeyId=md["KeyId"])["Tags"] == [{"TagKey": "team", "TagValue": "infra"}]


def test_create_multi_region_key(kms):
    md = kms.create_key(MultiRegion=True)["KeyMetadata"]
    assert re.fullmatch(r"mrk-[0-9a-f]{32}", md["KeyId"])
    assert md["MultiRegion"] is True
    assert md["MultiRegionConfiguration"] == {
        "MultiRegionKeyType": "PRIMARY",
        "PrimaryKey": {"Arn": md["Arn"], "Region": "us-east-1"},
        "ReplicaKeys": [],
    }
    blob = kms.encrypt(KeyId=md["KeyId"], Plaintext=b"mrk")["CiphertextBlob"]
    assert kms.decrypt(CiphertextBlob=blob)["Plaintext"] == b"mrk"


def test_external_origin_key_is_pending_import(kms):
    md = kms.create_key(Origin="EXTERNAL")["KeyMetadata"]
    assert md["KeyState"] == "PendingImport" and md["Enabled"] is False and md["Origin"] == "EXTERNAL"
    assert "CurrentKeyMaterialId" not in md
    expect_error(kms.encrypt, "KMSInvalidStateException", f"{md['Arn']} is pending import.", KeyId=md["KeyId"], Plaintext=b"x")


def test_enable_disable_are_idempotent(kms):
    key = kms.create_key()["KeyMetadata"]
    kms.disable_key(KeyId=key["KeyId"])
    kms.disable_key(KeyId=key["Arn"])
    md = kms.describe_key(KeyId=key["KeyId"])["KeyMetadata"]
    assert md["KeyState"] == "Disabled" and md["Enabled"] is False
    expect_error(kms.encrypt, "DisabledException", f"{key['Arn']} is disabled.", KeyId=key["KeyId"], Plaintext=b"x")
    kms.enable_key(KeyId=key["KeyId"])
    kms.enable_key(KeyId=key["KeyId"])
    assert kms.describe_key(KeyId=key["KeyId"])["KeyMetadata"]["KeyState"] == "Enabled"


def test_update_key_description(kms):
    key_id = kms.create_key(Description="old")["KeyMetadata"]["KeyId"]
    kms.update_key_description(KeyId=key_id, Description="new")
    assert kms.describe_key(KeyId=key_id)["KeyMetadata"]["Description"] == "new"


def test_management_operations_refuse_aliases(kms):
    key_id = kms.create_key()["KeyMetadata"]["KeyId"]
    kms.create_alias(AliasName="alias/no-alias-here", TargetKeyId=key_id)
    for call in (kms.enable_key, kms.disable_key, kms.schedule_key_deletion, kms.cancel_key_deletion):
        expect_error(call, "NotFoundException", "Invalid keyId 'alias/no-alias-here'", KeyId="alias/no-alias-here")


@pytest.mark.parametrize(
    ("key_id", "message"),
    [
        ("134f2428cec14b25a1ae9048164dba47", "Invalid keyId '134f2428cec14b25a1ae9048164dba47'"),
        ("not-a-key", "Invalid keyId 'not-a-key'"),
        (
            "00000000-0000-4000-8000-000000000000",
            "Key 'arn:aws:kms:us-east-1:123456789012:key/00000000-0000-4000-8000-000000000000' does not exist",
        ),
        ("arn:aws:kms:eu-west-1:123456789012:key/00000000-0000-4000-8000-000000000000", "Invalid arn eu-west-1"),
        ("alias/does-not-exist", "Alias arn:aws:kms:us-east-1:123456789012:alias/does-not-exist is not found."),
    ],
)
def test_key_resolution_errors(kms, key_id, message):
    expect_error(kms.describe_key, "NotFoundException", message, KeyId=key_id)


def test_keys_live_per_region(trent_server):
    east = trent_server.client()
    west = trent_server.client(region_name="eu-west-1")
    md = east.create_key()["KeyMetadata"]
    expect_error(
        west.describe_key, "NotFoundException",
        f"Key 'arn:aws:kms:eu-west-1:123456789012:key/{md['KeyId']}' does not exist", KeyId=md["KeyId"],
    )
    west_md = west.create_key()["KeyMetadata"]
    assert west_md["Arn"].startswith("arn:aws:kms:eu-west-1:123456789012:key/")
    blob = east.encrypt(KeyId=md["KeyId"], Plaintext=b"east")["CiphertextBlob"]
    expect_error(
        west.decrypt, "AccessDeniedException",
        "The ciphertext refers to a customer master key that does not exist, does not exist in this region, "
        "or you are not allowed to access.",
        CiphertextBlob=blob,
    )


def test_list_keys_pagination(trent_server):
    trent_server.reset()
    kms = trent_server.client()
    created = [kms.create_key()["KeyMetadata"] for _ in range(5)]
    page = kms.list_keys(Limit=2)
    assert page["Truncated"] is True and len(page["Keys"]) == 2 and "NextMarker" in page
    seen = list(page["Keys"])
    while page["Truncated"]:
        page = kms.list_keys(Limit=2, Marker=page["NextMarker"])
        seen += page["Keys"]
    assert "NextMarker" not in page
    assert seen == [{"KeyId": k["KeyId"], "KeyArn": k["Arn"]} for k in created]
    everything = kms.list_keys()
    assert everything["Truncated"] is False and len(everything["Keys"]) == 5
    paginated = [k for p in kms.get_paginator("list_keys").paginate(PaginationConfig={"PageSize": 3}) for k in p["Keys"]]
    assert paginated == seen


def test_list_keys_bad_marker(kms):
    expect_error(kms.list_keys, "InvalidMarkerException", Marker="garbage")


def test_list_keys_limit_bounds(kms):
    err = expect_error(kms.list_keys, "ValidationException", Limit=1001)
    assert err["message"] == (
        "1 validation error detected: Value '1001' at 'limit' failed to satisfy constraint: "
        "Member must have value less than or equal to 1000"
    )
