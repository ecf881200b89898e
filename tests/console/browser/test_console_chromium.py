"""The console end to end in headless Chromium (issue 21's scenarios): dev sign-in, the
wizard for a symmetric and an asymmetric key, a policy edit that takes away the user's
own Decrypt (seen on the API with boto3), a grant created and revoked, deletion scheduled
and cancelled, import of key material, a custom key store on SoftHSM2, a non-admin who
sees only what its policies allow, a CSRF-less POST refused, CSP and cookie flags, and
keyboard-only use."""

from __future__ import annotations

import base64
import io
import json
import os
import zipfile

import pytest
from botocore.exceptions import ClientError
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding

from tests.fixtures.trent_server import TrentServer
from tests.wire.import_helpers import wrap
from trent.server.console.security import CONTENT_SECURITY_POLICY

from .conftest import ACCOUNT, ALICE, BOB, CLUSTER, NOBODY, Watched, arn

DEV_ARN = f"arn:aws:iam::{ACCOUNT}:user/dev"
ANCHOR = "-----BEGIN CERTIFICATE-----\n" + base64.b64encode(b"\x30\x03\x02\x01\x01").decode() + \
    "\n-----END CERTIFICATE-----\n"


def dev_sign_in(w: Watched):
    page = w.page
    page.goto(w.base_url + "/console/")
    page.click("#dev-signin")
    page.wait_for_url("**/console/keys")
    assert page.locator("#signed-in-as").inner_text() == DEV_ARN
    return page


def sign_in(w: Watched, user: dict[str, str]):
    page = w.page
    page.goto(w.base_url + "/console/signin")
    page.fill("#access_key_id", user["key"])
    page.fill("#secret_access_key", user["secret"])
    page.click("button.primary")
    page.wait_for_url("**/console/keys")
    return page


def key_id_from(page) -> str:
    return page.url.split("/console/keys/")[1].split("?")[0].split("/")[0]


def walk_wizard(page, base_url: str, *, key_type: str, usage: str, spec: str, origin: str = "AWS_KMS",
                alias: str = "", description: str = "", tags: str = "", admins=(), users=(), store: str = ""):
    page.goto(base_url + "/console/keys/new")
    page.check(f"#type-{key_type}")
    page.click("#next")
    page.check(f"#usage-{usage}")
    page.click("#next")
    page.check(f"#spec-{spec}")
    page.click("#next")
    page.check(f"#origin-{origin}")
    if store:
        page.select_option("#store_id", store)
    page.click("#next")
    page.fill("#alias", alias)
    page.fill("#description", description)
    page.fill("#tags", tags)
    page.click("#next")
    for principal in admins:
        page.check(f'input[name="admins"][value="{principal}"]')
    page.click("#next")
    for principal in users:
        page.check(f'input[name="users"][value="{principal}"]')
    page.click("#next")
    assert page.locator("ol.steps li.current").inner_text().endswith("Review and create")
    return page


def test_dev_sign_in_sets_a_strict_session_cookie(watched: Watched, context) -> None:
    page = watched.page
    response = page.goto(watched.base_url + "/console/signin")
    headers = response.headers
    assert headers["content-security-policy"] == CONTENT_SECURITY_POLICY
    assert headers["x-frame-options"] == "DENY" and headers["x-content-type-options"] == "nosniff"
    dev_sign_in(watched)
    [session] = [c for c in context.cookies() if c["name"] == "trent-console"]
    assert session["httpOnly"] is True and session["sameSite"] == "Strict" and session["secure"] is False
    assert session["path"] == "/console"
    assert page.evaluate("document.cookie") == ""  # nothing readable by scripts


