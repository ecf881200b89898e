"""Check-then-act rules hold when requests race (issue 20; service/locking.py).

Every test races >= 32 real boto3 calls, one thread and connection each, released
together by a barrier, against a cluster (tests/fixtures/trent_cluster.py): two worker
processes on one SQLite file, and two nodes on one PostgreSQL. Before issue 20 these
rules were checked on a (cached) read and written in a separate transaction: 16
ScheduleKeyDeletion on one key answered 200 up to 7 times, 40 RotateKeyOnDemand
recorded 32 rotations, 10 CreateGrant with one Name made several grants.
"""

from __future__ import annotations

import uuid
from collections import Counter

from tests.fixtures.trent_cluster import TrentCluster, converged, race

ACCOUNT = "123456789012"
GRANTEE = f"arn:aws:iam::{ACCOUNT}:user/dev"


def _codes(outcomes) -> Counter:
    return Counter(o.code for o in outcomes)


def _all_in_state(cluster: TrentCluster, key: dict, state: str) -> None:
    """Every node (every worker, through clients on several connections) reads ``state``."""
    for kms in cluster.clients(4):
        md = kms.describe_key(KeyId=key["KeyId"])["KeyMetadata"]
        assert md["KeyState"] == state and ("DeletionDate" in md) == (state == "PendingDeletion")


def _new_key(cluster: TrentCluster, **kwargs) -> dict:
    return cluster.client().create_key(**kwargs)["KeyMetadata"]


def test_schedule_key_deletion_succeeds_once(trent_cluster: TrentCluster) -> None:
    key = _new_key(trent_cluster)
    outcomes = race(trent_cluster, 32, lambda kms, i: kms.schedule_key_deletion(KeyId=key["KeyId"], PendingWindowInDays=7))
    assert _codes(outcomes) == {"ok": 1, "KMSInvalidStateException": 31}
    assert {o.message for o in outcomes if o.code != "ok"} == {f"{key['Arn']} is pending deletion."}
    converged(lambda: _all_in_state(trent_cluster, key, "PendingDeletion"))


def test_cancel_key_deletion_succeeds_once(trent_cluster: TrentCluster) -> None:
    key = _new_key(trent_cluster)
    trent_cluster.client().schedule_key_deletion(KeyId=key["KeyId"], PendingWindowInDays=7)
    outcomes = race(trent_cluster, 32, lambda kms, i: kms.cancel_key_deletion(KeyId=key["KeyId"]))
    assert _codes(outcomes) == {"ok": 1, "KMSInvalidStateException": 31}
    assert {o.message for o in outcomes if o.code != "ok"} == {f"{key['Arn']} is not pending deletion."}


def test_on_demand_rotations_never_exceed_the_limit(trent_cluster: TrentCluster) -> None:
    key = _new_key(trent_cluster)
    outcomes = race(trent_cluster, 40, lambda kms, i: kms.rotate_key_on_demand(KeyId=key["KeyId"]))
    assert _codes(outcomes) == {"ok": 25, "LimitExceededException": 15}
    assert {o.message for o in outcomes if o.code != "ok"} == {
        "The on-demand rotations limit has been reached for the given keyId. "
        f"No more on-demand rotations can be performed for this key: {key['Arn']}"
    }
    kms = trent_cluster.client()
    rotations = kms.list_key_rotations(KeyId=key["KeyId"], Limit=1000)["Rotations"]
    assert len(rotations) == 25 and {r["RotationType"] for r in rotations} == {"ON_DEMAND"}
    blob = kms.encrypt(KeyId=key["KeyId"], Plaintext=b"after the race")["CiphertextBlob"]
    for other in trent_cluster.clients(2):
        assert other.decrypt(CiphertextBlob=blob)["Plaintext"] == b"after the race"


def test_create_grant_with_one_name_makes_one_grant(trent_cluster: TrentCluster) -> None:
    key = _new_key(trent_cluster)
    name = f"race-{uuid.uuid4().hex[:8]}"
    outcomes = race(trent_cluster, 32, lambda kms, i: kms.create_grant(
        KeyId=key["KeyId"], GranteePrincipal=GRANTEE, Operations=["Encrypt", "Decrypt"], Name=name,
        Constraints={"EncryptionContextSubset": {"app": "race"}},
    )["GrantId"])
    assert _codes(outcomes) == {"ok": 32}
    assert len({o.value for o in outcomes}) == 1
    grants = trent_cluster.client().list_grants(KeyId=key["KeyId"])["Grants"]
    assert [g["GrantId"] for g in grants] == [outcomes[0].value]


def test_revoke_grant_succeeds_once(trent_cluster: TrentCluster) -> None:
    key = _new_key(trent_cluster)
    grant_id = trent_cluster.client().create_grant(
        KeyId=key["KeyId"], GranteePrincipal=GRANTEE, Operations=["Encrypt"])["GrantId"]
    outcomes = race(trent_cluster, 32, lambda kms, i: kms.revoke_grant(KeyId=key["KeyId"], GrantId=grant_id))
    assert _codes(outcomes) == {"ok": 1, "NotFoundException": 31}
    assert trent_cluster.client().list_grants(KeyId=key["KeyId"])["Grants"] == []


