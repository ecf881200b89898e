"""Key policies over the wire (issue 5; spec §7.1, §7.2, §7.5, §13): GetKeyPolicy,
PutKeyPolicy, ListKeyPolicies, CreateKey with Policy, validation, the lockout safety
check, and that a stored policy is what decides (the dev user is an IAM user whose
identity policy allows everything, so the key policy is the variable here)."""

from __future__ import annotations

import json

import pytest

from tests.wire.helpers import expect_error

ACCOUNT = "123456789012"
DEV_USER = f"arn:aws:iam::{ACCOUNT}:user/dev"
ROOT = f"arn:aws:iam::{ACCOUNT}:root"
LOCKOUT = "The new key policy will not allow you to update the key policy in the future."
INVALID_PRINCIPALS = "Policy contains a statement with one or more invalid principals."

DEFAULT_POLICY = (
    "{\n"
    '  "Version" : "2012-10-17",\n'
    '  "Id" : "key-default-1",\n'
    '  "Statement" : [ {\n'
    '    "Sid" : "Enable IAM User Permissions",\n'
    '    "Effect" : "Allow",\n'
    '    "Principal" : {\n'
    f'      "AWS" : "arn:aws:iam::{ACCOUNT}:root"\n'
    "    },\n"
    '    "Action" : "kms:*",\n'
    '    "Resource" : "*"\n'
    "  } ]\n"
    "}"
)


def policy(*statements: dict) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def allow(principal: str, action: str | list[str] = "kms:*", **extra) -> dict:
    return {"Effect": "Allow", "Principal": {"AWS": principal}, "Action": action, "Resource": "*", **extra}


def deny(principal: str, action: str | list[str], **extra) -> dict:
    return {"Effect": "Deny", "Principal": {"AWS": principal}, "Action": action, "Resource": "*", **extra}


ADMIN = allow(ROOT)


def test_default_policy_is_byte_exact(kms):
    key_id = kms.create_key()["KeyMetadata"]["KeyId"]
    got = kms.get_key_policy(KeyId=key_id, PolicyName="default")
    assert got["Policy"] == DEFAULT_POLICY
    assert got["PolicyName"] == "default"
    # PolicyName is optional now and defaults to "default".
    assert kms.get_key_policy(KeyId=key_id)["Policy"] == DEFAULT_POLICY


def test_list_key_policies(kms):
    key_id = kms.create_key()["KeyMetadata"]["KeyId"]
    assert kms.list_key_policies(KeyId=key_id)["PolicyNames"] == ["default"]
    page = kms.list_key_policies(KeyId=key_id, Limit=1)
    assert page["PolicyNames"] == ["default"] and page["Truncated"] is False


def test_unknown_policy_name(kms):
    key_id = kms.create_key()["KeyMetadata"]["KeyId"]
    expect_error(kms.get_key_policy, "NotFoundException", KeyId=key_id, PolicyName="other")
    expect_error(kms.put_key_policy, "NotFoundException", KeyId=key_id, PolicyName="other", Policy=policy(ADMIN))


def test_put_then_get_returns_the_text_as_given(kms):
    key_id = kms.create_key()["KeyMetadata"]["KeyId"]
    text = '{"Version":"2012-10-17",  "Statement":[{"Sid":"Let me in","Effect":"Allow","Principal":{"AWS":"%s"},"Action":"kms:*","Resource":"*"}]}' % ROOT
    kms.put_key_policy(KeyId=key_id, PolicyName="default", Policy=text)
    assert kms.get_key_policy(KeyId=key_id)["Policy"] == text


def test_create_key_with_policy(kms):
    text = policy(ADMIN, allow(DEV_USER, ["kms:Encrypt", "kms:Decrypt"]))
    key_id = kms.create_key(Policy=text)["KeyMetadata"]["KeyId"]
    assert kms.get_key_policy(KeyId=key_id)["Policy"] == text