def test_wizard_creates_a_symmetric_key(watched: Watched, console_server: TrentServer) -> None:
    page = dev_sign_in(watched)
    walk_wizard(page, watched.base_url, key_type="symmetric", usage="ENCRYPT_DECRYPT", spec="SYMMETRIC_DEFAULT",
                alias="browser-orders", description="made in chromium", tags="team=web",
                admins=[DEV_ARN], users=[arn(ALICE)])
    assert '"Allow use of the key"' in page.input_value("#policy")
    assert page.locator("#policy-check").inner_text() == "JSON syntax is valid."  # the static script runs
    page.click("#create-key")
    page.wait_for_url("**notice=created")
    key_id = key_id_from(page)
    assert page.locator("#notice").inner_text() == "The key was created."
    assert "alias/browser-orders" in page.locator("#alias-list").inner_text()
    kms = console_server.client()
    md = kms.describe_key(KeyId="alias/browser-orders")["KeyMetadata"]
    assert md["KeyId"] == key_id and md["Description"] == "made in chromium"
    policy = json.loads(kms.get_key_policy(KeyId=key_id, PolicyName="default")["Policy"])
    users = [s for s in policy["Statement"] if s["Sid"] == "Allow use of the key"][0]
    assert users["Principal"] == {"AWS": arn(ALICE)}
    created = [e for e in console_server.audit_events() if e["eventName"] == "CreateKey"
               and (e.get("responseElements") or {}).get("keyMetadata", {}).get("keyId") == key_id]
    assert len(created) == 1 and created[0]["userAgent"].startswith("trent-console/")
    assert created[0]["sessionCredentialFromConsole"] == "true" and created[0]["userIdentity"]["arn"] == DEV_ARN


def test_wizard_creates_an_asymmetric_key_whose_public_key_the_page_shows(watched: Watched,
                                                                          console_server: TrentServer) -> None:
    page = dev_sign_in(watched)
    walk_wizard(page, watched.base_url, key_type="asymmetric", usage="SIGN_VERIFY", spec="RSA_2048",
                users=[arn(ALICE)])
    page.click("#create-key")
    page.wait_for_url("**notice=created")
    key_id = key_id_from(page)
    pem = page.locator("pre.pem").inner_text()
    public = serialization.load_pem_public_key(pem.encode())
    signature = console_server.client().sign(KeyId=key_id, Message=b"made in a browser",
                                              SigningAlgorithm="RSASSA_PSS_SHA_256")["Signature"]
    public.verify(signature, b"made in a browser",  # the key on the page is the key that signs
                  padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=32), hashes.SHA256())


def test_a_policy_edit_that_removes_my_decrypt_is_enforced_on_the_api(watched: Watched,
                                                                      console_server: TrentServer) -> None:
    kms = console_server.client()
    key_id = kms.create_key()["KeyMetadata"]["KeyId"]
    blob = kms.encrypt(KeyId=key_id, Plaintext=b"payroll")["CiphertextBlob"]
    page = dev_sign_in(watched)
    page.goto(f"{watched.base_url}/console/keys/{key_id}/policy")
    policy = json.loads(page.input_value("#policy"))
    policy["Statement"].append({"Sid": "NoDecryptForDev", "Effect": "Deny", "Principal": {"AWS": DEV_ARN},
                                "Action": "kms:Decrypt", "Resource": "*"})
    page.fill("#policy", json.dumps(policy))
    page.fill("#policy", page.input_value("#policy") + "}")  # a typo...
    assert page.locator("#policy-check").inner_text().startswith("Not valid JSON")  # ...caught while typing
    page.fill("#policy", json.dumps(policy))
    page.click("#format-policy")
    page.click("#save-policy")
    page.wait_for_url("**notice=policy-saved")
    with pytest.raises(ClientError) as denied:
        kms.decrypt(CiphertextBlob=blob)
    assert denied.value.response["Error"]["Code"] == "AccessDeniedException"
    # spec §6.3: a Decrypt the caller may not make reads like a ciphertext of an unknown key
    assert denied.value.response["Error"]["Message"].startswith("The ciphertext refers to a customer master key")
    assert kms.encrypt(KeyId=key_id, Plaintext=b"x")["KeyId"].endswith(key_id)  # only Decrypt went
    page.goto(f"{watched.base_url}/console/keys/{key_id}/explain")
    page.select_option("#action", "kms:Decrypt")
    page.click("#explain")
    assert page.locator("#decision").inner_text() == "Denied explicitly"
    decided = page.locator("#statements tr.outcome-decided").inner_text()
    assert "NoDecryptForDev" in decided and "Deny" in decided


