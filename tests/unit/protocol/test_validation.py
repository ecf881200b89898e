"""Model-driven request validation (spec §1.1, §1.7)."""

from __future__ import annotations

import base64
import re
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from trent import errors
from trent.protocol import model, validation

SHAPES = model.shapes()
OPERATIONS = sorted(validation.operation_names())


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def message(op: str, body: Any) -> str:
    with pytest.raises(errors.ValidationError) as ei:
        validation.validate(op, body)
    assert ei.value.message is not None
    return ei.value.message


def one(item: str) -> str:
    return f"1 validation error detected: {item}"


# --- minimal valid bodies generated from the model ----------------------------------------------

# A valid sample for every patterned string shape; a new pattern in a future model makes
# test_pattern_samples_are_valid fail loudly instead of silently skipping coverage.
PATTERN_SAMPLES = {
    "AccountIdType": "111122223333",
    "AliasNameType": "alias/test",
    "BackingKeyIdType": "ab" * 32,
    "BackingKeyIdResponseType": "ab" * 32,
    "CloudHsmClusterIdType": "cluster-abcdefghijk",
    "GrantConstraintSourceArnType": "arn:aws:s3:us-east-1:111122223333:bucket",
    "GrantNameType": "grant-1",
    "KeyMaterialDescriptionType": "material 1",
    "MarkerType": "marker",
    "PolicyNameType": "default",
    "PolicyType": "{}",
    "PrincipalIdType": "arn:aws:iam::111122223333:root",
    "RegionType": "us-east-1",
    "ServicePrincipalType": "kms.amazonaws.com",
    "XksKeyIdType": "key-1",
    "XksProxyAuthenticationAccessKeyIdType": "ABCDEFGHIJKLMNOPQRST",
    "XksProxyAuthenticationRawSecretAccessKeyType": "a" * 43,
    "XksProxyUriEndpointType": "https://xks.example.com",
    "XksProxyUriPathType": "/kms/xks/v1",
    "XksProxyVpcEndpointServiceNameType": "com.amazonaws.vpce.us-east-1.vpce-svc-0123abcd",
}


def sample(shape_name: str, *, all_members: bool) -> Any:
    shape = SHAPES[shape_name]
    kind = shape["type"]
    if kind == "structure":
        required = set(shape.get("required", ()))
        return {
            name: sample(spec["shape"], all_members=all_members)
            for name, spec in shape["members"].items()
            if all_members or name in required
        }
    if kind == "list":
        count = max(shape.get("min", 0), 1 if all_members else 0)
        return [sample(shape["member"]["shape"], all_members=all_members) for _ in range(count)]
    if kind == "map":
        return {"k": sample(shape["value"]["shape"], all_members=all_members)} if all_members else {}
    if kind == "string":
        if "enum" in shape:
            return shape["enum"][0]
        if "pattern" in shape:
            return PATTERN_SAMPLES[shape_name]
        return "a" * max(shape.get("min", 1), 1)
    if kind == "blob":
        return b64(b"\x01" * max(shape.get("min", 1), 1))
    if kind in ("integer", "long"):
        return shape.get("min", 1)
    if kind == "boolean":
        return True
    if kind == "timestamp":
        return 1700000000.5
    raise AssertionError(kind)


def input_shape(op: str) -> str | None:
    spec = model.operations()[op]
    return spec["input"]["shape"] if "input" in spec else None


def test_pattern_samples_are_valid() -> None:
    patterned = {n for n, s in SHAPES.items() if "pattern" in s}
    assert patterned <= set(PATTERN_SAMPLES), patterned - set(PATTERN_SAMPLES)
    for name in patterned:
        shape = SHAPES[name]
        value = PATTERN_SAMPLES[name]
        assert re.fullmatch(shape["pattern"], value, re.ASCII), name
        assert shape.get("min", 0) <= len(value) <= shape.get("max", 10**9), name


