"""Put/Get/DeleteBucketEncryption and Put/Get/DeleteBucketPolicy (s3-sse spec §7).

Default encryption: a bucket never configured (or after DeleteBucketEncryption) answers
GetBucketEncryption with SSE-S3 and ``BucketKeyEnabled: false`` (spec §3: every bucket
has SSE-S3 as its default since 2023).

Bucket policies are parsed by the one policy parser (a resource policy: every statement
names a Principal; users and roles named must exist), plus S3's own rules: every
Resource names this bucket or its objects, every action is an S3 action. The bucket
owner's root user may always get, put and delete the policy (no lockout).
"""

from __future__ import annotations

import json

from trent import errors
from trent.authz import parse_key_policy
from trent.authz.policy_document import PolicyDocument
from trent.domain.s3.names import bucket_arn
from trent.domain.s3.records import EncryptionConfig, SseMode
from trent.service import authorization as kms_authorization
from trent.service.context import RequestContext
from trent.service.s3 import authorization as authz
from trent.service.s3.buckets import require_bucket
from trent.service.s3.deps import S3Deps

MAX_POLICY_BYTES = 20 * 1024  # S3's bucket policy size limit


# --- encryption ----------------------------------------------------------------------


def put_bucket_encryption(deps: S3Deps, ctx: RequestContext, name: str, rules: list[EncryptionConfig]) -> None:
    """``rules``: ServerSideEncryptionConfiguration.Rules (S3 takes exactly one)."""
    bucket = require_bucket(deps, name)
    authz.authorize(deps, ctx, authz.PUT_ENCRYPTION_CONFIGURATION, bucket)
    if len(rules) != 1:
        raise errors.MalformedXML()
    rule = rules[0]
    if rule.kms_master_key_id is not None and rule.algorithm is not SseMode.SSE_KMS:
        raise errors.InvalidArgument(
            "a KMSMasterKeyID is not applicable if the default sse algorithm is not aws:kms or aws:kms:dsse",
            details={"ArgumentName": "ApplyServerSideEncryptionByDefault"},
        )
    if rule.algorithm is SseMode.SSE_C:
        raise errors.MalformedXML()
    if not deps.repo.set_bucket_encryption(name, rule):
        raise errors.NoSuchBucket(details={"BucketName": name})


def parse_sse_algorithm(value: str) -> SseMode:
    """ApplyServerSideEncryptionByDefault.SSEAlgorithm from the XML."""
    if value == "aws:kms:dsse":
        raise errors.InvalidArgument("DSSE-KMS (aws:kms:dsse) is not supported by this server.")  # [?]
    if value not in (SseMode.SSE_S3.value, SseMode.SSE_KMS.value):
        raise errors.MalformedXML()
    return SseMode(value)


def get_bucket_encryption(deps: S3Deps, ctx: RequestContext, name: str) -> EncryptionConfig:
    bucket = require_bucket(deps, name)
    authz.authorize(deps, ctx, authz.GET_ENCRYPTION_CONFIGURATION, bucket)
    return bucket.effective_encryption


def delete_bucket_encryption(deps: S3Deps, ctx: RequestContext, name: str) -> None:
    bucket = require_bucket(deps, name)
    authz.authorize(deps, ctx, authz.PUT_ENCRYPTION_CONFIGURATION, bucket)  # IAM: no Delete action
    deps.repo.set_bucket_encryption(name, None)


# --- policy --------------------------------------------------------------------------


def _malformed(message: str) -> errors.MalformedPolicy:
    return errors.MalformedPolicy(message)


def validate_bucket_policy(deps: S3Deps, text: str, bucket_name: str, partition: str) -> PolicyDocument:
    if len(text.encode("utf-8")) > MAX_POLICY_BYTES:
        raise _malformed("Policies must be less than 20 KB")  # [?]
    try:
        raw = json.loads(text)
    except ValueError:
        raise _malformed("Policies must be valid JSON and the first byte must be '{'") from None
    if not isinstance(raw, dict):
        raise _malformed("Policies must be valid JSON and the first byte must be '{'")
    statements = raw.get("Statement")
    for statement in statements if isinstance(statements, list) else [statements]:
        if isinstance(statement, dict) and "Principal" not in statement and "NotPrincipal" not in statement:
            raise _malformed("Missing required field Principal")
    exists = kms_authorization.principal_exists(deps.kms, partition)
    unknown: list[str] = []

    def known(arn: str) -> bool:
        if exists(arn):
            return True
        unknown.append(arn)
        return False

    try:
        policy = parse_key_policy(text, principal_exists=known, partition=partition)
    except errors.MalformedPolicyDocument as exc:
        if unknown:
            raise _malformed("Invalid principal in policy") from None
        raise _malformed(exc.message or "Invalid policy") from None
    except errors.LimitExceeded:
        raise _malformed("Policies must be less than 20 KB") from None  # [?]
    own = bucket_arn(partition, bucket_name)
    for statement in policy.statements:
        for action in statement.actions + statement.not_actions:
            if action != "*" and not action.lower().startswith("s3:"):
                raise _malformed("Policy has invalid action")
        for resource in statement.resources + statement.not_resources:
            if resource != own and not resource.startswith(own + "/") and resource != "*":
                raise _malformed("Policy has invalid resource")
    return policy


def put_bucket_policy(deps: S3Deps, ctx: RequestContext, name: str, text: str) -> None:
    bucket = require_bucket(deps, name)
    if not authz.is_owner_root(ctx, bucket):
        authz.authorize(deps, ctx, authz.PUT_BUCKET_POLICY, bucket)
    validate_bucket_policy(deps, text, name, ctx.partition)
    if not deps.repo.set_bucket_policy(name, text):
        raise errors.NoSuchBucket(details={"BucketName": name})


def get_bucket_policy(deps: S3Deps, ctx: RequestContext, name: str) -> str:
    bucket = require_bucket(deps, name)
    if not authz.is_owner_root(ctx, bucket):
        authz.authorize(deps, ctx, authz.GET_BUCKET_POLICY, bucket)
    if bucket.policy is None:
        raise errors.NoSuchBucketPolicy(details={"BucketName": name})
    return bucket.policy


def delete_bucket_policy(deps: S3Deps, ctx: RequestContext, name: str) -> None:
    bucket = require_bucket(deps, name)
    if not authz.is_owner_root(ctx, bucket):
        authz.authorize(deps, ctx, authz.DELETE_BUCKET_POLICY, bucket)
    deps.repo.set_bucket_policy(name, None)
