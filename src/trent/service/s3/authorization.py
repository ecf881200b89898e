"""S3 requests decided by the ONE authorization engine (``trent.authz.evaluate``), with
S3's resources and condition keys (issue 17, s3-sse spec §7).

* Resources: ``arn:aws:s3:::<bucket>`` and ``arn:aws:s3:::<bucket>/<key>``; the
  resource's account is the bucket owner's (S3 ARNs name none).
* Policies: the bucket policy is the resource policy (same language and parser as key
  policies: every statement names a Principal), the caller's identity policies as for
  KMS (a role session's are its role's).
* IAM's standard logic, not KMS's: within the owner's account an identity-policy Allow
  suffices, and so does a bucket-policy Allow naming the caller; across accounts both
  sides must allow; an explicit Deny anywhere wins (``resource_policy_required=False``).
* Condition keys: ``s3:x-amz-server-side-encryption``,
  ``s3:x-amz-server-side-encryption-aws-kms-key-id``,
  ``s3:x-amz-server-side-encryption-customer-algorithm`` (present only when the request
  carries the header: a PUT relying on default encryption has none, spec §7), and the
  global ``aws:SecureTransport``, ``aws:SourceIp``, ``aws:PrincipalArn``, ... .
"""

from __future__ import annotations

from collections.abc import Mapping

from trent.authz import (
    Allow,
    AuthzRequest,
    Decision,
    RequestFacts,
    access_denied_message,
    condition_context,
    evaluate,
    parse_key_policy,
)
from trent.authz.policy_document import PolicyDocument
from trent.domain.principals import PrincipalKind
from trent.domain.s3.names import bucket_arn, object_arn
from trent.domain.s3.records import Bucket
from trent.errors import AccessDenied, KMSInternal, MalformedPolicyDocument
from trent.service import authorization as kms_authorization
from trent.service.context import RequestContext
from trent.service.s3.deps import S3Deps
from trent.service.s3.sse_headers import SseRequest

# S3 actions (IAM "Actions defined by Amazon S3") for the operations Trent serves.
CREATE_BUCKET = "CreateBucket"
DELETE_BUCKET = "DeleteBucket"
LIST_BUCKET = "ListBucket"  # ListObjects(V2), HeadBucket
LIST_ALL_MY_BUCKETS = "ListAllMyBuckets"
GET_BUCKET_LOCATION = "GetBucketLocation"
GET_OBJECT = "GetObject"  # GetObject, HeadObject, copy sources
PUT_OBJECT = "PutObject"  # PutObject, CopyObject destination, CreateMultipartUpload, UploadPart(Copy), Complete
DELETE_OBJECT = "DeleteObject"
ABORT_MULTIPART_UPLOAD = "AbortMultipartUpload"
LIST_MULTIPART_UPLOAD_PARTS = "ListMultipartUploadParts"
LIST_BUCKET_MULTIPART_UPLOADS = "ListBucketMultipartUploads"
GET_ENCRYPTION_CONFIGURATION = "GetEncryptionConfiguration"
PUT_ENCRYPTION_CONFIGURATION = "PutEncryptionConfiguration"  # also DeleteBucketEncryption
GET_BUCKET_POLICY = "GetBucketPolicy"
PUT_BUCKET_POLICY = "PutBucketPolicy"
DELETE_BUCKET_POLICY = "DeleteBucketPolicy"


def sse_condition_keys(request: SseRequest) -> dict[str, str]:
    """The S3 condition keys a write's SSE headers define (absent headers: absent keys)."""
    keys: dict[str, str] = {}
    if request.header_value is not None:
        keys["s3:x-amz-server-side-encryption"] = request.header_value
    if request.kms_key_id is not None:
        keys["s3:x-amz-server-side-encryption-aws-kms-key-id"] = request.kms_key_id
    if request.customer_key is not None:
        keys["s3:x-amz-server-side-encryption-customer-algorithm"] = "AES256"
    return keys


def bucket_policy(deps: S3Deps, bucket: Bucket, partition: str) -> PolicyDocument | None:
    text = bucket.policy
    if text is None:
        return None
    try:
        return deps.kms.authz.policy(
            ("s3-bucket", text), text, lambda: parse_key_policy(text, partition=partition)
        ).document
    except (MalformedPolicyDocument, ValueError):
        # validated when it was put; one that no longer parses must not change access
        raise KMSInternal(audit_reason=f"stored bucket policy of {bucket.name} does not parse") from None


def decide(
    deps: S3Deps,
    ctx: RequestContext,
    action: str,
    bucket: Bucket | None,
    key: str | None = None,
    conditions: Mapping[str, str] | None = None,
) -> tuple[AuthzRequest, Decision]:
    if bucket is None:
        resource = None
    elif key is None:
        resource = bucket_arn(ctx.partition, bucket.name)
    else:
        resource = object_arn(ctx.partition, bucket.name, key)
    identities = (
        kms_authorization.identity_documents(deps.kms, ctx.principal.arn)
        if ctx.principal.kind is not PrincipalKind.ROOT
        else []
    )
    facts = RequestFacts(
        principal_arn=ctx.principal.arn,
        account_id=ctx.account_id,
        action=action,
        key_arn=resource,
        now=ctx.now,
        source_ip=ctx.source_ip or None,
        secure_transport=ctx.secure_transport,
        extra=dict(conditions or {}),
    )
    request = AuthzRequest(
        ctx.principal.arn,
        ctx.account_id,
        action,
        resource,
        condition_context(facts),
        service="s3",
        resource_policy_required=False,
        resource_account=bucket.account_id if bucket is not None else None,
    )
    policy = bucket_policy(deps, bucket, ctx.partition) if bucket is not None else None
    return request, evaluate(request, policy, identities, ())


def authorize(
    deps: S3Deps,
    ctx: RequestContext,
    action: str,
    bucket: Bucket | None,
    key: str | None = None,
    conditions: Mapping[str, str] | None = None,
) -> None:
    """403 AccessDenied with S3's message (the resource ARN in quotes) unless allowed."""
    request, decision = decide(deps, ctx, action, bucket, key, conditions)
    if not isinstance(decision, Allow):
        raise AccessDenied(access_denied_message(request, decision))


def allowed(deps: S3Deps, ctx: RequestContext, action: str, bucket: Bucket, key: str | None = None) -> bool:
    return isinstance(decide(deps, ctx, action, bucket, key)[1], Allow)


def is_owner_root(ctx: RequestContext, bucket: Bucket) -> bool:
    """The bucket owner's root user (S3: may always Get/Put/DeleteBucketPolicy, so a
    policy can never lock its owner out)."""
    return ctx.principal.kind is PrincipalKind.ROOT and ctx.account_id == bucket.account_id