@pytest.mark.parametrize("op", OPERATIONS)
@pytest.mark.parametrize("all_members", [False, True], ids=["required-only", "all-members"])
def test_every_operation_accepts_a_minimal_valid_body(op: str, all_members: bool) -> None:
    shape = input_shape(op)
    body = sample(shape, all_members=all_members) if shape else {}
    out = validation.validate(op, body)
    assert set(out) == set(body)


def test_there_are_many_operations() -> None:
    assert len(OPERATIONS) >= 54 and "Encrypt" in OPERATIONS and "DeriveSharedSecret" in OPERATIONS


# --- decoding -----------------------------------------------------------------------------------


def test_decoded_result() -> None:
    out = validation.validate(
        "Encrypt",
        {"KeyId": "alias/x", "Plaintext": b64(b"hello"), "EncryptionContext": {"a": "b"}, "Unknown": [1]},
    )
    assert out == {"KeyId": "alias/x", "Plaintext": b"hello", "EncryptionContext": {"a": "b"}}


def test_timestamp_is_float_and_integral_float_is_accepted_as_integer() -> None:
    out = validation.validate(
        "ImportKeyMaterial",
        {"KeyId": "k", "ImportToken": b64(b"t"), "EncryptedKeyMaterial": b64(b"m"), "ValidTo": 1700000000},
    )
    assert out["ValidTo"] == 1700000000.0 and type(out["ValidTo"]) is float
    assert validation.validate("GenerateRandom", {"NumberOfBytes": 32.0}) == {"NumberOfBytes": 32}


def test_null_optional_member_is_absent() -> None:
    out = validation.validate("Encrypt", {"KeyId": "k", "Plaintext": b64(b"x"), "EncryptionContext": None})
    assert "EncryptionContext" not in out


# --- each rule, exact text (spec §1.7) -----------------------------------------------------------


def test_blob_max_length_omits_value() -> None:
    assert message("Encrypt", {"KeyId": "k", "Plaintext": b64(b"x" * 4097)}) == one(
        "Value at 'plaintext' failed to satisfy constraint: Member must have length less than or equal to 4096"
    )


def test_blob_min_length_omits_value() -> None:
    assert message("Encrypt", {"KeyId": "k", "Plaintext": ""}) == one(
        "Value at 'plaintext' failed to satisfy constraint: Member must have length greater than or equal to 1"
    )


def test_non_sensitive_blob_also_omits_value() -> None:
    assert message("Decrypt", {"CiphertextBlob": b64(b"c" * 6145)}) == one(
        "Value at 'ciphertextBlob' failed to satisfy constraint: Member must have length less than or equal to 6144"
    )


def test_string_min_length() -> None:
    assert message("DescribeKey", {"KeyId": ""}) == one(
        "Value '' at 'keyId' failed to satisfy constraint: Member must have length greater than or equal to 1"
    )


def test_string_max_length_value_is_echoed_whole_as_aws_does() -> None:
    """AWS echoes the whole offending value, however long (issue 19)."""
    key_id = "k" * 2049
    assert message("DescribeKey", {"KeyId": key_id}) == one(
        f"Value '{key_id}' at 'keyId' failed to satisfy constraint: Member must have length less than or equal to 2048"
    )


def test_string_length_counts_code_points() -> None:
    validation.validate("DescribeKey", {"KeyId": "\U0001f511" * 2048})


@pytest.mark.parametrize(
    ("n", "rule"),
    [
        (0, "Member must have value greater than or equal to 1"),
        (1025, "Member must have value less than or equal to 1024"),
    ],
)
def test_number_bounds_spec_examples(n: int, rule: str) -> None:
    # spec §3.6, [V]
    assert message("GenerateRandom", {"NumberOfBytes": n}) == one(
        f"Value '{n}' at 'numberOfBytes' failed to satisfy constraint: {rule}"
    )


