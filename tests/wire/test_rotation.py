"""Rotation over the wire (spec §5.4): automatic schedules run by the dev clock, on-demand
rotation and its quota, ListKeyRotations, and which keys may rotate.

Clock jumps happen on a private server (``lifecycle_server``) so they neither disturb
nor depend on the shared session server's other tests.
"""

from __future__ import annotations

import datetime as dt

import pytest

from tests.fixtures.trent_server import start_trent, stop_trent
from tests.wire.helpers import expect_error

DAY = 86_400
LIMIT_MESSAGE = (
    "The on-demand rotations limit has been reached for the given keyId. "
    "No more on-demand rotations can be performed for this key: {arn}"
)


@pytest.fixture(scope="module")
def lifecycle_server(tmp_path_factory):
    server = start_trent(tmp_path_factory.mktemp("rotation") / "data")
    yield server
    stop_trent(server)


@pytest.fixture()
def lkms(lifecycle_server):
    return lifecycle_server.client()


def _ts(value: dt.datetime) -> float:
    return value.timestamp()


def test_enable_status_disable(kms):
    key = kms.create_key()["KeyMetadata"]
    status = kms.get_key_rotation_status(KeyId=key["KeyId"])
    # AWS answers with the key ARN, as RotateKeyOnDemand does (recorded; issue 19)
    assert status["KeyRotationEnabled"] is False and status["KeyId"] == key["Arn"]
    assert "RotationPeriodInDays" not in status and "NextRotationDate" not in status

    kms.enable_key_rotation(KeyId=key["KeyId"])
    status = kms.get_key_rotation_status(KeyId=key["KeyId"])
    assert status["KeyRotationEnabled"] is True and status["RotationPeriodInDays"] == 365
    created = _ts(key["CreationDate"])
    assert abs(_ts(status["NextRotationDate"]) - (created + 365 * DAY)) < 120
    assert "OnDemandRotationStartDate" not in status

    kms.enable_key_rotation(KeyId=key["KeyId"], RotationPeriodInDays=90)  # re-calling changes the period
    status = kms.get_key_rotation_status(KeyId=key["KeyId"])
    assert status["RotationPeriodInDays"] == 90
    assert abs(_ts(status["NextRotationDate"]) - (created + 90 * DAY)) < 120

    kms.disable_key_rotation(KeyId=key["KeyId"])
    status = kms.get_key_rotation_status(KeyId=key["KeyId"])
    assert status["KeyRotationEnabled"] is False and "RotationPeriodInDays" not in status


@pytest.mark.parametrize(("days", "rule"), [(89, "greater than or equal to 90"), (2561, "less than or equal to 2560")])
def test_rotation_period_bounds(trent_server, days, rule):
    from botocore.config import Config

    kms = trent_server.client(config=Config(parameter_validation=False, retries={"max_attempts": 1}))
    key_id = kms.create_key()["KeyMetadata"]["KeyId"]
    err = expect_error(kms.enable_key_rotation, "ValidationException", KeyId=key_id, RotationPeriodInDays=days)
    assert "rotationPeriodInDays" in err["message"] and rule in err["message"], err


def test_rotation_state_errors(kms):
    key = kms.create_key()["KeyMetadata"]
    kms.disable_key(KeyId=key["KeyId"])
    for call in (kms.enable_key_rotation, kms.disable_key_rotation, kms.rotate_key_on_demand):
        expect_error(call, "DisabledException", f"{key['Arn']} is disabled.", KeyId=key["KeyId"])
    kms.enable_key(KeyId=key["KeyId"])
    kms.enable_key_rotation(KeyId=key["KeyId"])
    kms.schedule_key_deletion(KeyId=key["KeyId"], PendingWindowInDays=7)
    # spec §5.3: while pending deletion the status reads false.
    assert kms.get_key_rotation_status(KeyId=key["KeyId"])["KeyRotationEnabled"] is False
    for call in (kms.enable_key_rotation, kms.rotate_key_on_demand):
        expect_error(call, "KMSInvalidStateException", f"{key['Arn']} is pending deletion.", KeyId=key["KeyId"])
    kms.cancel_key_deletion(KeyId=key["KeyId"])
    assert kms.get_key_rotation_status(KeyId=key["KeyId"])["KeyRotationEnabled"] is True


def test_external_keys_do_not_rotate_automatically(kms):
    key = kms.create_key(Origin="EXTERNAL")["KeyMetadata"]
    message = f"{key['Arn']} origin is EXTERNAL which is not valid for this operation."
    for call in (kms.enable_key_rotation, kms.disable_key_rotation, kms.get_key_rotation_status):
        expect_error(call, "UnsupportedOperationException", message, KeyId=key["KeyId"])
    expect_error(kms.rotate_key_on_demand, "KMSInvalidStateException", f"{key['Arn']} is pending import.",
                 KeyId=key["KeyId"])


