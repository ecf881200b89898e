"""ScheduleKeyDeletion / CancelKeyDeletion and the sweeper driven by the dev clock (spec §5.3)."""

from __future__ import annotations

import pytest

from tests.wire.helpers import expect_error

DAY = 86_400


def test_schedule_and_cancel(kms):
    key = kms.create_key()["KeyMetadata"]
    now = kms.describe_key(KeyId=key["KeyId"])["KeyMetadata"]["CreationDate"]
    out = kms.schedule_key_deletion(KeyId=key["KeyId"], PendingWindowInDays=7)
    assert out["KeyId"] == key["Arn"] and out["KeyState"] == "PendingDeletion" and out["PendingWindowInDays"] == 7
    assert abs(out["DeletionDate"].timestamp() - (now.timestamp() + 7 * DAY)) < 60
    md = kms.describe_key(KeyId=key["KeyId"])["KeyMetadata"]
    assert md["KeyState"] == "PendingDeletion" and md["Enabled"] is False and "DeletionDate" in md
    expect_error(kms.encrypt, "KMSInvalidStateException", f"{key['Arn']} is pending deletion.", KeyId=key["KeyId"], Plaintext=b"x")
    expect_error(kms.enable_key, "KMSInvalidStateException", f"{key['Arn']} is pending deletion.", KeyId=key["KeyId"])
    expect_error(kms.schedule_key_deletion, "KMSInvalidStateException", f"{key['Arn']} is pending deletion.", KeyId=key["KeyId"])
    assert kms.cancel_key_deletion(KeyId=key["KeyId"])["KeyId"] == key["Arn"]
    md = kms.describe_key(KeyId=key["KeyId"])["KeyMetadata"]
    assert md["KeyState"] == "Disabled" and "DeletionDate" not in md
    expect_error(kms.cancel_key_deletion, "KMSInvalidStateException", f"{key['Arn']} is not pending deletion.", KeyId=key["KeyId"])


def test_default_window_is_30_days(kms):
    out = kms.schedule_key_deletion(KeyId=kms.create_key()["KeyMetadata"]["KeyId"])
    assert out["PendingWindowInDays"] == 30


@pytest.mark.parametrize(("days", "rule"), [(6, "greater than or equal to 7"), (31, "less than or equal to 30")])
def test_window_bounds(kms, days, rule):
    key_id = kms.create_key()["KeyMetadata"]["KeyId"]
    expect_error(
        kms.schedule_key_deletion, "ValidationException",
        f"1 validation error detected: Value '{days}' at 'pendingWindowInDays' failed to satisfy constraint: Member must have value {rule}",
        KeyId=key_id, PendingWindowInDays=days,
    )


def test_deletion_is_carried_out_when_the_window_ends(trent_server, kms):
    key = kms.create_key()["KeyMetadata"]
    kms.create_alias(AliasName="alias/doomed", TargetKeyId=key["KeyId"])
    kms.tag_resource(KeyId=key["KeyId"], Tags=[{"TagKey": "k", "TagValue": "v"}])
    blob = kms.encrypt(KeyId=key["KeyId"], Plaintext=b"old secret")["CiphertextBlob"]
    survivor = kms.create_key()["KeyMetadata"]
    kms.schedule_key_deletion(KeyId=key["KeyId"], PendingWindowInDays=7)

    trent_server.advance_clock("6d")
    assert kms.describe_key(KeyId=key["KeyId"])["KeyMetadata"]["KeyState"] == "PendingDeletion"

    status = trent_server.advance_clock("1d")
    assert status["keysDeleted"] >= 1
    expect_error(kms.describe_key, "NotFoundException", f"Key '{key['Arn']}' does not exist", KeyId=key["KeyId"])
    expect_error(kms.describe_key, "NotFoundException", "Alias arn:aws:kms:us-east-1:123456789012:alias/doomed is not found.", KeyId="alias/doomed")
    assert "alias/doomed" not in [a["AliasName"] for a in kms.list_aliases()["Aliases"]]
    assert key["KeyId"] not in [k["KeyId"] for k in kms.list_keys(Limit=1000)["Keys"]]
    expect_error(
        kms.decrypt, "AccessDeniedException",
        "The ciphertext refers to a customer master key that does not exist, does not exist in this region, "
        "or you are not allowed to access.",
        CiphertextBlob=blob,
    )
    assert kms.describe_key(KeyId=survivor["KeyId"])["KeyMetadata"]["KeyState"] == "Enabled"
    deletions = [e for e in trent_server.audit_events() if e["eventName"] == "DeleteKey"]
    assert any(e["resources"][0]["ARN"] == key["Arn"] and e["eventType"] == "AwsServiceEvent" for e in deletions)