def test_enum_set_is_printed_in_the_order_recorded_from_aws() -> None:
    """AWS prints macAlgorithm's set as [HMAC_SHA_384, HMAC_SHA_256, HMAC_SHA_224, HMAC_SHA_512]
    (recorded; not the model's order) (issue 19)."""
    assert SHAPES["MacAlgorithmSpec"]["enum"] != ["HMAC_SHA_384", "HMAC_SHA_256", "HMAC_SHA_224", "HMAC_SHA_512"]
    assert message("GenerateMac", {"KeyId": "k", "Message": b64(b"m"), "MacAlgorithm": "HMAC_SHA_1"}) == one(
        "Value 'HMAC_SHA_1' at 'macAlgorithm' failed to satisfy constraint: Member must satisfy enum value set: "
        "[HMAC_SHA_384, HMAC_SHA_256, HMAC_SHA_224, HMAC_SHA_512]"
    )


def test_enum_without_a_recorded_aws_order_falls_back_to_the_model_order() -> None:
    # keySpec's recorded order covers 12 values; the model has more now, so model order.
    assert message("CreateKey", {"KeySpec": "AES_512"}) == one(
        "Value 'AES_512' at 'keySpec' failed to satisfy constraint: Member must satisfy enum value set: "
        f"[{', '.join(SHAPES['KeySpec']['enum'])}]"
    )


def test_tag_value_of_257_characters_is_echoed_in_full() -> None:
    """AWS: "1 validation error detected: Value '<all 257>' at 'tags.1.member.tagValue' ..." (issue 19)."""
    value = "v" * 257
    assert message("TagResource", {"KeyId": "k", "Tags": [{"TagKey": "k", "TagValue": value}]}) == one(
        f"Value '{value}' at 'tags.1.member.tagValue' failed to satisfy constraint: "
        "Member must have length less than or equal to 256"
    )


def test_pattern() -> None:
    assert message("CreateAlias", {"AliasName": "alias/has space", "TargetKeyId": "k"}) == one(
        "Value 'alias/has space' at 'aliasName' failed to satisfy constraint: "
        "Member must satisfy regular expression pattern: ^[a-zA-Z0-9:/_-]+$"
    )


def test_pattern_is_full_match_and_ascii() -> None:
    # Java matches(): a trailing newline is not allowed by '$'; \w is ASCII only
    with pytest.raises(errors.ValidationError):
        validation.validate("CreateAlias", {"AliasName": "alias/x\n", "TargetKeyId": "k"})
    with pytest.raises(errors.ValidationError):
        validation.validate("GetKeyPolicy", {"KeyId": "k", "PolicyName": "déf"})
    validation.validate("GetKeyPolicy", {"KeyId": "k", "PolicyName": "default_1"})


def test_java_unicode_escape_pattern() -> None:
    # MarkerType is [\u0020-\u00FF]*; a control character fails
    assert message("ListKeys", {"Marker": "a\x01"}) == one(
        "Value 'a\x01' at 'marker' failed to satisfy constraint: "
        "Member must satisfy regular expression pattern: [\\u0020-\\u00FF]*"
    )


def test_required_missing_and_null() -> None:
    item = "Value null at 'keyId' failed to satisfy constraint: Member must not be null"
    assert message("DescribeKey", {}) == one(item)
    assert message("DescribeKey", {"KeyId": None}) == one(item)


def test_several_failures_of_one_member_are_separate_items() -> None:
    assert message("CreateAlias", {"AliasName": "", "TargetKeyId": "k"}) == (
        "2 validation errors detected: "
        "Value '' at 'aliasName' failed to satisfy constraint: Member must have length greater than or equal to 1; "
        "Value '' at 'aliasName' failed to satisfy constraint: Member must satisfy regular expression pattern: "
        "^[a-zA-Z0-9:/_-]+$"
    )