@pytest.mark.parametrize(
    ("text", "code", "message"),
    [
        ("not json", "MalformedPolicyDocumentException", None),
        (json.dumps({"Statement": [ADMIN]}), "MalformedPolicyDocumentException", None),  # no Version
        (json.dumps({"Version": "2012-10-17", "Statement": []}), "MalformedPolicyDocumentException", None),
        (policy({"Effect": "Allow", "Action": "kms:*", "Resource": "*"}), "MalformedPolicyDocumentException", None),
        (policy(allow("arn:aws:iam::123456789012:user/nobody-here")), "MalformedPolicyDocumentException",
         INVALID_PRINCIPALS),
        (policy(allow("arn:aws:iam::123456789012:role/no-such-role")), "MalformedPolicyDocumentException",
         INVALID_PRINCIPALS),
        (policy(allow("not-an-arn")), "MalformedPolicyDocumentException", INVALID_PRINCIPALS),
        (policy(ADMIN) + " " * 33_000, "LimitExceededException", None),
    ],
    ids=["not-json", "no-version", "no-statement", "no-principal", "unknown-user", "unknown-role", "bad-arn",
         "over-32KB"],
)
def test_invalid_policies_are_refused_on_create_and_put(kms, text, code, message):
    expect_error(kms.create_key, code, message, Policy=text)
    key_id = kms.create_key()["KeyMetadata"]["KeyId"]
    expect_error(kms.put_key_policy, code, message, KeyId=key_id, PolicyName="default", Policy=text)
    assert kms.get_key_policy(KeyId=key_id)["Policy"] == DEFAULT_POLICY  # nothing changed


def test_policy_characters_outside_the_model_pattern(kms):
    key_id = kms.create_key()["KeyMetadata"]["KeyId"]
    text = json.dumps({"Version": "2012-10-17", "Statement": [dict(ADMIN, Sid="snowman \u2603")]}, ensure_ascii=False)
    err = expect_error(kms.put_key_policy, "ValidationException", KeyId=key_id, PolicyName="default", Policy=text)
    assert "policy" in err["message"]


def test_lockout_safety_check(kms):
    only_encrypt = policy(allow(DEV_USER, "kms:Encrypt"))
    expect_error(kms.create_key, "MalformedPolicyDocumentException", LOCKOUT, Policy=only_encrypt)
    key_id = kms.create_key()["KeyMetadata"]["KeyId"]
    expect_error(kms.put_key_policy, "MalformedPolicyDocumentException", LOCKOUT,
                 KeyId=key_id, PolicyName="default", Policy=only_encrypt)
    # A policy that names the caller for PutKeyPolicy passes; so does delegation to IAM
    # (the dev user's identity policy allows kms:*).
    kms.put_key_policy(KeyId=key_id, PolicyName="default",
                       Policy=policy(allow(DEV_USER, ["kms:PutKeyPolicy", "kms:GetKeyPolicy"])))
    kms.put_key_policy(KeyId=key_id, PolicyName="default", Policy=policy(ADMIN))
    # A Deny of PutKeyPolicy for the caller locks out even with the account delegation.
    expect_error(kms.put_key_policy, "MalformedPolicyDocumentException", LOCKOUT, KeyId=key_id,
                 PolicyName="default", Policy=policy(ADMIN, deny(DEV_USER, "kms:PutKeyPolicy")))


def test_bypass_lockout_safety_check_really_locks_out(kms):
    key_id = kms.create_key()["KeyMetadata"]["KeyId"]
    kms.put_key_policy(KeyId=key_id, PolicyName="default", Policy=policy(allow(DEV_USER, "kms:Encrypt")),
                       BypassPolicyLockoutSafetyCheck=True)
    kms.encrypt(KeyId=key_id, Plaintext=b"still allowed")
    arn = kms.describe_key  # DescribeKey is no longer allowed either
    expect_error(arn, "AccessDeniedException",
                 f"User: {DEV_USER} is not authorized to perform: kms:DescribeKey on resource: "
                 f"arn:aws:kms:us-east-1:{ACCOUNT}:key/{key_id} because no resource-based policy allows the "
                 f"kms:DescribeKey action", KeyId=key_id)
    expect_error(kms.put_key_policy, "AccessDeniedException", KeyId=key_id, PolicyName="default",
                 Policy=policy(ADMIN))


