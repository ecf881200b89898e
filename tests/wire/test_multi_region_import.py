"""Multi-Region keys with imported key material, per member, over the wire (issue 19, spec
§9, §12), each test stating AWS's behaviour; and the replica's CreateKey event in its own
Region. One `trent serve --dev --regions us-east-1,us-west-2,eu-west-1`; boto3 clients
differ only in region_name. The dev clock is moved by the expiry test, so every date is
taken from the server's own CreationDate.
"""

from __future__ import annotations

import datetime as dt
import os
import threading

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

from tests.wire.helpers import expect_error, wire_error
from tests.wire.import_helpers import import_material, wrap
from tests.wire.multi_region_fixtures import (  # noqa: F401 - pytest fixtures, registered by being imported
    EAST, EU, WEST, east_fixture, eu_fixture, server_fixture, settle, west_fixture,
)

DAY = 86_400
NOT_PRIMARY = "{} is not a multi-region primary key."


def external_mrk(east, material: bytes, *replicas, import_args: dict | None = None, **create) -> dict:
    """An EXTERNAL multi-Region primary in us-east-1 with ``material`` imported (AWS
    replicates only an Enabled primary: spec §4.3, PendingImport -> PIMP) and its
    replicas, settled and still without material."""
    key = east.create_key(MultiRegion=True, Origin="EXTERNAL", **create)["KeyMetadata"]
    out = import_material(east, key["KeyId"], material, **(import_args or {}))
    key = {**key, "MaterialId": out["KeyMaterialId"]}
    for client in replicas:
        east.replicate_key(KeyId=key["KeyId"], ReplicaRegion=client.meta.region_name)
        settle(client, key["KeyId"])
    return key


def state(client, key_id: str) -> str:
    return client.describe_key(KeyId=key_id)["KeyMetadata"]["KeyState"]


def rotations(client, key_id: str) -> list[dict]:
    return client.list_key_rotations(KeyId=key_id, IncludeKeyMaterial="ALL_KEY_MATERIAL")["Rotations"]


def at(md: dict, days: float) -> dt.datetime:
    """A moment ``days`` after the key's creation, on the server's (dev) clock."""
    return dt.datetime.fromtimestamp(md["CreationDate"].timestamp() + days * DAY, dt.timezone.utc)


def test_replica_of_an_external_primary_is_created_without_material(east, west):
    """AWS (ReplicateKey docs): "If you replicate a multi-Region primary key with imported key
    material, the replica key is created with no key material" — Creating, then PendingImport
    with no ExpirationModel; its own GetParametersForImport names the replica's ARN."""
    key = east.create_key(MultiRegion=True, Origin="EXTERNAL")["KeyMetadata"]
    import_material(east, key["KeyId"], os.urandom(32))
    out = east.replicate_key(KeyId=key["KeyId"], ReplicaRegion=WEST)["ReplicaKeyMetadata"]
    assert (out["KeyState"], out["Enabled"], out["Origin"]) == ("Creating", False, "EXTERNAL")
    md = settle(west, key["KeyId"])
    assert (md["KeyState"], md["Enabled"]) == ("PendingImport", False)
    assert "ExpirationModel" not in md and "ValidTo" not in md and "CurrentKeyMaterialId" not in md
    assert state(east, key["KeyId"]) == "Enabled"
    params = west.get_parameters_for_import(KeyId=key["KeyId"], WrappingAlgorithm="RSAES_OAEP_SHA_256",
                                            WrappingKeySpec="RSA_2048")
    assert params["KeyId"] == md["Arn"] == key["Arn"].replace(EAST, WEST)
    expect_error(west.encrypt, "KMSInvalidStateException", f"{md['Arn']} is pending import.",
                 KeyId=key["KeyId"], Plaintext=b"x")