def test_multiple_errors_in_model_member_order() -> None:
    msg = message("Encrypt", {"Plaintext": "", "EncryptionAlgorithm": "ROT13"})
    assert msg == (
        "3 validation errors detected: "
        "Value null at 'keyId' failed to satisfy constraint: Member must not be null; "
        "Value at 'plaintext' failed to satisfy constraint: Member must have length greater than or equal to 1; "
        "Value 'ROT13' at 'encryptionAlgorithm' failed to satisfy constraint: Member must satisfy enum value set: "
        f"[{', '.join(SHAPES['EncryptionAlgorithmSpec']['enum'])}]"
    )


def test_nested_list_paths_create_key_tags() -> None:
    msg = message(
        "CreateKey",
        {"Tags": [{"TagKey": "ok", "TagValue": "v"}, {"TagKey": "", "TagValue": "v"}, {"TagKey": "k"}]},
    )
    assert msg == (
        "2 validation errors detected: "
        "Value '' at 'tags.2.member.tagKey' failed to satisfy constraint: "
        "Member must have length greater than or equal to 1; "
        "Value null at 'tags.3.member.tagValue' failed to satisfy constraint: Member must not be null"
    )


def test_list_length() -> None:
    tokens = [f"t{i}" for i in range(11)]
    # Grant tokens are never echoed (spec §8: not in CloudTrail; messages are audited).
    assert message("Encrypt", {"KeyId": "k", "Plaintext": b64(b"x"), "GrantTokens": tokens}) == one(
        "Value at 'grantTokens' failed to satisfy constraint: "
        "Member must have length less than or equal to 10"
    )


def test_list_of_scalars_reports_once_at_the_list() -> None:
    msg = message("CreateGrant", {"KeyId": "k", "GranteePrincipal": "p", "Operations": ["Encrypt", "Nope", "X"]})
    assert msg == one(
        "Value '[Encrypt, Nope, X]' at 'operations' failed to satisfy constraint: Member must satisfy constraint: "
        f"[Member must satisfy enum value set: [{', '.join(SHAPES['GrantOperation']['enum'])}]]"
    )
    msg = message("Encrypt", {"KeyId": "k", "Plaintext": b64(b"x"), "GrantTokens": ["a", ""]})
    assert msg == one(
        "Value at 'grantTokens' failed to satisfy constraint: Member must satisfy constraint: "
        "[Member must have length less than or equal to 8192, Member must have length greater than or equal to 1]"
    )


def test_nested_structure_path() -> None:
    msg = message(
        "CreateGrant",
        {"KeyId": "k", "GranteePrincipal": "p", "Operations": ["Encrypt"], "Constraints": {"SourceArn": "arn:aws:s3:us-east-1:bad"}},
    )
    assert msg == one(
        "Value 'arn:aws:s3:us-east-1:bad' at 'constraints.sourceArn' failed to satisfy constraint: Member must satisfy regular "
        f"expression pattern: {SHAPES['GrantConstraintSourceArnType']['pattern']}"
    )


def test_sensitive_string_omits_value() -> None:
    msg = message("CreateCustomKeyStore", {"CustomKeyStoreName": "n", "KeyStorePassword": "hunter"})
    assert msg == one(
        "Value at 'keyStorePassword' failed to satisfy constraint: Member must have length greater than or equal to 7"
    )


def test_sensitive_nested_string_omits_value() -> None:
    msg = message(
        "CreateCustomKeyStore",
        {
            "CustomKeyStoreName": "n",
            "XksProxyAuthenticationCredential": {"AccessKeyId": "lowercase-secret-id-123", "RawSecretAccessKey": "s" * 43},
        },
    )
    assert "lowercase-secret-id-123" not in msg
    assert msg == one(
        "Value at 'xksProxyAuthenticationCredential.accessKeyId' failed to satisfy constraint: "
        "Member must satisfy regular expression pattern: ^[A-Z2-7]+$"
    )


