"""STS on the Trent endpoint through boto3's real `sts` client (issue 5).

A dedicated `trent serve --dev --seed FILE` holds two accounts, users with fixed keys and
roles with trust policies; sessions obtained with AssumeRole then call KMS with their
session token.

Expiry: the server judges credentials on the wall clock (the dev clock never expires a
session), so a test cannot wait 900 s. The expiry test moves the session's `expires_at`
into the past in the server's own SQLite database, which is what the passing of time
does to that row; the server, the SigV4 path and the error are all real.
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Iterator

import pytest

from tests.fixtures.trent_server import (
    TrentServer,
    seeded_trent,
    start_trent,
    stop_trent,
)
from tests.wire.helpers import expect_error

A = "123456789012"  # the --dev account
B = "444455556666"
ALICE_KEY = ("AKIAALICE00000000001", "alice-secret")
BOB_KEY = ("AKIABOB0000000000001", "bob-secret")
CAROL_KEY = ("AKIACAROL00000000001", "carol-secret")


def statement(**kw: object) -> dict[str, object]:
    return {"Effect": "Allow", **kw}


def policy(*statements: dict[str, object]) -> dict[str, object]:
    return {"Version": "2012-10-17", "Statement": list(statements)}


def trusting(principal: str, **kw: object) -> dict[str, object]:
    return policy(statement(Principal={"AWS": principal}, Action="sts:AssumeRole", **kw))


KMS_USE = policy(statement(Action=["kms:Encrypt", "kms:Decrypt", "kms:DescribeKey", "kms:ListKeys"], Resource="*"))
SEED = {
    "accounts": [
        {
            "id": A,
            "users": [{"name": "alice", "access_keys": [{"id": ALICE_KEY[0], "secret": ALICE_KEY[1]}]}],
            "roles": [
                {"name": "kms-user", "trust_policy": trusting(f"arn:aws:iam::{A}:user/alice"),
                 "policies": {"UseKeys": KMS_USE}},
                {"name": "root-trust", "trust_policy": trusting(A)},
                {"name": "partner", "trust_policy": trusting(f"arn:aws:iam::{B}:root"), "policies": {"UseKeys": KMS_USE}},
                {"name": "ext", "trust_policy": trusting(f"arn:aws:iam::{A}:user/alice", Condition={
                    "StringEquals": {"sts:ExternalId": "tenant-7"}})},
                {"name": "chained", "trust_policy": trusting(f"arn:aws:iam::{A}:role/kms-user"),
                 "max_session_duration": 7200},
            ],
        },
        {
            "id": B,
            "name": "partner",
            "users": [
                {"name": "bob", "access_keys": [{"id": BOB_KEY[0], "secret": BOB_KEY[1]}],
                 "policies": {"Assume": policy(statement(Action="sts:AssumeRole", Resource=f"arn:aws:iam::{A}:role/partner"))}},
                {"name": "carol", "access_keys": [{"id": CAROL_KEY[0], "secret": CAROL_KEY[1]}]},
            ],
        },
    ]
}


@pytest.fixture(scope="module")
def server() -> Iterator[TrentServer]:
    with seeded_trent(SEED, "trent-sts-") as srv:
        yield srv


def client(server: TrentServer, service: str, key: tuple[str, str], token: str | None = None):
    return server.client(service, aws_access_key_id=key[0], aws_secret_access_key=key[1], aws_session_token=token)


def session(server: TrentServer, key: tuple[str, str], role: str, name: str = "s1", **kw):
    creds = client(server, "sts", key).assume_role(RoleArn=f"arn:aws:iam::{A}:role/{role}", RoleSessionName=name, **kw)
    return creds


def as_session(server: TrentServer, service: str, creds: dict) -> object:
    c = creds["Credentials"]
    return client(server, service, (c["AccessKeyId"], c["SecretAccessKey"]), c["SessionToken"])


def test_get_caller_identity_of_the_dev_user(server):
    who = server.client("sts").get_caller_identity()
    assert who["Arn"] == f"arn:aws:iam::{A}:user/dev"
    assert who["Account"] == A and who["UserId"].startswith("AIDA")


def test_get_caller_identity_of_seeded_users(server):
    who = client(server, "sts", BOB_KEY).get_caller_identity()
    assert (who["Arn"], who["Account"]) == (f"arn:aws:iam::{B}:user/bob", B)


def test_assume_role_and_the_session_identity(server):
    out = session(server, ALICE_KEY, "kms-user", DurationSeconds=900)
    c = out["Credentials"]
    assert c["AccessKeyId"].startswith("ASIA") and len(c["SessionToken"]) >= 200
    remaining = c["Expiration"].timestamp() - time.time()
    assert 880 < remaining <= 901
    arn = f"arn:aws:sts::{A}:assumed-role/kms-user/s1"
    assert out["AssumedRoleUser"]["Arn"] == arn
    assert out["AssumedRoleUser"]["AssumedRoleId"].startswith("AROA")
    assert out["AssumedRoleUser"]["AssumedRoleId"].endswith(":s1")
    who = as_session(server, "sts", out).get_caller_identity()
    assert who["Arn"] == arn and who["UserId"] == out["AssumedRoleUser"]["AssumedRoleId"] and who["Account"] == A


def test_session_calls_kms_and_is_named_in_access_denied(server):
    key_id = server.client().create_key()["KeyMetadata"]["Arn"]
    kms = as_session(server, "kms", session(server, ALICE_KEY, "kms-user", "worker"))
    blob = kms.encrypt(KeyId=key_id, Plaintext=b"hello")["CiphertextBlob"]
    assert kms.decrypt(CiphertextBlob=blob)["Plaintext"] == b"hello"
    err = expect_error(kms.schedule_key_deletion, "AccessDeniedException", KeyId=key_id)
    assert err["message"] == (
        f"User: arn:aws:sts::{A}:assumed-role/kms-user/worker is not authorized to perform: "
        f"kms:ScheduleKeyDeletion on resource: {key_id} because no identity-based policy allows "
        "the kms:ScheduleKeyDeletion action"
    )


def test_trust_policy_naming_the_account_delegates_to_identity_policies(server):
    role = f"arn:aws:iam::{A}:role/root-trust"
    err = expect_error(client(server, "sts", ALICE_KEY).assume_role, "AccessDenied", status=403,
                       RoleArn=role, RoleSessionName="s1")
    assert err["message"] == (
        f"User: arn:aws:iam::{A}:user/alice is not authorized to perform: sts:AssumeRole on resource: {role} "
        "because no identity-based policy allows the sts:AssumeRole action"
    )
    # the dev user's identity policy (TrentDevAdministratorAccess) allows everything
    out = server.client("sts").assume_role(RoleArn=role, RoleSessionName="dev")
    assert out["AssumedRoleUser"]["Arn"] == f"arn:aws:sts::{A}:assumed-role/root-trust/dev"


def test_missing_role_is_denied_like_an_untrusting_one(server):
    role = f"arn:aws:iam::{A}:role/does-not-exist"
    err = expect_error(client(server, "sts", ALICE_KEY).assume_role, "AccessDenied", status=403,
                       RoleArn=role, RoleSessionName="s1")
    assert f"sts:AssumeRole on resource: {role}" in err["message"]


def test_cross_account_needs_the_trust_policy_and_the_callers_identity_policy(server):
    out = session(server, BOB_KEY, "partner", "bob")
    assert out["AssumedRoleUser"]["Arn"] == f"arn:aws:sts::{A}:assumed-role/partner/bob"
    key_id = server.client().create_key()["KeyMetadata"]["KeyId"]
    assert as_session(server, "kms", out).encrypt(KeyId=key_id, Plaintext=b"x")["KeyId"].endswith(key_id)
    # carol is in the trusted account but no identity policy of hers allows it
    err = expect_error(client(server, "sts", CAROL_KEY).assume_role, "AccessDenied", status=403,
                       RoleArn=f"arn:aws:iam::{A}:role/partner", RoleSessionName="carol")
    assert "because no identity-based policy allows the sts:AssumeRole action" in err["message"]
    # bob's identity policy alone does not open a role whose trust policy does not name his account
    err = expect_error(client(server, "sts", BOB_KEY).assume_role, "AccessDenied", status=403,
                       RoleArn=f"arn:aws:iam::{A}:role/kms-user", RoleSessionName="bob")
    assert "because no resource-based policy allows the sts:AssumeRole action" in err["message"]


def test_external_id_condition(server):
    sts = client(server, "sts", ALICE_KEY)
    role = f"arn:aws:iam::{A}:role/ext"
    expect_error(sts.assume_role, "AccessDenied", status=403, RoleArn=role, RoleSessionName="s1")
    expect_error(sts.assume_role, "AccessDenied", status=403, RoleArn=role, RoleSessionName="s1", ExternalId="tenant-8")
    assert sts.assume_role(RoleArn=role, RoleSessionName="s1", ExternalId="tenant-7")["Credentials"]


def test_role_chaining(server):
    first = session(server, ALICE_KEY, "kms-user", "hop1")
    sts = as_session(server, "sts", first)
    role = f"arn:aws:iam::{A}:role/chained"
    expect_error(sts.assume_role, "ValidationError",
                 "The requested DurationSeconds exceeds the 1 hour session limit for roles assumed by role chaining.",
                 RoleArn=role, RoleSessionName="hop2", DurationSeconds=3601)
    second = sts.assume_role(RoleArn=role, RoleSessionName="hop2")
    assert second["AssumedRoleUser"]["Arn"] == f"arn:aws:sts::{A}:assumed-role/chained/hop2"
    assert as_session(server, "sts", second).get_caller_identity()["Arn"] == second["AssumedRoleUser"]["Arn"]
    # the trust policy names the role kms-user: its sessions match it, other callers do not
    expect_error(client(server, "sts", ALICE_KEY).assume_role, "AccessDenied", status=403,
                 RoleArn=role, RoleSessionName="direct")


def test_validation_and_refused_members(server):
    sts = client(server, "sts", ALICE_KEY)
    role = f"arn:aws:iam::{A}:role/kms-user"
    expect_error(sts.assume_role, "ValidationError",
                 "The requested DurationSeconds exceeds the MaxSessionDuration set for this role.",
                 RoleArn=role, RoleSessionName="s1", DurationSeconds=7200)
    err = expect_error(sts.assume_role, "ValidationError", RoleArn=role, RoleSessionName="bad name")
    assert "at 'roleSessionName' failed to satisfy constraint: Member must satisfy regular expression pattern" in err["message"]
    err = expect_error(sts.assume_role, "ValidationError", RoleArn=role, RoleSessionName="s1",
                       Policy=json.dumps(policy(statement(Action="kms:Encrypt", Resource="*"))))
    assert "does not implement session policies" in err["message"]
    err = expect_error(sts.assume_role, "ValidationError", RoleArn=role, RoleSessionName="s1",
                       PolicyArns=[{"arn": "arn:aws:iam::aws:policy/ReadOnlyAccess"}])
    assert "does not implement session policies" in err["message"]
    err = expect_error(sts.assume_role, "ValidationError", RoleArn=role, RoleSessionName="s1",
                       Tags=[{"Key": "k", "Value": "v"}])
    assert "session tags" in err["message"]


def test_session_key_needs_its_token(server):
    c = session(server, ALICE_KEY, "kms-user", "token-test")["Credentials"]
    key = (c["AccessKeyId"], c["SecretAccessKey"])
    expect_error(client(server, "kms", key).list_keys, "UnrecognizedClientException",
                 "The security token included in the request is invalid")
    expect_error(client(server, "kms", key, c["SessionToken"][:-2] + "xx").list_keys, "UnrecognizedClientException")
    expect_error(client(server, "sts", key).get_caller_identity, "InvalidClientTokenId",
                 "The security token included in the request is invalid.", status=403)


def test_bad_signature_and_unknown_key(server):
    expect_error(client(server, "sts", (ALICE_KEY[0], "wrong")).get_caller_identity, "SignatureDoesNotMatch", status=403)
    expect_error(client(server, "sts", ("AKIANOBODY0000000000", "x")).get_caller_identity, "InvalidClientTokenId",
                 status=403)


def _set_expiry(server: TrentServer, access_key_id: str, expires_at: float) -> None:
    with sqlite3.connect(server.data_dir / "trent.db", timeout=30) as db:
        changed = db.execute("UPDATE access_keys SET expires_at = ? WHERE access_key_id = ?",
                             (expires_at, access_key_id)).rowcount
        # An out-of-band write is announced on the invalidation feed, as any write must be
        # (issue 20, storage/change_feed.py), or caches keep the old row.
        db.execute("INSERT INTO cache_changes (at, payload) VALUES (?, ?)",
                   (time.time(), json.dumps([["access-key", access_key_id]])))
    assert changed == 1


def _key_exists(server: TrentServer, access_key_id: str) -> bool:
    with sqlite3.connect(server.data_dir / "trent.db", timeout=30) as db:
        return db.execute("SELECT 1 FROM access_keys WHERE access_key_id = ?", (access_key_id,)).fetchone() is not None


def test_expired_session_gets_expired_token_then_is_swept(server):
    out = session(server, ALICE_KEY, "kms-user", "expiring", DurationSeconds=900)
    kms = as_session(server, "kms", out)
    kms.list_keys()
    akid = out["Credentials"]["AccessKeyId"]
    _set_expiry(server, akid, time.time() - 60)  # 900 s later, as far as this row is concerned
    time.sleep(0.2)  # the server's poller hears of it within ~10 ms
    expect_error(kms.list_keys, "ExpiredTokenException", "The security token included in the request is expired")
    expect_error(as_session(server, "sts", out).get_caller_identity, "ExpiredToken", status=400)
    # expired keys are kept an hour (callers keep hearing "expired"), then the sweeper removes them
    assert _key_exists(server, akid)
    _set_expiry(server, akid, time.time() - 3700)
    server.advance_clock("1s")  # a dev clock jump runs the sweeper at once
    assert not _key_exists(server, akid)


def test_sts_calls_are_audited_without_secrets(server):
    out = session(server, ALICE_KEY, "kms-user", "audited")
    # a refused call of this test's own (not another test's: any -k selection runs it alone)
    expect_error(client(server, "sts", BOB_KEY).assume_role, "AccessDenied", status=403,
                 RoleArn=f"arn:aws:iam::{A}:role/kms-user", RoleSessionName="audited-denied")
    events = [e for e in server.audit_events() if e["eventSource"] == "sts.amazonaws.com"]
    assumed = [e for e in events if e["eventName"] == "AssumeRole" and "errorCode" not in e
               and e["responseElements"]["assumedRoleUser"]["arn"].endswith("/audited")]
    assert len(assumed) == 1
    event = assumed[0]
    assert event["userIdentity"]["arn"] == f"arn:aws:iam::{A}:user/alice"
    assert event["requestParameters"] == {"roleArn": f"arn:aws:iam::{A}:role/kms-user", "roleSessionName": "audited"}
    assert event["resources"] == [{"accountId": A, "type": "AWS::IAM::Role", "ARN": f"arn:aws:iam::{A}:role/kms-user"}]
    assert event["responseElements"]["credentials"]["accessKeyId"] == out["Credentials"]["AccessKeyId"]
    denied = [e for e in events if e.get("errorCode") == "AccessDenied"
              and (e.get("requestParameters") or {}).get("roleSessionName") == "audited-denied"]
    assert len(denied) == 1 and denied[0]["errorMessage"].startswith("User: ")
    assert denied[0]["userIdentity"]["arn"] == f"arn:aws:iam::{B}:user/bob"
    log = server.audit_bytes().decode()
    assert out["Credentials"]["SessionToken"] not in log
    assert out["Credentials"]["SecretAccessKey"] not in log


def test_caller_identity_of_an_account_root_in_permissive_mode(tmp_path):
    srv = start_trent(tmp_path / "data", "--permissive")
    try:
        who = srv.client("sts", aws_access_key_id="111122223333", aws_secret_access_key="anything").get_caller_identity()
        assert (who["Arn"], who["UserId"], who["Account"]) == ("arn:aws:iam::111122223333:root", "111122223333",
                                                              "111122223333")
    finally:
        stop_trent(srv)


def test_the_asgi_front_door_serves_sts_too(tmp_path):
    srv = start_trent(tmp_path / "data", "--http-server", "uvicorn")
    try:
        who = srv.client("sts").get_caller_identity()
        assert who["Arn"] == f"arn:aws:iam::{A}:user/dev"
        expect_error(srv.client("sts", aws_secret_access_key="wrong").get_caller_identity,
                     "SignatureDoesNotMatch", status=403)
    finally:
        stop_trent(srv)
