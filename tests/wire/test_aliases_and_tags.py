"""Aliases (spec §2.1, §5.5) and tags (spec §5.6) over the wire."""

from __future__ import annotations

import pytest

from tests.wire.helpers import expect_error

ACCOUNT = "123456789012"


def alias_arn(name: str) -> str:
    return f"arn:aws:kms:us-east-1:{ACCOUNT}:{name}"


def test_alias_lifecycle(kms):
    a = kms.create_key()["KeyMetadata"]
    b = kms.create_key()["KeyMetadata"]
    kms.create_alias(AliasName="alias/life", TargetKeyId=a["KeyId"])
    entry = next(x for x in kms.list_aliases(KeyId=a["KeyId"])["Aliases"] if x["AliasName"] == "alias/life")
    assert entry["AliasArn"] == alias_arn("alias/life") and entry["TargetKeyId"] == a["KeyId"]
    assert "CreationDate" in entry and "LastUpdatedDate" in entry
    kms.update_alias(AliasName="alias/life", TargetKeyId=b["Arn"])
    assert kms.describe_key(KeyId="alias/life")["KeyMetadata"]["KeyId"] == b["KeyId"]
    assert [x["AliasName"] for x in kms.list_aliases(KeyId=a["KeyId"])["Aliases"]] == []
    kms.delete_alias(AliasName="alias/life")
    expect_error(kms.describe_key, "NotFoundException", f"Alias {alias_arn('alias/life')} is not found.", KeyId="alias/life")
    expect_error(kms.delete_alias, "NotFoundException", f"Alias {alias_arn('alias/life')} is not found.", AliasName="alias/life")


def test_duplicate_alias(kms):
    key_id = kms.create_key()["KeyMetadata"]["KeyId"]
    kms.create_alias(AliasName="alias/dup", TargetKeyId=key_id)
    expect_error(kms.create_alias, "AlreadyExistsException", f"An alias with the name {alias_arn('alias/dup')} already exists",
                 AliasName="alias/dup", TargetKeyId=key_id)


@pytest.mark.parametrize(
    ("name", "code", "message"),
    [
        ("no-prefix", "ValidationException",
         'Alias must start with the prefix "alias/". Please see https://docs.aws.amazon.com/kms/latest/developerguide/kms-alias.html'),
        ("alias/aws/reserved", "NotAuthorizedException", None),
        ("alias/my:alias", "ValidationException", "alias/my:alias contains invalid characters for an alias"),
    ],
)
def test_alias_name_rules(kms, name, code, message):
    key_id = kms.create_key()["KeyMetadata"]["KeyId"]
    expect_error(kms.create_alias, code, message, AliasName=name, TargetKeyId=key_id)


def test_alias_pattern_violation(kms):
    key_id = kms.create_key()["KeyMetadata"]["KeyId"]
    err = expect_error(kms.create_alias, "ValidationException", AliasName="alias/bad name", TargetKeyId=key_id)
    assert err["message"] == (
        "1 validation error detected: Value 'alias/bad name' at 'aliasName' failed to satisfy constraint: "
        "Member must satisfy regular expression pattern: ^[a-zA-Z0-9:/_-]+$"
    )


def test_alias_must_target_a_key(kms):
    key_id = kms.create_key()["KeyMetadata"]["KeyId"]
    kms.create_alias(AliasName="alias/first", TargetKeyId=key_id)
    expect_error(kms.create_alias, "ValidationException", "Aliases must refer to keys. Not aliases",
                 AliasName="alias/second", TargetKeyId="alias/first")


def test_alias_on_a_key_pending_deletion(kms):
    live = kms.create_key()["KeyMetadata"]
    doomed = kms.create_key()["KeyMetadata"]
    kms.create_alias(AliasName="alias/retarget", TargetKeyId=live["KeyId"])
    kms.schedule_key_deletion(KeyId=doomed["KeyId"])
    expect_error(kms.create_alias, "KMSInvalidStateException", f"{doomed['Arn']} is pending deletion.",
                 AliasName="alias/to-doomed", TargetKeyId=doomed["KeyId"])
    expect_error(kms.update_alias, "KMSInvalidStateException", f"{doomed['Arn']} is pending deletion.",
                 AliasName="alias/retarget", TargetKeyId=doomed["KeyId"])


def test_list_aliases_pagination(trent_server):
    trent_server.reset()
    kms = trent_server.client()
    key_id = kms.create_key()["KeyMetadata"]["KeyId"]
    names = [f"alias/page-{i:02d}" for i in range(7)]
    for name in names:
        kms.create_alias(AliasName=name, TargetKeyId=key_id)
    seen, marker = [], None
    while True:
        page = kms.list_aliases(Limit=3, **({"Marker": marker} if marker else {}))
        seen += [a["AliasName"] for a in page["Aliases"]]
        if not page["Truncated"]:
            assert "NextMarker" not in page
            break
        marker = page["NextMarker"]
    # AWS also lists the predefined alias/aws/<service> aliases, untargeted (issue 19).
    assert [n for n in seen if not n.startswith("alias/aws/")] == names
    assert seen == sorted(seen)
    expect_error(kms.list_aliases, "InvalidMarkerException", Marker="not-a-marker")


