"""Server-side rendering of every console page (issue 21): each page renders from real
API calls made as the signed-in principal, shows what those calls return, and passes the
page checks (no inline script or style, a CSRF token on every POST form, labelled
controls, captioned tables, one h1, a main landmark)."""

from __future__ import annotations

import base64

import pytest
from cryptography.hazmat.primitives import serialization

from trent.server.console import Console

from .client import Answer, ConsoleClient
from .conftest import DEV_ARN, READER_ARN
from .html import page_problems

WIZARD_STEPS = ("type", "usage", "spec", "origin", "labels", "admins", "users", "review")


def ok(answer: Answer, status: int = 200) -> Answer:
    assert answer.status == status, (answer.status, answer.text[:2000])
    assert answer.header("content-type") == "text/html; charset=utf-8"
    assert page_problems(answer.doc) == []
    return answer


def create_key(client: ConsoleClient, **params: str) -> str:
    """A key through the console's own API path (the wizard is tested on its own)."""
    return client_api(client).call("CreateKey", params)["KeyMetadata"]["KeyId"]


def client_api(client: ConsoleClient):
    """A ConsoleCaller for the dev user, for setting up state the way the console does."""
    from trent.server.console.calls import ConsoleCaller, Identity

    console = client.console
    principal = console.deps.storage.get_principal(DEV_ARN)
    return ConsoleCaller(console.pipeline, console.explain_door, Identity(principal, "test", "us-east-1"), "127.0.0.1")


def test_sign_in_page(console: Console) -> None:
    page = ok(ConsoleClient(console).get("/console/signin"))
    doc = page.doc
    assert doc.find("input", name="access_key_id") is not None
    secret = doc.find("input", name="secret_access_key")
    assert secret is not None and secret.attrs["type"] == "password" and secret.attrs["autocomplete"] == "off"
    assert doc.find(id="dev-signin") is not None  # --dev: one-click sign-in
    assert doc.find("nav") is None  # nothing of the console before signing in


def test_unauthenticated_pages_redirect_to_sign_in(console: Console) -> None:
    client = ConsoleClient(console)
    for path in ("/console/keys", "/console/keys/new", "/console/key-stores", "/console/audit",
                 "/console/keys/1234abcd-12ab-34cd-56ef-1234567890ab"):
        answer = client.get(path)
        assert answer.status == 303
        assert answer.location.startswith("/console/signin?next=" + path.replace("/", "%2F"))


def test_keys_list_shows_what_describe_key_returns(dev: ConsoleClient) -> None:
    assert "No keys" in ok(dev.get("/console/keys")).by_id("keys-table").text
    sym = create_key(dev, Description="payroll data")
    rsa = create_key(dev, KeySpec="RSA_2048", KeyUsage="SIGN_VERIFY")
    client_api(dev).call("CreateAlias", {"AliasName": "alias/payroll", "TargetKeyId": sym})
    client_api(dev).call("TagResource", {"KeyId": rsa, "Tags": [{"TagKey": "team", "TagValue": "web"}]})
    page = ok(dev.get("/console/keys"))
    rows = {r.attrs["data-key-id"]: r.text for r in page.doc.find_all("tr") if "data-key-id" in r.attrs}
    assert set(rows) == {sym, rsa}
    assert "alias/payroll" in rows[sym] and "payroll data" in rows[sym] and "SYMMETRIC_DEFAULT" in rows[sym]
    assert "RSA_2048" in rows[rsa] and "SIGN_VERIFY" in rows[rsa] and "Enabled" in rows[rsa]
    assert page.by_id("signed-in-as").text == DEV_ARN


@pytest.mark.parametrize(
    ("query", "expect"),
    [("spec=RSA_2048", "rsa"), ("usage=ENCRYPT_DECRYPT", "sym"), ("alias=PAY", "sym"), ("tag=team", "rsa"),
     ("tag=team%3Dweb", "rsa"), ("tag=team%3Dother", None), ("state=Disabled", "sym"), ("origin=EXTERNAL", None),
     ("origin=AWS_KMS&spec=SYMMETRIC_DEFAULT", "sym")],
)
def test_keys_list_filters(dev: ConsoleClient, query: str, expect: str | None) -> None:
    keys = {"sym": create_key(dev), "rsa": create_key(dev, KeySpec="RSA_2048", KeyUsage="SIGN_VERIFY")}
    api = client_api(dev)
    api.call("CreateAlias", {"AliasName": "alias/payroll", "TargetKeyId": keys["sym"]})
    api.call("TagResource", {"KeyId": keys["rsa"], "Tags": [{"TagKey": "team", "TagValue": "web"}]})
    api.call("DisableKey", {"KeyId": keys["sym"]})
    page = ok(dev.get("/console/keys?" + query))
    shown = {r.attrs["data-key-id"] for r in page.doc.find_all("tr") if "data-key-id" in r.attrs}
    assert shown == ({keys[expect]} if expect else set())
    assert "matching the filters" in page.doc.find("caption").text


