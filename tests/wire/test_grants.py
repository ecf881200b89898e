"""Grants over the wire through real boto3 (issue 5, spec §7.3, §8, §13, §14.10).

A dedicated `trent serve --dev --seed FILE`: the dev user (administrator of account A)
owns the keys; alice and bob in A and carol in B have NO identity policy, so whatever
they can do with a key comes from a grant alone (spec §7.3.2); dave in B may call
kms:CreateGrant (IAM) for the cross-account case; a role in A that alice may assume
shows role grantees.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import re
from collections.abc import Iterator

import pytest

from tests.fixtures.trent_server import TrentServer, seeded_trent
from tests.wire.helpers import expect_error

A = "123456789012"  # the --dev account
B = "444455556666"
ROOT_A = f"arn:aws:iam::{A}:root"
ROOT_B = f"arn:aws:iam::{B}:root"
DEV = f"arn:aws:iam::{A}:user/dev"
ALICE = f"arn:aws:iam::{A}:user/alice"
BOB = f"arn:aws:iam::{A}:user/bob"
CAROL = f"arn:aws:iam::{B}:user/carol"
DAVE = f"arn:aws:iam::{B}:user/dave"
APP_ROLE = f"arn:aws:iam::{A}:role/app"
ALICE_KEY = ("AKIAGRANTALICE000001", "alice-secret")
BOB_KEY = ("AKIAGRANTBOB00000001", "bob-secret")
CAROL_KEY = ("AKIAGRANTCAROL000001", "carol-secret")
DAVE_KEY = ("AKIAGRANTDAVE0000001", "dave-secret")
ERIN = f"arn:aws:iam::{A}:user/erin"
FRANK = f"arn:aws:iam::{A}:user/frank"
ERIN_KEY = ("AKIAGRANTERIN0000001", "erin-secret")
FRANK_KEY = ("AKIAGRANTFRANK000001", "frank-secret")


def policy(*statements: dict[str, object]) -> dict[str, object]:
    return {"Version": "2012-10-17", "Statement": list(statements)}


SEED = {
    "accounts": [
        {
            "id": A,
            "users": [
                {"name": "alice", "access_keys": [{"id": ALICE_KEY[0], "secret": ALICE_KEY[1]}]},
                {"name": "bob", "access_keys": [{"id": BOB_KEY[0], "secret": BOB_KEY[1]}]},
                # Issue 19: retiring delegated through an identity policy; frank is also denied.
                {"name": "erin", "access_keys": [{"id": ERIN_KEY[0], "secret": ERIN_KEY[1]}],
                 "policies": {"Retire": policy({"Effect": "Allow", "Action": "kms:RetireGrant", "Resource": "*"})}},
                {"name": "frank", "access_keys": [{"id": FRANK_KEY[0], "secret": FRANK_KEY[1]}],
                 "policies": {"Retire": policy({"Effect": "Allow", "Action": "kms:RetireGrant", "Resource": "*"},
                                               {"Effect": "Deny", "Action": "kms:RetireGrant", "Resource": "*"})}},
            ],
            "roles": [
                {"name": "app", "trust_policy": policy(
                    {"Effect": "Allow", "Principal": {"AWS": ALICE}, "Action": "sts:AssumeRole"})},
            ],
        },
        {
            "id": B,
            "users": [
                {"name": "carol", "access_keys": [{"id": CAROL_KEY[0], "secret": CAROL_KEY[1]}]},
                {"name": "dave", "access_keys": [{"id": DAVE_KEY[0], "secret": DAVE_KEY[1]}],
                 "policies": {"Grants": policy({"Effect": "Allow", "Action": ["kms:CreateGrant", "kms:ListGrants"],
                                                "Resource": "*"})}},
            ],
        },
    ]
}


@pytest.fixture(scope="module")
def server() -> Iterator[TrentServer]:
    with seeded_trent(SEED, "trent-grants-") as srv:
        yield srv


def as_user(server: TrentServer, key: tuple[str, str], service: str = "kms"):
    return server.client(service, aws_access_key_id=key[0], aws_secret_access_key=key[1])


@pytest.fixture(scope="module")
def dev(server):
    return server.client()


@pytest.fixture(scope="module")
def alice(server):
    return as_user(server, ALICE_KEY)


@pytest.fixture(scope="module")
def bob(server):
    return as_user(server, BOB_KEY)


@pytest.fixture(scope="module")
def carol(server):
    return as_user(server, CAROL_KEY)


@pytest.fixture(scope="module")
def dave(server):
    return as_user(server, DAVE_KEY)


def new_key(kms, **kw) -> dict:
    return kms.create_key(**kw)["KeyMetadata"]


def denied(caller: str, action: str, key_arn: str, why: str = "no resource-based policy allows") -> str:
    """spec §7.5: alice/bob/carol have no identity policy and the default key policy only
    names account A's root, so without a grant they meet the resource-policy wording."""
    return f"User: {caller} is not authorized to perform: kms:{action} on resource: {key_arn} because {why} the kms:{action} action"


