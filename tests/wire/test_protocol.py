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


def _raw_request(server, target: str, body: bytes, secret: str = "test") -> bytes:
    """One signed HTTP/1.1 request as bytes (botocore's SigV4), for pipelining on a socket."""
    request = AWSRequest(method="POST", url=server.endpoint_url + "/", data=body, headers=kms_headers(target))
    SigV4Auth(Credentials("test", secret), "kms", "us-east-1").add_auth(request)
    head = "".join(f"{k}: {v}\r\n" for k, v in request.headers.items())
    host = urllib.parse.urlparse(server.endpoint_url).netloc
    return f"POST / HTTP/1.1\r\nHost: {host}\r\n{head}Content-Length: {len(body)}\r\n\r\n".encode() + body


def _pipelined(server, wire: bytes, count: int) -> list[tuple[int, dict]]:
    """Send ``wire`` in one write on one connection; the ``count`` responses, in order."""
    import socket

    url = urllib.parse.urlparse(server.endpoint_url)
    answers: list[tuple[int, dict]] = []
    with socket.create_connection((url.hostname, url.port), timeout=20) as sock:
        sock.sendall(wire)
        buffer = b""
        while len(answers) < count:
            head_end = buffer.find(b"\r\n\r\n")
            if head_end >= 0:
                head = buffer[:head_end].decode("latin-1")
                length = int(next(line.split(":", 1)[1] for line in head.split("\r\n")
                                  if line.lower().startswith("content-length:")))
                end = head_end + 4 + length
                if len(buffer) >= end:
                    answers.append((int(head.split(" ", 2)[1]), json.loads(buffer[head_end + 4:end])))
                    buffer = buffer[end:]
                    continue
            chunk = sock.recv(65536)
            assert chunk, f"connection closed after {len(answers)} of {count} responses"
            buffer += chunk
    return answers


def test_pipelined_requests_are_answered_in_order(trent_server):
    """HTTP/1.1 pipelining: a slow management call ahead of fast crypto calls."""
    wire = _raw_request(trent_server, "TrentService.CreateKey", b'{"Description": "first"}') \
        + _raw_request(trent_server, "TrentService.GenerateRandom", b'{"NumberOfBytes": 7}') \
        + _raw_request(trent_server, "TrentService.ListKeys", b'{"Limit": 1}')
    bodies = [body for _, body in _pipelined(trent_server, wire, 3)]
    assert "KeyMetadata" in bodies[0] and "Plaintext" in bodies[1] and "Keys" in bodies[2]


def test_calls_read_together_are_each_answered_whatever_stage_stops_them(trent_server, kms):
    """The KMS calls read in one loop tick are served stage by stage (server/http11.py): a
    burst on each of several connections, mixing calls that fail in each stage (signature,
    validation, the use case), calls that write (on the executor) and crypto calls, is
    answered call for call, in order, exactly as one call at a time would be."""
    import base64
    from concurrent.futures import ThreadPoolExecutor

    key_id = kms.create_key()["KeyMetadata"]["KeyId"]
    plaintext = base64.b64encode(b"staged").decode()
    burst = [
        ("TrentService.Encrypt", {"KeyId": key_id, "Plaintext": plaintext}, "test", 200, None),
        ("TrentService.Encrypt", {"KeyId": key_id, "Plaintext": plaintext}, "wrong", 400, "InvalidSignatureException"),
        ("TrentService.Encrypt", {"KeyId": key_id}, "test", 400, "ValidationException"),
        ("TrentService.Encrypt", {"KeyId": "alias/no-such-alias", "Plaintext": plaintext}, "test", 400,
         "NotFoundException"),
        ("TrentService.CreateKey", {"Description": "staged"}, "test", 200, None),
        ("TrentService.MakeCoffee", {}, "test", 400, "UnknownOperationException"),
        ("TrentService.GenerateRandom", {"NumberOfBytes": 9}, "test", 200, None),
        ("TrentService.Encrypt", {"KeyId": key_id, "Plaintext": plaintext}, "test", 200, None),
    ]
    wire = b"".join(_raw_request(trent_server, target, json.dumps(body).encode(), secret)
                    for target, body, secret, _, _ in burst)

    def one_connection(_: int) -> list[tuple[int, dict]]:
        return _pipelined(trent_server, wire, len(burst))

    with ThreadPoolExecutor(8) as pool:
        connections = list(pool.map(one_connection, range(8)))
    for answers in connections:
        for (target, _, _, status, error), (got_status, body) in zip(burst, answers):
            assert got_status == status, (target, body)
            assert body.get("__type") == error, (target, body)
        encrypted = [body for (target, *_), (status, body) in zip(burst, answers)
                     if target == "TrentService.Encrypt" and status == 200]
        for body in encrypted:
            back = kms.decrypt(CiphertextBlob=base64.b64decode(body["CiphertextBlob"]))
            assert back["Plaintext"] == b"staged"
        assert len(base64.b64decode(answers[6][1]["Plaintext"])) == 9
        assert answers[4][1]["KeyMetadata"]["Description"] == "staged"