def test_same_material_in_every_member_and_no_other(east, west):
    """AWS: the same key material must be imported into every member (its KeyMaterialId is
    derived from the key id and the material, so it is the same in every Region); other
    material is refused with IncorrectKeyMaterialException (no message), with ImportType
    EXISTING_KEY_MATERIAL or a KeyMaterialId alike. New material goes into the primary
    only: a replica refuses NEW_KEY_MATERIAL."""
    material = os.urandom(32)
    key = external_mrk(east, material, west)
    material_id = key["MaterialId"]
    other = os.urandom(32)
    for extra in ({}, {"ImportType": "EXISTING_KEY_MATERIAL"}, {"KeyMaterialId": material_id}):
        err = expect_error(import_material, "IncorrectKeyMaterialException", kms=west, key_id=key["KeyId"],
                           material=other, **extra)
        assert err["message"] == ""
    replica_arn = key["Arn"].replace(EAST, WEST)
    expect_error(import_material, "UnsupportedOperationException", NOT_PRIMARY.format(replica_arn), kms=west,
                 key_id=key["KeyId"], material=material, ImportType="NEW_KEY_MATERIAL")
    assert state(west, key["KeyId"]) == "PendingImport"
    out = import_material(west, key["KeyId"], material, KeyMaterialId=material_id)
    assert (out["KeyId"], out["KeyMaterialId"]) == (replica_arn, material_id)
    md = west.describe_key(KeyId=key["KeyId"])["KeyMetadata"]
    assert (md["KeyState"], md["CurrentKeyMaterialId"]) == ("Enabled", material_id)


def test_a_pending_import_primary_is_not_replicated(east):
    """AWS (key state table, ReplicateKey row): a primary in PendingImport cannot be
    replicated — KMSInvalidStateException "<ARN> is pending import."."""
    key = east.create_key(MultiRegion=True, Origin="EXTERNAL")["KeyMetadata"]
    expect_error(east.replicate_key, "KMSInvalidStateException", f"{key['Arn']} is pending import.",
                 KeyId=key["KeyId"], ReplicaRegion=EU)


def test_ciphertexts_cross_regions_once_each_member_has_the_material(east, west, eu):
    """AWS: related multi-Region keys decrypt each other's ciphertexts; with imported material
    a member can do so as soon as it holds the material, whatever the others do."""
    material = os.urandom(32)
    key = external_mrk(east, material, west, eu)
    from_east = east.encrypt(KeyId=key["KeyId"], Plaintext=b"east", EncryptionContext={"k": "v"})["CiphertextBlob"]
    expect_error(west.decrypt, "KMSInvalidStateException", f"{key['Arn'].replace(EAST, WEST)} is pending import.",
                 CiphertextBlob=from_east, EncryptionContext={"k": "v"})
    import_material(west, key["KeyId"], material)
    assert west.decrypt(CiphertextBlob=from_east, EncryptionContext={"k": "v"})["Plaintext"] == b"east"
    from_west = west.encrypt(KeyId=key["KeyId"], Plaintext=b"west")["CiphertextBlob"]
    assert east.decrypt(CiphertextBlob=from_west)["Plaintext"] == b"west"
    assert state(eu, key["KeyId"]) == "PendingImport"  # the third member still has none


def test_deleting_material_in_one_region_leaves_the_others_working(east, west):
    """AWS (DeleteImportedKeyMaterial, multi-Region considerations): "If you delete any key
    material of a replica Region key, the primary Region key and other replica Region keys
    remain unchanged" — and the same holds the other way round: only the member whose
    material was deleted becomes PendingImport (its ExpirationModel disappears, its
    CurrentKeyMaterialId stays); re-importing the same material brings it back."""
    material = os.urandom(32)
    key = external_mrk(east, material, west)
    material_id = key["MaterialId"]
    import_material(west, key["KeyId"], material)
    blob = east.encrypt(KeyId=key["KeyId"], Plaintext=b"kept")["CiphertextBlob"]

    out = west.delete_imported_key_material(KeyId=key["KeyId"])
    assert out == {"KeyId": key["Arn"].replace(EAST, WEST), "KeyMaterialId": material_id,
                   "ResponseMetadata": out["ResponseMetadata"]}
    west_md = west.describe_key(KeyId=key["KeyId"])["KeyMetadata"]
    assert west_md["KeyState"] == "PendingImport" and "ExpirationModel" not in west_md
    assert west_md["CurrentKeyMaterialId"] == material_id
    assert [r["ImportState"] for r in rotations(west, key["KeyId"])] == ["PENDING_IMPORT"]
    east_md = east.describe_key(KeyId=key["KeyId"])["KeyMetadata"]
    assert east_md["KeyState"] == "Enabled" and east_md["ExpirationModel"] == "KEY_MATERIAL_DOES_NOT_EXPIRE"
    assert [r["ImportState"] for r in rotations(east, key["KeyId"])] == ["IMPORTED"]
    assert east.decrypt(CiphertextBlob=blob)["Plaintext"] == b"kept"

    import_material(west, key["KeyId"], material)
    east.delete_imported_key_material(KeyId=key["KeyId"], KeyMaterialId=material_id)
    assert state(east, key["KeyId"]) == "PendingImport"
    assert west.decrypt(CiphertextBlob=blob)["Plaintext"] == b"kept"
    import_material(east, key["KeyId"], material)
    assert east.decrypt(CiphertextBlob=blob)["Plaintext"] == b"kept"


