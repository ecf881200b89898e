"""The SSE header rules of s3-sse spec §1-2 and §6, row by row (pure functions)."""

from __future__ import annotations

import base64
import hashlib

import pytest

from trent import errors
from trent.domain.s3.records import SseMode, SseRecord
from trent.service.s3.sse_headers import (
    Operation,
    SseRequest,
    encode_context,
    parse_customer_key,
    parse_sse_request,
    sse_response_headers,
)

KEY = bytes(range(32))
KEY_B64 = base64.b64encode(KEY).decode()
MD5_B64 = base64.b64encode(hashlib.md5(KEY).digest()).decode()
SSE_C = {
    "x-amz-server-side-encryption-customer-algorithm": "AES256",
    "x-amz-server-side-encryption-customer-key": KEY_B64,
    "x-amz-server-side-encryption-customer-key-md5": MD5_B64,
}
CONTEXT = base64.b64encode(b'{"project":"x"}').decode()
KMS_ARN = "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"


# --- spec §1: request headers -------------------------------------------------------


def test_no_headers_means_bucket_default() -> None:
    assert parse_sse_request({}) == SseRequest()
    assert SseRequest().header_value is None  # spec §7: no s3:x-amz-server-side-encryption


def test_sse_s3_row() -> None:
    req = parse_sse_request({"x-amz-server-side-encryption": "AES256"})
    assert req.mode is SseMode.SSE_S3 and req.header_value == "AES256"


def test_sse_kms_row() -> None:
    req = parse_sse_request({
        "x-amz-server-side-encryption": "aws:kms",
        "x-amz-server-side-encryption-aws-kms-key-id": "alias/app",
        "x-amz-server-side-encryption-context": CONTEXT,
        "x-amz-server-side-encryption-bucket-key-enabled": "true",
    })
    assert (req.mode, req.kms_key_id, req.context, req.bucket_key_enabled) == (
        SseMode.SSE_KMS, "alias/app", {"project": "x"}, True)
    assert parse_sse_request({"x-amz-server-side-encryption": "aws:kms"}).kms_key_id is None  # -> aws/s3


def test_sse_c_row() -> None:
    req = parse_sse_request(SSE_C)
    assert req.mode is SseMode.SSE_C and req.customer_key is not None and req.customer_key.key == KEY
    assert req.header_value is None
    assert "key=" not in repr(req.customer_key) or KEY_B64 not in repr(req.customer_key)
    assert KEY.hex() not in repr(req)


def test_copy_source_customer_headers() -> None:
    # the real names: x-amz-copy-source-server-side-encryption-customer-* (botocore's model)
    source = {"x-amz-copy-source-" + k.removeprefix("x-amz-"): v for k, v in SSE_C.items()}
    assert "x-amz-copy-source-server-side-encryption-customer-algorithm" in source
    assert parse_customer_key(source, source=True).key == KEY  # type: ignore[union-attr]
    assert parse_customer_key(source) is None
    wrong = {"x-amz-copy-source-" + k: v for k, v in SSE_C.items()}  # names no client sends
    assert parse_customer_key(wrong, source=True) is None


@pytest.mark.parametrize(
    ("headers", "error", "message"),
    [
        ({"x-amz-server-side-encryption": "AES128"}, errors.InvalidArgument, "The encryption method specified is not supported"),
        ({"x-amz-server-side-encryption": "aws:kms:dsse"}, errors.InvalidArgument, "DSSE-KMS"),
        ({"x-amz-server-side-encryption": "AES256", "x-amz-server-side-encryption-aws-kms-key-id": "k"},
         errors.InvalidArgument, "only valid with"),
        ({"x-amz-server-side-encryption-aws-kms-key-id": "k"}, errors.InvalidArgument, "only valid with"),
        ({"x-amz-server-side-encryption": "aws:kms", "x-amz-server-side-encryption-context": "!!"},
         errors.InvalidArgument, "shall be Base64-encoded UTF-8 string holding JSON"),
        ({"x-amz-server-side-encryption": "aws:kms",
          "x-amz-server-side-encryption-context": base64.b64encode(b'{"a":1}').decode()},
         errors.InvalidArgument, "string-string map"),
        ({"x-amz-server-side-encryption": "aws:kms", "x-amz-server-side-encryption-bucket-key-enabled": "yes"},
         errors.InvalidArgument, "Invalid value"),
        ({**SSE_C, "x-amz-server-side-encryption": "AES256"}, errors.InvalidArgument, "incompatible"),
        # spec §6, each text as AWS answers it
        ({**SSE_C, "x-amz-server-side-encryption-customer-key-md5": base64.b64encode(b"\0" * 16).decode()},
         errors.InvalidArgument, "The calculated MD5 hash of the key did not match the hash that was provided."),
        ({**SSE_C, "x-amz-server-side-encryption-customer-key": base64.b64encode(b"short").decode()},
         errors.InvalidArgument, "The secret key was invalid for the specified algorithm."),
        ({**SSE_C, "x-amz-server-side-encryption-customer-algorithm": "AES128"}, errors.InvalidEncryptionAlgorithm,
         "The Encryption request you specified is not valid. Supported value: AES256."),
        ({k: v for k, v in SSE_C.items() if "algorithm" not in k}, errors.InvalidArgument, "a valid encryption algorithm"),
        ({k: v for k, v in SSE_C.items() if not k.endswith("customer-key")}, errors.InvalidArgument,
         "an appropriate secret key"),
        ({k: v for k, v in SSE_C.items() if not k.endswith("md5")}, errors.InvalidArgument,
         "the client calculated MD5 of the secret key"),
    ],
)
def test_invalid_requests(headers: dict[str, str], error: type[errors.S3Error], message: str) -> None:
    with pytest.raises(error) as raised:
        parse_sse_request(headers)
    assert message in (raised.value.message or "")
    # never the customer key in an error
    assert KEY_B64 not in str(raised.value.details) and KEY_B64 not in (raised.value.message or "")