def test_grant_created_and_revoked(watched: Watched, console_server: TrentServer) -> None:
    key_id = console_server.client().create_key()["KeyMetadata"]["KeyId"]
    bob = console_server.client(aws_access_key_id=BOB["key"], aws_secret_access_key=BOB["secret"])
    with pytest.raises(ClientError):
        bob.encrypt(KeyId=key_id, Plaintext=b"x")  # bob has no policy: nothing allows him
    page = dev_sign_in(watched)
    page.goto(f"{watched.base_url}/console/keys/{key_id}/grants")
    page.fill("#grantee", arn(BOB))
    page.check("#op-Encrypt")
    page.check("#op-Decrypt")
    page.fill("#grant-name", "bob-uses-it")
    page.click("#submit-grant")
    page.wait_for_url("**notice=grant-created")
    row = page.locator("#grants tbody tr").first
    assert "bob-uses-it" in row.inner_text() and arn(BOB) in row.inner_text()
    blob = bob.encrypt(KeyId=key_id, Plaintext=b"granted")["CiphertextBlob"]
    assert bob.decrypt(CiphertextBlob=blob)["Plaintext"] == b"granted"
    row.get_by_role("button", name="Revoke grant").click()
    page.wait_for_url("**notice=grant-revoked")
    assert "No grants." in page.locator("#grants").inner_text()
    with pytest.raises(ClientError) as denied:
        bob.encrypt(KeyId=key_id, Plaintext=b"x")
    assert denied.value.response["Error"]["Code"] == "AccessDeniedException"


def test_schedule_and_cancel_deletion(watched: Watched, console_server: TrentServer) -> None:
    kms = console_server.client()
    key_id = kms.create_key()["KeyMetadata"]["KeyId"]
    page = dev_sign_in(watched)
    page.goto(f"{watched.base_url}/console/keys/{key_id}")
    page.fill("#days", "7")
    page.click("#schedule-deletion")  # confirms in a dialog (accepted)
    page.wait_for_url("**notice=deletion-scheduled")
    md = kms.describe_key(KeyId=key_id)["KeyMetadata"]
    assert md["KeyState"] == "PendingDeletion"
    assert md["DeletionDate"].strftime("%Y-%m-%d") in page.locator("#deletion-date").inner_text()
    page.click("#cancel-deletion")
    page.wait_for_url("**notice=deletion-cancelled")
    assert page.locator("#key-state").inner_text() == "Disabled"
    assert kms.describe_key(KeyId=key_id)["KeyMetadata"]["KeyState"] == "Disabled"


def test_import_key_material(watched: Watched, console_server: TrentServer, tmp_path) -> None:
    page = dev_sign_in(watched)
    walk_wizard(page, watched.base_url, key_type="symmetric", usage="ENCRYPT_DECRYPT", spec="SYMMETRIC_DEFAULT",
                origin="EXTERNAL")
    page.click("#create-key")
    page.wait_for_url("**notice=created")
    key_id = key_id_from(page)
    page.goto(f"{watched.base_url}/console/keys/{key_id}/import")
    page.select_option("#wrapping_key_spec", "RSA_2048")
    with page.expect_download() as download:
        page.click("#download")
    archive = zipfile.ZipFile(io.BytesIO(open(download.value.path(), "rb").read()))
    material = os.urandom(32)
    (tmp_path / "EncryptedKeyMaterial.bin").write_bytes(
        wrap(archive.read("WrappingPublicKey.bin"), "RSAES_OAEP_SHA_256", material))
    (tmp_path / "ImportToken.bin").write_bytes(archive.read("ImportToken.bin"))
    page.set_input_files("#material", str(tmp_path / "EncryptedKeyMaterial.bin"))
    page.set_input_files("#token", str(tmp_path / "ImportToken.bin"))
    page.click("#upload")
    page.wait_for_url("**notice=material-imported")
    assert page.locator("#key-state").inner_text() == "Enabled"
    kms = console_server.client()
    blob = kms.encrypt(KeyId=key_id, Plaintext=b"byok")["CiphertextBlob"]
    assert kms.decrypt(CiphertextBlob=blob)["Plaintext"] == b"byok"


