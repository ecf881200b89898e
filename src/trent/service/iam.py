"""IAM roles and inline identity policies (issue 5), managed with `trent admin` and seeds.

Trent has no IAM API on the wire: these are the rules of IAM's CreateRole,
UpdateAssumeRolePolicy, PutUserPolicy/PutRolePolicy and their deletes, applied by the
admin commands and the seed file. Names, sizes and messages follow the IAM API
reference and the IAM quotas page ("IAM and AWS STS quotas", IAM User Guide):

* role and user names: 1-64 characters of ``[\\w+=,.@-]`` (CreateRole ``RoleName``);
  role names are unique in an account *case-insensitively* ("Role names are not
  distinguished by case");
* ``MaxSessionDuration``: 3600..43200 seconds (CreateRole);
* inline policy names: 1-128 characters of ``[\\w+=,.@-]`` (PutRolePolicy ``PolicyName``);
* inline policies: the *aggregate* size of all inline policies of an entity may not
  exceed 2,048 characters for a user and 10,240 for a role, white space not counted
  (quotas page: "User policy size", "Role policy size"); IAM answers LimitExceeded
  "Maximum policy size of <n> bytes exceeded for user <name>";
* trust policies: ``authz.trust_policy`` (2,048 characters, Principal required, STS
  actions only, no Resource).

Deleting a role also deletes its inline policies, sessions and their access keys
(storage ``delete_role``); IAM would demand the policies be deleted first, which an
admin tool gains nothing from.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence

from trent.authz import parse_identity_policy
from trent.authz.trust_policy import parse_trust_policy, policy_size
from trent.domain.principals import (
    ACCOUNT_ID_RE,
    IAM_NAME_RE,
    IdentityPolicy,
    Principal,
    PrincipalKind,
    Role,
)
from trent.errors import (
    AlreadyExists,
    LimitExceeded,
    MalformedPolicyDocument,
    NotFound,
    ValidationError,
)
from trent.service.deps import ServiceDeps
from trent.service.locking import locked_account, locked_principal
from trent.storage.repositories import Duplicate

MIN_SESSION_DURATION = 3600  # CreateRole MaxSessionDuration bounds (IAM API reference)
MAX_SESSION_DURATION = 43200
POLICY_NAME_RE = re.compile(r"^[\w+=,.@-]{1,128}$", re.ASCII)
USER_INLINE_POLICIES_MAX_CHARS = 2048
ROLE_INLINE_POLICIES_MAX_CHARS = 10240
_ROLE_ARN_RE = re.compile(r"^arn:(aws|aws-cn|aws-us-gov):iam::([0-9]{12}):role/(?:[\x21-\x7e]*/)?([\w+=,.@-]{1,64})$",
                          re.ASCII)
_ID_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"

PolicyText = str | dict[str, object]


def policy_text(document: PolicyText) -> str:
    """A policy given as JSON text or as a parsed object (seed files) -> the text stored."""
    if isinstance(document, str):
        return document
    if isinstance(document, dict):
        return json.dumps(document)
    raise MalformedPolicyDocument("The policy document must be a JSON object.")


def parse_role_arn(arn: str) -> tuple[str, str, str]:
    """``arn:aws:iam::<acct>:role/[path/]<name>`` -> (partition, account id, role name)."""
    m = _ROLE_ARN_RE.match(arn)
    if m is None:
        raise ValidationError(f"{arn} is not a valid role ARN")
    return m[1], m[2], m[3]


def _random_id(deps: ServiceDeps, prefix: str, length: int) -> str:
    return prefix + "".join(_ID_ALPHABET[b % 32] for b in deps.rng(length))


def _check_account(deps: ServiceDeps, account_id: str) -> None:
    if not ACCOUNT_ID_RE.match(account_id):
        raise ValidationError(f"Account id {account_id!r} must be 12 digits")
    if deps.storage.get_account(account_id) is None:
        raise NotFound(f"Account {account_id} does not exist")


def _check_name(kind: str, name: str) -> None:
    if not IAM_NAME_RE.match(name):
        raise ValidationError(
            f"{kind} name {name!r} is not valid: 1-64 characters of letters, digits and +=,.@_-"
        )


def _check_duration(seconds: int) -> None:
    if isinstance(seconds, bool) or not isinstance(seconds, int) or not (
        MIN_SESSION_DURATION <= seconds <= MAX_SESSION_DURATION
    ):
        raise ValidationError(
            f"MaxSessionDuration {seconds!r} must be between {MIN_SESSION_DURATION} and {MAX_SESSION_DURATION} seconds"
        )


def _principal_exists(deps: ServiceDeps):
    """Trust-policy principals (IAM checks them when the policy is saved): any account
    root (other accounts may be outside this server), else a known user, role or session."""

    def exists(arn: str) -> bool:
        if arn.endswith(":root"):
            return True
        return deps.storage.get_principal(arn) is not None

    return exists


def validate_trust_policy(deps: ServiceDeps, text: str, partition: str = "aws") -> None:
    parse_trust_policy(text, principal_exists=_principal_exists(deps), partition=partition)


def get_role(deps: ServiceDeps, role_arn: str) -> Role:
    role = deps.storage.get_role(role_arn)
    if role is None:
        name = role_arn.rsplit("/", 1)[-1]
        raise NotFound(f"The role with name {name} cannot be found.")
    return role


def create_role(
    deps: ServiceDeps,
    account_id: str,
    name: str,
    trust_policy: PolicyText,
    max_session_duration: int = 3600,
    partition: str = "aws",
) -> Role:
    _check_account(deps, account_id)
    _check_name("Role", name)
    _check_duration(max_session_duration)
    text = policy_text(trust_policy)
    validate_trust_policy(deps, text, partition)
    role = Role(
        arn=Principal.role_arn(account_id, name, partition),
        account_id=account_id,
        name=name,
        role_id=_random_id(deps, "AROA", 17),
        trust_policy=text,
        max_session_duration=max_session_duration,
        created_at=deps.clock.now(),
    )
    # IAM names are unique regardless of case: checked under the account's row lock
    # (issue 20), so two racing CreateRole "App" / "app" cannot both succeed.
    with locked_account(deps, account_id):
        if any(r.name.lower() == name.lower() for r in deps.storage.list_roles(account_id)):
            raise AlreadyExists(f"Role with name {name} already exists.")
        try:
            deps.storage.create_role(role)
        except Duplicate:
            raise AlreadyExists(f"Role with name {name} already exists.") from None
    return role


def update_assume_role_policy(deps: ServiceDeps, role_arn: str, trust_policy: PolicyText) -> Role:
    role = get_role(deps, role_arn)
    partition = parse_role_arn(role_arn)[0]
    text = policy_text(trust_policy)
    validate_trust_policy(deps, text, partition)
    updated = Role(role.arn, role.account_id, role.name, role.role_id, text, role.max_session_duration, role.created_at)
    deps.storage.update_role(updated)
    return updated


def update_max_session_duration(deps: ServiceDeps, role_arn: str, seconds: int) -> Role:
    role = get_role(deps, role_arn)
    _check_duration(seconds)
    updated = Role(role.arn, role.account_id, role.name, role.role_id, role.trust_policy, seconds, role.created_at)
    deps.storage.update_role(updated)
    return updated


def delete_role(deps: ServiceDeps, role_arn: str) -> None:
    get_role(deps, role_arn)
    deps.storage.delete_role(role_arn)


def list_roles(deps: ServiceDeps, account_id: str) -> Sequence[Role]:
    _check_account(deps, account_id)
    return deps.storage.list_roles(account_id)


def list_policies(deps: ServiceDeps, principal_arn: str) -> Sequence[IdentityPolicy]:
    if deps.storage.get_principal(principal_arn) is None:
        raise NotFound(f"Principal {principal_arn} does not exist")
    return deps.storage.list_identity_policies(principal_arn)


def put_principal_policy(deps: ServiceDeps, principal_arn: str, policy_name: str, document: PolicyText) -> IdentityPolicy:
    """PutUserPolicy / PutRolePolicy for a principal that exists (insert or replace by name)."""
    principal = deps.storage.get_principal(principal_arn)
    if principal is None or principal.kind not in (PrincipalKind.IAM_USER, PrincipalKind.ROLE):
        raise NotFound(f"No user or role {principal_arn} to attach a policy to")
    if not POLICY_NAME_RE.match(policy_name):
        raise ValidationError(
            f"Policy name {policy_name!r} is not valid: 1-128 characters of letters, digits and +=,.@_-"
        )
    text = policy_text(document)
    partition = principal_arn.split(":", 2)[1]
    parse_identity_policy(text, name=policy_name, partition=partition)
    is_user = principal.kind is PrincipalKind.IAM_USER
    limit = USER_INLINE_POLICIES_MAX_CHARS if is_user else ROLE_INLINE_POLICIES_MAX_CHARS
    policy = IdentityPolicy(principal_arn, policy_name, text)
    # The aggregate size limit is summed under the principal's row lock (issue 20).
    with locked_principal(deps, principal_arn):
        others = sum(
            policy_size(p.document) for p in deps.storage.list_identity_policies(principal_arn) if p.name != policy_name
        )
        if others + policy_size(text) > limit:
            raise LimitExceeded(
                f"Maximum policy size of {limit} bytes exceeded for {'user' if is_user else 'role'} {principal.name}"
            )
        deps.storage.put_identity_policy(policy)
    return policy


def _user_arn(deps: ServiceDeps, account_id: str, user_name: str, partition: str) -> str:
    _check_account(deps, account_id)
    arn = Principal.user_arn(account_id, user_name, partition)
    found = deps.storage.get_principal(arn)
    if found is None or found.kind is not PrincipalKind.IAM_USER:
        raise NotFound(f"The user with name {user_name} cannot be found.")
    return arn


def _role_arn(deps: ServiceDeps, account_id: str, role_name: str, partition: str) -> str:
    _check_account(deps, account_id)
    return get_role(deps, Principal.role_arn(account_id, role_name, partition)).arn


def put_user_policy(
    deps: ServiceDeps, account_id: str, user_name: str, policy_name: str, document: PolicyText, partition: str = "aws"
) -> IdentityPolicy:
    return put_principal_policy(deps, _user_arn(deps, account_id, user_name, partition), policy_name, document)


def put_role_policy(
    deps: ServiceDeps, account_id: str, role_name: str, policy_name: str, document: PolicyText, partition: str = "aws"
) -> IdentityPolicy:
    return put_principal_policy(deps, _role_arn(deps, account_id, role_name, partition), policy_name, document)


def _delete_policy(deps: ServiceDeps, principal_arn: str, policy_name: str, kind: str) -> None:
    if not any(p.name == policy_name for p in deps.storage.list_identity_policies(principal_arn)):
        raise NotFound(f"The {kind} policy with name {policy_name} cannot be found.")
    deps.storage.delete_identity_policy(principal_arn, policy_name)


def delete_user_policy(deps: ServiceDeps, account_id: str, user_name: str, policy_name: str, partition: str = "aws") -> None:
    _delete_policy(deps, _user_arn(deps, account_id, user_name, partition), policy_name, "user")


def delete_role_policy(deps: ServiceDeps, account_id: str, role_name: str, policy_name: str, partition: str = "aws") -> None:
    _delete_policy(deps, _role_arn(deps, account_id, role_name, partition), policy_name, "role")
