"""SSE-KMS (s3-sse spec §4): S3 calls the KMS use cases *as the caller*.

Nothing here goes around KMS: GenerateDataKey and Decrypt are ``service.encryption``'s
own functions, called with the caller's RequestContext marked ``via_service =
s3.<region>.amazonaws.com`` (``aws_managed_keys.via``), so the key policy, IAM policies,
grants, key state and usage checks are exactly KMS's, with ``kms:ViaService`` and
``kms:CallerAccount`` true to the request. Every call is reported to the audit hook
(``kms_calls.py``). KMS's errors propagate as they are (the S3 front maps them to
``KMS.<Type>`` / 403 AccessDenied, spec §4).

Encryption context: ``{"aws:s3:arn": <object ARN>}`` (with a Bucket Key: the bucket
ARN) plus the caller's ``x-amz-server-side-encryption-context`` pairs.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from trent import errors
from trent.authz import Allow
from trent.domain.frozen import fast_init
from trent.service import authorization, aws_managed_keys, encryption
from trent.service.context import RequestContext
from trent.service.s3.bucket_keys import BucketKey, BucketKeyCache
from trent.service.s3.deps import S3Deps
from trent.service.s3.kms_calls import KmsCall

ARN_CONTEXT_KEY = "aws:s3:arn"


def default_sse_kms_key(deps: S3Deps, ctx: RequestContext) -> str:
    """THE single call site for "the default SSE-KMS key" (spec §4: SSE-KMS without a key
    id uses the AWS managed key ``aws/s3``): the caller's account's ``alias/aws/s3`` key,
    created on first use by issue 19's ``aws_managed_keys.managed_key`` (its policy allows
    use only via S3 by principals of the account). Returns the key ARN."""
    return aws_managed_keys.managed_key(deps.kms, ctx, "s3").arn


def kms_context(arn: str, caller_context: Mapping[str, str] | None) -> dict[str, str]:
    """spec §4: the caller's pairs plus ``aws:s3:arn`` (S3 supplies it when absent)."""
    context = dict(caller_context or {})
    supplied = context.get(ARN_CONTEXT_KEY)
    if supplied is not None and supplied != arn:
        # [?] S3 requires a caller-supplied aws:s3:arn to name this resource
        raise errors.InvalidArgument(
            "The encryption context key aws:s3:arn must be the ARN of the object (or bucket, with a Bucket Key)",
            details={"ArgumentName": "x-amz-server-side-encryption-context"},
        )
    context[ARN_CONTEXT_KEY] = arn
    return context


@fast_init
@dataclass(frozen=True, slots=True)
class KmsDataKey:
    key_arn: str
    blob: bytes = field(repr=False)
    plaintext: bytes = field(repr=False)


def _report(deps: S3Deps, call: KmsCall) -> None:
    deps.kms_audit(call)


def generate_data_key(deps: S3Deps, ctx: RequestContext, key_id: str, context: Mapping[str, str]) -> KmsDataKey:
    via = aws_managed_keys.via(ctx, "s3")
    started = deps.kms.clock.now()
    try:
        data_key = encryption.generate_data_key(deps.kms, via, key_id, "AES_256", None, dict(context))
    except errors.TrentError as exc:
        _report(deps, KmsCall(via, "GenerateDataKey", key_id, None, dict(context), started, exc))
        raise
    arn = data_key.sealed.key.arn
    _report(deps, KmsCall(via, "GenerateDataKey", key_id, arn, dict(context), started))
    return KmsDataKey(arn, data_key.sealed.blob, data_key.plaintext)


def decrypt(deps: S3Deps, ctx: RequestContext, key_arn: str, blob: bytes, context: Mapping[str, str]) -> bytes:
    via = aws_managed_keys.via(ctx, "s3")
    started = deps.kms.clock.now()
    try:
        opened = encryption.decrypt(deps.kms, via, blob, key_arn, dict(context), None)
    except errors.AccessDenied as exc:
        denied = _decrypt_denial(deps, via, key_arn, context) or exc
        _report(deps, KmsCall(via, "Decrypt", None, key_arn, dict(context), started, denied, None))
        raise denied from None
    except errors.TrentError as exc:
        _report(deps, KmsCall(via, "Decrypt", None, key_arn, dict(context), started, exc, None))
        raise
    _report(deps, KmsCall(via, "Decrypt", None, opened.key.arn, dict(context), started, None, None))
    return opened.plaintext


def _decrypt_denial(
    deps: S3Deps, via: RequestContext, key_arn: str, context: Mapping[str, str]
) -> errors.AccessDenied | None:
    """spec §4: a caller without kms:Decrypt gets 403 AccessDenied naming the action and
    the key ARN (KMS's own Decrypt answer is deliberately vaguer). Worded by the one
    engine's decision; None when the denial was not the caller's permission."""
    key = deps.kms.storage.get_key(via.region, key_arn.rsplit("/", 1)[-1])
    if key is None:
        return None
    request, decision = authorization.decide(deps.kms, via, "Decrypt", key, encryption_context=dict(context))
    if isinstance(decision, Allow):
        return None
    return errors.AccessDenied(authorization.denial_message(via, "Decrypt", key.arn, request, decision))


def bucket_key_for_write(
    deps: S3Deps, ctx: RequestContext, bucket: str, bucket_arn: str, key_id: str, context: Mapping[str, str]
) -> BucketKey:
    """A bucket-level key for this caller, bucket, KMS key and context: cached, or one
    GenerateDataKey (spec §5)."""
    cache: BucketKeyCache = deps.bucket_keys
    now = deps.kms.clock.now()
    cache_key = cache.write_key(ctx.principal.arn, bucket, key_id, context)
    hit = cache.for_write(cache_key, now)
    if hit is not None:
        return hit
    generated = generate_data_key(deps, ctx, key_id, context)
    entry = BucketKey(generated.key_arn, generated.blob, generated.plaintext,
                      now + deps.settings.bucket_key_lifetime_seconds)
    cache.remember_write(cache_key, entry, ctx.principal.arn)
    return entry


def bucket_key_for_read(
    deps: S3Deps, ctx: RequestContext, key_arn: str, blob: bytes, context: Mapping[str, str]
) -> bytes:
    now = deps.kms.clock.now()
    hit = deps.bucket_keys.for_read(ctx.principal.arn, blob, now)
    if hit is not None:
        return hit.plaintext
    plaintext = decrypt(deps, ctx, key_arn, blob, context)
    deps.bucket_keys.remember_read(
        ctx.principal.arn, BucketKey(key_arn, blob, plaintext, now + deps.settings.bucket_key_lifetime_seconds)
    )
    return plaintext
