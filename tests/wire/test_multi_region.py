"""Multi-Region keys end to end over the wire (issue 19, spec §12), each test stating AWS's
behaviour. One `trent serve --dev --regions us-east-1,us-west-2,eu-west-1` serves all three
Regions from one database; boto3 clients differ only in region_name.
"""

from __future__ import annotations

import json
import os
import threading
from unittest.mock import ANY

import pytest

from tests.wire.helpers import expect_error, wire_error
from tests.wire.multi_region_fixtures import (  # noqa: F401 - pytest fixtures, registered by being imported
    EAST, EU, WEST, east_fixture, eu_fixture, server_fixture, settle, west_fixture,
)


def mrk(east, **kw) -> dict:
    return east.create_key(MultiRegion=True, **kw)["KeyMetadata"]


def replicate(east, key: dict, region: str = WEST, **kw) -> dict:
    return east.replicate_key(KeyId=key["KeyId"], ReplicaRegion=region, **kw)


def test_create_key_multi_region_is_a_primary_with_no_replicas(east):
    """AWS: CreateKey MultiRegion=true gives an mrk- id, MultiRegionKeyType PRIMARY, ReplicaKeys []."""
    md = mrk(east)
    assert md["KeyId"].startswith("mrk-") and md["MultiRegion"] is True
    assert md["MultiRegionConfiguration"] == {
        "MultiRegionKeyType": "PRIMARY", "PrimaryKey": {"Arn": md["Arn"], "Region": EAST}, "ReplicaKeys": []}


def test_replicate_key_answers_creating_then_the_replica_becomes_enabled(east, west):
    """AWS: ReplicateKey's ReplicaKeyMetadata is Creating with Enabled false and no
    CurrentKeyMaterialId; ReplicaPolicy is the default key policy unless one is given —
    nothing but the shared properties is copied (description, policy and tags are not);
    the replica becomes Enabled shortly after; every member lists the whole set."""
    policy = json.dumps({"Version": "2012-10-17", "Statement": [{
        "Sid": "custom", "Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::123456789012:root"},
        "Action": "kms:*", "Resource": "*"}]})
    key = mrk(east, Description="primary only", Policy=policy, Tags=[{"TagKey": "p", "TagValue": "1"}])
    out = replicate(east, key, Tags=[{"TagKey": "r", "TagValue": "2"}])
    md = out["ReplicaKeyMetadata"]
    replica_arn = key["Arn"].replace(EAST, WEST)
    assert (md["KeyId"], md["Arn"], md["KeyState"], md["Enabled"]) == (key["KeyId"], replica_arn, "Creating", False)
    assert md["Description"] == "" and "CurrentKeyMaterialId" not in md
    assert (md["KeySpec"], md["KeyUsage"], md["Origin"]) == (key["KeySpec"], key["KeyUsage"], key["Origin"])
    assert json.loads(out["ReplicaPolicy"])["Statement"][0]["Sid"] == "Enable IAM User Permissions"
    assert out["ReplicaTags"] == [{"TagKey": "r", "TagValue": "2"}]
    assert west.list_resource_tags(KeyId=key["KeyId"])["Tags"] == [{"TagKey": "r", "TagValue": "2"}]
    assert md["MultiRegionConfiguration"]["MultiRegionKeyType"] == "REPLICA"

    settled = settle(west, key["KeyId"])
    assert settled["KeyState"] == "Enabled" and settled["Enabled"] is True
    assert settled["CurrentKeyMaterialId"] == key["CurrentKeyMaterialId"]
    expected = {"PrimaryKey": {"Arn": key["Arn"], "Region": EAST}, "ReplicaKeys": [{"Arn": replica_arn, "Region": WEST}]}
    for client, kind in ((east, "PRIMARY"), (west, "REPLICA")):
        config = client.describe_key(KeyId=key["KeyId"])["KeyMetadata"]["MultiRegionConfiguration"]
        assert config == {"MultiRegionKeyType": kind, **expected}