def test_keys_list_pages_through_many_keys(dev: ConsoleClient) -> None:
    made = {create_key(dev) for _ in range(60)}
    first = ok(dev.get("/console/keys"))
    shown = {r.attrs["data-key-id"] for r in first.doc.find_all("tr") if "data-key-id" in r.attrs}
    assert len(shown) == 50
    following = first.doc.find("a", rel="next")
    assert following is not None
    second = ok(dev.get(following.attrs["href"]))
    shown |= {r.attrs["data-key-id"] for r in second.doc.find_all("tr") if "data-key-id" in r.attrs}
    assert shown == made


def test_key_detail_symmetric(dev: ConsoleClient) -> None:
    key_id = create_key(dev, Description="orders")
    api = client_api(dev)
    api.call("CreateAlias", {"AliasName": "alias/orders", "TargetKeyId": key_id})
    api.call("TagResource", {"KeyId": key_id, "Tags": [{"TagKey": "env", "TagValue": "prod"}]})
    api.call("EnableKeyRotation", {"KeyId": key_id, "RotationPeriodInDays": 180})
    api.call("RotateKeyOnDemand", {"KeyId": key_id})
    page = ok(dev.get(f"/console/keys/{key_id}"))
    doc = page.doc
    assert f"arn:aws:kms:us-east-1:123456789012:key/{key_id}" in doc.text
    assert page.by_id("key-state").text == "Enabled"
    assert doc.find("input", id="description").attrs["value"] == "orders"
    assert page.by_id("alias-list").text.startswith("alias/orders")
    assert "env prod" in page.by_id("tag-table").text
    assert page.by_id("rotation-status").text == "On" and "180 days" in doc.text
    materials = page.by_id("materials").find_all("tr")[1:]
    assert [m.find_all("td")[2].text for m in materials] == ["first material", "ON_DEMAND"]
    svg = doc.find("svg")  # the rotation timeline: a picture with a name, drawn on the server
    assert svg is not None and svg.attrs["role"] == "img" and "on_demand" not in svg.text
    assert "on-demand on" in svg.find("desc").text and svg.find("title").text == "Key material timeline"
    assert doc.find(id="schedule-deletion") is not None and doc.find(id="disable-key") is not None
    assert "Multi-Region No" in " ".join(doc.text.split())


def test_key_detail_asymmetric_shows_the_public_key(dev: ConsoleClient) -> None:
    key_id = create_key(dev, KeySpec="ECC_NIST_P256", KeyUsage="SIGN_VERIFY")
    page = ok(dev.get(f"/console/keys/{key_id}"))
    pem = page.doc.find("pre", **{"class": "pem"}).text
    public = client_api(dev).call("GetPublicKey", {"KeyId": key_id})["PublicKey"]
    key = serialization.load_pem_public_key(
        ("-----BEGIN PUBLIC KEY-----\n" + "\n".join(pem.split()[3:-3]) + "\n-----END PUBLIC KEY-----\n").encode())
    assert key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo) == \
        base64.b64decode(public)
    assert page.doc.find(id="rotation") is None  # asymmetric keys do not rotate (spec §5.4)
    assert "ECDSA_SHA_256" in page.doc.text


def test_key_detail_pending_deletion_and_multi_region(dev: ConsoleClient) -> None:
    key_id = create_key(dev, MultiRegion=True)
    client_api(dev).call("ScheduleKeyDeletion", {"KeyId": key_id, "PendingWindowInDays": 7})
    page = ok(dev.get(f"/console/keys/{key_id}"))
    assert "will be deleted on" in page.by_id("deletion-date").text
    assert page.doc.find(id="cancel-deletion") is not None
    assert key_id.startswith("mrk-") and "primary key" in page.doc.text


def test_key_detail_for_a_reader_shows_each_denied_section(console: Console) -> None:
    dev = ConsoleClient(console)
    dev.sign_in_dev()
    key_id = create_key(dev)
    from .conftest import READER_KEY, READER_SECRET

    reader = ConsoleClient(console)
    assert reader.sign_in(READER_KEY, READER_SECRET).status == 303
    page = ok(reader.get(f"/console/keys/{key_id}"))
    notes = [n.text for n in page.doc.find_all("p", **{"class": "denied"})]
    assert any(n.startswith("Tags not shown: AccessDeniedException") and "kms:ListResourceTags" in n for n in notes)
    assert any("kms:GetKeyRotationStatus" in n for n in notes)
    assert page.by_id("signed-in-as").text == READER_ARN


