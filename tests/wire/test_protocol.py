"""The AWS JSON 1.1 front end: routing, parsing, validation, and no 5xx on any input (spec §1)."""

from __future__ import annotations

import http.client
import json
import urllib.parse

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st


def send(server, body: bytes, headers: dict[str, str], method: str = "POST", path: str = "/", sign: bool = True):
    url = urllib.parse.urlparse(server.endpoint_url)
    if sign:
        request = AWSRequest(method=method, url=server.endpoint_url + path, data=body, headers=headers)
        SigV4Auth(Credentials("test", "test"), "kms", "us-east-1").add_auth(request)
        headers = dict(request.headers)
    conn = http.client.HTTPConnection(url.hostname, url.port, timeout=10)
    try:
        conn.request(method, path, body=body, headers=headers)
        response = conn.getresponse()
        data = response.read()
        return response.status, data, response
    finally:
        conn.close()


def kms_headers(target: str) -> dict[str, str]:
    return {"Content-Type": "application/x-amz-json-1.1", "X-Amz-Target": target}


def test_unknown_operation(trent_server):
    status, data, _ = send(trent_server, b"{}", kms_headers("TrentService.MakeCoffee"))
    assert (status, json.loads(data)) == (400, {"__type": "UnknownOperationException"})


def test_wrong_target_prefix(trent_server):
    status, data, _ = send(trent_server, b"{}", kms_headers("DynamoDB_20120810.ListTables"))
    assert (status, json.loads(data)) == (400, {"__type": "UnknownOperationException"})


def test_every_model_operation_is_routed(trent_server):
    """Every operation of the installed botocore KMS model has a handler (issue 19 implemented the
    last ones, ReplicateKey and UpdatePrimaryRegion); one of them, over the wire, on an unknown key."""
    import gzip
    import os

    import botocore

    from trent.protocol.operations import OPERATIONS

    model = os.path.join(os.path.dirname(botocore.__file__), "data/kms/2014-11-01/service-2.json.gz")
    with gzip.open(model) as f:
        assert set(json.load(f)["operations"]) <= set(OPERATIONS)
    status, data, _ = send(trent_server, b'{"KeyId": "mrk-1234abcd12ab34cd56ef1234567890ab", "ReplicaRegion": "eu-west-1"}',
                           kms_headers("TrentService.ReplicateKey"))
    assert status == 400 and json.loads(data)["__type"] == "NotFoundException"


def test_invalid_json(trent_server):
    status, data, _ = send(trent_server, b"{not json", kms_headers("TrentService.ListKeys"))
    assert status == 400 and json.loads(data)["__type"] == "SerializationException"


def test_json_that_is_not_an_object(trent_server):
    status, data, _ = send(trent_server, b"[1, 2]", kms_headers("TrentService.ListKeys"))
    assert status == 400 and json.loads(data)["__type"] == "SerializationException"


def test_wrong_member_type(trent_server):
    status, data, _ = send(trent_server, b'{"Limit": "ten"}', kms_headers("TrentService.ListKeys"))
    assert status == 400 and json.loads(data)["__type"] == "SerializationException"


def test_invalid_base64_blob(trent_server):
    status, data, _ = send(trent_server, b'{"CiphertextBlob": "***"}', kms_headers("TrentService.Decrypt"))
    assert status == 400 and json.loads(data)["__type"] == "SerializationException"


def test_missing_required_member(trent_server):
    status, data, _ = send(trent_server, b"{}", kms_headers("TrentService.Encrypt"))
    body = json.loads(data)
    assert status == 400 and body["__type"] == "ValidationException"
    assert "Value null at 'keyId' failed to satisfy constraint: Member must not be null" in body["message"]


def test_oversized_body_is_refused_without_reading_it_all(trent_server):
    status, data, _ = send(trent_server, b"{" + b" " * (2 << 20) + b"}", kms_headers("TrentService.ListKeys"), sign=False)
    assert status == 413 and json.loads(data)["__type"] == "SerializationException"


