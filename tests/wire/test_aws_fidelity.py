"""Behaviours where Trent used to differ from AWS (issue 19, section 3), each stated as
AWS's behaviour and checked over the wire with real boto3."""

from __future__ import annotations

from tests.wire.helpers import expect_error


def test_get_key_rotation_status_answers_with_the_key_arn(kms):
    """AWS: GetKeyRotationStatus returns KeyId as the key ARN (as RotateKeyOnDemand does)."""
    key = kms.create_key()["KeyMetadata"]
    assert kms.get_key_rotation_status(KeyId=key["KeyId"])["KeyId"] == key["Arn"]
    kms.enable_key_rotation(KeyId=key["KeyId"])
    assert kms.get_key_rotation_status(KeyId=key["Arn"])["KeyId"] == key["Arn"]


def test_rotate_key_on_demand_checks_the_key_state_before_the_key_type(kms):
    """AWS: a Disabled key gives DisabledException "<ARN> is disabled." from
    RotateKeyOnDemand even for a key type that cannot rotate (HMAC, asymmetric)."""
    for spec, usage in (("HMAC_256", "GENERATE_VERIFY_MAC"), ("ECC_NIST_P256", "SIGN_VERIFY")):
        key = kms.create_key(KeySpec=spec, KeyUsage=usage)["KeyMetadata"]
        expect_error(kms.rotate_key_on_demand, "UnsupportedOperationException", "", KeyId=key["KeyId"])
        kms.disable_key(KeyId=key["KeyId"])
        expect_error(kms.rotate_key_on_demand, "DisabledException", f"{key['Arn']} is disabled.", KeyId=key["KeyId"])


def test_validation_message_echoes_a_257_character_tag_value_in_full(kms):
    """AWS: "1 validation error detected: Value '<all 257 characters>' at
    'tags.1.member.tagValue' failed to satisfy constraint: Member must have length less
    than or equal to 256" -- no truncation."""
    key = kms.create_key()["KeyMetadata"]
    value = "x" * 256 + "y"
    expect_error(
        kms.tag_resource, "ValidationException",
        f"1 validation error detected: Value '{value}' at 'tags.1.member.tagValue' failed to satisfy constraint: "
        "Member must have length less than or equal to 256",
        KeyId=key["KeyId"], Tags=[{"TagKey": "k", "TagValue": value}],
    )


def test_mac_algorithm_enum_set_is_listed_in_the_order_aws_prints_it(kms):
    """AWS (recorded): macAlgorithm's set reads [HMAC_SHA_384, HMAC_SHA_256, HMAC_SHA_224, HMAC_SHA_512]."""
    expect_error(
        kms.generate_mac, "ValidationException",
        "1 validation error detected: Value 'HMAC_SHA_1' at 'macAlgorithm' failed to satisfy constraint: "
        "Member must satisfy enum value set: [HMAC_SHA_384, HMAC_SHA_256, HMAC_SHA_224, HMAC_SHA_512]",
        KeyId="alias/none", Message=b"m", MacAlgorithm="HMAC_SHA_1",
    )


def test_generate_data_key_bad_key_spec_lists_create_keys_key_spec_set(kms):
    """AWS (spec §1.7 quirk, GH boto3#3428): GenerateDataKey with a bad KeySpec is reported
    against CreateKey's KeySpec value set, not [AES_256, AES_128]; the accepted values stay
    AES_256 and AES_128 (a CreateKey spec such as RSA_2048 is refused the same way)."""
    import botocore.session

    model = botocore.session.get_session().get_service_model("kms")
    create_key_specs = model.shape_for("KeySpec").enum
    assert set(model.shape_for("DataKeySpec").enum) == {"AES_256", "AES_128"}
    key = kms.create_key()["KeyMetadata"]
    for call in (kms.generate_data_key, kms.generate_data_key_without_plaintext):
        for bad in ("AES_512", "RSA_2048"):
            expect_error(
                call, "ValidationException",
                f"1 validation error detected: Value '{bad}' at 'keySpec' failed to satisfy constraint: "
                f"Member must satisfy enum value set: [{', '.join(create_key_specs)}]",
                KeyId=key["KeyId"], KeySpec=bad,
            )
        assert len(call(KeyId=key["KeyId"], KeySpec="AES_128")["CiphertextBlob"]) > 0
