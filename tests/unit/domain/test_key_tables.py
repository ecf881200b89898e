import pytest

from trent.domain.key_specs import KEY_SPECS
from trent.domain.key_states import STATE_TABLE, check_state
from trent.domain.keys import Key, KeySpec, KeyState, KeyUsage, Origin
from trent.errors import Disabled, KMSInvalidState


def key(state: KeyState) -> Key:
    return Key("1234abcd-12ab-34cd-56ef-1234567890ab", "111122223333", "us-east-1", "aws",
               KeySpec.SYMMETRIC_DEFAULT, KeyUsage.ENCRYPT_DECRYPT, Origin.AWS_KMS, state, 0.0)


def test_every_spec_has_a_row_and_its_algorithms():
    assert set(KEY_SPECS) == set(KeySpec)
    for info in KEY_SPECS.values():
        for usage in info.usages:
            assert info.algorithms_by_usage[usage], (info.spec, usage)


@pytest.mark.parametrize(
    ("operation", "state", "error", "suffix"),
    [
        ("Encrypt", KeyState.DISABLED, Disabled, "is disabled."),
        ("Encrypt", KeyState.PENDING_DELETION, KMSInvalidState, "is pending deletion."),
        ("Decrypt", KeyState.PENDING_IMPORT, KMSInvalidState, "is pending import."),
        ("EnableKey", KeyState.PENDING_DELETION, KMSInvalidState, "is pending deletion."),
        ("CancelKeyDeletion", KeyState.ENABLED, KMSInvalidState, "is not pending deletion."),
        ("ScheduleKeyDeletion", KeyState.PENDING_DELETION, KMSInvalidState, "is pending deletion."),
        ("TagResource", KeyState.PENDING_DELETION, KMSInvalidState, "is pending deletion."),
    ],
)
def test_refusals_name_the_key_arn(operation, state, error, suffix):
    k = key(state)
    with pytest.raises(error) as info:
        check_state(operation, k)
    assert info.value.message == f"{k.arn} {suffix}"


@pytest.mark.parametrize("operation", sorted(set(STATE_TABLE) - {"CancelKeyDeletion"}))
def test_enabled_keys_pass_everything_but_cancel(operation):
    check_state(operation, key(KeyState.ENABLED))


@pytest.mark.parametrize("operation", ["DescribeKey", "ListResourceTags", "DeleteAlias"])
def test_reads_work_in_every_state(operation):
    for state in KeyState:
        check_state(operation, key(state))
