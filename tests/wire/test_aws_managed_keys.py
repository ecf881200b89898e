"""AWS managed keys and predefined aliases (issue 19 §2), over the wire with real boto3.

The managed key is created the way an integrated Trent service creates it (the S3
encryption service will call ``service.aws_managed_keys.managed_key``): here through the
service function against the running server's database, then everything is checked over
the wire as a customer sees it.
"""

from __future__ import annotations

import threading
import time

import pytest

from tests.wire.helpers import expect_error
from trent.config import Settings
from trent.domain.clock import SystemClock
from trent.domain.principals import Principal, PrincipalKind
from trent.service import aws_managed_keys
from trent.service.context import RequestContext

DEV = "arn:aws:iam::123456789012:user/dev"

#: GetKeyPolicy of an account's aws/s3 key as AWS returns it: statement order, Sids, actions,
#: the kms:CallerAccount + kms:ViaService condition, Jackson's layout (spec §7.1).
AWS_S3_MANAGED_KEY_POLICY = """{
  "Version" : "2012-10-17",
  "Id" : "auto-s3-2",
  "Statement" : [ {
    "Sid" : "Allow access through S3 for all principals in the account that are authorized to use S3",
    "Effect" : "Allow",
    "Principal" : {
      "AWS" : "*"
    },
    "Action" : [ "kms:Encrypt", "kms:Decrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:DescribeKey" ],
    "Resource" : "*",
    "Condition" : {
      "StringEquals" : {
        "kms:CallerAccount" : "123456789012",
        "kms:ViaService" : "s3.us-east-1.amazonaws.com"
      }
    }
  }, {
    "Sid" : "Allow direct access to key metadata to the account",
    "Effect" : "Allow",
    "Principal" : {
      "AWS" : "arn:aws:iam::123456789012:root"
    },
    "Action" : [ "kms:Describe*", "kms:Get*", "kms:List*" ],
    "Resource" : "*"
  } ]
}"""


def test_list_aliases_lists_predefined_aws_aliases_without_a_target(kms):
    """AWS: ListAliases without KeyId lists alias/aws/<service> of the account and Region
    even before the service created its key; such entries have no TargetKeyId."""
    aliases = {a["AliasName"]: a for a in kms.list_aliases(Limit=100)["Aliases"]}
    s3 = aliases["alias/aws/s3"]
    assert s3["AliasArn"] == "arn:aws:kms:us-east-1:123456789012:alias/aws/s3"
    assert "TargetKeyId" not in s3  # untargeted until the service creates aws/s3
    expect_error(kms.create_alias, "NotAuthorizedException", AliasName="alias/aws/s3",
                 TargetKeyId=kms.create_key()["KeyMetadata"]["KeyId"])


@pytest.fixture(scope="module")
def service_deps(trent_server):
    """The running server's database, as an integrated service in the same deployment sees it."""
    from trent.bootstrap import build_deps

    settings = Settings(dev=True, data_dir=trent_server.data_dir)
    deps = build_deps(settings, clock=SystemClock())
    yield deps
    deps.storage.close()


def _ctx(region: str = "us-east-1") -> RequestContext:
    principal = Principal(DEV, "123456789012", PrincipalKind.IAM_USER, "dev", "AIDADEV")
    return RequestContext(principal, "test", region, "aws", "req", time.time(), "127.0.0.1")