def test_not_post(trent_server):
    status, data, _ = send(trent_server, b"", kms_headers("TrentService.ListKeys"), method="GET", sign=False)
    assert status == 405 and json.loads(data)["__type"] == "UnknownOperationException"
    # Without a KMS target, a GET is S3's (issue 16: one endpoint, one router): anonymous is denied.
    status, data, _ = send(trent_server, b"", {}, method="GET", sign=False)
    assert status == 403 and b"<Code>AccessDenied</Code>" in data


def test_empty_body_means_no_parameters(trent_server):
    status, data, response = send(trent_server, b"", kms_headers("TrentService.ListKeys"))
    assert status == 200 and "Keys" in json.loads(data)
    assert response.getheader("Content-Type") == "application/x-amz-json-1.1"
    assert response.getheader("x-amzn-RequestId")


def test_health(trent_server):
    status, data, _ = send(trent_server, b"", {}, method="GET", path="/_trent/health", sign=False)
    health = json.loads(data)
    assert status == 200 and health.pop("pid") > 0 and health == {"status": "ok"}


json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**70), 2**70) | st.floats(allow_nan=False) | st.text(max_size=50),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=20), children, max_size=4),
    max_leaves=12,
)
member_names = st.sampled_from(
    ["KeyId", "Plaintext", "CiphertextBlob", "EncryptionContext", "Limit", "Marker", "NumberOfBytes", "KeySpec",
     "AliasName", "TargetKeyId", "Tags", "TagKeys", "PendingWindowInDays", "DryRun", "Description", "KeyUsage"]
)
operations = st.sampled_from(
    ["CreateKey", "DescribeKey", "ListKeys", "EnableKey", "DisableKey", "Encrypt", "Decrypt", "ReEncrypt",
     "GenerateDataKey", "GenerateRandom", "CreateAlias", "UpdateAlias", "DeleteAlias", "ListAliases", "TagResource",
     "UntagResource", "ListResourceTags", "ScheduleKeyDeletion", "CancelKeyDeletion", "UpdateKeyDescription", "Sign", "X"]
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(operations, st.dictionaries(member_names, json_values, max_size=5))
def test_random_bodies_never_produce_a_5xx(trent_server, operation, body):
    status, data, _ = send(trent_server, json.dumps(body).encode(), kms_headers(f"TrentService.{operation}"))
    assert status < 500, data
    assert "__type" in json.loads(data) or status == 200


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.binary(max_size=300), st.dictionaries(
    st.sampled_from(["Authorization", "X-Amz-Date", "X-Amz-Target", "Content-Type", "X-Amz-Security-Token", "Date"]),
    st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=126), max_size=120), max_size=6))
def test_random_bytes_and_headers_never_produce_a_5xx(trent_server, body, headers):
    status, data, _ = send(trent_server, body, headers, sign=False)
    assert status < 500, data


def test_pipelined_requests_are_answered_in_order(trent_server):
    """HTTP/1.1 pipelining: a slow management call ahead of fast crypto calls."""
    import socket

    def signed(target: str, body: bytes) -> bytes:
        request = AWSRequest(method="POST", url=trent_server.endpoint_url + "/", data=body, headers=kms_headers(target))
        SigV4Auth(Credentials("test", "test"), "kms", "us-east-1").add_auth(request)
        head = "".join(f"{k}: {v}\r\n" for k, v in request.headers.items())
        return f"POST / HTTP/1.1\r\nHost: {urllib.parse.urlparse(trent_server.endpoint_url).netloc}\r\n{head}Content-Length: {len(body)}\r\n\r\n".encode() + body

    wire = signed("TrentService.CreateKey", b'{"Description": "first"}') + signed("TrentService.GenerateRandom", b'{"NumberOfBytes": 7}') \
        + signed("TrentService.ListKeys", b'{"Limit": 1}')
    url = urllib.parse.urlparse(trent_server.endpoint_url)
    with socket.create_connection((url.hostname, url.port), timeout=10) as sock:
        sock.sendall(wire)
        received = b""
        while received.count(b"HTTP/1.1 ") < 3 or not received.endswith(b"}"):
            chunk = sock.recv(65536)
            if not chunk:
                break
            received += chunk
    bodies = [part.split(b"\r\n\r\n", 1)[1] for part in received.split(b"HTTP/1.1 ")[1:]]
    assert b"KeyMetadata" in bodies[0] and b"Plaintext" in bodies[1] and b"Keys" in bodies[2]
