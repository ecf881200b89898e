"""Every state-changing console action, end to end in-process (issue 21): one API call
as the signed-in principal, through the API's own validation, authorization and audit,
then back to the page with a notice — or the page again with the API's error."""

from __future__ import annotations

import base64
import io
import json
import os
import zipfile
from pathlib import Path

from trent.server.console import Console

from .client import ConsoleClient, audit_events
from .conftest import ACCOUNT, DEV_ARN, READER_ARN, READER_KEY, READER_SECRET
from .test_pages import client_api, create_key, ok


def describe(client: ConsoleClient, key_id: str) -> dict:
    return client_api(client).call("DescribeKey", {"KeyId": key_id})["KeyMetadata"]


def test_enable_disable_description(dev: ConsoleClient) -> None:
    key_id = create_key(dev)
    page = dev.follow(dev.post(f"/console/keys/{key_id}/disable"))
    assert page.by_id("notice").text == "The key is disabled." and page.by_id("key-state").text == "Disabled"
    assert describe(dev, key_id)["KeyState"] == "Disabled"
    dev.follow(dev.post(f"/console/keys/{key_id}/enable"))
    assert describe(dev, key_id)["KeyState"] == "Enabled"
    dev.follow(dev.post(f"/console/keys/{key_id}/description", {"description": "new words"}))
    assert describe(dev, key_id)["Description"] == "new words"


def test_schedule_and_cancel_deletion(dev: ConsoleClient) -> None:
    key_id = create_key(dev)
    page = dev.follow(dev.post(f"/console/keys/{key_id}/schedule-deletion", {"days": "7"}))
    md = describe(dev, key_id)
    assert md["KeyState"] == "PendingDeletion"
    assert md["DeletionDate"] - md["CreationDate"] >= 7 * 86400 - 5
    assert "will be deleted on" in page.by_id("deletion-date").text
    dev.follow(dev.post(f"/console/keys/{key_id}/cancel-deletion"))
    assert describe(dev, key_id)["KeyState"] == "Disabled"  # spec §5.3: cancelled keys come back disabled


def test_out_of_range_waiting_period_shows_the_api_error(dev: ConsoleClient) -> None:
    key_id = create_key(dev)
    for days, text in (("3", "greater than or equal to 7"), ("31", "less than or equal to 30"),
                       ("soon", "STRING_VALUE can not be converted to an Integer")):
        page = ok(dev.post(f"/console/keys/{key_id}/schedule-deletion", {"days": days}), 400)
        assert text in page.by_id("error").text, page.by_id("error").text
    assert describe(dev, key_id)["KeyState"] == "Enabled"


def test_rotation_on_off_and_rotate_now(dev: ConsoleClient) -> None:
    key_id = create_key(dev)
    api = client_api(dev)
    dev.follow(dev.post(f"/console/keys/{key_id}/rotation", {"enabled": "true", "period": "120"}))
    status = api.call("GetKeyRotationStatus", {"KeyId": key_id})
    assert status["KeyRotationEnabled"] and status["RotationPeriodInDays"] == 120
    dev.follow(dev.post(f"/console/keys/{key_id}/rotate"))
    assert [r["RotationType"] for r in api.call("ListKeyRotations", {"KeyId": key_id})["Rotations"]] == ["ON_DEMAND"]
    dev.follow(dev.post(f"/console/keys/{key_id}/rotation", {"enabled": "false"}))
    assert not api.call("GetKeyRotationStatus", {"KeyId": key_id})["KeyRotationEnabled"]
    bad = ok(dev.post(f"/console/keys/{key_id}/rotation", {"enabled": "true", "period": "30"}), 400)
    assert "rotationPeriodInDays" in bad.by_id("error").text