# --- a grant is what allows ---------------------------------------------------------------


def test_grantee_is_denied_without_and_allowed_with_a_grant(dev, alice):
    key = new_key(dev)
    expect_error(alice.encrypt, "AccessDeniedException",
                 denied(ALICE, "Encrypt", key["Arn"], "no identity-based policy allows"),
                 KeyId=key["Arn"], Plaintext=b"x")
    grant = dev.create_grant(KeyId=key["KeyId"], GranteePrincipal=ALICE,
                             Operations=["Encrypt", "Decrypt", "GenerateDataKey"])
    assert re.fullmatch(r"[0-9a-f]{64}", grant["GrantId"]) and grant["GrantToken"]
    blob = alice.encrypt(KeyId=key["Arn"], Plaintext=b"granted")["CiphertextBlob"]
    assert alice.decrypt(CiphertextBlob=blob)["Plaintext"] == b"granted"
    data_key = alice.generate_data_key(KeyId=key["Arn"], KeySpec="AES_256")
    assert len(data_key["Plaintext"]) == 32
    assert alice.decrypt(CiphertextBlob=data_key["CiphertextBlob"])["Plaintext"] == data_key["Plaintext"]
    # Only the operations in the grant.
    expect_error(alice.describe_key, "AccessDeniedException", KeyId=key["Arn"])
    expect_error(alice.generate_data_key_without_plaintext, "AccessDeniedException", KeyId=key["Arn"], KeySpec="AES_256")
    # Only on that key.
    other = new_key(dev)
    expect_error(alice.encrypt, "AccessDeniedException", KeyId=other["Arn"], Plaintext=b"x")


def test_role_grantee_covers_its_sessions(server, dev):
    key = new_key(dev)
    dev.create_grant(KeyId=key["KeyId"], GranteePrincipal=APP_ROLE, Operations=["Encrypt"])
    creds = as_user(server, ALICE_KEY, "sts").assume_role(RoleArn=APP_ROLE, RoleSessionName="s1")["Credentials"]
    session = server.client("kms", aws_access_key_id=creds["AccessKeyId"],
                            aws_secret_access_key=creds["SecretAccessKey"], aws_session_token=creds["SessionToken"])
    assert session.encrypt(KeyId=key["Arn"], Plaintext=b"x")["KeyId"] == key["Arn"]


def test_encryption_context_equals(dev, alice):
    key = new_key(dev)
    dev.create_grant(KeyId=key["KeyId"], GranteePrincipal=ALICE, Operations=["Encrypt", "Decrypt"],
                     Constraints={"EncryptionContextEquals": {"tenant": "7"}})
    blob = alice.encrypt(KeyId=key["Arn"], Plaintext=b"x", EncryptionContext={"tenant": "7"})["CiphertextBlob"]
    assert alice.decrypt(CiphertextBlob=blob, EncryptionContext={"tenant": "7"})["Plaintext"] == b"x"
    for context in ({}, {"tenant": "8"}, {"tenant": "7", "extra": "1"}):
        expect_error(alice.encrypt, "AccessDeniedException", KeyId=key["Arn"], Plaintext=b"x",
                     EncryptionContext=context)


def test_encryption_context_subset(dev, alice):
    key = new_key(dev)
    dev.create_grant(KeyId=key["KeyId"], GranteePrincipal=ALICE, Operations=["Encrypt", "Decrypt"],
                     Constraints={"EncryptionContextSubset": {"tenant": "7"}})
    blob = alice.encrypt(KeyId=key["Arn"], Plaintext=b"x",
                         EncryptionContext={"tenant": "7", "file": "a.txt"})["CiphertextBlob"]
    assert alice.decrypt(CiphertextBlob=blob, EncryptionContext={"tenant": "7", "file": "a.txt"})["Plaintext"] == b"x"
    for context in ({}, {"file": "a.txt"}, {"tenant": "8", "file": "a.txt"}):
        expect_error(alice.encrypt, "AccessDeniedException", KeyId=key["Arn"], Plaintext=b"x",
                     EncryptionContext=context)