# --- spec §2: response headers ------------------------------------------------------

KMS = SseRecord(SseMode.SSE_KMS, b"blob", kms_key_arn=KMS_ARN, kms_context={"project": "x"})


@pytest.mark.parametrize("operation", list(Operation))
def test_sse_s3_echo(operation: Operation) -> None:
    assert sse_response_headers(SseRecord(SseMode.SSE_S3, b"b", owned_key_id="o"), operation) == {
        "x-amz-server-side-encryption": "AES256"
    }


@pytest.mark.parametrize("operation", list(Operation))
def test_sse_kms_echo_is_the_key_arn_and_context_only_on_writes(operation: Operation) -> None:
    headers = sse_response_headers(KMS, operation)
    assert headers["x-amz-server-side-encryption"] == "aws:kms"
    assert headers["x-amz-server-side-encryption-aws-kms-key-id"] == KMS_ARN
    assert "x-amz-server-side-encryption-bucket-key-enabled" not in headers
    writes = {Operation.PUT_OBJECT, Operation.COPY_OBJECT, Operation.CREATE_MULTIPART_UPLOAD}
    assert ("x-amz-server-side-encryption-context" in headers) == (operation in writes)
    if operation in writes:
        assert base64.b64decode(headers["x-amz-server-side-encryption-context"]) == b'{"project":"x"}'


def test_bucket_key_echo() -> None:
    record = SseRecord(SseMode.SSE_KMS, b"b", kms_key_arn=KMS_ARN, bucket_key=True, derivation_salt=b"s" * 16)
    assert sse_response_headers(record, Operation.HEAD_OBJECT)["x-amz-server-side-encryption-bucket-key-enabled"] == "true"


@pytest.mark.parametrize("operation", list(Operation))
def test_sse_c_echo_never_the_key(operation: Operation) -> None:
    record = SseRecord(SseMode.SSE_C, b"b", customer_key_md5=MD5_B64, customer_key_hmac=b"h" * 48)
    headers = sse_response_headers(record, operation)
    if operation is Operation.COMPLETE_MULTIPART_UPLOAD:
        assert headers == {}  # the model's output has no SSE-C members
    else:
        assert headers == {
            "x-amz-server-side-encryption-customer-algorithm": "AES256",
            "x-amz-server-side-encryption-customer-key-MD5": MD5_B64,
        }


def test_botocore_model_outputs_match_the_echo_table() -> None:
    """The operations that may echo the context / SSE-C are exactly those whose output
    shape in botocore's S3 model has the member."""
    import gzip
    import json
    from pathlib import Path

    import botocore

    path = Path(botocore.__file__).parent / "data" / "s3" / "2006-03-01" / "service-2.json.gz"
    shapes = json.loads(gzip.decompress(path.read_bytes()))["shapes"]
    for operation in Operation:
        members = shapes[f"{operation.value}Output"]["members"]
        context = sse_response_headers(KMS, operation)
        assert ("x-amz-server-side-encryption-context" in context) == ("SSEKMSEncryptionContext" in members)
        c = sse_response_headers(SseRecord(SseMode.SSE_C, b"b", customer_key_md5="m"), operation)
        assert bool(c) == ("SSECustomerKeyMD5" in members)
    assert encode_context({"a": "b"}) == base64.b64encode(b'{"a":"b"}').decode()