def test_policy_page(dev: ConsoleClient) -> None:
    key_id = create_key(dev)
    page = ok(dev.get(f"/console/keys/{key_id}/policy"))
    area = page.doc.find("textarea", id="policy")
    assert '"Enable IAM User Permissions"' in area.text and area.attrs.get("data-json") == ""
    assert page.doc.find(id="save-policy") is not None and page.doc.find(id="check-policy") is not None


def test_explain_page(dev: ConsoleClient) -> None:
    key_id = create_key(dev)
    blank = ok(dev.get(f"/console/keys/{key_id}/explain"))
    assert blank.doc.find(id="explanation") is None
    page = ok(dev.get(f"/console/keys/{key_id}/explain?run=1&principal={DEV_ARN}&action=kms%3ADecrypt"
                      "&context=dept%3Dhr"))
    assert page.by_id("decision").text == "Allowed"
    rows = page.by_id("statements").find_all("tr")[1:]
    assert any("decided" in r.text and "Enable IAM User Permissions" in r.text for r in rows)
    denied = ok(dev.get(f"/console/keys/{key_id}/explain?run=1&principal={READER_ARN}&action=kms%3ADecrypt"))
    assert denied.by_id("decision").text.startswith("Denied")
    assert "because no identity-based policy allows the kms:Decrypt action" in denied.doc.text


def test_grants_page(dev: ConsoleClient) -> None:
    key_id = create_key(dev)
    client_api(dev).call("CreateGrant", {"KeyId": key_id, "GranteePrincipal": READER_ARN, "Operations": ["Decrypt"],
                                         "Name": "reader-decrypt",
                                         "Constraints": {"EncryptionContextSubset": {"app": "x"}}})
    page = ok(dev.get(f"/console/keys/{key_id}/grants"))
    row = page.by_id("grants").find_all("tr")[1]
    assert "reader-decrypt" in row.text and "Decrypt" in row.text and "EncryptionContextSubset: app=x" in row.text
    offered = {i.attrs["value"] for i in page.doc.find_all("input", name="operations")}
    assert "Encrypt" in offered and "Sign" not in offered and "GenerateMac" not in offered
    hmac_key = create_key(dev, KeySpec="HMAC_256", KeyUsage="GENERATE_VERIFY_MAC")
    hmac_page = ok(dev.get(f"/console/keys/{hmac_key}/grants"))
    assert {i.attrs["value"] for i in hmac_page.doc.find_all("input", name="operations")} == {
        "GenerateMac", "VerifyMac", "DescribeKey", "CreateGrant", "RetireGrant"}
    assert hmac_page.doc.find(id="grant-context") is None  # constraints are for symmetric keys only


def test_import_page(dev: ConsoleClient) -> None:
    key_id = create_key(dev, Origin="EXTERNAL")
    page = ok(dev.get(f"/console/keys/{key_id}/import"))
    assert "PendingImport" in page.doc.text
    assert page.by_id("upload-material").attrs["enctype"] == "multipart/form-data"
    assert {o.attrs["value"] for o in page.doc.find("select", id="algorithm").find_all("option")} == {
        "RSAES_OAEP_SHA_1", "RSAES_OAEP_SHA_256", "RSA_AES_KEY_WRAP_SHA_1", "RSA_AES_KEY_WRAP_SHA_256"}
    assert page.doc.find(id="delete-material") is None  # nothing imported yet
    generated = ok(dev.get(f"/console/keys/{create_key(dev)}/import"))
    assert "only keys created with the external origin take imported material" in generated.doc.text


def test_key_stores_page(dev: ConsoleClient) -> None:
    page = ok(dev.get("/console/key-stores"))
    assert "No custom key stores" in page.by_id("stores").text
    assert page.doc.find("input", id="password").attrs["type"] == "password"


def test_audit_page_renders(dev: ConsoleClient) -> None:  # (its own tests: test_audit_pages.py)
    page = ok(dev.get("/console/audit"))
    assert page.doc.find(id="events-table") is not None


@pytest.mark.parametrize("step", WIZARD_STEPS)
def test_every_wizard_step_renders(dev: ConsoleClient, step: str) -> None:
    answers = {"type": "symmetric", "usage": "ENCRYPT_DECRYPT", "spec": "SYMMETRIC_DEFAULT", "origin": "AWS_KMS",
               "admin_delete": "true"}
    page = ok(dev.get("/console/keys/new")) if step == "type" else None
    index = WIZARD_STEPS.index(step)
    if index:
        page = ok(dev.post("/console/keys/new", {**answers, "step": WIZARD_STEPS[index - 1], "go": "next"}))
    assert page is not None
    current = page.doc.find("li", **{"aria-current": "step"})
    assert current is not None and current.text
    assert page.doc.find("input", name="step").attrs["value"] == step


