"""S3's server-side-encryption headers as pure functions (s3-sse spec §1-2, §6).

    parse_sse_request(headers)            PutObject / CreateMultipartUpload / CopyObject destination
    parse_customer_key(headers, source=)  SSE-C on GET/HEAD/UploadPart, and a copy source
    sse_response_headers(sse, operation)  what each operation echoes (spec §2; the botocore model's
                                          output members for each operation)

``headers`` is any mapping of *lower-case* header names to values. Errors are S3's codes
with the texts of spec §4 and §6 ([?] where the spec marks AWS's text unverified).
Phase 2 calls these from the S3 HTTP front; the use cases take their typed results.
"""

from __future__ import annotations

import base64
import binascii
import enum
import hashlib
import hmac
import json
from collections.abc import Mapping
from dataclasses import dataclass, field

from trent import errors
from trent.domain.frozen import fast_init
from trent.domain.s3.records import SseMode, SseRecord

SSE = "x-amz-server-side-encryption"
KMS_KEY_ID = "x-amz-server-side-encryption-aws-kms-key-id"
CONTEXT = "x-amz-server-side-encryption-context"
BUCKET_KEY = "x-amz-server-side-encryption-bucket-key-enabled"
CUSTOMER_ALGORITHM = "x-amz-server-side-encryption-customer-algorithm"
CUSTOMER_KEY = "x-amz-server-side-encryption-customer-key"
CUSTOMER_KEY_MD5 = "x-amz-server-side-encryption-customer-key-md5"
# A copy source's SSE-C headers: x-amz-copy-source-server-side-encryption-customer-*
# (the customer header names without their own "x-amz-"; botocore's model, S3 API reference)
COPY_SOURCE_PREFIX = "x-amz-copy-source-"

_CUSTOMER_PREFIX = "Requests specifying Server Side Encryption with Customer provided keys must provide "


class Operation(enum.StrEnum):
    PUT_OBJECT = "PutObject"
    COPY_OBJECT = "CopyObject"
    CREATE_MULTIPART_UPLOAD = "CreateMultipartUpload"
    UPLOAD_PART = "UploadPart"
    UPLOAD_PART_COPY = "UploadPartCopy"
    COMPLETE_MULTIPART_UPLOAD = "CompleteMultipartUpload"
    GET_OBJECT = "GetObject"
    HEAD_OBJECT = "HeadObject"


@dataclass(frozen=True, slots=True)
class CustomerKey:
    """An SSE-C key from the request (never stored; ``repr`` hides it)."""

    key: bytes = field(repr=False)
    key_md5: str  # base64, as sent (and verified)

    def __reduce__(self):  # habits §7
        raise TypeError("customer keys cannot be pickled")


@fast_init
@dataclass(frozen=True, slots=True)
class SseRequest:
    """What a write asked for. ``mode`` None: no header, the bucket default applies."""

    mode: SseMode | None = None
    kms_key_id: str | None = None  # as sent: key id, key ARN, alias name or alias ARN
    context: Mapping[str, str] | None = None  # decoded x-amz-server-side-encryption-context
    bucket_key_enabled: bool | None = None
    customer_key: CustomerKey | None = None

    @property
    def header_value(self) -> str | None:
        """``s3:x-amz-server-side-encryption`` as the request sent it (absent for SSE-C
        and for requests relying on default encryption, spec §7)."""
        return str(self.mode) if self.mode in (SseMode.SSE_S3, SseMode.SSE_KMS) else None


def _invalid(message: str, name: str | None = None, value: str | None = None) -> errors.InvalidArgument:
    details = {}
    if name is not None:
        details["ArgumentName"] = name
        details["ArgumentValue"] = (value or "")[:256] if name != CUSTOMER_KEY else ""
    return errors.InvalidArgument(message, details=details)


def _bool_header(headers: Mapping[str, str], name: str) -> bool | None:
    raw = headers.get(name)
    if raw is None:
        return None
    lowered = raw.strip().lower()
    if lowered not in ("true", "false"):
        raise _invalid(f"Invalid value for header {name}: {raw[:32]}", name, raw)  # [?]
    return lowered == "true"


def _context(raw: str) -> dict[str, str]:
    message = (
        "The header 'x-amz-server-side-encryption-context' shall be Base64-encoded UTF-8 string holding JSON "
        "which represents a string-string map"
    )
    try:
        decoded = json.loads(base64.b64decode(raw, validate=True).decode("utf-8"))
    except (binascii.Error, ValueError, UnicodeDecodeError):
        raise _invalid(message, CONTEXT, raw) from None
    if not isinstance(decoded, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in decoded.items()):
        raise _invalid(message, CONTEXT, raw)
    return decoded