def test_rotate_on_demand_keeps_old_ciphertexts(kms):
    key = kms.create_key()["KeyMetadata"]
    first = key["CurrentKeyMaterialId"]
    old_blob = kms.encrypt(KeyId=key["KeyId"], Plaintext=b"before")["CiphertextBlob"]
    old_dk = kms.generate_data_key(KeyId=key["KeyId"], KeySpec="AES_256")
    assert old_dk["KeyMaterialId"] == first

    assert kms.rotate_key_on_demand(KeyId=key["KeyId"])["KeyId"] == key["Arn"]
    second = kms.describe_key(KeyId=key["KeyId"])["KeyMetadata"]["CurrentKeyMaterialId"]
    assert second != first and len(second) == 64
    assert kms.describe_key(KeyId=key["KeyId"])["KeyMetadata"]["KeyId"] == key["KeyId"]

    back = kms.decrypt(CiphertextBlob=old_blob)
    assert back["Plaintext"] == b"before" and back["KeyMaterialId"] == first
    assert kms.decrypt(CiphertextBlob=old_dk["CiphertextBlob"])["Plaintext"] == old_dk["Plaintext"]
    new_blob = kms.encrypt(KeyId=key["KeyId"], Plaintext=b"after")["CiphertextBlob"]
    assert kms.decrypt(CiphertextBlob=new_blob)["KeyMaterialId"] == second
    assert kms.generate_data_key(KeyId=key["KeyId"], NumberOfBytes=16)["KeyMaterialId"] == second
    re = kms.re_encrypt(CiphertextBlob=old_blob, DestinationKeyId=key["KeyId"])
    assert re["SourceKeyMaterialId"] == first and re["DestinationKeyMaterialId"] == second
    assert kms.decrypt(CiphertextBlob=re["CiphertextBlob"])["Plaintext"] == b"before"

    rotations = kms.list_key_rotations(KeyId=key["KeyId"])
    assert rotations["Truncated"] is False
    [entry] = rotations["Rotations"]
    assert entry["KeyId"] == key["KeyId"] and entry["KeyMaterialId"] == second
    assert entry["KeyMaterialState"] == "CURRENT" and entry["RotationType"] == "ON_DEMAND" and "RotationDate" in entry
    everything = kms.list_key_rotations(KeyId=key["KeyId"], IncludeKeyMaterial="ALL_KEY_MATERIAL")["Rotations"]
    assert [(r["KeyMaterialId"], r["KeyMaterialState"]) for r in everything] == [(first, "NON_CURRENT"), (second, "CURRENT")]
    assert "RotationDate" not in everything[0] and "RotationType" not in everything[0]


def test_on_demand_limit_and_pagination(kms):
    key = kms.create_key()["KeyMetadata"]
    for _ in range(25):
        kms.rotate_key_on_demand(KeyId=key["KeyId"])
    expect_error(kms.rotate_key_on_demand, "LimitExceededException", LIMIT_MESSAGE.format(arn=key["Arn"]),
                 KeyId=key["KeyId"])
    seen, marker = [], None
    while True:
        page = kms.list_key_rotations(KeyId=key["KeyId"], Limit=10, **({"Marker": marker} if marker else {}))
        seen += [r["KeyMaterialId"] for r in page["Rotations"]]
        if not page["Truncated"]:
            break
        marker = page["NextMarker"]
    assert len(seen) == len(set(seen)) == 25
    expect_error(kms.list_key_rotations, "InvalidMarkerException", KeyId=key["KeyId"], Marker="bogus")


def test_asymmetric_and_hmac_keys_do_not_rotate(kms):
    for spec, usage in (("RSA_2048", "ENCRYPT_DECRYPT"), ("HMAC_256", "GENERATE_VERIFY_MAC")):
        try:
            key = kms.create_key(KeySpec=spec, KeyUsage=usage)["KeyMetadata"]
        except kms.exceptions.UnsupportedOperationException:
            pytest.skip("asymmetric/HMAC keys are not in this build yet")
        for call in (kms.rotate_key_on_demand, kms.enable_key_rotation, kms.get_key_rotation_status,
                     kms.list_key_rotations):
            err = expect_error(call, "UnsupportedOperationException", KeyId=key["KeyId"])
            assert err["message"] == ""


def test_automatic_rotation_runs_on_the_clock(lifecycle_server, lkms):
    key = lkms.create_key()["KeyMetadata"]
    first = key["CurrentKeyMaterialId"]
    blob = lkms.encrypt(KeyId=key["KeyId"], Plaintext=b"year one")["CiphertextBlob"]
    lkms.enable_key_rotation(KeyId=key["KeyId"], RotationPeriodInDays=90)
    lifecycle_server.advance_clock("89d")
    assert lkms.describe_key(KeyId=key["KeyId"])["KeyMetadata"]["CurrentKeyMaterialId"] == first
    lifecycle_server.advance_clock("1d")
    second = lkms.describe_key(KeyId=key["KeyId"])["KeyMetadata"]["CurrentKeyMaterialId"]
    assert second != first
    [entry] = lkms.list_key_rotations(KeyId=key["KeyId"])["Rotations"]
    assert entry["RotationType"] == "AUTOMATIC" and entry["KeyMaterialId"] == second
    status = lkms.get_key_rotation_status(KeyId=key["KeyId"])
    assert abs(_ts(status["NextRotationDate"]) - (_ts(entry["RotationDate"]) + 90 * DAY)) < 5
    assert lkms.decrypt(CiphertextBlob=blob)["Plaintext"] == b"year one"
    events = [e for e in lifecycle_server.audit_events() if e["eventName"] == "RotateKey"]
    assert any(e["resources"][0]["ARN"] == key["Arn"] and e["eventType"] == "AwsServiceEvent"
               and e["userIdentity"]["invokedBy"] == "AWS Internal" for e in events)


