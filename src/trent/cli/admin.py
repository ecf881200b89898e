"""`trent admin` IAM commands (issue 5): roles, inline identity policies, seed files.

    trent admin create-role ACCOUNT NAME --trust-policy FILE|JSON [--max-session-duration N]
    trent admin delete-role ROLE_ARN
    trent admin update-assume-role-policy ROLE_ARN --trust-policy FILE|JSON
    trent admin put-user-policy ACCOUNT USER NAME --document FILE|JSON
    trent admin put-role-policy ACCOUNT ROLE NAME --document FILE|JSON
    trent admin delete-user-policy ACCOUNT USER NAME
    trent admin delete-role-policy ACCOUNT ROLE NAME
    trent admin list-roles ACCOUNT
    trent admin list-policies PRINCIPAL_ARN
    trent admin seed FILE.json

They work on the data dir / database directly, like the other admin commands; a running
server sees the change within its cache TTL (1 s).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from trent.errors import ValidationError

COMMANDS = frozenset(
    {
        "create-role", "delete-role", "update-assume-role-policy", "put-user-policy", "put-role-policy",
        "delete-user-policy", "delete-role-policy", "list-roles", "list-policies", "seed",
    }
)


def document_argument(value: str) -> str:
    """FILE|JSON: inline JSON (starts with `{`), `file://PATH` (AWS CLI style) or a path."""
    text = value.strip()
    if text.startswith("{"):
        return value
    path = Path(value.removeprefix("file://"))
    try:
        return path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ValidationError(f"cannot read policy document {str(path)!r}: {exc.strerror}") from None


def register(admin_sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = admin_sub.add_parser("create-role", help="create an IAM role with a trust policy")
    p.add_argument("account_id")
    p.add_argument("role_name")
    p.add_argument("--trust-policy", required=True, metavar="FILE|JSON")
    p.add_argument("--max-session-duration", type=int, default=3600, help="seconds, 3600..43200 (default 3600)")
    p = admin_sub.add_parser("delete-role", help="delete a role with its policies and sessions")
    p.add_argument("role_arn")
    p = admin_sub.add_parser("update-assume-role-policy", help="replace a role's trust policy")
    p.add_argument("role_arn")
    p.add_argument("--trust-policy", required=True, metavar="FILE|JSON")
    for kind in ("user", "role"):
        p = admin_sub.add_parser(f"put-{kind}-policy", help=f"attach (or replace) an inline policy of a {kind}")
        p.add_argument("account_id")
        p.add_argument("entity_name", metavar=kind.upper())
        p.add_argument("policy_name")
        p.add_argument("--document", required=True, metavar="FILE|JSON")
        p = admin_sub.add_parser(f"delete-{kind}-policy", help=f"remove an inline policy of a {kind}")
        p.add_argument("account_id")
        p.add_argument("entity_name", metavar=kind.upper())
        p.add_argument("policy_name")
    p = admin_sub.add_parser("list-roles")
    p.add_argument("account_id")
    p = admin_sub.add_parser("list-policies", help="inline policies of a user or role ARN")
    p.add_argument("principal_arn")
    p = admin_sub.add_parser("seed", help="create accounts, users, keys, roles and policies from a JSON file (idempotent)")
    p.add_argument("seed_file", type=Path)


def _print(obj: dict[str, Any]) -> None:
    print(json.dumps(obj))


def run(deps: Any, args: argparse.Namespace) -> None:
    from trent.service import iam, seed

    command = args.admin_command
    if command == "create-role":
        role = iam.create_role(deps, args.account_id, args.role_name, document_argument(args.trust_policy),
                               args.max_session_duration)
        _print({"Arn": role.arn, "RoleId": role.role_id, "MaxSessionDuration": role.max_session_duration})
    elif command == "delete-role":
        iam.delete_role(deps, args.role_arn)
    elif command == "update-assume-role-policy":
        iam.update_assume_role_policy(deps, args.role_arn, document_argument(args.trust_policy))
    elif command == "put-user-policy":
        iam.put_user_policy(deps, args.account_id, args.entity_name, args.policy_name, document_argument(args.document))
    elif command == "put-role-policy":
        iam.put_role_policy(deps, args.account_id, args.entity_name, args.policy_name, document_argument(args.document))
    elif command == "delete-user-policy":
        iam.delete_user_policy(deps, args.account_id, args.entity_name, args.policy_name)
    elif command == "delete-role-policy":
        iam.delete_role_policy(deps, args.account_id, args.entity_name, args.policy_name)
    elif command == "list-roles":
        for role in iam.list_roles(deps, args.account_id):
            _print({"Arn": role.arn, "RoleName": role.name, "RoleId": role.role_id,
                    "MaxSessionDuration": role.max_session_duration,
                    "AssumeRolePolicyDocument": json.loads(role.trust_policy)})
    elif command == "list-policies":
        for policy in iam.list_policies(deps, args.principal_arn):
            _print({"PolicyName": policy.name, "PolicyDocument": json.loads(policy.document)})
    elif command == "seed":
        try:
            text = args.seed_file.read_text(encoding="utf-8")
        except OSError as exc:
            raise ValidationError(f"cannot read seed file {str(args.seed_file)!r}: {exc.strerror}") from None
        _print(seed.apply_file(deps, text).to_json())