def test_alias_limit_per_key_holds(trent_cluster: TrentCluster) -> None:
    key = _new_key(trent_cluster)
    kms = trent_cluster.client()
    prefix = f"alias/race-{uuid.uuid4().hex[:8]}"
    for i in range(45):  # the limit is 50 aliases per key (spec §2.1)
        kms.create_alias(AliasName=f"{prefix}-pre-{i}", TargetKeyId=key["KeyId"])
    outcomes = race(trent_cluster, 32, lambda kms, i: kms.create_alias(AliasName=f"{prefix}-{i}", TargetKeyId=key["KeyId"]))
    assert _codes(outcomes) == {"ok": 5, "LimitExceededException": 27}
    aliases = kms.list_aliases(KeyId=key["KeyId"], Limit=100)["Aliases"]
    assert len(aliases) == 50


def test_one_alias_name_is_created_once(trent_cluster: TrentCluster) -> None:
    keys = [_new_key(trent_cluster)["KeyId"] for _ in range(2)]
    name = f"alias/race-{uuid.uuid4().hex[:8]}"
    outcomes = race(trent_cluster, 32, lambda kms, i: kms.create_alias(AliasName=name, TargetKeyId=keys[i % 2]))
    assert _codes(outcomes) == {"ok": 1, "AlreadyExistsException": 31}


def test_tag_limit_per_key_holds(trent_cluster: TrentCluster) -> None:
    key = _new_key(trent_cluster, Tags=[{"TagKey": f"pre-{i}", "TagValue": "x"} for i in range(40)])
    outcomes = race(trent_cluster, 32, lambda kms, i: kms.tag_resource(
        KeyId=key["KeyId"], Tags=[{"TagKey": f"new-{i}", "TagValue": "y"}]))
    assert _codes(outcomes) == {"ok": 10, "TagException": 22}
    assert {o.message for o in outcomes if o.code != "ok"} == {"Too many tags"}
    tags = trent_cluster.client().list_resource_tags(KeyId=key["KeyId"], Limit=50)["Tags"]
    assert len(tags) == 50


def test_updates_never_undo_a_state_change(trent_cluster: TrentCluster) -> None:
    """UpdateKeyDescription and PutKeyPolicy used to write back a whole (cached) key row:
    racing a ScheduleKeyDeletion they could bring the key back to Enabled."""
    key = _new_key(trent_cluster)
    policy = trent_cluster.client().get_key_policy(KeyId=key["KeyId"], PolicyName="default")["Policy"]

    def call(kms, i):
        if i % 4 == 0:
            return kms.schedule_key_deletion(KeyId=key["KeyId"], PendingWindowInDays=7)
        if i % 4 == 1:
            return kms.put_key_policy(KeyId=key["KeyId"], PolicyName="default", Policy=policy)
        return kms.update_key_description(KeyId=key["KeyId"], Description=f"d{i}")

    outcomes = race(trent_cluster, 40, call)
    scheduled = [o for i, o in enumerate(outcomes) if i % 4 == 0]
    assert _codes(scheduled) == {"ok": 1, "KMSInvalidStateException": 9}
    converged(lambda: _all_in_state(trent_cluster, key, "PendingDeletion"))


def test_disable_and_schedule_deletion_race(trent_cluster: TrentCluster) -> None:
    """DisableKey that read Enabled must not turn a PendingDeletion key back into Disabled."""
    key = _new_key(trent_cluster)

    def call(kms, i):
        if i % 2:
            return kms.schedule_key_deletion(KeyId=key["KeyId"], PendingWindowInDays=7)
        return kms.disable_key(KeyId=key["KeyId"])

    outcomes = race(trent_cluster, 32, call)
    assert _codes(outcomes[1::2])["ok"] == 1
    converged(lambda: _all_in_state(trent_cluster, key, "PendingDeletion"))
    late_disables = [o for o in outcomes[0::2] if o.code != "ok"]
    assert {o.message for o in late_disables} <= {f"{key['Arn']} is pending deletion."}


def test_one_new_key_material_pending_rotation(trent_cluster: TrentCluster) -> None:
    """32 ImportKeyMaterial(NEW_KEY_MATERIAL) at once into a key that has material: one
    becomes PENDING_ROTATION, the others are told another one is pending."""
    import os

    from tests.wire.import_helpers import import_material, wrap

    kms = trent_cluster.client()
    key = _new_key(trent_cluster, Origin="EXTERNAL")
    import_material(kms, key["KeyId"], os.urandom(32))
    # Tokens and wrapped material prepared beforehand: only the imports race.
    prepared = []
    for _ in range(32):
        params = kms.get_parameters_for_import(KeyId=key["KeyId"], WrappingAlgorithm="RSAES_OAEP_SHA_256",
                                               WrappingKeySpec="RSA_2048")
        prepared.append((params["ImportToken"], wrap(params["PublicKey"], "RSAES_OAEP_SHA_256", os.urandom(32))))
    outcomes = race(trent_cluster, 32, lambda c, i: c.import_key_material(
        KeyId=key["KeyId"], ImportToken=prepared[i][0], EncryptedKeyMaterial=prepared[i][1],
        ExpirationModel="KEY_MATERIAL_DOES_NOT_EXPIRE", ImportType="NEW_KEY_MATERIAL"))
    assert _codes(outcomes) == {"ok": 1, "KMSInvalidStateException": 31}
    assert all("is pending rotation." in o.message for o in outcomes if o.code != "ok")
    listed = kms.list_key_rotations(KeyId=key["KeyId"], IncludeKeyMaterial="ALL_KEY_MATERIAL")["Rotations"]
    assert sorted(r["KeyMaterialState"] for r in listed) == ["CURRENT", "PENDING_ROTATION"]