def test_each_member_has_its_own_expiry(server, east, west):
    """AWS: ExpirationModel and ValidTo are set per import, so each member has its own;
    at a member's ValidTo KMS deletes that member's material (DeleteExpiredKeyMaterial
    service event in that member's Region) and only that member becomes PendingImport."""
    material = os.urandom(32)
    key = east.create_key(MultiRegion=True, Origin="EXTERNAL")["KeyMetadata"]
    east_valid_to, west_valid_to = at(key, 30), at(key, 3)
    import_material(east, key["KeyId"], material, ExpirationModel="KEY_MATERIAL_EXPIRES", ValidTo=east_valid_to)
    east.replicate_key(KeyId=key["KeyId"], ReplicaRegion=WEST)
    settle(west, key["KeyId"])
    import_material(west, key["KeyId"], material, ExpirationModel="KEY_MATERIAL_EXPIRES", ValidTo=west_valid_to)
    for client, valid_to in ((east, east_valid_to), (west, west_valid_to)):
        md = client.describe_key(KeyId=key["KeyId"])["KeyMetadata"]
        assert md["ExpirationModel"] == "KEY_MATERIAL_EXPIRES" and md["ValidTo"] == valid_to
        (entry,) = rotations(client, key["KeyId"])
        assert (entry["ImportState"], entry["ValidTo"]) == ("IMPORTED", valid_to)
    blob = west.encrypt(KeyId=key["KeyId"], Plaintext=b"before expiry")["CiphertextBlob"]

    server.advance_clock("4d")
    md = west.describe_key(KeyId=key["KeyId"])["KeyMetadata"]
    assert md["KeyState"] == "PendingImport" and "ValidTo" not in md
    assert state(east, key["KeyId"]) == "Enabled"
    assert east.decrypt(CiphertextBlob=blob)["Plaintext"] == b"before expiry"
    expired = [e for e in server.audit_events() if e["eventName"] == "DeleteExpiredKeyMaterial"
               and e["resources"][0]["ARN"].endswith(key["KeyId"])]
    assert [(e["awsRegion"], e["eventType"]) for e in expired] == [(WEST, "AwsServiceEvent")]
    import_material(west, key["KeyId"], material)  # the same material again, now for good
    assert west.decrypt(CiphertextBlob=blob)["Plaintext"] == b"before expiry"