def test_custom_key_store_connect_create_key_disconnect(watched: Watched, console_server: TrentServer,
                                                        softhsm) -> None:
    page = dev_sign_in(watched)
    page.goto(watched.base_url + "/console/key-stores")
    page.fill("#store-name", "browser-hsm")
    page.fill("#cluster", CLUSTER)
    page.fill("#anchor", ANCHOR)
    page.fill("#password", softhsm.user_pin)
    page.click("#submit-store")
    page.wait_for_url("**notice=store-created")
    assert softhsm.user_pin not in page.content()
    row = page.locator("#stores tbody tr", has_text="browser-hsm")
    assert "DISCONNECTED" in row.inner_text()
    store_id = row.get_attribute("data-store-id")
    row.get_by_role("button", name="Connect browser-hsm").click()
    page.wait_for_url("**notice=store-connected")
    assert "CONNECTED" in page.locator("#stores tbody tr", has_text="browser-hsm").inner_text()
    walk_wizard(page, watched.base_url, key_type="symmetric", usage="ENCRYPT_DECRYPT", spec="SYMMETRIC_DEFAULT",
                origin="AWS_CLOUDHSM", store=store_id)
    page.click("#create-key")
    page.wait_for_url("**notice=created")
    key_id = key_id_from(page)
    assert store_id in page.inner_text("main") and CLUSTER in page.inner_text("main")
    kms = console_server.client()
    blob = kms.encrypt(KeyId=key_id, Plaintext=b"in the hsm")["CiphertextBlob"]
    assert kms.decrypt(CiphertextBlob=blob)["Plaintext"] == b"in the hsm"
    page.goto(watched.base_url + "/console/key-stores")
    page.locator("#stores tbody tr", has_text="browser-hsm").get_by_role("button", name="Disconnect").click()
    page.wait_for_url("**notice=store-disconnected")
    page.goto(f"{watched.base_url}/console/keys/{key_id}")
    assert page.locator("#key-state").inner_text() == "Unavailable"


def test_a_non_admin_sees_only_what_its_policies_allow(watched: Watched, context,
                                                       console_server: TrentServer) -> None:
    kms = console_server.client()
    key_id = kms.create_key(Description="visible to alice")["KeyMetadata"]["KeyId"]
    kms.tag_resource(KeyId=key_id, Tags=[{"TagKey": "secret-project", "TagValue": "x"}])
    page = sign_in(watched, ALICE)
    assert page.locator("#signed-in-as").inner_text() == arn(ALICE)
    assert key_id in page.locator("#keys-table").inner_text()  # ListKeys + DescribeKey: allowed
    page.goto(f"{watched.base_url}/console/keys/{key_id}")
    tags = page.locator("section", has=page.locator("#tags")).inner_text()
    assert "Tags not shown: AccessDeniedException" in tags and "secret-project" not in tags
    page.click("#disable-key")
    assert "AccessDeniedException" in page.locator("#error").inner_text()
    assert page.evaluate("document.activeElement.id") == "error"  # focus lands on the error
    assert kms.describe_key(KeyId=key_id)["KeyMetadata"]["KeyState"] == "Enabled"
    page.goto(f"{watched.base_url}/console/keys/{key_id}/policy")
    assert page.locator("#policy").count() == 0 and "kms:GetKeyPolicy" in page.locator("#error").inner_text()
    # nobody has no policy at all: even the list is refused, and says why
    other = watched.open(context.browser.new_context())
    other.goto(watched.base_url + "/console/signin")
    other.fill("#access_key_id", NOBODY["key"])
    other.fill("#secret_access_key", NOBODY["secret"])
    other.click("button.primary")
    other.wait_for_url("**/console/keys")
    assert "kms:ListKeys" in other.locator("#error").inner_text()
    assert other.locator("#keys-table").count() == 0
    other.context.close()