def test_related_keys_decrypt_each_others_ciphertexts_in_every_region(east, west, eu):
    """AWS: primary and replicas share key id and material, so a ciphertext from any member
    decrypts with any other, in its Region, without a cross-Region call."""
    key = mrk(east)
    replicate(east, key, WEST)
    replicate(east, key, EU)
    settle(west, key["KeyId"]), settle(eu, key["KeyId"])
    for source in (east, west, eu):
        blob = source.encrypt(KeyId=key["KeyId"], Plaintext=b"secret", EncryptionContext={"a": "b"})["CiphertextBlob"]
        for target in (east, west, eu):
            out = target.decrypt(CiphertextBlob=blob, EncryptionContext={"a": "b"})
            assert out["Plaintext"] == b"secret"
            assert out["KeyId"] == key["Arn"].replace(EAST, target.meta.region_name)


def test_independent_properties_stay_per_region(east, west):
    """AWS: description, policy, aliases, tags and enabled state are independent per member."""
    key = mrk(east)
    replicate(east, key)
    settle(west, key["KeyId"])
    west.disable_key(KeyId=key["KeyId"])
    west.update_key_description(KeyId=key["KeyId"], Description="west")
    west.create_alias(AliasName="alias/mrk-west", TargetKeyId=key["KeyId"])
    assert east.describe_key(KeyId=key["KeyId"])["KeyMetadata"]["KeyState"] == "Enabled"
    assert east.describe_key(KeyId=key["KeyId"])["KeyMetadata"]["Description"] == ""
    assert [a for a in east.list_aliases(KeyId=key["KeyId"])["Aliases"]] == []
    expect_error(west.encrypt, "DisabledException", f"{key['Arn'].replace(EAST, WEST)} is disabled.",
                 KeyId="alias/mrk-west", Plaintext=b"x")
    east.encrypt(KeyId=key["KeyId"], Plaintext=b"x")


def test_rotation_is_shared_and_made_on_the_primary(server, east, west):
    """AWS: the automatic rotation setting and on-demand rotations are shared properties,
    managed on the primary only and synchronized to replicas (CloudTrail records a
    SynchronizeMultiRegionKey service event); old ciphertexts still decrypt everywhere."""
    key = mrk(east)
    replicate(east, key)
    settle(west, key["KeyId"])
    before = east.encrypt(KeyId=key["KeyId"], Plaintext=b"old")["CiphertextBlob"]
    east.enable_key_rotation(KeyId=key["KeyId"], RotationPeriodInDays=180)
    status = west.get_key_rotation_status(KeyId=key["KeyId"])
    assert status["KeyRotationEnabled"] is True and status["RotationPeriodInDays"] == 180
    replica_arn = key["Arn"].replace(EAST, WEST)
    for call in (west.enable_key_rotation, west.disable_key_rotation, west.rotate_key_on_demand):
        expect_error(call, "UnsupportedOperationException", f"{replica_arn} is not a multi-region primary key.",
                     KeyId=key["KeyId"])
    east.rotate_key_on_demand(KeyId=key["KeyId"])
    new_id = east.describe_key(KeyId=key["KeyId"])["KeyMetadata"]["CurrentKeyMaterialId"]
    assert new_id != key["CurrentKeyMaterialId"]
    assert west.describe_key(KeyId=key["KeyId"])["KeyMetadata"]["CurrentKeyMaterialId"] == new_id
    after = west.encrypt(KeyId=key["KeyId"], Plaintext=b"new")["CiphertextBlob"]
    assert west.decrypt(CiphertextBlob=before)["Plaintext"] == b"old"
    assert east.decrypt(CiphertextBlob=after)["KeyMaterialId"] == new_id
    syncs = [e for e in server.audit_events()
             if e["eventName"] == "SynchronizeMultiRegionKey" and e["resources"][0]["ARN"] == key["Arn"]]
    assert syncs and all(e["eventType"] == "AwsServiceEvent" for e in syncs)