def test_on_demand_rotation_of_an_imported_multi_region_key(east, west, eu):
    """AWS (ImportKeyMaterial, RotateKeyOnDemand, ListKeyRotations): import NEW material into
    the primary; it is PENDING_MULTI_REGION_IMPORT_AND_ROTATION until every replica has
    imported the same material (EXISTING_KEY_MATERIAL), then PENDING_ROTATION; rotate on
    the primary and every member uses it, while old ciphertexts still decrypt everywhere.
    Deleting pending material from a replica affects that replica only; from the primary it
    deletes it from the replicas too."""
    first, second = os.urandom(32), os.urandom(32)
    key = external_mrk(east, first, west, eu)
    for client in (west, eu):
        import_material(client, key["KeyId"], first)
    old = eu.encrypt(KeyId=key["KeyId"], Plaintext=b"old")["CiphertextBlob"]

    pending_id = import_material(east, key["KeyId"], second, ImportType="NEW_KEY_MATERIAL")["KeyMaterialId"]
    for client in (east, west):
        states = {r["KeyMaterialId"]: r["KeyMaterialState"] for r in rotations(client, key["KeyId"])}
        assert states[pending_id] == "PENDING_MULTI_REGION_IMPORT_AND_ROTATION"
    expect_error(east.rotate_key_on_demand, "KMSInvalidStateException",
                 f"No available key material pending rotation for the key: {key['Arn']}.", KeyId=key["KeyId"])
    import_material(west, key["KeyId"], second, ImportType="EXISTING_KEY_MATERIAL")
    west.delete_imported_key_material(KeyId=key["KeyId"], KeyMaterialId=pending_id)  # the replica's copy only
    assert {r["KeyMaterialId"]: r.get("ImportState") for r in rotations(west, key["KeyId"])}[pending_id] == "PENDING_IMPORT"
    assert pending_id in {r["KeyMaterialId"] for r in rotations(east, key["KeyId"])}
    for client in (west, eu):
        import_material(client, key["KeyId"], second, ImportType="EXISTING_KEY_MATERIAL")
    assert {r["KeyMaterialId"]: r["KeyMaterialState"] for r in rotations(eu, key["KeyId"])}[pending_id] == "PENDING_ROTATION"

    east.rotate_key_on_demand(KeyId=key["KeyId"])
    for client in (east, west, eu):
        md = client.describe_key(KeyId=key["KeyId"])["KeyMetadata"]
        assert (md["KeyState"], md["CurrentKeyMaterialId"]) == ("Enabled", pending_id)
        (entry,) = client.list_key_rotations(KeyId=key["KeyId"])["Rotations"]
        assert (entry["KeyMaterialId"], entry["KeyMaterialState"], entry["RotationType"]) == (
            pending_id, "CURRENT", "ON_DEMAND")
        assert client.decrypt(CiphertextBlob=old)["Plaintext"] == b"old"
    new = east.decrypt(CiphertextBlob=west.encrypt(KeyId=key["KeyId"], Plaintext=b"new")["CiphertextBlob"])
    assert (new["Plaintext"], new["KeyMaterialId"]) == (b"new", pending_id)

    third_id = import_material(east, key["KeyId"], os.urandom(32), ImportType="NEW_KEY_MATERIAL")["KeyMaterialId"]
    east.delete_imported_key_material(KeyId=key["KeyId"], KeyMaterialId=third_id)
    for client in (east, west, eu):
        assert third_id not in {r["KeyMaterialId"] for r in rotations(client, key["KeyId"])}