def test_grant_tokens(dev, alice):
    key = new_key(dev)
    grant = dev.create_grant(KeyId=key["KeyId"], GranteePrincipal=ALICE, Operations=["Encrypt"])
    out = alice.encrypt(KeyId=key["Arn"], Plaintext=b"x", GrantTokens=[grant["GrantToken"]])
    assert out["KeyId"] == key["Arn"]
    expect_error(alice.encrypt, "InvalidGrantTokenException", KeyId=key["Arn"], Plaintext=b"x",
                 GrantTokens=["not-a-token"])
    # A token of a grant on another key gives nothing here.
    other = new_key(dev)
    expect_error(alice.encrypt, "AccessDeniedException", KeyId=other["Arn"], Plaintext=b"x",
                 GrantTokens=[grant["GrantToken"]])
    # Tokens of a key are accepted by CreateGrant too (and a garbage one refused).
    expect_error(dev.create_grant, "InvalidGrantTokenException", KeyId=key["KeyId"], GranteePrincipal=ALICE,
                 Operations=["Encrypt"], GrantTokens=["garbage"])


def test_name_idempotency(dev, alice):
    key = new_key(dev)
    params = {"KeyId": key["KeyId"], "GranteePrincipal": ALICE, "Operations": ["Encrypt", "Decrypt"], "Name": "app-grant"}
    first, again = dev.create_grant(**params), dev.create_grant(**params)
    assert first["GrantId"] == again["GrantId"]
    assert first["GrantToken"] != again["GrantToken"]
    for token in (first["GrantToken"], again["GrantToken"]):  # interchangeable
        alice.encrypt(KeyId=key["Arn"], Plaintext=b"x", GrantTokens=[token])
    different = dev.create_grant(**{**params, "Operations": ["Encrypt"]})
    assert different["GrantId"] != first["GrantId"]
    grants = dev.list_grants(KeyId=key["KeyId"])["Grants"]
    assert sorted(g["GrantId"] for g in grants) == sorted({first["GrantId"], different["GrantId"]})


def test_create_grant_validation(dev):
    key = new_key(dev)
    signing = new_key(dev, KeySpec="ECC_NIST_P256", KeyUsage="SIGN_VERIFY")
    expect_error(dev.create_grant, "ValidationException", KeyId=key["KeyId"], GranteePrincipal=ALICE,
                 Operations=["Sign"])
    expect_error(dev.create_grant, "ValidationException", KeyId=signing["KeyId"], GranteePrincipal=ALICE,
                 Operations=["GenerateDataKey"])
    expect_error(dev.create_grant, "ValidationException", KeyId=signing["KeyId"], GranteePrincipal=ALICE,
                 Operations=["Sign"], Constraints={"EncryptionContextEquals": {"a": "1"}})
    expect_error(dev.create_grant, "ValidationException", KeyId=key["KeyId"], GranteePrincipal=ALICE,
                 Operations=["Encrypt"], Constraints={"EncryptionContextSubset": {f"k{i}": "v" for i in range(9)}})
    expect_error(dev.create_grant, "InvalidArnException",
                 f"ARN does not refer to a valid principal: arn:aws:iam::{A}:user/nobody",
                 KeyId=key["KeyId"], GranteePrincipal=f"arn:aws:iam::{A}:user/nobody", Operations=["Encrypt"])
    expect_error(dev.create_grant, "NotFoundException", f"Key 'arn:aws:kms:us-east-1:{A}:key/{'0' * 8}-0000-0000-0000-{'0' * 12}' does not exist",
                 KeyId=f"{'0' * 8}-0000-0000-0000-{'0' * 12}", GranteePrincipal=ALICE, Operations=["Encrypt"])
    assert dev.list_grants(KeyId=key["KeyId"])["Grants"] == []
    # A signing grant on a signing key is fine.
    dev.create_grant(KeyId=signing["KeyId"], GranteePrincipal=ALICE, Operations=["Sign", "Verify", "GetPublicKey"])