def test_aws_managed_key_is_created_on_first_use_with_aws_properties(kms, service_deps):
    """AWS: alias/aws/s3 names a key with KeyManager AWS, AWS's managed-key policy
    (kms:ViaService + kms:CallerAccount) and yearly rotation; created once per account and
    Region, however many callers race to first use it."""
    found: list[str] = []

    def first_use() -> None:
        found.append(aws_managed_keys.managed_key(service_deps, _ctx(), "s3").key_id)

    threads = [threading.Thread(target=first_use) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(set(found)) == 1
    key_id = found[0]
    time.sleep(1.1)  # the server's read cache (1 s) sees another writer's rows after its TTL
    md = kms.describe_key(KeyId="alias/aws/s3")["KeyMetadata"]
    assert md["KeyId"] == key_id and md["KeyManager"] == "AWS" and md["KeyState"] == "Enabled"
    assert md["Description"] == "Default key that protects my S3 objects when no other key is defined"
    entry = next(a for a in kms.list_aliases(KeyId=key_id)["Aliases"])
    assert entry["AliasName"] == "alias/aws/s3" and entry["TargetKeyId"] == key_id
    assert kms.get_key_policy(KeyId=key_id)["Policy"] == AWS_S3_MANAGED_KEY_POLICY
    status = kms.get_key_rotation_status(KeyId=key_id)
    assert status["KeyRotationEnabled"] is True and status["RotationPeriodInDays"] == 365


def test_aws_managed_key_cannot_be_used_directly_deleted_or_changed(kms, service_deps):
    """AWS: an AWS managed key is usable only through its service; direct use, deletion,
    policy and rotation changes are refused (AccessDeniedException: its policy allows
    the account only Describe*/Get*/List*)."""
    key = aws_managed_keys.managed_key(service_deps, _ctx(), "s3")
    time.sleep(1.1)
    denied = "because no resource-based policy allows the kms:{0} action"
    for call, action, params in (
        (kms.encrypt, "Encrypt", {"Plaintext": b"x"}),
        (kms.schedule_key_deletion, "ScheduleKeyDeletion", {}),
        (kms.put_key_policy, "PutKeyPolicy", {"PolicyName": "default", "Policy": "{}"}),
        (kms.disable_key_rotation, "DisableKeyRotation", {}),
        (kms.enable_key_rotation, "EnableKeyRotation", {"RotationPeriodInDays": 90}),
        (kms.disable_key, "DisableKey", {}),
        (kms.rotate_key_on_demand, "RotateKeyOnDemand", {}),
        (kms.generate_data_key, "GenerateDataKey", {"KeySpec": "AES_256"}),
    ):
        err = expect_error(call, "AccessDeniedException", KeyId=key.arn, **params)
        assert err["message"].endswith(denied.format(action)), err
    kms.describe_key(KeyId=key.arn)
    # Through the service, the account's principals may use it (kms:ViaService).
    from trent.service import encryption

    via = aws_managed_keys.via(_ctx(), "s3")
    sealed = encryption.encrypt(service_deps, via, key.arn, b"object key", None, None, False)
    assert encryption.decrypt(service_deps, via, sealed.blob, None, None, None, False, False).plaintext == b"object key"


def test_describe_key_on_a_predefined_alias_creates_the_aws_managed_key(kms):
    """AWS (DescribeKey): DescribeKey on a predefined alias/aws/<service> that has no key yet
    creates the AWS managed key, points the alias at it and describes it; later calls find
    the same key. Names that are not predefined stay "not found"."""
    md = kms.describe_key(KeyId="alias/aws/dynamodb")["KeyMetadata"]
    assert md["KeyManager"] == "AWS" and md["KeyState"] == "Enabled" and md["KeySpec"] == "SYMMETRIC_DEFAULT"
    again = kms.describe_key(KeyId="arn:aws:kms:us-east-1:123456789012:alias/aws/dynamodb")["KeyMetadata"]
    assert again["KeyId"] == md["KeyId"]
    entry = next(a for a in kms.list_aliases(Limit=100)["Aliases"] if a["AliasName"] == "alias/aws/dynamodb")
    assert entry["TargetKeyId"] == md["KeyId"]
    assert kms.get_key_rotation_status(KeyId=md["KeyId"])["KeyRotationEnabled"] is True
    expect_error(kms.encrypt, "AccessDeniedException", KeyId="alias/aws/dynamodb", Plaintext=b"x")
    expect_error(kms.describe_key, "NotFoundException",
                 "Alias arn:aws:kms:us-east-1:123456789012:alias/aws/not-a-service is not found.",
                 KeyId="alias/aws/not-a-service")
    other_account = "arn:aws:kms:us-east-1:210987654321:alias/aws/sqs"
    expect_error(kms.describe_key, "NotFoundException", f"Alias {other_account} is not found.", KeyId=other_account)


def test_predefined_aliases_and_managed_keys_are_per_account_and_region(trent_server, kms):
    """AWS: every Region of the account has its own predefined aliases and, once created,
    its own AWS managed key behind each; ListAliases with a KeyId lists only that key's
    aliases (no predefined ones)."""
    other = trent_server.client(region_name="eu-central-1")
    names = {a["AliasName"]: a for a in other.list_aliases(Limit=100)["Aliases"]}
    assert names["alias/aws/sqs"]["AliasArn"] == "arn:aws:kms:eu-central-1:123456789012:alias/aws/sqs"
    here = kms.describe_key(KeyId="alias/aws/sqs")["KeyMetadata"]
    there = other.describe_key(KeyId="alias/aws/sqs")["KeyMetadata"]
    assert here["KeyId"] != there["KeyId"] and there["Arn"].startswith("arn:aws:kms:eu-central-1:")
    assert [a["AliasName"] for a in other.list_aliases(KeyId=there["KeyId"])["Aliases"]] == ["alias/aws/sqs"]
    own = other.create_key()["KeyMetadata"]
    assert other.list_aliases(KeyId=own["KeyId"])["Aliases"] == []