def test_tags_and_aliases(dev: ConsoleClient) -> None:
    key_id = create_key(dev)
    api = client_api(dev)
    dev.follow(dev.post(f"/console/keys/{key_id}/tag", {"tag_key": "env", "tag_value": "prod"}))
    dev.follow(dev.post(f"/console/keys/{key_id}/tag", {"tag_key": "env", "tag_value": "test"}))
    assert api.call("ListResourceTags", {"KeyId": key_id})["Tags"] == [{"TagKey": "env", "TagValue": "test"}]
    dev.follow(dev.post(f"/console/keys/{key_id}/untag", {"tag_key": "env"}))
    assert api.call("ListResourceTags", {"KeyId": key_id})["Tags"] == []
    dev.follow(dev.post(f"/console/keys/{key_id}/alias-add", {"alias": "billing"}))
    dev.follow(dev.post(f"/console/keys/{key_id}/alias-add", {"alias": "alias/billing-2"}))
    names = [a["AliasName"] for a in api.call("ListAliases", {"KeyId": key_id})["Aliases"]]
    assert names == ["alias/billing", "alias/billing-2"]
    taken = ok(dev.post(f"/console/keys/{create_key(dev)}/alias-add", {"alias": "billing"}), 400)
    assert taken.by_id("error").text.startswith("AlreadyExistsException")
    dev.follow(dev.post(f"/console/keys/{key_id}/alias-remove", {"alias": "alias/billing"}))
    assert [a["AliasName"] for a in api.call("ListAliases", {"KeyId": key_id})["Aliases"]] == ["alias/billing-2"]


def _wizard(dev: ConsoleClient, answers: dict[str, object]) -> tuple[int, str]:
    """Walk every step forward with the answers, then create; returns (status, location or page)."""
    answers = {"admin_delete": "true", **answers}  # the checkbox is checked unless the test unchecks it
    state: dict[str, object] = {}
    steps = ("type", "usage", "spec", "origin", "labels", "admins", "users")
    page = None
    for step in steps:
        state.update(answers)  # what the person chose (checkboxes included) over what the page carried
        page = dev.post("/console/keys/new", {**state, "step": step, "go": "next"})
        assert page.status == 200, page.text[:3000]
        for hidden in page.doc.find("form", id="wizard").find_all("input", type="hidden"):
            if hidden.attrs["name"] not in ("csrf", "step"):
                state[hidden.attrs["name"]] = hidden.attrs["value"]
    state.update(answers)
    assert page is not None
    policy = page.doc.find("textarea", id="policy").text
    created = dev.post("/console/keys/new", {**state, "step": "review", "go": "create",
                                              "policy": answers.get("policy", policy)})
    return created.status, created.header("location") or created.text


def test_wizard_creates_a_symmetric_key_with_its_policy_alias_and_tags(dev: ConsoleClient) -> None:
    status, location = _wizard(dev, {"type": "symmetric", "usage": "ENCRYPT_DECRYPT", "spec": "SYMMETRIC_DEFAULT",
                                     "origin": "AWS_KMS", "alias": "orders", "description": "order data",
                                     "tags": "team=web\ncost=42", "admins": DEV_ARN, "users": READER_ARN,
                                     "other_accounts": "444455556666"})
    assert status == 303 and location.endswith("?notice=created"), location
    key_id = location.split("/")[3].split("?")[0]
    api = client_api(dev)
    md = describe(dev, key_id)
    assert (md["KeySpec"], md["KeyUsage"], md["Origin"], md["Description"]) == (
        "SYMMETRIC_DEFAULT", "ENCRYPT_DECRYPT", "AWS_KMS", "order data")
    assert [a["AliasName"] for a in api.call("ListAliases", {"KeyId": key_id})["Aliases"]] == ["alias/orders"]
    assert api.call("ListResourceTags", {"KeyId": key_id})["Tags"] == [
        {"TagKey": "cost", "TagValue": "42"}, {"TagKey": "team", "TagValue": "web"}]
    policy = json.loads(api.call("GetKeyPolicy", {"KeyId": key_id})["Policy"])
    by_sid = {s["Sid"]: s for s in policy["Statement"]}
    assert by_sid["Enable IAM User Permissions"]["Principal"] == {"AWS": f"arn:aws:iam::{ACCOUNT}:root"}
    assert by_sid["Allow access for Key Administrators"]["Principal"] == {"AWS": DEV_ARN}
    assert "kms:ScheduleKeyDeletion" in by_sid["Allow access for Key Administrators"]["Action"]
    assert by_sid["Allow use of the key"]["Principal"] == {"AWS": [READER_ARN, "arn:aws:iam::444455556666:root"]}
    assert "kms:GenerateDataKey*" in by_sid["Allow use of the key"]["Action"]
    assert by_sid["Allow attachment of persistent resources"]["Condition"] == {
        "Bool": {"kms:GrantIsForAWSResource": "true"}}


