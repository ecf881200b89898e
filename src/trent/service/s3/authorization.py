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

Hot path, as for KMS (``trent.service.authorization``): with no grants in S3, a decision
depends only on the caller, its account, the action, the resource ARN and its owner, the
policy texts and, when those policies have conditions, the request inputs a condition
can read (source IP, TLS, the request's S3 condition keys, and the time only if a policy
names it). It is cached under exactly that, so a repeated call skips building the
request and evaluating the statements; a changed policy is a new text and simply misses.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping

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
from trent.domain.principals import PrincipalKind
from trent.domain.s3.names import bucket_arn, object_arn
from trent.domain.s3.records import Bucket
from trent.errors import AccessDenied, KMSInternal, MalformedPolicyDocument
from trent.service import authorization as kms_authorization
from trent.service.authz_cache import TIME_CONDITION_KEYS, ParsedPolicy, needed_keys
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


def bucket_policy(deps: S3Deps, bucket: Bucket, partition: str) -> ParsedPolicy | None:
    """The bucket policy, parsed once per text (its text and condition keys key decisions)."""
    text = bucket.policy
    if text is None:
        return None
    try:
        return deps.authz.policy(("s3-bucket", text), text, lambda: parse_key_policy(text, partition=partition))
    except (MalformedPolicyDocument, ValueError):
        # validated when it was put; one that no longer parses must not change access
        raise KMSInternal(audit_reason=f"stored bucket policy of {bucket.name} does not parse") from None


def _resource(ctx: RequestContext, bucket: Bucket | None, key: str | None) -> str | None:
    if bucket is None:
        return None
    if key is None:
        return bucket_arn(ctx.partition, bucket.name)
    return object_arn(ctx.partition, bucket.name, key)


def _request(
    ctx: RequestContext, action: str, bucket: Bucket | None, resource: str | None, conditions: Mapping[str, str] | None
) -> AuthzRequest:
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
    return AuthzRequest(
        ctx.principal.arn,
        ctx.account_id,
        action,
        resource,
        condition_context(facts),
        service="s3",
        resource_policy_required=False,
        resource_account=bucket.account_id if bucket is not None else None,
    )


def _request_inputs(
    ctx: RequestContext, needed: frozenset[str], conditions: Mapping[str, str] | None
) -> tuple[Hashable, ...]:
    """Everything of this request a condition can read besides what the base cache key
    holds (``_request``'s facts): source IP, TLS, the S3 condition keys, and the time
    only when a policy names it (else the cache would miss every second)."""
    inputs: tuple[Hashable, ...] = (
        ctx.source_ip or None,
        ctx.secure_transport,
        tuple(sorted((conditions or {}).items())),
    )
    if any(k in TIME_CONDITION_KEYS for k in needed):
        inputs += (int(ctx.now),)
    return inputs


def decide(
    deps: S3Deps,
    ctx: RequestContext,
    action: str,
    bucket: Bucket | None,
    key: str | None = None,
    conditions: Mapping[str, str] | None = None,
) -> Decision:
    resource = _resource(ctx, bucket, key)
    policy = bucket_policy(deps, bucket, ctx.partition) if bucket is not None else None
    identities = (
        kms_authorization.identity_policies(deps.kms, ctx.principal.arn)
        if ctx.principal.kind is not PrincipalKind.ROOT
        else ()
    )
    needed = needed_keys(policy, identities)
    # S3's own table (S3Deps.authz): one entry per object ARN must not evict KMS's
    # decisions. The bucket's owner is in the key because bucket names are global: a
    # deleted bucket's name may be another account's next. Identity policies by name as
    # well as text: the name is in the decision's statement reference.
    base_key: tuple[Hashable, ...] = (
        ctx.principal.arn,
        ctx.account_id,
        action,
        resource,
        bucket.account_id if bucket is not None else None,
        policy.text if policy is not None else None,
        tuple((p.document.name, p.text) for p in identities),
    )
    cache_key = (*base_key, *_request_inputs(ctx, needed, conditions)) if needed else base_key
    cached = deps.authz.decision(cache_key)
    if cached is not None:
        return cached
    request = _request(ctx, action, bucket, resource, conditions)
    decision = evaluate(
        request, policy.document if policy is not None else None, [p.document for p in identities], ()
    )
    # Every verdict is cached, denials too: S3 has no grants, so unlike KMS nothing
    # outside the key can turn an implicit deny into an Allow.
    deps.authz.remember_decision(cache_key, decision)
    return decision


def authorize(
    deps: S3Deps,
    ctx: RequestContext,
    action: str,
    bucket: Bucket | None,
    key: str | None = None,
    conditions: Mapping[str, str] | None = None,
) -> None:
    """403 AccessDenied with S3's message (the resource ARN in quotes) unless allowed."""
    decision = decide(deps, ctx, action, bucket, key, conditions)
    if not isinstance(decision, Allow):
        # built only now: the message needs the request, the cached hot path does not
        request = _request(ctx, action, bucket, _resource(ctx, bucket, key), conditions)
        raise AccessDenied(access_denied_message(request, decision))


def allowed(deps: S3Deps, ctx: RequestContext, action: str, bucket: Bucket, key: str | None = None) -> bool:
    return isinstance(decide(deps, ctx, action, bucket, key), Allow)


def is_owner_root(ctx: RequestContext, bucket: Bucket) -> bool:
    """The bucket owner's root user (S3: may always Get/Put/DeleteBucketPolicy, so a
    policy can never lock its owner out)."""
    return ctx.principal.kind is PrincipalKind.ROOT and ctx.account_id == bucket.account_id