def test_replicate_key_errors(east, west):
    """AWS: ReplicateKey on a replica -> UnsupportedOperationException "<ARN> is not a
    multi-region primary key."; on a single-Region key -> UnsupportedOperationException; into
    a Region that already holds a member -> AlreadyExistsException; into a Region not served
    -> UnsupportedOperationException."""
    key = mrk(east)
    replicate(east, key)
    replica_arn = key["Arn"].replace(EAST, WEST)
    expect_error(west.replicate_key, "UnsupportedOperationException",
                 f"{replica_arn} is not a multi-region primary key.", KeyId=key["KeyId"], ReplicaRegion=EU)
    single = east.create_key()["KeyMetadata"]
    expect_error(east.replicate_key, "UnsupportedOperationException", KeyId=single["KeyId"], ReplicaRegion=WEST)
    expect_error(east.replicate_key, "AlreadyExistsException", KeyId=key["KeyId"], ReplicaRegion=WEST)
    expect_error(east.replicate_key, "AlreadyExistsException", KeyId=key["KeyId"], ReplicaRegion=EAST)
    expect_error(east.replicate_key, "UnsupportedOperationException", KeyId=key["KeyId"], ReplicaRegion="ap-south-1")
    expect_error(east.replicate_key, "ValidationException", KeyId=key["KeyId"], ReplicaRegion="Mars")