def test_wizard_creates_an_asymmetric_signing_key(dev: ConsoleClient) -> None:
    status, location = _wizard(dev, {"type": "asymmetric", "usage": "SIGN_VERIFY", "spec": "ECC_NIST_P384",
                                     "origin": "AWS_KMS", "users": READER_ARN, "admin_delete": "false"})
    assert status == 303, location
    key_id = location.split("/")[3].split("?")[0]
    md = describe(dev, key_id)
    assert (md["KeySpec"], md["KeyUsage"], md["SigningAlgorithms"]) == ("ECC_NIST_P384", "SIGN_VERIFY", ["ECDSA_SHA_384"])
    policy = json.loads(client_api(dev).call("GetKeyPolicy", {"KeyId": key_id})["Policy"])
    actions = {s["Sid"]: s["Action"] for s in policy["Statement"]}
    assert actions["Allow use of the key"] == ["kms:DescribeKey", "kms:GetPublicKey", "kms:Sign", "kms:Verify"]
    assert "Allow attachment of persistent resources" not in actions


def test_wizard_keeps_an_edited_policy_and_shows_createkey_errors(dev: ConsoleClient) -> None:
    answers = {"type": "symmetric", "usage": "ENCRYPT_DECRYPT", "spec": "SYMMETRIC_DEFAULT", "origin": "AWS_KMS"}
    lockout = json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"AWS": READER_ARN}, "Action": "kms:Decrypt", "Resource": "*"}]})
    status, page = _wizard(dev, {**answers, "policy": lockout})
    assert status == 400
    assert "The new key policy will not allow you to update the key policy in the future." in page
    assert "kms:Decrypt" in page  # the edited draft is kept for another try
    ghost = lockout.replace(READER_ARN, f"arn:aws:iam::{ACCOUNT}:user/nobody")
    status, page = _wizard(dev, {**answers, "policy": ghost})
    assert status == 400 and "invalid principals" in page


def test_policy_check_and_save(dev: ConsoleClient) -> None:
    key_id = create_key(dev)
    broken = ok(dev.post(f"/console/keys/{key_id}/policy", {"policy": '{"Version": ', "go": "check"}), 400)
    assert broken.by_id("error").text.startswith("MalformedPolicyDocumentException")
    assert broken.doc.find("textarea", id="policy").text == '{"Version":'
    policy = {"Version": "2012-10-17", "Statement": [
        {"Sid": "root", "Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"}, "Action": "kms:*",
         "Resource": "*"},
        {"Sid": "reader", "Effect": "Allow", "Principal": {"AWS": READER_ARN}, "Action": "kms:Encrypt",
         "Resource": "*"}]}
    checked = ok(dev.post(f"/console/keys/{key_id}/policy", {"policy": json.dumps(policy), "go": "check"}))
    assert "well-formed" in checked.by_id("policy-ok").text
    assert json.loads(client_api(dev).call("GetKeyPolicy", {"KeyId": key_id})["Policy"])["Statement"][0]["Sid"] == \
        "Enable IAM User Permissions"  # checking saves nothing
    saved = dev.follow(dev.post(f"/console/keys/{key_id}/policy", {"policy": json.dumps(policy), "go": "save"}))
    assert saved.by_id("notice").text == "The key policy was saved."
    assert json.loads(client_api(dev).call("GetKeyPolicy", {"KeyId": key_id})["Policy"]) == policy