def test_create_grant_needs_permission(dev, alice):
    key = new_key(dev)
    expect_error(alice.create_grant, "AccessDeniedException",
                 denied(ALICE, "CreateGrant", key["Arn"], "no identity-based policy allows"),
                 KeyId=key["Arn"], GranteePrincipal=BOB, Operations=["Encrypt"])


def test_grant_derived_create_grant(dev, alice, bob):
    key = new_key(dev)
    dev.create_grant(KeyId=key["KeyId"], GranteePrincipal=ALICE, Operations=["Encrypt", "CreateGrant"],
                     Constraints={"EncryptionContextSubset": {"tenant": "7"}})
    child = alice.create_grant(KeyId=key["Arn"], GranteePrincipal=BOB, Operations=["Encrypt"],
                               Constraints={"EncryptionContextEquals": {"tenant": "7", "app": "x"}})
    bob.encrypt(KeyId=key["Arn"], Plaintext=b"x", EncryptionContext={"tenant": "7", "app": "x"})
    assert child["GrantId"]
    expect_error(alice.create_grant, "AccessDeniedException", KeyId=key["Arn"], GranteePrincipal=BOB,
                 Operations=["Encrypt", "Decrypt"], Constraints={"EncryptionContextSubset": {"tenant": "7"}})
    expect_error(alice.create_grant, "AccessDeniedException", KeyId=key["Arn"], GranteePrincipal=BOB,
                 Operations=["Encrypt"])


# --- listing ---------------------------------------------------------------------------------


def test_list_grants_shape_filters_and_pages(dev, alice):
    key = new_key(dev)
    full = dev.create_grant(KeyId=key["KeyId"], GranteePrincipal=ALICE, RetiringPrincipal=BOB, Name="named",
                            Operations=["Encrypt", "Decrypt"], Constraints={"EncryptionContextSubset": {"t": "1"}})
    bare = dev.create_grant(KeyId=key["KeyId"], GranteePrincipal=BOB, Operations=["DescribeKey"])
    third = dev.create_grant(KeyId=key["KeyId"], GranteePrincipal=ALICE, Operations=["GenerateDataKey"])
    listed = dev.list_grants(KeyId=key["Arn"])
    assert listed["Truncated"] is False and "NextMarker" not in listed
    entries = {g["GrantId"]: g for g in listed["Grants"]}
    assert list(entries) == [full["GrantId"], bare["GrantId"], third["GrantId"]]
    e = entries[full["GrantId"]]
    assert isinstance(e.pop("CreationDate"), dt.datetime)
    assert e == {
        "KeyId": key["Arn"], "GrantId": full["GrantId"], "Name": "named", "GranteePrincipal": ALICE,
        "RetiringPrincipal": BOB, "IssuingAccount": ROOT_A, "Operations": ["Encrypt", "Decrypt"],
        "Constraints": {"EncryptionContextSubset": {"t": "1"}},
    }
    b = entries[bare["GrantId"]]
    assert "Name" not in b and "RetiringPrincipal" not in b and "Constraints" not in b
    assert "GrantToken" not in json.dumps(listed, default=str)  # tokens are never listed (spec §8)
    page1 = dev.list_grants(KeyId=key["KeyId"], Limit=2)
    assert page1["Truncated"] is True and [g["GrantId"] for g in page1["Grants"]] == [full["GrantId"], bare["GrantId"]]
    page2 = dev.list_grants(KeyId=key["KeyId"], Limit=2, Marker=page1["NextMarker"])
    assert page2["Truncated"] is False and [g["GrantId"] for g in page2["Grants"]] == [third["GrantId"]]
    by_grantee = dev.list_grants(KeyId=key["KeyId"], GranteePrincipal=ALICE)["Grants"]
    assert [g["GrantId"] for g in by_grantee] == [full["GrantId"], third["GrantId"]]
    by_id = dev.list_grants(KeyId=key["KeyId"], GrantId=bare["GrantId"])["Grants"]
    assert [g["GrantId"] for g in by_id] == [bare["GrantId"]]
    expect_error(dev.list_grants, "InvalidMarkerException", KeyId=key["KeyId"], Marker="bogus")
    expect_error(dev.list_grants, "InvalidGrantIdException", KeyId=key["KeyId"], GrantId="nope")
    expect_error(alice.list_grants, "AccessDeniedException",
                 denied(ALICE, "ListGrants", key["Arn"], "no identity-based policy allows"), KeyId=key["Arn"])
    # boto3's paginator follows NextMarker.
    pages = list(dev.get_paginator("list_grants").paginate(KeyId=key["KeyId"], PaginationConfig={"PageSize": 1}))
    assert [g["GrantId"] for p in pages for g in p["Grants"]] == list(entries)