def test_concurrent_replicate_key_into_one_region_creates_one_replica(server, east):
    """AWS: "You cannot create more than one replica of a primary key in any Region" —
    held when many requests race (the database's uniqueness decides)."""
    key = mrk(east)
    results: list[str] = []

    def attempt() -> None:
        client = server.client(region_name=EAST)
        try:
            client.replicate_key(KeyId=key["KeyId"], ReplicaRegion=EU)
            results.append("ok")
        except client.exceptions.AlreadyExistsException:
            results.append("exists")

    threads = [threading.Thread(target=attempt) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == ["exists"] * 7 + ["ok"]
    replicas = east.describe_key(KeyId=key["KeyId"])["KeyMetadata"]["MultiRegionConfiguration"]["ReplicaKeys"]
    assert [r["Region"] for r in replicas] == [EU]


def test_update_primary_region_passes_both_keys_through_updating(east, west):
    """AWS: UpdatePrimaryRegion makes the replica in PrimaryRegion the primary and the old
    primary a replica; both read Updating for a moment, then their own states again."""
    key = mrk(east)
    replicate(east, key)
    settle(west, key["KeyId"])
    west.disable_key(KeyId=key["KeyId"])
    west.enable_key(KeyId=key["KeyId"])
    east.update_primary_region(KeyId=key["KeyId"], PrimaryRegion=WEST)
    states = {east.describe_key(KeyId=key["KeyId"])["KeyMetadata"]["KeyState"],
              west.describe_key(KeyId=key["KeyId"])["KeyMetadata"]["KeyState"]}
    assert states == {"Updating"}
    expect_error(east.disable_key, "KMSInvalidStateException", f"{key['Arn']} is updating.", KeyId=key["KeyId"])
    east.encrypt(KeyId=key["KeyId"], Plaintext=b"usable while updating")
    assert settle(east, key["KeyId"])["KeyState"] == "Enabled"
    west_md = settle(west, key["KeyId"])
    assert west_md["MultiRegionConfiguration"]["MultiRegionKeyType"] == "PRIMARY"
    assert west_md["MultiRegionConfiguration"]["PrimaryKey"]["Region"] == WEST
    assert east.describe_key(KeyId=key["KeyId"])["KeyMetadata"]["MultiRegionConfiguration"]["MultiRegionKeyType"] == "REPLICA"
    west.rotate_key_on_demand(KeyId=key["KeyId"])  # the new primary rotates; the old one may not
    expect_error(east.rotate_key_on_demand, "UnsupportedOperationException",
                 f"{key['Arn']} is not a multi-region primary key.", KeyId=key["KeyId"])
    expect_error(east.update_primary_region, "UnsupportedOperationException", KeyId=key["KeyId"], PrimaryRegion=EAST)
    expect_error(west.update_primary_region, "NotFoundException", KeyId=key["KeyId"], PrimaryRegion=EU)


def test_primary_waits_in_pending_replica_deletion_until_its_replicas_are_gone(server, east, west):
    """AWS: a replica deletes normally; a primary with replicas goes to PendingReplicaDeletion
    (PendingDeletionWindowInDays, no DeletionDate) until its last replica is deleted, and
    only then starts its own waiting period."""
    key = mrk(east)
    replicate(east, key)
    settle(west, key["KeyId"])
    out = east.schedule_key_deletion(KeyId=key["KeyId"], PendingWindowInDays=7)
    assert out["KeyState"] == "PendingReplicaDeletion" and out["PendingWindowInDays"] == 7 and "DeletionDate" not in out
    md = east.describe_key(KeyId=key["KeyId"])["KeyMetadata"]
    assert md["KeyState"] == "PendingReplicaDeletion" and md["PendingDeletionWindowInDays"] == 7
    assert "DeletionDate" not in md
    expect_error(east.encrypt, "KMSInvalidStateException", f"{key['Arn']} is pending deletion.",
                 KeyId=key["KeyId"], Plaintext=b"x")
    west.schedule_key_deletion(KeyId=key["KeyId"], PendingWindowInDays=7)
    server.advance_clock("8d")
    expect_error(west.describe_key, "NotFoundException", KeyId=key["KeyId"])
    md = east.describe_key(KeyId=key["KeyId"])["KeyMetadata"]
    assert md["KeyState"] == "PendingDeletion" and "DeletionDate" in md
    assert md["MultiRegionConfiguration"]["ReplicaKeys"] == []
    server.advance_clock("8d")
    expect_error(east.describe_key, "NotFoundException", KeyId=key["KeyId"])


def test_cancel_deletion_of_a_primary_pending_replica_deletion(east, west):
    """AWS: CancelKeyDeletion works from PendingReplicaDeletion too; the key comes back Disabled."""
    key = mrk(east)
    replicate(east, key)
    east.schedule_key_deletion(KeyId=key["KeyId"])
    east.cancel_key_deletion(KeyId=key["KeyId"])
    assert east.describe_key(KeyId=key["KeyId"])["KeyMetadata"]["KeyState"] == "Disabled"


def test_creating_replica_refuses_crypto_until_it_settles(east, west):
    """AWS: while Creating, a replica can be managed but not used: KMSInvalidStateException
    "<ARN> is creating."."""
    key = mrk(east)
    replicate(east, key)
    err = wire_error(west.encrypt, KeyId=key["KeyId"], Plaintext=b"x")
    if err["code"] != "KMSInvalidStateException":  # the replica settled already (slow host)
        pytest.skip("replica settled before the first call")
    assert err["message"] == f"{key['Arn'].replace(EAST, WEST)} is creating."
    west.tag_resource(KeyId=key["KeyId"], Tags=[{"TagKey": "t", "TagValue": "v"}])
    settle(west, key["KeyId"])
    west.encrypt(KeyId=key["KeyId"], Plaintext=b"x")


def test_imported_material_is_imported_into_each_member(east, west):
    """AWS: replicating a primary with imported material creates the replica with no key
    material (PendingImport); the same material must be imported into it, and other
    material is refused (IncorrectKeyMaterialException)."""
    from tests.wire.import_helpers import import_material

    key = mrk(east, Origin="EXTERNAL")
    material = os.urandom(32)
    import_material(east, key["KeyId"], material)
    replicate(east, key)
    md = settle(west, key["KeyId"])
    assert md["KeyState"] == "PendingImport" and md["Origin"] == "EXTERNAL"
    expect_error(west.encrypt, "KMSInvalidStateException", f"{md['Arn']} is pending import.",
                 KeyId=key["KeyId"], Plaintext=b"x")
    expect_error(import_material, "IncorrectKeyMaterialException", kms=west, key_id=key["KeyId"], material=os.urandom(32))
    import_material(west, key["KeyId"], material)
    md = west.describe_key(KeyId=key["KeyId"])["KeyMetadata"]
    assert md["KeyState"] == "Enabled" and md["ExpirationModel"] == "KEY_MATERIAL_DOES_NOT_EXPIRE"
    blob = east.encrypt(KeyId=key["KeyId"], Plaintext=b"imported")["CiphertextBlob"]
    assert west.decrypt(CiphertextBlob=blob)["Plaintext"] == b"imported"


def test_encryption_sdk_mrk_aware_providers_work_across_regions(server, east, west, monkeypatch):
    """AWS Encryption SDK (MRK-aware strict and discovery providers, the aws-kms-mrk-aware
    keyring spec): a message encrypted under the primary in us-east-1 decrypts with the
    replica's ARN in us-west-2, and by discovery in us-west-2 — related keys interoperate."""
    import aws_encryption_sdk as sdk
    import botocore.session
    from aws_encryption_sdk.identifiers import CommitmentPolicy
    from aws_encryption_sdk.key_providers.kms import (
        DiscoveryFilter,
        MRKAwareDiscoveryAwsKmsMasterKeyProvider,
        MRKAwareStrictAwsKmsMasterKeyProvider,
    )

    monkeypatch.setenv("AWS_ENDPOINT_URL_KMS", server.endpoint_url)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", server.access_key_id)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", server.secret_access_key)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    session = botocore.session.Session()
    key = mrk(east)
    replicate(east, key)
    settle(west, key["KeyId"])
    replica_arn = key["Arn"].replace(EAST, WEST)
    client = sdk.EncryptionSDKClient(commitment_policy=CommitmentPolicy.REQUIRE_ENCRYPT_REQUIRE_DECRYPT)
    plaintext = os.urandom(10_000)
    encrypting = MRKAwareStrictAwsKmsMasterKeyProvider(key_ids=[key["Arn"]], botocore_session=session)
    message, _ = client.encrypt(source=plaintext, key_provider=encrypting, encryption_context={"purpose": "mrk"})
    strict_west = MRKAwareStrictAwsKmsMasterKeyProvider(key_ids=[replica_arn], botocore_session=session)
    out, header = client.decrypt(source=message, key_provider=strict_west)
    assert out == plaintext and header.encryption_context["purpose"] == "mrk"
    discovery = MRKAwareDiscoveryAwsKmsMasterKeyProvider(
        discovery_region=WEST, botocore_session=session,
        discovery_filter=DiscoveryFilter(account_ids=[server.account_id], partition="aws"))
    assert client.decrypt(source=message, key_provider=discovery)[0] == plaintext
    # and the other way round: encrypted under the replica, decrypted by the primary's ARN
    message, _ = client.encrypt(source=plaintext, key_provider=strict_west)
    assert client.decrypt(source=message, key_provider=encrypting)[0] == plaintext


