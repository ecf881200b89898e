"""Shared builders for the authz unit tests."""

from __future__ import annotations

import json

from trent.authz import (
    AuthzRequest,
    ConditionContext,
    RequestFacts,
    condition_context,
    parse_identity_policy,
    parse_key_policy,
)

ACCT = "111122223333"
OTHER = "444455556666"
ROOT = f"arn:aws:iam::{ACCT}:root"
OTHER_ROOT = f"arn:aws:iam::{OTHER}:root"
ALICE = f"arn:aws:iam::{ACCT}:user/alice"
BOB = f"arn:aws:iam::{ACCT}:user/bob"
CAROL = f"arn:aws:iam::{OTHER}:user/carol"
ROLE = f"arn:aws:iam::{ACCT}:role/app"
SESSION = f"arn:aws:sts::{ACCT}:assumed-role/app/s1"
KEY = f"arn:aws:kms:us-east-1:{ACCT}:key/1234abcd-12ab-34cd-56ef-1234567890ab"
KEY2 = f"arn:aws:kms:us-east-1:{ACCT}:key/0000abcd-12ab-34cd-56ef-1234567890ab"


def doc(*statements: dict, **top: object) -> str:
    return json.dumps({"Version": "2012-10-17", **top, "Statement": list(statements)})


def key_policy(*statements: dict):
    return parse_key_policy(doc(*statements))


def identity(*statements: dict, name: str = "inline"):
    return parse_identity_policy(doc(*statements), name=name)


def allow(principal: object = None, action: object = "kms:*", resource: object = "*", **extra: object) -> dict:
    s: dict = {"Effect": "Allow", "Action": action, "Resource": resource, **extra}
    if principal is not None:
        s["Principal"] = principal
    return s


def deny(principal: object = None, action: object = "kms:*", resource: object = "*", **extra: object) -> dict:
    s = allow(principal, action, resource, **extra)
    s["Effect"] = "Deny"
    return s


def request(
    principal: str = ALICE,
    action: str = "Encrypt",
    key: str | None = KEY,
    account: str | None = None,
    context: dict | None = None,
    **facts: object,
) -> AuthzRequest:
    if account is None:
        account = principal.split(":")[4]
    f = RequestFacts(principal_arn=principal, account_id=account, action=action, key_arn=key, **facts)  # type: ignore[arg-type]
    ctx = condition_context(f)
    if context:
        ctx = ConditionContext(facts=f, overrides=ConditionContext.of(context).overrides)
    return AuthzRequest(principal, account, action, key, ctx, f.encryption_context)