def test_a_post_without_the_csrf_token_is_refused(watched: Watched, console_server: TrentServer) -> None:
    kms = console_server.client()
    key_id = kms.create_key()["KeyMetadata"]["KeyId"]
    page = dev_sign_in(watched)
    # The browser's own cookies, a form post without the token (what a cross-site form would send).
    answer = page.request.post(f"{watched.base_url}/console/keys/{key_id}/disable", form={"x": "1"},
                               max_redirects=0)
    assert answer.status == 403 and "did not come from this console" in answer.text()
    forged = page.request.post(f"{watched.base_url}/console/keys/{key_id}/disable",
                               form={"csrf": "forged"}, max_redirects=0)
    assert forged.status == 403
    page.goto(f"{watched.base_url}/console/keys/{key_id}")
    token = page.locator('input[name="csrf"]').first.get_attribute("value")
    cross = page.request.post(f"{watched.base_url}/console/keys/{key_id}/disable", form={"csrf": token},
                              headers={"Origin": "http://evil.example"}, max_redirects=0)
    assert cross.status == 403
    assert kms.describe_key(KeyId=key_id)["KeyMetadata"]["KeyState"] == "Enabled"
    same = page.request.post(f"{watched.base_url}/console/keys/{key_id}/disable", form={"csrf": token},
                             max_redirects=0)
    assert same.status == 303
    assert kms.describe_key(KeyId=key_id)["KeyMetadata"]["KeyState"] == "Disabled"


def test_sign_out_and_the_frame_refusal(watched: Watched, console_server: TrentServer) -> None:
    page = dev_sign_in(watched)
    page.click("#sign-out")
    page.wait_for_url("**/console/signin?notice=signed-out")
    assert page.locator("#notice").inner_text() == "You are signed out."
    page.goto(watched.base_url + "/console/keys")
    assert "/console/signin" in page.url
    # Clickjacking: a page that frames the console gets nothing (frame-ancestors 'none').
    page.route("http://framer.test/", lambda route: route.fulfill(
        content_type="text/html", body=f'<iframe id="f" src="{watched.base_url}/console/signin"></iframe>'))
    watched.problems.clear()
    page.goto("http://framer.test/")
    page.wait_for_timeout(500)
    frame = page.frame_locator("#f")
    assert frame.locator("#access_key_id").count() == 0
    watched.problems.clear()  # the refusal itself is reported as a CSP error, as it should be


def test_keyboard_only(watched: Watched) -> None:
    page = watched.page
    page.goto(watched.base_url + "/console/signin")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.className") == "skip"  # skip link first
    for _ in range(12):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.id") == "dev-signin":
            break
    assert page.evaluate("document.activeElement.id") == "dev-signin"
    page.keyboard.press("Enter")
    page.wait_for_url("**/console/keys")
    page.goto(watched.base_url + "/console/keys/new")
    page.focus("#type-symmetric")
    page.keyboard.press("ArrowDown")  # radio group: arrows move the choice
    assert page.is_checked("#type-asymmetric")
    page.keyboard.press("Enter")  # Enter submits with the first button: Next
    page.wait_for_selector("#usage-SIGN_VERIFY")
    assert page.locator("ol.steps li.current").inner_text().endswith("Key usage")
    assert page.locator("#usage-KEY_AGREEMENT").count() == 1