def test_list_retirable_grants(dev, bob):
    key = new_key(dev)
    ids = [dev.create_grant(KeyId=key["KeyId"], GranteePrincipal=ALICE, RetiringPrincipal=BOB,
                            Operations=["Encrypt"])["GrantId"] for _ in range(3)]
    dev.create_grant(KeyId=key["KeyId"], GranteePrincipal=ALICE, RetiringPrincipal=ALICE, Operations=["Encrypt"])
    listed = [g for g in dev.list_retirable_grants(RetiringPrincipal=BOB, Limit=100)["Grants"] if g["KeyId"] == key["Arn"]]
    assert [g["GrantId"] for g in listed] == ids
    assert all(g["RetiringPrincipal"] == BOB and g["IssuingAccount"] == ROOT_A for g in listed)
    first = dev.list_retirable_grants(RetiringPrincipal=BOB, Limit=1)
    assert first["Truncated"] is True and len(first["Grants"]) == 1
    second = dev.list_retirable_grants(RetiringPrincipal=BOB, Limit=1, Marker=first["NextMarker"])
    assert second["Grants"][0]["GrantId"] != first["Grants"][0]["GrantId"]
    # IAM-only (spec §7.3): bob has no identity policy.
    expect_error(bob.list_retirable_grants, "AccessDeniedException", RetiringPrincipal=BOB)


# --- retiring and revoking -----------------------------------------------------------------


def test_retire_by_token_by_the_retiring_principal(dev, alice, bob):
    key = new_key(dev)
    grant = dev.create_grant(KeyId=key["KeyId"], GranteePrincipal=ALICE, RetiringPrincipal=BOB, Operations=["Encrypt"])
    alice.encrypt(KeyId=key["Arn"], Plaintext=b"x")
    expect_error(bob.retire_grant, "DryRunOperationException",
                 "The request would have succeeded, but the DryRun option is set.",
                 GrantToken=grant["GrantToken"], DryRun=True)
    alice.encrypt(KeyId=key["Arn"], Plaintext=b"x")  # a dry run retires nothing
    bob.retire_grant(GrantToken=grant["GrantToken"])
    expect_error(alice.encrypt, "AccessDeniedException", KeyId=key["Arn"], Plaintext=b"x")
    assert dev.list_grants(KeyId=key["KeyId"])["Grants"] == []
    expect_error(bob.retire_grant, "InvalidGrantTokenException", GrantToken="garbage")


def test_who_may_retire_by_key_and_id(dev, alice, bob):
    key = new_key(dev)
    plain = dev.create_grant(KeyId=key["KeyId"], GranteePrincipal=ALICE, Operations=["Encrypt"])
    # The grantee without RetireGrant in the grant, and an unrelated user, may not.
    for caller, arn in ((alice, ALICE), (bob, BOB)):
        expect_error(caller.retire_grant, "AccessDeniedException",
                     denied(arn, "RetireGrant", key["Arn"]), KeyId=key["Arn"], GrantId=plain["GrantId"])
    retirable = dev.create_grant(KeyId=key["KeyId"], GranteePrincipal=ALICE, Operations=["Encrypt", "RetireGrant"])
    alice.retire_grant(KeyId=key["Arn"], GrantId=retirable["GrantId"])
    remaining = [g["GrantId"] for g in dev.list_grants(KeyId=key["KeyId"])["Grants"]]
    assert remaining == [plain["GrantId"]]
    expect_error(bob.retire_grant, "NotFoundException", f"Grant ID {retirable['GrantId']} not found",
                 KeyId=key["Arn"], GrantId=retirable["GrantId"])


