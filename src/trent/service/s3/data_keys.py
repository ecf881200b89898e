"""One data key per object (or multipart upload), kept the way its SSE mode says
(s3-sse spec §3-6): :func:`new_data_key` for writes, :func:`open_data_key` for reads.

Which mode a write gets: the request's headers, else the bucket's default encryption
(spec §7: "request headers override the default per object"), else SSE-S3 (spec §3).
SSE-KMS without a key id uses the AWS managed key (``sse_kms.default_sse_kms_key``);
a Bucket Key is used when the request says so or, when it says nothing, when the
bucket's default enables it (spec §5; never for SSE-S3 or SSE-C).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from trent.crypto import aead
from trent.domain.frozen import fast_init
from trent.domain.s3.names import bucket_arn as make_bucket_arn
from trent.domain.s3.records import Bucket, SseMode, SseRecord
from trent.errors import KMSInternal
from trent.service.context import RequestContext
from trent.service.s3 import sse_c, sse_kms
from trent.service.s3.bucket_keys import derive_object_key
from trent.service.s3.deps import S3Deps
from trent.service.s3.owned_keys import open_sse_s3, seal_sse_s3
from trent.service.s3.sse_headers import CustomerKey, SseRequest

DATA_KEY_LEN = 32
_SALT_LEN = 16


@fast_init
@dataclass(frozen=True, slots=True)
class NewDataKey:
    sse: SseRecord
    data_key: bytes = field(repr=False)

    def __reduce__(self):  # habits §7
        raise TypeError("data keys cannot be pickled")


def new_data_key(
    deps: S3Deps, ctx: RequestContext, bucket: Bucket, object_arn: str, request: SseRequest
) -> NewDataKey:
    default = bucket.effective_encryption
    mode = request.mode or default.algorithm
    if mode is SseMode.SSE_C:
        assert request.customer_key is not None
        sse_c.require_secure(ctx, deps.settings.sse_c_requires_tls)
        data_key = deps.kms.keystore.random_bytes(DATA_KEY_LEN)
        record = sse_c.seal(request.customer_key, data_key, object_arn, deps.kms.public_rng(aead.NONCE_LEN + 16))
        return NewDataKey(record, data_key)
    if mode is SseMode.SSE_S3:
        data_key = deps.kms.keystore.random_bytes(DATA_KEY_LEN)
        owned_key_id, sealed = seal_sse_s3(deps, data_key, object_arn)
        return NewDataKey(SseRecord(SseMode.SSE_S3, sealed, owned_key_id=owned_key_id), data_key)
    # SSE-KMS
    if request.mode is SseMode.SSE_KMS:
        key_id = request.kms_key_id or sse_kms.default_sse_kms_key(deps, ctx)
    else:
        key_id = default.kms_master_key_id or sse_kms.default_sse_kms_key(deps, ctx)
    use_bucket_key = request.bucket_key_enabled if request.bucket_key_enabled is not None else (
        default.bucket_key_enabled and default.algorithm is SseMode.SSE_KMS
    )
    if use_bucket_key:
        the_bucket_arn = make_bucket_arn(ctx.partition, bucket.name)
        context = sse_kms.kms_context(the_bucket_arn, request.context)
        bucket_key = sse_kms.bucket_key_for_write(deps, ctx, bucket.name, the_bucket_arn, key_id, context)
        salt = deps.kms.public_rng(_SALT_LEN)
        record = SseRecord(SseMode.SSE_KMS, bucket_key.blob, kms_key_arn=bucket_key.key_arn,
                           kms_context=request.context, bucket_key=True, derivation_salt=salt)
        return NewDataKey(record, derive_object_key(bucket_key.plaintext, salt, object_arn))
    context = sse_kms.kms_context(object_arn, request.context)
    generated = sse_kms.generate_data_key(deps, ctx, key_id, context)
    record = SseRecord(SseMode.SSE_KMS, generated.blob, kms_key_arn=generated.key_arn, kms_context=request.context)
    return NewDataKey(record, generated.plaintext)


def open_data_key(
    deps: S3Deps, ctx: RequestContext, bucket_name: str, object_arn: str, sse: SseRecord, customer: CustomerKey | None
) -> bytes:
    """The data key of a stored object or upload, for this caller (KMS decides for SSE-KMS)."""
    sse_c.check_request(sse, customer)
    if sse.mode is SseMode.SSE_C:
        assert customer is not None
        sse_c.require_secure(ctx, deps.settings.sse_c_requires_tls)
        return sse_c.open_(sse, customer, object_arn)
    if sse.mode is SseMode.SSE_S3:
        if sse.owned_key_id is None:
            raise KMSInternal(audit_reason="SSE-S3 record without an owned key id")
        return open_sse_s3(deps, sse.owned_key_id, sse.key_blob, object_arn)
    assert sse.kms_key_arn is not None
    if sse.bucket_key:
        if sse.derivation_salt is None:
            raise KMSInternal(audit_reason="Bucket Key record without a salt")
        context = sse_kms.kms_context(make_bucket_arn(ctx.partition, bucket_name), sse.kms_context)
        bucket_key = sse_kms.bucket_key_for_read(deps, ctx, sse.kms_key_arn, sse.key_blob, context)
        return derive_object_key(bucket_key, sse.derivation_salt, object_arn)
    context = sse_kms.kms_context(object_arn, sse.kms_context)
    return sse_kms.decrypt(deps, ctx, sse.kms_key_arn, sse.key_blob, context)
