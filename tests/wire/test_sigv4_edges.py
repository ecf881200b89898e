"""SigV4 must cover what selects the operation (issue 20; protocol/sigv4/authorization.py).

A signature over everything but ``X-Amz-Target`` would let anyone who saw one signed
request replay its signature with another operation; a second ``Authorization`` header
must not be silently ignored. Requests are signed by botocore's own SigV4Auth and sent
raw, so the test controls exactly which headers the signature covers.
"""

from __future__ import annotations

import http.client
import json
import urllib.parse

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

INCOMPLETE = "IncompleteSignatureException"


def _signed(server, body: bytes, headers: dict[str, str]) -> dict[str, str]:
    """Headers botocore signs for a POST / with ``headers`` (and only those)."""
    request = AWSRequest(method="POST", url=server.endpoint_url + "/", data=body,
                         headers={"Content-Type": "application/x-amz-json-1.1", **headers})
    SigV4Auth(Credentials("test", "test"), "kms", "us-east-1").add_auth(request)
    return dict(request.headers)


def _send(server, body: bytes, headers: list[tuple[str, str]]) -> tuple[int, dict]:
    url = urllib.parse.urlsplit(server.endpoint_url)
    conn = http.client.HTTPConnection(url.hostname, url.port, timeout=10)
    try:
        conn.putrequest("POST", "/", skip_accept_encoding=True)
        for name, value in headers:
            conn.putheader(name, value)
        conn.putheader("Content-Length", str(len(body)))
        conn.endheaders(body)
        response = conn.getresponse()
        return response.status, json.loads(response.read() or b"{}")
    finally:
        conn.close()


def test_unsigned_target_is_refused_and_nothing_runs(trent_server, kms):
    key_id = kms.create_key()["KeyMetadata"]["KeyId"]
    body = json.dumps({"KeyId": key_id, "PendingWindowInDays": 7}).encode()
    headers = _signed(trent_server, body, {})  # the signature covers no X-Amz-Target
    status, reply = _send(trent_server, body, [*headers.items(), ("X-Amz-Target", "TrentService.ScheduleKeyDeletion")])
    assert (status, reply) == (400, {"__type": INCOMPLETE,
                                     "message": "'X-Amz-Target' must be a 'SignedHeader' in the AWS Authorization."})
    assert kms.describe_key(KeyId=key_id)["KeyMetadata"]["KeyState"] == "Enabled"


def test_target_swapped_after_signing_fails_the_signature(trent_server, kms):
    key_id = kms.create_key()["KeyMetadata"]["KeyId"]
    body = json.dumps({"KeyId": key_id}).encode()
    headers = _signed(trent_server, body, {"X-Amz-Target": "TrentService.DescribeKey"})
    headers["X-Amz-Target"] = "TrentService.DisableKey"
    status, reply = _send(trent_server, body, list(headers.items()))
    assert status == 400 and reply["__type"] == "InvalidSignatureException"
    assert kms.describe_key(KeyId=key_id)["KeyMetadata"]["KeyState"] == "Enabled"


def test_any_unsigned_x_amz_header_is_refused(trent_server):
    body = b"{}"
    headers = _signed(trent_server, body, {"X-Amz-Target": "TrentService.ListKeys"})
    status, reply = _send(trent_server, body, [*headers.items(), ("X-Amz-Meta-Note", "added in flight")])
    assert (status, reply) == (400, {"__type": INCOMPLETE,
                                     "message": "There were headers present in the request which were not signed"})


def test_signed_extra_x_amz_header_is_fine(trent_server):
    body = b"{}"
    headers = _signed(trent_server, body, {"X-Amz-Target": "TrentService.ListKeys", "X-Amz-Meta-Note": "signed"})
    status, reply = _send(trent_server, body, list(headers.items()))
    assert status == 200 and "Keys" in reply


def test_two_authorization_headers_are_refused(trent_server):
    body = b"{}"
    good = _signed(trent_server, body, {"X-Amz-Target": "TrentService.ListKeys"})
    other = _signed(trent_server, b'{"Limit": 1}', {"X-Amz-Target": "TrentService.ListKeys"})["Authorization"]
    for order in ([good["Authorization"], other], [other, good["Authorization"]]):
        headers = [(k, v) for k, v in good.items() if k != "Authorization"]
        headers += [("Authorization", value) for value in order]
        status, reply = _send(trent_server, body, headers)
        assert (status, reply) == (400, {"__type": INCOMPLETE,
                                         "message": "Only one 'Authorization' header is allowed in a request."})


def test_refusals_are_audited(trent_server):
    body = b"{}"
    headers = _signed(trent_server, body, {})
    _send(trent_server, body, [*headers.items(), ("X-Amz-Target", "TrentService.ListKeys")])
    events = [e for e in trent_server.audit_events() if e.get("errorCode") == INCOMPLETE]
    assert any(e["eventName"] == "ListKeys" and "X-Amz-Target" in e["errorMessage"] for e in events)
