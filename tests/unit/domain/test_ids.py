import pytest
from hypothesis import given
from hypothesis import strategies as st

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


@given(st.binary(min_size=16, max_size=16))
def test_uuid4_from_matches_the_standard_library(random16: bytes) -> None:
    import uuid

    from trent.domain.ids import uuid4_from

    assert uuid4_from(random16) == str(uuid.UUID(bytes=random16, version=4))


def test_new_uuid4_takes_injected_bytes_or_fresh_pool_bytes() -> None:
    import uuid

    from trent.domain.ids import new_uuid4

    assert new_uuid4(lambda n: bytes(n)) == "00000000-0000-4000-8000-000000000000"
    ids = {new_uuid4() for _ in range(1000)}  # crosses several pool refills (256 ids each)
    assert len(ids) == 1000
    assert all(uuid.UUID(i).version == 4 for i in ids)


def test_new_uuid4_threads_never_share_pool_bytes() -> None:
    from tests.unit.domain.concurrent_draws import draws_from_threads
    from trent.domain.ids import new_uuid4

    everything = draws_from_threads(new_uuid4, each=2000)
    assert len(set(everything)) == len(everything) == 8000


def test_a_forked_child_does_not_repeat_its_parents_ids() -> None:
    import os

    from trent.domain.ids import new_uuid4

    new_uuid4()  # the pool now holds bytes the parent will hand out next
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # child
        os.write(write, new_uuid4().encode())
        os._exit(0)
    os.close(write)
    child = os.read(read, 64).decode()
    os.waitpid(pid, 0)
    assert child != new_uuid4()