def test_disabled_keys_pause_and_catch_up(lifecycle_server, lkms):
    key = lkms.create_key()["KeyMetadata"]
    first = key["CurrentKeyMaterialId"]
    lkms.enable_key_rotation(KeyId=key["KeyId"], RotationPeriodInDays=90)
    lkms.disable_key(KeyId=key["KeyId"])
    lifecycle_server.advance_clock("200d")
    assert lkms.describe_key(KeyId=key["KeyId"])["KeyMetadata"]["CurrentKeyMaterialId"] == first
    lkms.enable_key(KeyId=key["KeyId"])
    lifecycle_server.advance_clock("0s")  # the next sweep (every few seconds in production)
    md = lkms.describe_key(KeyId=key["KeyId"])["KeyMetadata"]
    assert md["CurrentKeyMaterialId"] != first
    assert len(lkms.list_key_rotations(KeyId=key["KeyId"])["Rotations"]) == 1


def test_rotation_survives_restart(tmp_path):
    server = start_trent(tmp_path / "data")
    try:
        kms = server.client()
        key = kms.create_key()["KeyMetadata"]
        blob = kms.encrypt(KeyId=key["KeyId"], Plaintext=b"kept")["CiphertextBlob"]
        kms.enable_key_rotation(KeyId=key["KeyId"], RotationPeriodInDays=100)
        kms.rotate_key_on_demand(KeyId=key["KeyId"])
    finally:
        stop_trent(server)
    server = start_trent(tmp_path / "data")
    try:
        kms = server.client()
        status = kms.get_key_rotation_status(KeyId=key["KeyId"])
        assert status["KeyRotationEnabled"] is True and status["RotationPeriodInDays"] == 100
        assert len(kms.list_key_rotations(KeyId=key["KeyId"])["Rotations"]) == 1
        assert kms.decrypt(CiphertextBlob=blob)["Plaintext"] == b"kept"
    finally:
        stop_trent(server)


def test_cli_clock_advance_runs_rotation(lifecycle_server, lkms):
    """`trent dev clock advance 400d`, as a test suite outside Python would drive it."""
    import json
    import subprocess
    import sys

    key = lkms.create_key()["KeyMetadata"]
    lkms.enable_key_rotation(KeyId=key["KeyId"])  # yearly
    out = subprocess.run(
        [sys.executable, "-m", "trent.cli.main", "dev", "--endpoint-url", lifecycle_server.endpoint_url,
         "clock", "advance", "400d"],
        check=True, capture_output=True, text=True,
    )
    status = json.loads(out.stdout)
    assert status["keysRotated"] >= 1 and "keyMaterialsExpired" in status
    assert lkms.describe_key(KeyId=key["KeyId"])["KeyMetadata"]["CurrentKeyMaterialId"] != key["CurrentKeyMaterialId"]


def test_on_demand_rotation_leaves_the_schedule_alone(kms):
    key = kms.create_key()["KeyMetadata"]
    kms.enable_key_rotation(KeyId=key["KeyId"], RotationPeriodInDays=180)
    before = kms.get_key_rotation_status(KeyId=key["KeyId"])["NextRotationDate"]
    kms.rotate_key_on_demand(KeyId=key["KeyId"])
    after = kms.get_key_rotation_status(KeyId=key["KeyId"])
    assert after["NextRotationDate"] == before and after["RotationPeriodInDays"] == 180


def test_aws_managed_key_rotates_every_year(lifecycle_server, lkms):
    """AWS (spec §5.4): KMS rotates an AWS managed key's material every year, always; the
    account sees it in DescribeKey, GetKeyRotationStatus and ListKeyRotations (AUTOMATIC)."""
    key = lkms.describe_key(KeyId="alias/aws/s3")["KeyMetadata"]  # created on first use
    first = key["CurrentKeyMaterialId"]
    status = lkms.get_key_rotation_status(KeyId=key["KeyId"])
    assert status["KeyRotationEnabled"] is True and status["RotationPeriodInDays"] == 365
    lifecycle_server.advance_clock("364d")
    assert lkms.describe_key(KeyId=key["KeyId"])["KeyMetadata"]["CurrentKeyMaterialId"] == first
    lifecycle_server.advance_clock("1d")
    second = lkms.describe_key(KeyId=key["KeyId"])["KeyMetadata"]["CurrentKeyMaterialId"]
    assert second != first
    [entry] = lkms.list_key_rotations(KeyId=key["KeyId"])["Rotations"]
    assert entry["RotationType"] == "AUTOMATIC" and entry["KeyMaterialId"] == second
    assert lkms.get_key_rotation_status(KeyId=key["KeyId"])["KeyRotationEnabled"] is True