def test_asymmetric_and_hmac_keys_sign_and_mac_across_regions(east, west):
    """AWS: imported material works for multi-Region keys of any importable type; a signature
    made by one member verifies in another, a MAC likewise, once each imported it."""
    private = ec.generate_private_key(ec.SECP256R1())
    der = private.private_bytes(serialization.Encoding.DER, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
    wrapped_with = {"algorithm": "RSA_AES_KEY_WRAP_SHA_256"}
    signing = external_mrk(east, der, west, import_args=wrapped_with, KeySpec="ECC_NIST_P256", KeyUsage="SIGN_VERIFY")
    other = ec.generate_private_key(ec.SECP256R1()).private_bytes(
        serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    expect_error(import_material, "IncorrectKeyMaterialException", kms=west, key_id=signing["KeyId"],
                 material=other, **wrapped_with)
    import_material(west, signing["KeyId"], der, **wrapped_with)
    signature = east.sign(KeyId=signing["KeyId"], Message=b"m", SigningAlgorithm="ECDSA_SHA_256")["Signature"]
    assert west.verify(KeyId=signing["KeyId"], Message=b"m", Signature=signature,
                       SigningAlgorithm="ECDSA_SHA_256")["SignatureValid"] is True
    private.public_key().verify(signature, b"m", ec.ECDSA(hashes.SHA256()))  # and the real other side

    secret = os.urandom(32)
    mac_key = external_mrk(east, secret, west, KeySpec="HMAC_256", KeyUsage="GENERATE_VERIFY_MAC")
    expect_error(import_material, "IncorrectKeyMaterialException", kms=west, key_id=mac_key["KeyId"],
                 material=os.urandom(32))
    import_material(west, mac_key["KeyId"], secret)
    mac = west.generate_mac(KeyId=mac_key["KeyId"], Message=b"m", MacAlgorithm="HMAC_SHA_256")["Mac"]
    assert east.verify_mac(KeyId=mac_key["KeyId"], Message=b"m", Mac=mac, MacAlgorithm="HMAC_SHA_256")["MacValid"]


def test_racing_imports_into_a_replica_and_a_delete_on_the_primary_stay_consistent(server, east, west):
    """AWS's rules hold under races: the pending material is either imported into the
    replica before the primary deletes it (then it is gone from both) or the replica's
    import is refused (IncorrectKeyMaterialException) — never a replica holding material
    its key no longer has. Same-material imports racing into one replica all succeed."""
    material = os.urandom(32)
    key = external_mrk(east, material, west)

    def import_same(_: int) -> None:
        import_material(server.client(region_name=WEST), key["KeyId"], material)

    threads = [threading.Thread(target=import_same, args=(i,)) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert state(west, key["KeyId"]) == "Enabled"
    assert [r["ImportState"] for r in rotations(west, key["KeyId"])] == ["IMPORTED"]

    for _ in range(3):
        pending = os.urandom(32)
        pending_id = import_material(east, key["KeyId"], pending, ImportType="NEW_KEY_MATERIAL")["KeyMaterialId"]
        params = west.get_parameters_for_import(KeyId=key["KeyId"], WrappingAlgorithm="RSAES_OAEP_SHA_256",
                                                WrappingKeySpec="RSA_2048")
        wrapped = wrap(params["PublicKey"], "RSAES_OAEP_SHA_256", pending)
        barrier = threading.Barrier(2)
        outcome: dict[str, str] = {}

        def replica_import() -> None:
            client = server.client(region_name=WEST)
            barrier.wait()
            try:
                client.import_key_material(KeyId=key["KeyId"], ImportToken=params["ImportToken"],
                                           EncryptedKeyMaterial=wrapped, ImportType="EXISTING_KEY_MATERIAL",
                                           ExpirationModel="KEY_MATERIAL_DOES_NOT_EXPIRE")
                outcome["import"] = "ok"
            except client.exceptions.IncorrectKeyMaterialException:
                outcome["import"] = "refused"

        def primary_delete() -> None:
            client = server.client(region_name=EAST)
            barrier.wait()
            client.delete_imported_key_material(KeyId=key["KeyId"], KeyMaterialId=pending_id)
            outcome["delete"] = "ok"

        racers = [threading.Thread(target=replica_import), threading.Thread(target=primary_delete)]
        for t in racers:
            t.start()
        for t in racers:
            t.join()
        assert outcome["delete"] == "ok" and outcome["import"] in ("ok", "refused")
        for client in (east, west):
            assert pending_id not in {r["KeyMaterialId"] for r in rotations(client, key["KeyId"])}
        # Had a stale import survived, importing the same material as new would trip on it.
        assert import_material(east, key["KeyId"], pending, ImportType="NEW_KEY_MATERIAL")["KeyMaterialId"] == pending_id
        east.delete_imported_key_material(KeyId=key["KeyId"], KeyMaterialId=pending_id)
    assert wire_error(east.rotate_key_on_demand, KeyId=key["KeyId"])["code"] == "KMSInvalidStateException"


def test_replicate_key_records_create_key_in_the_replica_region(server, east, eu):
    """AWS (ReplicateKey docs): "The CloudTrail log of a ReplicateKey operation records a
    ReplicateKey operation in the primary key's Region and a CreateKey operation in the
    replica key's Region." The CreateKey is KMS's own doing (spec §11 service events)."""
    key = east.create_key(MultiRegion=True)["KeyMetadata"]
    east.replicate_key(KeyId=key["KeyId"], ReplicaRegion=EU)
    replica_arn = key["Arn"].replace(EAST, EU)
    events = [e for e in server.audit_events() if any(r["ARN"] in (key["Arn"], replica_arn) for r in e["resources"])]
    replicate = [e for e in events if e["eventName"] == "ReplicateKey"]
    assert [(e["awsRegion"], e["eventType"]) for e in replicate] == [(EAST, "AwsApiCall")]
    created = [e for e in events if e["eventName"] == "CreateKey" and e["awsRegion"] == EU]
    assert len(created) == 1
    (event,) = created
    assert event["resources"] == [{"accountId": server.account_id, "type": "AWS::KMS::Key", "ARN": replica_arn}]
    assert event["eventType"] == "AwsServiceEvent" and event["serviceEventDetails"] == {"keyId": key["KeyId"]}
    assert event["recipientAccountId"] == server.account_id and event["readOnly"] is False
    # A refused ReplicateKey creates nothing, and records no CreateKey.
    expect_error(east.replicate_key, "AlreadyExistsException", KeyId=key["KeyId"], ReplicaRegion=EU)
    again = [e for e in server.audit_events() if e["eventName"] == "CreateKey" and e["awsRegion"] == EU
             and e["resources"][0]["ARN"] == replica_arn]
    assert len(again) == 1