# --- serialization errors --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("op", "body", "text"),
    [
        ("DescribeKey", {"KeyId": 5}, "NUMBER_VALUE can not be converted to a String"),
        ("DescribeKey", {"KeyId": True}, "BOOLEAN_VALUE can not be converted to a String"),
        ("DescribeKey", {"KeyId": {"a": 1}}, "Start of structure or map found where not expected."),
        ("DescribeKey", {"KeyId": ["a"]}, "Start of list found where not expected."),
        ("GenerateRandom", {"NumberOfBytes": "5"}, "STRING_VALUE can not be converted to an Integer"),
        ("GenerateRandom", {"NumberOfBytes": True}, "BOOLEAN_VALUE can not be converted to an Integer"),
        ("GenerateRandom", {"NumberOfBytes": 1.5}, "NUMBER_VALUE can not be converted to an Integer"),
        ("GenerateRandom", {"NumberOfBytes": 2**31}, "NUMBER_VALUE is out of range for an Integer"),
        ("Encrypt", {"KeyId": "k", "Plaintext": b64(b"x"), "DryRun": "true"}, "STRING_VALUE can not be converted to a Boolean"),
        ("Encrypt", {"KeyId": "k", "Plaintext": 5}, "NUMBER_VALUE can not be converted to a Blob"),
        ("Encrypt", {"KeyId": "k", "Plaintext": "not base64!"}, "Base64 encoded value is not valid."),
        ("Encrypt", {"KeyId": "k", "Plaintext": "QQ"}, "Base64 encoded value is not valid."),
        ("Encrypt", {"KeyId": "k", "Plaintext": "QQ==\n"}, "Base64 encoded value is not valid."),
        ("Encrypt", {"KeyId": "k", "Plaintext": "QQé="}, "Base64 encoded value is not valid."),
        ("Encrypt", {"KeyId": "k", "Plaintext": "QQ==", "EncryptionContext": {"a": 1}}, "NUMBER_VALUE can not be converted to a String"),
        ("Encrypt", {"KeyId": "k", "Plaintext": "QQ==", "EncryptionContext": ["a"]}, "Start of list found where not expected."),
        ("Encrypt", {"KeyId": "k", "Plaintext": "QQ==", "GrantTokens": "a"}, "STRING_VALUE can not be converted to a List"),
        ("Encrypt", {"KeyId": "k", "Plaintext": "QQ==", "GrantTokens": [None]}, "null can not be converted to a String"),
        ("CreateKey", {"Tags": [["x"]]}, "Start of list found where not expected."),
        ("ImportKeyMaterial", {"KeyId": "k", "ImportToken": "QQ==", "EncryptedKeyMaterial": "QQ==", "ValidTo": "2024-01-01"},
         "STRING_VALUE can not be converted to a Timestamp"),
        ("ImportKeyMaterial", {"KeyId": "k", "ImportToken": "QQ==", "EncryptedKeyMaterial": "QQ==", "ValidTo": 10**400},
         "NUMBER_VALUE is out of range for a Timestamp"),
        ("DescribeKey", [], "Start of list found where not expected."),
        ("DescribeKey", "body", "STRING_VALUE can not be converted to a Structure"),
        ("DescribeKey", None, "null can not be converted to a Structure"),
    ],
)
def test_serialization_errors(op: str, body: Any, text: str) -> None:
    with pytest.raises(errors.SerializationError) as ei:
        validation.validate(op, body)
    assert ei.value.message == text


def test_serialization_error_wins_over_validation_errors() -> None:
    with pytest.raises(errors.SerializationError):
        validation.validate("Encrypt", {"KeyId": "", "Plaintext": 7})


def test_unknown_operation() -> None:
    with pytest.raises(errors.UnknownOperation):
        validation.validate("FlyToTheMoon", {})


# --- metadata for other modules ------------------------------------------------------------------


def test_declared_errors() -> None:
    declared = validation.declared_errors("Encrypt")
    assert {"NotFoundException", "DisabledException", "KMSInvalidStateException", "DryRunOperationException"} <= declared
    assert "ValidationException" not in declared  # framework errors are not modeled (spec §1.4)
    for op in OPERATIONS:
        assert all(name in SHAPES and SHAPES[name].get("exception") for name in validation.declared_errors(op))