def test_rotation_status_of_a_primary_pending_replica_deletion_reads_false(east, west):
    """AWS (GetKeyRotationStatus, "Pending deletion"): while a key is pending deletion its
    rotation status is false and it is not rotated; PendingReplicaDeletion is a pending
    deletion state (spec §4.3). Cancelling the deletion brings the original status back."""
    key = mrk(east)
    replicate(east, key)
    settle(west, key["KeyId"])
    east.enable_key_rotation(KeyId=key["KeyId"], RotationPeriodInDays=90)
    east.schedule_key_deletion(KeyId=key["KeyId"], PendingWindowInDays=7)
    assert east.describe_key(KeyId=key["KeyId"])["KeyMetadata"]["KeyState"] == "PendingReplicaDeletion"
    assert east.get_key_rotation_status(KeyId=key["KeyId"]) == {
        "KeyId": key["Arn"], "KeyRotationEnabled": False, "ResponseMetadata": ANY}
    east.cancel_key_deletion(KeyId=key["KeyId"])
    status = east.get_key_rotation_status(KeyId=key["KeyId"])
    assert status["KeyRotationEnabled"] is True and status["RotationPeriodInDays"] == 90


def test_replicate_key_takes_its_own_policy_description_and_lockout_check(east, west, eu):
    """AWS (ReplicateKey): Policy, Description and Tags given to ReplicateKey are the
    replica's own (the primary's are not copied); a Policy that would lock the caller out
    of PutKeyPolicy is refused (MalformedPolicyDocumentException) unless
    BypassPolicyLockoutSafetyCheck is true; the shared properties — spec, usage, origin and
    the algorithms — are the primary's."""
    key = mrk(east, Description="the primary's")
    own = json.dumps({"Version": "2012-10-17", "Id": "replica-own", "Statement": [{
        "Sid": "replica", "Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::123456789012:root"},
        "Action": "kms:*", "Resource": "*"}]})
    out = replicate(east, key, WEST, Policy=own, Description="the replica's")
    assert out["ReplicaPolicy"] == own
    assert out["ReplicaKeyMetadata"]["Description"] == "the replica's"
    assert west.get_key_policy(KeyId=key["KeyId"], PolicyName="default")["Policy"] == own
    assert east.describe_key(KeyId=key["KeyId"])["KeyMetadata"]["Description"] == "the primary's"
    replica = settle(west, key["KeyId"])
    for shared in ("KeySpec", "KeyUsage", "Origin", "EncryptionAlgorithms", "CustomerMasterKeySpec", "KeyManager"):
        assert replica[shared] == key[shared], shared

    lockout = json.dumps({"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::123456789012:root"},
        "Action": "kms:Encrypt", "Resource": "*"}]})
    expect_error(east.replicate_key, "MalformedPolicyDocumentException",
                 "The new key policy will not allow you to update the key policy in the future.",
                 KeyId=key["KeyId"], ReplicaRegion=EU, Policy=lockout)
    expect_error(eu.describe_key, "NotFoundException", KeyId=key["KeyId"])  # nothing was made
    expect_error(east.replicate_key, "TagException", "Tags beginning with aws: are reserved",
                 KeyId=key["KeyId"], ReplicaRegion=EU, Tags=[{"TagKey": "aws:x", "TagValue": "v"}])
    out = replicate(east, key, EU, Policy=lockout, BypassPolicyLockoutSafetyCheck=True)
    assert out["ReplicaPolicy"] == lockout


