"""SigV4 and identities over the wire (spec §1.5, §1.6)."""

from __future__ import annotations

import json
import subprocess
import sys
import urllib.error
import urllib.request

import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from tests.wire.helpers import expect_error

SIGNATURE_MISMATCH = (
    "The request signature we calculated does not match the signature you provided. "
    "Check your AWS Secret Access Key and signing method. Consult the service documentation for details."
)


def raw_call(server, target: str, body: bytes, headers: dict[str, str] | None = None, sign_with=("test", "test"),
             region="us-east-1", service="kms", mutate=None):
    request = AWSRequest(method="POST", url=server.endpoint_url + "/", data=body, headers={
        "Content-Type": "application/x-amz-json-1.1", "X-Amz-Target": target, **(headers or {})})
    if sign_with is not None:
        SigV4Auth(Credentials(*sign_with), service, region).add_auth(request)
    sent_headers = dict(request.headers)
    sent_body = body
    if mutate is not None:
        sent_headers, sent_body = mutate(sent_headers, sent_body)
    req = urllib.request.Request(server.endpoint_url + "/", data=sent_body, headers=sent_headers, method="POST")
    try:
        with urllib.request.urlopen(req, timeout=10) as response:
            return response.status, json.loads(response.read() or b"{}"), response.headers
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"{}"), exc.headers


def test_wrong_secret(trent_server):
    kms = trent_server.client(aws_secret_access_key="not-the-secret")
    expect_error(kms.list_keys, "InvalidSignatureException", SIGNATURE_MISMATCH)


def test_unknown_access_key(trent_server):
    kms = trent_server.client(aws_access_key_id="AKIAUNKNOWNUNKNOWN00")
    expect_error(kms.list_keys, "UnrecognizedClientException", "The security token included in the request is invalid")


def test_session_token_on_a_long_term_key_is_refused(trent_server):
    kms = trent_server.client(aws_session_token="made-up-token")
    expect_error(kms.list_keys, "UnrecognizedClientException")


def test_wrong_service_scope(trent_server):
    status, body, _ = raw_call(trent_server, "TrentService.ListKeys", b"{}", service="s3")
    assert (status, body) == (400, {"__type": "InvalidSignatureException",
                                    "message": "Credential should be scoped to correct service: 'kms'. "})


def test_invalid_region_scope(trent_server):
    status, body, _ = raw_call(trent_server, "TrentService.ListKeys", b"{}", region="nowhere")
    assert (status, body) == (400, {"__type": "InvalidSignatureException",
                                    "message": "Credential should be scoped to a valid region. "})


def test_body_tampered_after_signing(trent_server):
    status, body, _ = raw_call(trent_server, "TrentService.ListKeys", b"{}", mutate=lambda h, b: (h, b'{"Limit": 5}'))
    assert status == 400 and body["__type"] == "InvalidSignatureException"


def test_stale_signature(trent_server):
    def old(headers, body):
        return {**headers, "X-Amz-Date": "20200101T000000Z"}, body

    status, body, _ = raw_call(trent_server, "TrentService.ListKeys", b"{}", mutate=old)
    assert status == 400 and body["__type"] in ("InvalidSignatureException",)


def test_missing_authentication(trent_server):
    status, body, headers = raw_call(trent_server, "TrentService.ListKeys", b"{}", sign_with=None)
    assert (status, body) == (400, {"__type": "MissingAuthenticationTokenException",
                                    "message": "Request is missing Authentication Token"})
    assert headers["x-amzn-RequestId"]


def test_malformed_authorization(trent_server):
    status, body, _ = raw_call(trent_server, "TrentService.ListKeys", b"{}", headers={"Authorization": "AWS4-HMAC-SHA256 garbage"},
                               sign_with=None)
    assert status == 400 and body["__type"] == "IncompleteSignatureException"


def test_admin_created_identity_works_and_is_isolated(trent_server, tmp_path):
    """`trent admin` against the server's data dir; the new user signs real requests."""
    def admin(*args):
        out = subprocess.run([sys.executable, "-m", "trent.cli.main", "admin", "--dev", "--data-dir", str(trent_server.data_dir), *args],
                             capture_output=True, text=True, timeout=60, check=True)
        return json.loads(out.stdout) if out.stdout.strip() else None

    admin("create-account", "111122223333", "--name", "other")
    user = admin("create-user", "111122223333", "alice")
    assert user["Arn"] == "arn:aws:iam::111122223333:user/alice"
    creds = admin("create-access-key", "111122223333", "alice")
    # The default key policy delegates to IAM (spec §7.3): alice needs an identity policy.
    admin("put-user-policy", "111122223333", "alice", "kms-all", "--document",
          '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"kms:*","Resource":"*"}]}')
    assert creds["AccessKeyId"].startswith("AKIA") and len(creds["SecretAccessKey"]) >= 40
    alice = trent_server.client(aws_access_key_id=creds["AccessKeyId"], aws_secret_access_key=creds["SecretAccessKey"])
    key = alice.create_key()["KeyMetadata"]
    assert key["Arn"].startswith("arn:aws:kms:us-east-1:111122223333:key/")
    blob = alice.encrypt(KeyId=key["KeyId"], Plaintext=b"alice's")["CiphertextBlob"]
    # The dev account can neither see alice's key by id nor decrypt her ciphertext.
    dev = trent_server.client()
    expect_error(dev.describe_key, "NotFoundException",
                 f"Key 'arn:aws:kms:us-east-1:123456789012:key/{key['KeyId']}' does not exist", KeyId=key["KeyId"])
    expect_error(dev.decrypt, "AccessDeniedException", CiphertextBlob=blob)
    expect_error(dev.encrypt, "AccessDeniedException",
                 f"User: arn:aws:iam::123456789012:user/dev is not authorized to perform: kms:Encrypt on resource: "
                 f"{key['Arn']} because no resource-based policy allows the kms:Encrypt action",
                 KeyId=key["Arn"], Plaintext=b"x")
    # Same-account-only operations don't see it either.
    expect_error(dev.disable_key, "NotFoundException", KeyId=key["Arn"])
    assert key["KeyId"] not in [k["KeyId"] for k in dev.list_keys(Limit=1000)["Keys"]]
    # The secret is stored wrapped: the database holds no trace of it.
    db = (trent_server.data_dir / "trent.db").read_bytes()
    assert creds["SecretAccessKey"].encode() not in db


@pytest.mark.parametrize("akid", ["AKIAANYTHING", "111122223333"])
def test_permissive_mode(tmp_path, akid):
    from tests.fixtures.trent_server import start_trent, stop_trent

    server = start_trent(tmp_path / "data", "--permissive")
    try:
        kms = server.client(aws_access_key_id=akid, aws_secret_access_key="whatever")
        arn = kms.create_key()["KeyMetadata"]["Arn"]
        expected_account = akid if akid.isdigit() else "123456789012"
        assert arn.startswith(f"arn:aws:kms:us-east-1:{expected_account}:key/")
        # Known keys are still verified strictly.
        bad = server.client(aws_secret_access_key="wrong")
        expect_error(bad.list_keys, "InvalidSignatureException")
    finally:
        stop_trent(server)