def test_grants_create_revoke_retire(dev: ConsoleClient) -> None:
    key_id = create_key(dev)
    api = client_api(dev)
    form = [("grantee", READER_ARN), ("operations", "Encrypt"), ("operations", "Decrypt"), ("name", "g1"),
            ("constraint", "EncryptionContextEquals"), ("context", "app=billing\nenv=prod")]
    page = dev.follow(dev.post(f"/console/keys/{key_id}/grants", form))
    assert page.by_id("notice").text == "The grant was created."
    [grant] = api.call("ListGrants", {"KeyId": key_id})["Grants"]
    assert grant["Operations"] == ["Encrypt", "Decrypt"] and grant["Name"] == "g1"
    assert grant["Constraints"] == {"EncryptionContextEquals": {"app": "billing", "env": "prod"}}
    assert "GrantToken" not in page.text and grant["GrantId"] in page.text  # the token is never shown
    dev.follow(dev.post(f"/console/keys/{key_id}/grants/{grant['GrantId']}/revoke"))
    assert api.call("ListGrants", {"KeyId": key_id})["Grants"] == []
    dev.follow(dev.post(f"/console/keys/{key_id}/grants", [("grantee", READER_ARN), ("operations", "Decrypt"),
                                                           ("retiring", READER_ARN)]))
    [grant] = api.call("ListGrants", {"KeyId": key_id})["Grants"]
    dev.follow(dev.post(f"/console/keys/{key_id}/grants", [("grantee", DEV_ARN), ("operations", "Encrypt")]))
    other = next(g for g in api.call("ListGrants", {"KeyId": key_id})["Grants"] if g["GrantId"] != grant["GrantId"])
    # spec §8: the retiring principal may retire its grant; a principal with no part in a grant may not.
    reader = ConsoleClient(dev.console)
    reader.sign_in(READER_KEY, READER_SECRET)
    refused = reader.post(f"/console/keys/{key_id}/grants/{other['GrantId']}/retire")
    assert refused.status == 403 and "AccessDeniedException" in refused.by_id("error").text
    retired = reader.follow(reader.post(f"/console/keys/{key_id}/grants/{grant['GrantId']}/retire"))
    assert retired.by_id("notice").text == "The grant was retired."
    assert [g["GrantId"] for g in api.call("ListGrants", {"KeyId": key_id})["Grants"]] == [other["GrantId"]]
    dev.follow(dev.post(f"/console/keys/{key_id}/grants/{other['GrantId']}/retire"))  # issue 19: IAM may allow it
    assert api.call("ListGrants", {"KeyId": key_id})["Grants"] == []
    refused = ok(dev.post(f"/console/keys/{key_id}/grants", [("grantee", READER_ARN), ("operations", "Sign")]), 400)
    assert refused.by_id("error").text.startswith("ValidationException")
    assert refused.doc.find("input", id="grantee").attrs["value"] == READER_ARN  # the draft is kept


def test_import_key_material_through_the_console(dev: ConsoleClient) -> None:
    from tests.wire.import_helpers import wrap

    key_id = create_key(dev, Origin="EXTERNAL")
    download = dev.post(f"/console/keys/{key_id}/import/parameters",
                        {"algorithm": "RSAES_OAEP_SHA_256", "wrapping_key_spec": "RSA_3072"})
    assert download.status == 200 and download.header("content-type") == "application/zip"
    assert download.header("content-disposition") == f'attachment; filename="ImportParameters-{key_id}.zip"'
    archive = zipfile.ZipFile(io.BytesIO(download.body))
    assert sorted(archive.namelist()) == ["ImportToken.bin", "README.txt", "WrappingPublicKey.bin"]
    material = os.urandom(32)
    wrapped = wrap(archive.read("WrappingPublicKey.bin"), "RSAES_OAEP_SHA_256", material)
    page = dev.follow(dev.post_multipart(f"/console/keys/{key_id}/import/material",
                                         {"expiration_model": "KEY_MATERIAL_DOES_NOT_EXPIRE", "description": "v1"},
                                         {"material": ("EncryptedKeyMaterial.bin", wrapped),
                                          "token": ("ImportToken.bin", archive.read("ImportToken.bin"))}))
    assert page.by_id("notice").text == "The key material was imported."
    assert describe(dev, key_id)["KeyState"] == "Enabled"
    api = client_api(dev)
    blob = api.call("Encrypt", {"KeyId": key_id, "Plaintext": base64.b64encode(b"hi").decode()})["CiphertextBlob"]
    assert base64.b64decode(api.call("Decrypt", {"CiphertextBlob": blob})["Plaintext"]) == b"hi"
    wrong = ok(dev.post_multipart(f"/console/keys/{key_id}/import/material", {},
                                  {"material": ("m", b"\x00" * 384), "token": ("t", archive.read("ImportToken.bin"))}),
               400)
    assert wrong.by_id("error").text.startswith(("InvalidCiphertextException", "IncorrectKeyMaterialException"))
    dev.follow(dev.post(f"/console/keys/{key_id}/import/delete"))
    assert describe(dev, key_id)["KeyState"] == "PendingImport"