def test_policy_and_grants_are_per_member(east, west):
    """AWS: key policy and grants are independent properties: a grant on the primary does
    not reach the replica, and PutKeyPolicy on the replica leaves the primary's policy."""
    key = mrk(east)
    replicate(east, key)
    settle(west, key["KeyId"])
    grantee = "arn:aws:iam::123456789012:user/dev"
    grant = east.create_grant(KeyId=key["KeyId"], GranteePrincipal=grantee, Operations=["Encrypt"])
    assert [g["GrantId"] for g in east.list_grants(KeyId=key["KeyId"])["Grants"]] == [grant["GrantId"]]
    assert west.list_grants(KeyId=key["KeyId"])["Grants"] == []
    before = east.get_key_policy(KeyId=key["KeyId"], PolicyName="default")["Policy"]
    replica_policy = json.dumps({"Version": "2012-10-17", "Id": "west-only", "Statement": [{
        "Sid": "west", "Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::123456789012:root"},
        "Action": "kms:*", "Resource": "*"}]})
    west.put_key_policy(KeyId=key["KeyId"], PolicyName="default", Policy=replica_policy)
    assert west.get_key_policy(KeyId=key["KeyId"], PolicyName="default")["Policy"] == replica_policy
    assert east.get_key_policy(KeyId=key["KeyId"], PolicyName="default")["Policy"] == before


def test_replicate_and_update_primary_region_follow_the_key_state_table(east, west):
    """AWS (spec §4.3): ReplicateKey and UpdatePrimaryRegion on a Disabled primary ->
    DisabledException "<ARN> is disabled."; on a primary pending deletion ->
    KMSInvalidStateException "<ARN> is pending deletion."."""
    key = mrk(east)
    replicate(east, key)
    settle(west, key["KeyId"])
    east.disable_key(KeyId=key["KeyId"])
    disabled = f"{key['Arn']} is disabled."
    expect_error(east.replicate_key, "DisabledException", disabled, KeyId=key["KeyId"], ReplicaRegion=EU)
    expect_error(east.update_primary_region, "DisabledException", disabled, KeyId=key["KeyId"], PrimaryRegion=WEST)
    other = mrk(east)
    east.schedule_key_deletion(KeyId=other["KeyId"], PendingWindowInDays=7)
    expect_error(east.replicate_key, "KMSInvalidStateException", f"{other['Arn']} is pending deletion.",
                 KeyId=other["KeyId"], ReplicaRegion=EU)