def test_sensitive_members() -> None:
    # grant tokens are hidden although the model does not mark them sensitive (spec §8)
    assert validation.sensitive_members("Encrypt") == {"plaintext", "grantTokens.member"}
    assert validation.sensitive_members("Decrypt") == {
        "ciphertextBlob", "grantTokens.member", "recipient.attestationDocument"
    }
    assert validation.sensitive_members("RetireGrant") == {"grantToken"}
    assert validation.sensitive_members("CreateCustomKeyStore") == {
        "keyStorePassword",
        "xksProxyAuthenticationCredential.accessKeyId",
        "xksProxyAuthenticationCredential.rawSecretAccessKey",
    }
    assert validation.sensitive_members("ListKeys") == frozenset()


def test_audit_safe_params_omits_secrets_at_any_depth() -> None:
    raw = {
        "CiphertextBlob": "c2VjcmV0",
        "KeyId": "alias/x",
        "EncryptionContext": {"Department": "10"},
        "GrantTokens": ["t"],
        "Recipient": {"AttestationDocument": "ZG9j", "KeyEncryptionAlgorithm": "RSAES_OAEP_SHA_256"},
        "DryRun": None,
        "Unknown": "dropped",
    }
    assert validation.audit_safe_params("Decrypt", raw) == {
        "keyId": "alias/x",
        "encryptionContext": {"Department": "10"},
        "recipient": {"keyEncryptionAlgorithm": "RSAES_OAEP_SHA_256"},
    }
    ks = validation.audit_safe_params(
        "CreateCustomKeyStore",
        {
            "CustomKeyStoreName": "store",
            "KeyStorePassword": "hunter22",
            "XksProxyAuthenticationCredential": {"AccessKeyId": "A" * 20, "RawSecretAccessKey": "s" * 43},
        },
    )
    assert ks == {"customKeyStoreName": "store", "xksProxyAuthenticationCredential": {}}
    tags = validation.audit_safe_params("CreateKey", {"Tags": [{"TagKey": "a", "TagValue": "b"}], "Description": "d"})
    assert tags == {"tags": [{"tagKey": "a", "tagValue": "b"}], "description": "d"}
    assert validation.audit_safe_params("Encrypt", {"KeyId": "k", "Plaintext": "eA=="}) == {"keyId": "k"}


def test_audit_safe_params_on_garbage_never_leaks_secret_containers() -> None:
    # wrong type for a container that holds secrets -> omitted, not echoed
    raw = {"CustomKeyStoreName": 5, "XksProxyAuthenticationCredential": "raw-secret"}
    assert validation.audit_safe_params("CreateCustomKeyStore", raw) == {"customKeyStoreName": 5}
    assert validation.audit_safe_params("Encrypt", ["not", "an", "object"]) == {}


# --- robustness --------------------------------------------------------------------------------------

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4),
    max_leaves=20,
)


def _mutations(op: str) -> st.SearchStrategy[Any]:
    """Near-valid bodies: a full valid body with one member replaced by random JSON."""
    shape = input_shape(op)
    base = sample(shape, all_members=True) if shape else {}
    if not base:
        return st.just(base)
    return st.tuples(st.sampled_from(sorted(base)), json_values).map(lambda kv: {**base, kv[0]: kv[1]})


@settings(max_examples=600, deadline=None)
@given(st.sampled_from(OPERATIONS).flatmap(lambda op: st.tuples(st.just(op), json_values | _mutations(op))))
def test_random_json_only_raises_validation_or_serialization(case: tuple[str, Any]) -> None:
    op, body = case
    try:
        validation.validate(op, body)
    except (errors.ValidationError, errors.SerializationError) as exc:
        assert exc.message
    params = validation.audit_safe_params(op, body)
    assert isinstance(params, dict)
    for secret_path in validation.sensitive_members(op):
        top = secret_path.split(".")[0]
        if "." not in secret_path:
            assert top not in params