def test_list_aliases_by_unknown_key(kms):
    expect_error(kms.list_aliases, "NotFoundException",
                 "Key 'arn:aws:kms:us-east-1:123456789012:key/00000000-0000-4000-8000-000000000000' does not exist",
                 KeyId="00000000-0000-4000-8000-000000000000")


def test_tags(kms):
    key_id = kms.create_key()["KeyMetadata"]["KeyId"]
    kms.tag_resource(KeyId=key_id, Tags=[{"TagKey": "b", "TagValue": "1"}, {"TagKey": "a", "TagValue": ""}])
    kms.tag_resource(KeyId=key_id, Tags=[{"TagKey": "b", "TagValue": "2"}])
    assert kms.list_resource_tags(KeyId=key_id)["Tags"] == [{"TagKey": "a", "TagValue": ""}, {"TagKey": "b", "TagValue": "2"}]
    kms.untag_resource(KeyId=key_id, TagKeys=["a", "never-there"])
    out = kms.list_resource_tags(KeyId=key_id)
    assert out["Tags"] == [{"TagKey": "b", "TagValue": "2"}] and out["Truncated"] is False


@pytest.mark.parametrize(
    ("tags", "message"),
    [
        ([{"TagKey": "k", "TagValue": "1"}, {"TagKey": "k", "TagValue": "2"}], "Duplicate tag keys"),
        ([{"TagKey": "aws:thing", "TagValue": "1"}], "Tags beginning with aws: are reserved"),
        ([{"TagKey": "AWS:thing", "TagValue": "1"}], "Tags beginning with aws: are reserved"),
        ([{"TagKey": f"k{i}", "TagValue": "v"} for i in range(51)], "Too many tags"),
    ],
)
def test_tag_errors(kms, tags, message):
    key_id = kms.create_key()["KeyMetadata"]["KeyId"]
    expect_error(kms.tag_resource, "TagException", message, KeyId=key_id, Tags=tags)


def test_tag_limit_counts_existing_tags(kms):
    key_id = kms.create_key()["KeyMetadata"]["KeyId"]
    kms.tag_resource(KeyId=key_id, Tags=[{"TagKey": f"k{i}", "TagValue": "v"} for i in range(50)])
    kms.tag_resource(KeyId=key_id, Tags=[{"TagKey": "k0", "TagValue": "replaced"}])
    expect_error(kms.tag_resource, "TagException", "Too many tags", KeyId=key_id, Tags=[{"TagKey": "new", "TagValue": "v"}])


def test_tag_lengths_use_the_validation_template(kms):
    key_id = kms.create_key()["KeyMetadata"]["KeyId"]
    err = expect_error(kms.tag_resource, "ValidationException", KeyId=key_id, Tags=[{"TagKey": "k" * 129, "TagValue": "v"}])
    assert "at 'tags.1.member.tagKey' failed to satisfy constraint: Member must have length less than or equal to 128" in err["message"]
    err = expect_error(kms.tag_resource, "ValidationException", KeyId=key_id, Tags=[{"TagKey": "k", "TagValue": "v" * 257}])
    assert "at 'tags.1.member.tagValue' failed to satisfy constraint: Member must have length less than or equal to 256" in err["message"]


def test_list_resource_tags_pagination(kms):
    key_id = kms.create_key()["KeyMetadata"]["KeyId"]
    kms.tag_resource(KeyId=key_id, Tags=[{"TagKey": f"k{i:02d}", "TagValue": "v"} for i in range(5)])
    first = kms.list_resource_tags(KeyId=key_id, Limit=2)
    assert first["Truncated"] is True and [t["TagKey"] for t in first["Tags"]] == ["k00", "k01"]
    rest = kms.list_resource_tags(KeyId=key_id, Limit=10, Marker=first["NextMarker"])
    assert [t["TagKey"] for t in rest["Tags"]] == ["k02", "k03", "k04"] and rest["Truncated"] is False


def test_tagging_a_key_pending_deletion(kms):
    key = kms.create_key()["KeyMetadata"]
    kms.schedule_key_deletion(KeyId=key["KeyId"])
    expect_error(kms.tag_resource, "KMSInvalidStateException", f"{key['Arn']} is pending deletion.",
                 KeyId=key["KeyId"], Tags=[{"TagKey": "k", "TagValue": "v"}])