def test_key_policy_decides_each_operation(kms):
    key_arn = kms.create_key(Policy=policy(
        allow(DEV_USER, ["kms:PutKeyPolicy", "kms:GetKeyPolicy", "kms:Encrypt", "kms:Describe*"]),
    ))["KeyMetadata"]["Arn"]
    kms.encrypt(KeyId=key_arn, Plaintext=b"ok")
    kms.describe_key(KeyId=key_arn)
    expect_error(kms.generate_data_key, "AccessDeniedException",
                 f"User: {DEV_USER} is not authorized to perform: kms:GenerateDataKey on resource: {key_arn} "
                 "because no resource-based policy allows the kms:GenerateDataKey action",
                 KeyId=key_arn, KeySpec="AES_256")
    expect_error(kms.disable_key, "AccessDeniedException", KeyId=key_arn)


def test_explicit_deny_in_key_policy(kms):
    key_arn = kms.create_key(Policy=policy(ADMIN, deny(DEV_USER, "kms:Encrypt")))["KeyMetadata"]["Arn"]
    expect_error(kms.encrypt, "AccessDeniedException",
                 f"User: {DEV_USER} is not authorized to perform: kms:Encrypt on resource: {key_arn} "
                 "with an explicit deny in a resource-based policy", KeyId=key_arn, Plaintext=b"x")
    # DryRun authorizes too (spec §7.3).
    expect_error(kms.encrypt, "AccessDeniedException", KeyId=key_arn, Plaintext=b"x", DryRun=True)
    kms.generate_data_key(KeyId=key_arn, KeySpec="AES_256")


def test_decrypt_denied_gets_the_generic_ciphertext_message(kms):
    key_arn = kms.create_key()["KeyMetadata"]["Arn"]
    blob = kms.encrypt(KeyId=key_arn, Plaintext=b"secret")["CiphertextBlob"]
    kms.put_key_policy(KeyId=key_arn, PolicyName="default", Policy=policy(ADMIN, deny(DEV_USER, "kms:Decrypt")))
    expect_error(kms.decrypt, "AccessDeniedException",
                 "The ciphertext refers to a customer master key that does not exist, does not exist in this "
                 "region, or you are not allowed to access.", CiphertextBlob=blob)


def test_encryption_context_conditions(kms):
    key_arn = kms.create_key(Policy=policy(
        ADMIN,
        deny(DEV_USER, ["kms:Encrypt", "kms:Decrypt"],
             Condition={"StringNotEquals": {"kms:EncryptionContext:Dept": "IT"}}),
    ))["KeyMetadata"]["Arn"]
    blob = kms.encrypt(KeyId=key_arn, Plaintext=b"p", EncryptionContext={"Dept": "IT"})["CiphertextBlob"]
    assert kms.decrypt(CiphertextBlob=blob, EncryptionContext={"Dept": "IT"})["Plaintext"] == b"p"
    expect_error(kms.encrypt, "AccessDeniedException", KeyId=key_arn, Plaintext=b"p",
                 EncryptionContext={"Dept": "HR"})
    expect_error(kms.encrypt, "AccessDeniedException", KeyId=key_arn, Plaintext=b"p")


def test_request_alias_condition(kms):
    key_arn = kms.create_key(Policy=policy(
        allow(DEV_USER, ["kms:PutKeyPolicy", "kms:Describe*", "kms:CreateAlias"]),
        allow(DEV_USER, "kms:Encrypt", Condition={"StringEquals": {"kms:RequestAlias": "alias/finance"}}),
    ))["KeyMetadata"]["Arn"]
    kms.create_alias(AliasName="alias/finance", TargetKeyId=key_arn)
    kms.encrypt(KeyId="alias/finance", Plaintext=b"x")
    expect_error(kms.encrypt, "AccessDeniedException", KeyId=key_arn, Plaintext=b"x")


def test_policy_change_takes_effect_immediately(kms):
    key_arn = kms.create_key()["KeyMetadata"]["Arn"]
    kms.encrypt(KeyId=key_arn, Plaintext=b"x")
    kms.put_key_policy(KeyId=key_arn, PolicyName="default", Policy=policy(ADMIN, deny(DEV_USER, "kms:Encrypt")))
    expect_error(kms.encrypt, "AccessDeniedException", KeyId=key_arn, Plaintext=b"x")
    kms.put_key_policy(KeyId=key_arn, PolicyName="default", Policy=policy(ADMIN))
    kms.encrypt(KeyId=key_arn, Plaintext=b"x")