def test_retire_is_delegated_to_iam_principals_whose_identity_policy_allows_it(server, dev):
    """AWS (developer guide, "Retiring and revoking grants"): besides the retiring principal,
    the grantee and the account, an IAM principal of the key's account whose identity
    policy allows kms:RetireGrant on the key may retire the grant; an explicit Deny in
    that policy still wins (issue 19)."""
    erin, frank = as_user(server, ERIN_KEY), as_user(server, FRANK_KEY)
    key = new_key(dev)
    grant = dev.create_grant(KeyId=key["KeyId"], GranteePrincipal=ALICE, Operations=["Encrypt"])
    expect_error(frank.retire_grant, "AccessDeniedException",
                 f"User: {FRANK} is not authorized to perform: kms:RetireGrant on resource: {key['Arn']} "
                 "with an explicit deny in an identity-based policy",
                 KeyId=key["Arn"], GrantId=grant["GrantId"])
    erin.retire_grant(KeyId=key["Arn"], GrantId=grant["GrantId"])
    assert dev.list_grants(KeyId=key["KeyId"])["Grants"] == []


def test_revoke_grant(dev, alice):
    key = new_key(dev)
    grant = dev.create_grant(KeyId=key["KeyId"], GranteePrincipal=ALICE, Operations=["Encrypt"])
    expect_error(alice.revoke_grant, "AccessDeniedException",
                 denied(ALICE, "RevokeGrant", key["Arn"], "no identity-based policy allows"),
                 KeyId=key["Arn"], GrantId=grant["GrantId"])
    expect_error(dev.revoke_grant, "DryRunOperationException", KeyId=key["KeyId"], GrantId=grant["GrantId"], DryRun=True)
    alice.encrypt(KeyId=key["Arn"], Plaintext=b"x")
    dev.revoke_grant(KeyId=key["KeyId"], GrantId=grant["GrantId"])
    expect_error(alice.encrypt, "AccessDeniedException", KeyId=key["Arn"], Plaintext=b"x")
    expect_error(dev.revoke_grant, "NotFoundException", f"Grant ID {grant['GrantId']} not found",
                 KeyId=key["KeyId"], GrantId=grant["GrantId"])
    expect_error(dev.revoke_grant, "InvalidGrantIdException", KeyId=key["KeyId"], GrantId="not-a-grant-id")


def test_create_grant_dry_run(dev, alice):
    key = new_key(dev)
    expect_error(dev.create_grant, "DryRunOperationException",
                 "The request would have succeeded, but the DryRun option is set.",
                 KeyId=key["KeyId"], GranteePrincipal=ALICE, Operations=["Encrypt"], DryRun=True)
    assert dev.list_grants(KeyId=key["KeyId"])["Grants"] == []
    # Authorization and validation come first.
    expect_error(alice.create_grant, "AccessDeniedException", KeyId=key["Arn"], GranteePrincipal=ALICE,
                 Operations=["Encrypt"], DryRun=True)
    expect_error(dev.create_grant, "ValidationException", KeyId=key["KeyId"], GranteePrincipal=ALICE,
                 Operations=["Sign"], DryRun=True)


# --- across accounts ---------------------------------------------------------------------------


def test_cross_account_grant(dev, carol, dave):
    key_policy = json.dumps(policy(
        {"Effect": "Allow", "Principal": {"AWS": ROOT_A}, "Action": "kms:*", "Resource": "*"},
        {"Effect": "Allow", "Principal": {"AWS": ROOT_B}, "Action": ["kms:CreateGrant", "kms:ListGrants"],
         "Resource": "*"},
    ))
    key = new_key(dev, Policy=key_policy)
    expect_error(carol.encrypt, "AccessDeniedException", KeyId=key["Arn"], Plaintext=b"x")
    # dave (account B, allowed by the key policy and his IAM policy) grants carol (B) on A's key.
    grant = dave.create_grant(KeyId=key["Arn"], GranteePrincipal=CAROL, RetiringPrincipal=CAROL,
                              Operations=["Encrypt", "Decrypt"])
    blob = carol.encrypt(KeyId=key["Arn"], Plaintext=b"cross")["CiphertextBlob"]
    assert carol.decrypt(CiphertextBlob=blob)["Plaintext"] == b"cross"
    entry = next(g for g in dave.list_grants(KeyId=key["Arn"])["Grants"] if g["GrantId"] == grant["GrantId"])
    assert entry["IssuingAccount"] == ROOT_B and entry["KeyId"] == key["Arn"]
    # A bare key id names a key of the caller's own account only.
    expect_error(dave.create_grant, "NotFoundException", KeyId=key["KeyId"], GranteePrincipal=CAROL,
                 Operations=["Encrypt"])
    # The owner account grants a user of another account directly, too.
    other = new_key(dev)
    dev.create_grant(KeyId=other["KeyId"], GranteePrincipal=CAROL, Operations=["Encrypt"])
    carol.encrypt(KeyId=other["Arn"], Plaintext=b"x")
    # carol retires her grant on A's key (cross-account RetireGrant by key ARN + id).
    carol.retire_grant(KeyId=key["Arn"], GrantId=grant["GrantId"])
    expect_error(carol.encrypt, "AccessDeniedException", KeyId=key["Arn"], Plaintext=b"x")