def test_wizard_offers_only_valid_combinations(dev: ConsoleClient) -> None:
    usage = ok(dev.post("/console/keys/new", {"step": "type", "type": "asymmetric", "go": "next"}))
    assert {i.attrs["value"] for i in usage.doc.find_all("input", name="usage")} == {
        "ENCRYPT_DECRYPT", "SIGN_VERIFY", "KEY_AGREEMENT", "ENCAPSULATE_DECAPSULATE"}
    kem = ok(dev.post("/console/keys/new", {"step": "usage", "type": "asymmetric", "usage": "ENCAPSULATE_DECAPSULATE",
                                            "go": "next"}))
    # ML_KEM_512 is in the table but not implemented here (issue 19): not offered.
    assert {i.attrs["value"] for i in kem.doc.find_all("input", name="spec")} == {"ML_KEM_768", "ML_KEM_1024"}
    specs = ok(dev.post("/console/keys/new", {"step": "usage", "type": "asymmetric", "usage": "KEY_AGREEMENT",
                                              "go": "next"}))
    assert {i.attrs["value"] for i in specs.doc.find_all("input", name="spec")} == {
        "ECC_NIST_P256", "ECC_NIST_P384", "ECC_NIST_P521"}
    specs = ok(dev.post("/console/keys/new", {"step": "usage", "type": "symmetric", "usage": "GENERATE_VERIFY_MAC",
                                              "go": "next"}))
    assert {i.attrs["value"] for i in specs.doc.find_all("input", name="spec")} == {
        "HMAC_224", "HMAC_256", "HMAC_384", "HMAC_512"}
    origins = ok(dev.post("/console/keys/new", {"step": "spec", "type": "asymmetric", "usage": "SIGN_VERIFY",
                                                "spec": "ML_DSA_65", "go": "next"}))
    assert {i.attrs["value"] for i in origins.doc.find_all("input", name="origin")} == {"AWS_KMS"}
    origins = ok(dev.post("/console/keys/new", {"step": "spec", "type": "symmetric", "usage": "ENCRYPT_DECRYPT",
                                                "spec": "SYMMETRIC_DEFAULT", "go": "next"}))
    assert {i.attrs["value"] for i in origins.doc.find_all("input", name="origin")} == {
        "AWS_KMS", "EXTERNAL", "AWS_CLOUDHSM"}
    wrong = dev.post("/console/keys/new", {"step": "spec", "type": "symmetric", "usage": "ENCRYPT_DECRYPT",
                                           "spec": "RSA_2048", "go": "next"})
    assert wrong.status == 400 and "Choose a key spec." in wrong.by_id("step-error").text


def test_problem_pages(dev: ConsoleClient) -> None:
    missing = ok(dev.get("/console/no-such-page"), 404)
    assert "There is no such page" in missing.doc.text
    ok(dev.get("/console/keys/1234abcd-12ab-34cd-56ef-1234567890ab"), 400)
    wrong_method = dev.request("DELETE", "/console/keys")
    assert wrong_method.status == 405 and wrong_method.header("allow") == "GET"


def test_static_assets(console: Console) -> None:
    client = ConsoleClient(console)
    for name, kind in (("console.css", "text/css"), ("console.js", "text/javascript"), ("favicon.svg", "image/svg+xml")):
        answer = client.get(f"/console/static/{name}")
        assert answer.status == 200 and answer.header("content-type").startswith(kind)
        assert answer.header("cache-control") == "private, max-age=300"
    assert client.get("/console/static/../app.py").status == 404
    assert client.get("/console/static/nope.js").status == 404


def test_key_detail_ml_kem(dev: ConsoleClient) -> None:
    key_id = create_key(dev, KeySpec="ML_KEM_768", KeyUsage="ENCAPSULATE_DECAPSULATE")
    page = ok(dev.get(f"/console/keys/{key_id}"))
    assert "Encapsulation algorithms ML_KEM" in page.doc.find("dl").text
    assert page.doc.find("pre", **{"class": "pem"}).text.startswith("-----BEGIN PUBLIC KEY-----")
    grants = ok(dev.get(f"/console/keys/{key_id}/grants"))
    assert {i.attrs["value"] for i in grants.doc.find_all("input", name="operations")} == {
        "Encapsulate", "Decapsulate", "GetPublicKey", "DescribeKey", "CreateGrant", "RetireGrant"}
