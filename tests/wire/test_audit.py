"""Every call leaves exactly one CloudTrail-shaped event, redacted (spec §11)."""

from __future__ import annotations

from tests.wire.helpers import wire_error


def events_for(server, request_id):
    return [e for e in server.audit_events() if e.get("requestID") == request_id]


def test_success_event_shape_and_redaction(trent_server, kms):
    key = kms.create_key(Description="audited")["KeyMetadata"]
    secret = b"top secret plaintext 0123456789"
    out = kms.encrypt(KeyId=key["KeyId"], Plaintext=secret, EncryptionContext={"dept": "a"})
    (event,) = events_for(trent_server, out["ResponseMetadata"]["RequestId"])
    assert event["eventName"] == "Encrypt" and event["eventSource"] == "kms.amazonaws.com"
    assert event["eventVersion"] == "1.11" and event["eventType"] == "AwsApiCall"
    assert event["readOnly"] is True and event["responseElements"] is None
    assert event["awsRegion"] == "us-east-1" and event["recipientAccountId"] == "123456789012"
    assert event["userIdentity"] == {
        "type": "IAMUser", "principalId": event["userIdentity"]["principalId"],
        "arn": "arn:aws:iam::123456789012:user/dev", "accountId": "123456789012",
        "accessKeyId": "test", "userName": "dev",
    }
    assert event["requestParameters"] == {"keyId": key["KeyId"], "encryptionContext": {"dept": "a"}}
    assert event["resources"] == [{"accountId": "123456789012", "type": "AWS::KMS::Key", "ARN": key["Arn"]}]
    assert event["additionalEventData"] == {"keyMaterialId": key["CurrentKeyMaterialId"]}
    assert "errorCode" not in event
    raw = trent_server.audit_bytes()
    import base64
    assert secret not in raw and base64.b64encode(secret) not in raw
    assert base64.b64encode(out["CiphertextBlob"]) not in raw


def test_failure_event(trent_server, kms):
    err = wire_error(kms.describe_key, KeyId="alias/not-there")
    (event,) = events_for(trent_server, err["request_id"])
    assert event["errorCode"] == "NotFoundException"
    assert event["errorMessage"] == err["message"]
    assert event["readOnly"] is True


def test_mutation_echoes_response_elements(trent_server, kms):
    out = kms.create_key(Description="echo")
    (event,) = events_for(trent_server, out["ResponseMetadata"]["RequestId"])
    assert event["readOnly"] is False
    assert event["responseElements"]["keyMetadata"]["keyId"] == out["KeyMetadata"]["KeyId"]
    assert event["requestParameters"] == {"description": "echo"}


def test_auth_failures_are_audited(trent_server):
    kms = trent_server.client(aws_secret_access_key="wrong")
    err = wire_error(kms.list_keys)
    (event,) = events_for(trent_server, err["request_id"])
    assert event["errorCode"] == "InvalidSignatureException" and event["eventName"] == "ListKeys"


def test_generate_data_key_plaintext_never_logged(trent_server, kms):
    import base64

    key_id = kms.create_key()["KeyMetadata"]["KeyId"]
    out = kms.generate_data_key(KeyId=key_id, KeySpec="AES_256")
    assert base64.b64encode(out["Plaintext"]) not in trent_server.audit_bytes()
    (event,) = events_for(trent_server, out["ResponseMetadata"]["RequestId"])
    assert event["requestParameters"] == {"keyId": key_id, "keySpec": "AES_256"}