def parse_customer_key(headers: Mapping[str, str], *, source: bool = False) -> CustomerKey | None:
    """The three SSE-C headers (spec §1, §6), or None when none is present. ``source``:
    read the ``x-amz-copy-source-`` variants (CopyObject / UploadPartCopy source)."""

    def named(header: str) -> str:
        return COPY_SOURCE_PREFIX + header.removeprefix("x-amz-") if source else header

    algorithm = headers.get(named(CUSTOMER_ALGORITHM))
    key_b64 = headers.get(named(CUSTOMER_KEY))
    md5_b64 = headers.get(named(CUSTOMER_KEY_MD5))
    if algorithm is None and key_b64 is None and md5_b64 is None:
        return None
    if algorithm is None:
        raise _invalid(_CUSTOMER_PREFIX + "a valid encryption algorithm.", named(CUSTOMER_ALGORITHM))
    if algorithm != "AES256":
        raise errors.InvalidEncryptionAlgorithm(
            details={"ArgumentName": named(CUSTOMER_ALGORITHM), "ArgumentValue": algorithm[:64]}
        )
    if key_b64 is None:
        raise _invalid(_CUSTOMER_PREFIX + "an appropriate secret key.", named(CUSTOMER_KEY))
    if md5_b64 is None:
        raise _invalid(_CUSTOMER_PREFIX + "the client calculated MD5 of the secret key.", named(CUSTOMER_KEY_MD5))
    try:
        key = base64.b64decode(key_b64, validate=True)
    except binascii.Error:
        key = b""
    if len(key) != 32:
        raise _invalid("The secret key was invalid for the specified algorithm.", named(CUSTOMER_KEY))
    try:
        sent_md5 = base64.b64decode(md5_b64, validate=True)
    except binascii.Error:
        sent_md5 = b""
    if not hmac.compare_digest(hashlib.md5(key).digest(), sent_md5):  # noqa: S324 - S3's wire format
        raise _invalid(
            "The calculated MD5 hash of the key did not match the hash that was provided.", named(CUSTOMER_KEY_MD5)
        )
    return CustomerKey(key, md5_b64)


def parse_sse_request(headers: Mapping[str, str]) -> SseRequest:
    """The destination encryption a write asks for (spec §1)."""
    raw_mode = headers.get(SSE)
    customer = parse_customer_key(headers)
    kms_key_id = headers.get(KMS_KEY_ID)
    raw_context = headers.get(CONTEXT)
    bucket_key = _bool_header(headers, BUCKET_KEY)
    mode: SseMode | None = None
    if raw_mode is not None:
        if raw_mode == "aws:kms:dsse":
            # [?] DSSE-KMS is optional for Trent (spec §1): refused, never silently downgraded
            raise _invalid("DSSE-KMS (aws:kms:dsse) is not supported by this server.", SSE, raw_mode)
        if raw_mode not in (SseMode.SSE_S3.value, SseMode.SSE_KMS.value):
            raise _invalid("The encryption method specified is not supported", SSE, raw_mode)
        mode = SseMode(raw_mode)
    if customer is not None:
        if mode is not None:
            raise _invalid(
                "Server Side Encryption with Customer provided key is incompatible with the encryption method "
                "specified",  # [?]
                SSE, raw_mode,
            )
        mode = SseMode.SSE_C
    if mode is not SseMode.SSE_KMS:
        # spec §4: a KMS key id (or context) without aws:kms -> InvalidArgument [?]
        if kms_key_id is not None:
            raise _invalid(
                "Server Side Encryption with AWS KMS key id is only valid with x-amz-server-side-encryption: "
                "aws:kms",  # [?]
                KMS_KEY_ID, kms_key_id,
            )
        if raw_context is not None:
            raise _invalid(
                "Server Side Encryption with an encryption context is only valid with "
                "x-amz-server-side-encryption: aws:kms",  # [?]
                CONTEXT, raw_context,
            )
    if kms_key_id is not None and not kms_key_id.strip():
        raise _invalid("The KMS key id must not be empty", KMS_KEY_ID, kms_key_id)  # [?]
    context = _context(raw_context) if raw_context is not None else None
    return SseRequest(mode, kms_key_id, context, bucket_key, customer)


def encode_context(context: Mapping[str, str]) -> str:
    """The response's ``x-amz-server-side-encryption-context``: base64 of the JSON map."""
    return base64.b64encode(json.dumps(dict(context), separators=(",", ":")).encode("utf-8")).decode("ascii")


# spec §2 + the botocore model's output members: which operation echoes what.
_ECHOES_CONTEXT = frozenset({Operation.PUT_OBJECT, Operation.COPY_OBJECT, Operation.CREATE_MULTIPART_UPLOAD})
_NO_CUSTOMER_ECHO = frozenset({Operation.COMPLETE_MULTIPART_UPLOAD})


def sse_response_headers(sse: SseRecord, operation: Operation) -> dict[str, str]:
    """Response headers for an object (or upload) stored with ``sse``."""
    if sse.mode is SseMode.SSE_C:
        if operation in _NO_CUSTOMER_ECHO:
            return {}
        return {CUSTOMER_ALGORITHM: "AES256", "x-amz-server-side-encryption-customer-key-MD5": sse.customer_key_md5 or ""}
    out = {SSE: str(sse.mode)}
    if sse.mode is SseMode.SSE_KMS:
        assert sse.kms_key_arn is not None
        out[KMS_KEY_ID] = sse.kms_key_arn  # always the key ARN, whatever form was sent (spec §2)
        if sse.bucket_key:
            out[BUCKET_KEY] = "true"
        if sse.kms_context and operation in _ECHOES_CONTEXT:
            out[CONTEXT] = encode_context(sse.kms_context)
    return out
