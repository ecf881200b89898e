"""SSE-C (s3-sse spec §6): the customer's key arrives with every request and is never
stored. Each object's data key is sealed under it (so the customer key itself decrypts
nothing directly), and a salted HMAC recognises the key on later requests::

    customer_key_hmac = salt (16) || HMAC-SHA256(key = salt, customer key)

compared in constant time. The errors of spec §6: no key for an SSE-C object, a key
for an object that is not SSE-C, another key (403), plain HTTP outside --dev.
"""

from __future__ import annotations

import hashlib
import hmac

from trent import errors
from trent.crypto import aead
from trent.domain.s3.records import SseMode, SseRecord
from trent.service.context import RequestContext
from trent.service.s3.owned_keys import open_data_key, seal_data_key
from trent.service.s3.sse_headers import CustomerKey

_LABEL = b"trent/s3/sse-c/data-key/v1\x00"
_SALT_LEN = 16

NEEDS_KEY = (
    "The object was stored using a form of Server Side Encryption. The correct parameters must be provided to "
    "retrieve the object."
)
NOT_APPLICABLE = "The encryption parameters are not applicable to this object."
NEEDS_TLS = "Requests specifying Server Side Encryption with Customer provided keys must be made over a secure connection."


def require_secure(ctx: RequestContext, required: bool) -> None:
    if required and not ctx.secure_transport:
        raise errors.InvalidRequest(NEEDS_TLS)


def key_hmac(customer: CustomerKey, salt: bytes) -> bytes:
    return salt + hmac.digest(salt, customer.key, hashlib.sha256)


def seal(customer: CustomerKey, data_key: bytes, object_arn: str, rng_bytes: bytes) -> SseRecord:
    """``rng_bytes``: 12 + 16 fresh random bytes (nonce, HMAC salt)."""
    nonce, salt = rng_bytes[: aead.NONCE_LEN], rng_bytes[aead.NONCE_LEN :]
    assert len(salt) == _SALT_LEN
    return SseRecord(
        SseMode.SSE_C,
        seal_data_key(customer.key, data_key, _LABEL, object_arn, nonce),
        customer_key_md5=customer.key_md5,
        customer_key_hmac=key_hmac(customer, salt),
    )


def check_request(sse: SseRecord, customer: CustomerKey | None) -> None:
    """GET/HEAD/UploadPart/copy source: the request's SSE-C headers against the object."""
    if sse.mode is not SseMode.SSE_C:
        if customer is not None:
            raise errors.InvalidRequest(NOT_APPLICABLE)
        return
    if customer is None:
        raise errors.InvalidRequest(NEEDS_KEY)
    stored = sse.customer_key_hmac or b""
    if not hmac.compare_digest(key_hmac(customer, stored[:_SALT_LEN]), stored):
        raise errors.AccessDenied("Access Denied", audit_reason="SSE-C key does not match the object's")


def open_(sse: SseRecord, customer: CustomerKey, object_arn: str) -> bytes:
    check_request(sse, customer)
    try:
        return open_data_key(customer.key, sse.key_blob, _LABEL, object_arn)
    except aead.AeadError:
        raise errors.AccessDenied("Access Denied", audit_reason="SSE-C data key does not open") from None
