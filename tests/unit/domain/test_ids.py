import pytest

from trent.domain.ids import parse_key_ref

KEY_ID = "1234abcd-12ab-34cd-56ef-1234567890ab"


@pytest.mark.parametrize(
    ("raw", "kind", "key_id", "alias"),
    [
        (KEY_ID, "key_id", KEY_ID, None),
        ("mrk-" + "a" * 32, "key_id", "mrk-" + "a" * 32, None),
        (f"arn:aws:kms:us-east-1:111122223333:key/{KEY_ID}", "key_arn", KEY_ID, None),
        ("alias/my-key", "alias_name", None, "alias/my-key"),
        ("arn:aws:kms:us-east-1:111122223333:alias/my-key", "alias_arn", None, "alias/my-key"),
        ("134f2428cec14b25a1ae9048164dba47", "malformed", None, None),  # spec §2.1: no hyphens -> invalid
        ("arn:aws:kms:us-east-1:111122223333:grant/x", "malformed", None, None),
        ("", "malformed", None, None),
    ],
)
def test_parse_key_ref(raw, kind, key_id, alias):
    ref = parse_key_ref(raw)
    assert (ref.kind, ref.key_id, ref.alias_name) == (kind, key_id, alias)


def test_arn_parts():
    ref = parse_key_ref(f"arn:aws-cn:kms:cn-north-1:111122223333:key/{KEY_ID}")
    assert (ref.partition, ref.region, ref.account_id) == ("aws-cn", "cn-north-1", "111122223333")


def test_uuid4_from_sets_version_and_variant():
    import uuid

    from trent.domain.ids import uuid4_from

    text = uuid4_from(bytes(range(16)))
    parsed = uuid.UUID(text)
    assert parsed.version == 4 and parsed.variant == uuid.RFC_4122 and str(parsed) == text