# --- audit and deletion ---------------------------------------------------------------------


def test_grant_tokens_never_reach_the_audit_log(server, dev, alice, bob):
    key = new_key(dev)
    grant = dev.create_grant(KeyId=key["KeyId"], GranteePrincipal=ALICE, RetiringPrincipal=BOB,
                             Operations=["Encrypt"], Name="audited")
    again = dev.create_grant(KeyId=key["KeyId"], GranteePrincipal=ALICE, RetiringPrincipal=BOB,
                             Operations=["Encrypt"], Name="audited", GrantTokens=[grant["GrantToken"]])
    alice.encrypt(KeyId=key["Arn"], Plaintext=b"x", GrantTokens=[grant["GrantToken"]])
    bob.retire_grant(GrantToken=again["GrantToken"])
    raw = server.audit_bytes().decode()
    for token in (grant["GrantToken"], again["GrantToken"]):
        assert token not in raw
        # nor any recognisable piece of it (e.g. base64-decoded bytes rendered elsewhere)
        assert base64.urlsafe_b64encode(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))[:24].decode() not in raw
    creates = [e for e in server.audit_events() if e.get("eventName") == "CreateGrant"
               and (e.get("responseElements") or {}).get("grantId") == grant["GrantId"]]
    assert len(creates) == 2
    assert creates[0]["responseElements"] == {"grantId": grant["GrantId"]}
    assert creates[0]["requestParameters"]["name"] == "audited"
    assert "grantTokens" not in creates[1]["requestParameters"]
    retires = [e for e in server.audit_events() if e.get("eventName") == "RetireGrant"]
    assert retires and all("grantToken" not in (e.get("requestParameters") or {}) for e in retires)


def test_deleting_the_key_deletes_its_grants(server, dev, bob):
    key = new_key(dev)
    grant = dev.create_grant(KeyId=key["KeyId"], GranteePrincipal=ALICE, RetiringPrincipal=BOB, Operations=["Encrypt"])

    def retirable() -> list[str]:
        pages = dev.get_paginator("list_retirable_grants").paginate(RetiringPrincipal=BOB)
        return [g["GrantId"] for p in pages for g in p["Grants"]]

    assert grant["GrantId"] in retirable()
    dev.schedule_key_deletion(KeyId=key["KeyId"], PendingWindowInDays=7)
    # Pending deletion: the grant is still there, listed and revocable (spec §4.3).
    assert [g["GrantId"] for g in dev.list_grants(KeyId=key["KeyId"])["Grants"]] == [grant["GrantId"]]
    expect_error(dev.create_grant, "KMSInvalidStateException", f"{key['Arn']} is pending deletion.",
                 KeyId=key["KeyId"], GranteePrincipal=ALICE, Operations=["Encrypt"])
    server.advance_clock("8d")
    expect_error(dev.describe_key, "NotFoundException", KeyId=key["KeyId"])
    assert grant["GrantId"] not in retirable()
    expect_error(bob.retire_grant, "NotFoundException", GrantToken=grant["GrantToken"])


def test_zz_every_grant_error_is_declared_by_the_model(server):
    """Runs last in this module: each error this server answered to the grant operations
    is in the model's error list for that operation, or a front-end error (spec §1.5)."""
    from trent.protocol.validation import declared_errors

    front_end = {"AccessDeniedException", "ValidationException"}
    grant_ops = {"CreateGrant", "ListGrants", "ListRetirableGrants", "RetireGrant", "RevokeGrant"}
    seen = {(e["eventName"], e["errorCode"]) for e in server.audit_events()
            if e.get("errorCode") and e.get("eventName") in grant_ops}
    assert {op for op, _ in seen} == grant_ops  # the suite provoked errors on every one
    undeclared = {(op, code) for op, code in seen if code not in front_end and code not in declared_errors(op)}
    assert not undeclared, sorted(undeclared)