def test_key_store_errors_come_from_the_api(dev: ConsoleClient) -> None:
    page = ok(dev.post("/console/key-stores", {"name": "s1", "cluster": "cluster-notconfigured",
                                               "anchor": "-----BEGIN CERTIFICATE-----\nMAMCAQE=\n-----END CERTIFICATE-----\n",
                                               "password": "kmsuser-secret-pin"}), 400)
    assert page.by_id("error").text.startswith("CloudHsmClusterNotFoundException")
    assert "kmsuser-secret-pin" not in page.text  # the password is never rendered back
    missing = ok(dev.post("/console/key-stores/cks-1234567890abcdef0/connect"), 400)
    assert missing.by_id("error").text.startswith("CustomKeyStoreNotFoundException")


def test_a_reader_is_denied_and_each_denial_is_audited(console: Console, audit_log: Path) -> None:
    dev = ConsoleClient(console)
    dev.sign_in_dev()
    key_id = create_key(dev)
    reader = ConsoleClient(console)
    reader.sign_in(READER_KEY, READER_SECRET)
    before = len(audit_events(audit_log))
    listed = ok(reader.get("/console/keys"))
    assert key_id in listed.text  # kms:ListKeys + kms:DescribeKey are allowed
    denied = ok(reader.post(f"/console/keys/{key_id}/disable"), 403)
    assert denied.by_id("error").text.startswith("AccessDeniedException : User: " + READER_ARN)
    assert describe(dev, key_id)["KeyState"] == "Enabled"
    policy = ok(reader.get(f"/console/keys/{key_id}/policy"), 403)
    assert '"Statement"' not in policy.text  # no policy text for a caller that may not read it
    explain = ok(reader.get(f"/console/keys/{key_id}/explain?run=1&principal={DEV_ARN}&action=kms%3ADecrypt"), 403)
    assert explain.by_id("error").text.startswith("AccessDeniedException")
    create = ok(reader.post("/console/keys/new", {"step": "review", "go": "create", "type": "symmetric",
                                                  "usage": "ENCRYPT_DECRYPT", "spec": "SYMMETRIC_DEFAULT",
                                                  "origin": "AWS_KMS", "policy": "{}"}), 403)
    assert "kms:CreateKey" in create.by_id("error").text
    events = audit_events(audit_log)[before:]
    mine = [e for e in events if e["userIdentity"].get("arn") == READER_ARN]
    assert {e["eventName"] for e in mine if e.get("errorCode") == "AccessDeniedException"} >= {
        "DisableKey", "GetKeyPolicy", "ExplainAuthorization", "CreateKey"}
    assert all(e["userAgent"].startswith("trent-console/") and e["sessionCredentialFromConsole"] == "true"
               for e in mine)
    assert all(e["userIdentity"]["accessKeyId"] == READER_KEY for e in mine)


def test_every_console_call_is_one_audit_event(dev: ConsoleClient, audit_log: Path) -> None:
    key_id = create_key(dev)
    before = len(audit_events(audit_log))
    dev.post(f"/console/keys/{key_id}/disable")
    events = audit_events(audit_log)[before:]
    assert [e["eventName"] for e in events] == ["DisableKey"]
    [event] = events
    assert event["userIdentity"]["arn"] == DEV_ARN and event["requestParameters"] == {"keyId": key_id}
    assert event["resources"] == [{"accountId": ACCOUNT, "type": "AWS::KMS::Key",
                                   "ARN": f"arn:aws:kms:us-east-1:{ACCOUNT}:key/{key_id}"}]
    before = len(audit_events(audit_log))
    dev.get(f"/console/keys/{key_id}")
    names = [e["eventName"] for e in audit_events(audit_log)[before:]]
    assert names == ["DescribeKey", "ListAliases", "ListResourceTags", "GetKeyRotationStatus", "ListKeyRotations"]
