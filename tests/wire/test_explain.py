"""`trent authz explain` and POST /_trent/authz/explain (issue 5): the answer names the
statement or grant that decided, agrees with what the real call gets, and is only
given to callers allowed to see it."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from tests.wire.helpers import expect_error

ACCOUNT = "123456789012"
DEV_USER = f"arn:aws:iam::{ACCOUNT}:user/dev"
ROOT = f"arn:aws:iam::{ACCOUNT}:root"


def _policy(*statements: dict) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


ADMIN = {"Sid": "Admin", "Effect": "Allow", "Principal": {"AWS": ROOT}, "Action": "kms:*", "Resource": "*"}
DENY_HR = {
    "Sid": "NoHR", "Effect": "Deny", "Principal": {"AWS": DEV_USER}, "Action": "kms:Encrypt", "Resource": "*",
    "Condition": {"StringEquals": {"kms:EncryptionContext:dept": "hr"}},
}


def explain_call(server, body: dict, creds=("test", "test")) -> tuple[int, dict]:
    import urllib.error
    import urllib.request

    url = server.endpoint_url + "/_trent/authz/explain"
    data = json.dumps(body).encode()
    request = AWSRequest(method="POST", url=url, data=data, headers={"Content-Type": "application/json"})
    SigV4Auth(Credentials(*creds), "kms", "us-east-1").add_auth(request)
    http = urllib.request.Request(url, data=data, headers=dict(request.headers.items()), method="POST")
    try:
        with urllib.request.urlopen(http, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


@pytest.fixture()
def key_arn(kms):
    return kms.create_key(Policy=_policy(ADMIN, DENY_HR))["KeyMetadata"]["Arn"]


def test_explain_names_the_deciding_statement_and_agrees_with_the_call(trent_server, kms, key_arn):
    status, allowed = explain_call(trent_server, {
        "Principal": DEV_USER, "Action": "kms:Encrypt", "KeyId": key_arn, "EncryptionContext": {"dept": "it"}})
    assert status == 200, allowed
    assert allowed["decision"]["effect"] == "Allow"
    assert allowed["decision"]["by"]["sid"] == "Admin"  # delegation to IAM...
    assert allowed["decision"]["identity_statement"]["policy_name"] == "TrentDevAdministratorAccess"  # ...completed by IAM
    kms.encrypt(KeyId=key_arn, Plaintext=b"x", EncryptionContext={"dept": "it"})

    status, denied = explain_call(trent_server, {
        "Principal": DEV_USER, "Action": "kms:Encrypt", "KeyId": key_arn, "EncryptionContext": {"dept": "hr"}})
    assert status == 200
    assert denied["decision"]["effect"] == "ExplicitDeny"
    assert denied["decision"]["by"]["sid"] == "NoHR"
    err = expect_error(kms.encrypt, "AccessDeniedException", KeyId=key_arn, Plaintext=b"x",
                       EncryptionContext={"dept": "hr"})
    assert denied["message"] == err["message"]
    # every statement is accounted for, with why it did or did not apply
    sids = {s.get("sid") for s in denied["statements"]}
    assert {"Admin", "NoHR"} <= sids


def test_explain_iam_only_action(trent_server):
    status, answer = explain_call(trent_server, {"Principal": DEV_USER, "Action": "kms:CreateKey"})
    assert status == 200 and answer["decision"]["effect"] == "Allow"
    assert answer["request"]["resource"] == "*"


def test_explain_is_signed_and_scoped(trent_server, key_arn, tmp_path):
    status, body = explain_call(trent_server, {"Principal": DEV_USER, "Action": "kms:Encrypt", "KeyId": key_arn},
                                creds=("test", "wrong-secret"))
    assert status == 400 and body["__type"] == "InvalidSignatureException"
    status, body = explain_call(trent_server, {"Principal": "arn:aws:iam::999999999999:user/x",
                                               "Action": "kms:Encrypt", "KeyId": key_arn})
    assert status == 400 and body["__type"] == "AccessDeniedException"
    status, body = explain_call(trent_server, {"Principal": DEV_USER, "Action": "kms:Encrypt", "Bogus": 1})
    assert status == 400 and body["__type"] == "ValidationException"


def test_explain_cli_local_and_remote(trent_server, key_arn):
    base = [sys.executable, "-m", "trent.cli.main", "authz", "explain", "--principal", DEV_USER,
            "--action", "kms:Encrypt", "--key-id", key_arn, "--context", "dept=hr"]
    local = subprocess.run([*base, "--dev", "--data-dir", str(trent_server.data_dir)],
                           capture_output=True, text=True, timeout=60)
    assert local.returncode == 3, local.stderr
    assert json.loads(local.stdout)["decision"]["by"]["sid"] == "NoHR"
    env = dict(os.environ, AWS_ACCESS_KEY_ID="test", AWS_SECRET_ACCESS_KEY="test", AWS_REGION="us-east-1")
    remote = subprocess.run([*base[:-2], "--context", "dept=it", "--endpoint-url", trent_server.endpoint_url],
                            capture_output=True, text=True, timeout=60, env=env)
    assert remote.returncode == 0, remote.stderr
    assert json.loads(remote.stdout)["decision"]["effect"] == "Allow"
