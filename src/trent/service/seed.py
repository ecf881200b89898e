"""Seed files (issue 5): accounts, users, access keys, roles and inline policies from one
JSON document, applied idempotently (`trent admin seed FILE`, `trent serve --seed FILE`).

Format (every list and object optional except where noted; unknown members are errors,
so a typo never silently drops a permission)::

    {
      "accounts": [
        {
          "id": "111122223333",                      # required, 12 digits
          "name": "prod",                            # default: the id
          "users": [
            {
              "name": "alice",                       # required
              "access_keys": [{"id": "AKIA...", "secret": "..."}],   # fixed keys (tests)
              "policies": {"UseKeys": {"Version": "2012-10-17", "Statement": [...]}}
            }
          ],
          "roles": [
            {
              "name": "app",                         # required
              "trust_policy": {...},                 # required (object or JSON text)
              "max_session_duration": 3600,
              "policies": {"Decrypt": {...}}
            }
          ]
        }
      ]
    }

Applied in passes -- accounts, then users (+keys, policies), then roles (+policies) -- so
a trust policy may name a user of any account in the same file. Re-applying changes
nothing that matches: an existing account/user is kept, an existing access key must
belong to the same user (its secret is not compared: only its wrapped form is stored),
an existing role gets the file's trust policy and session duration, policies are
replaced by name. Policies not in the file are left alone.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from trent.domain.principals import Principal
from trent.errors import TrentError, ValidationError
from trent.service import iam, identity
from trent.service.deps import ServiceDeps

_ACCESS_KEY_ID_RE = re.compile(r"^\w{16,128}$", re.ASCII)  # sts model accessKeyIdType


class SeedError(ValidationError):
    """A seed document that cannot be applied; the message names the element."""


@dataclass
class SeedReport:
    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, list[str]]:
        return {"created": self.created, "updated": self.updated, "unchanged": self.unchanged}


def _obj(value: Any, where: str, allowed: frozenset[str], required: tuple[str, ...] = ()) -> Mapping[str, Any]:
    if not isinstance(value, dict):
        raise SeedError(f"{where}: expected an object")
    unknown = set(value) - allowed
    if unknown:
        raise SeedError(f"{where}: unknown member {min(unknown)!r} (allowed: {', '.join(sorted(allowed))})")
    for name in required:
        if name not in value:
            raise SeedError(f"{where}: {name!r} is required")
    return value


def _list(value: Any, where: str) -> list[Any]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise SeedError(f"{where}: expected a list")
    return value


def _str(value: Any, where: str) -> str:
    if not isinstance(value, str) or not value:
        raise SeedError(f"{where}: expected a non-empty string")
    return value


def _policies(value: Any, where: str) -> dict[str, str]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise SeedError(f"{where}: expected an object of policy name -> policy document")
    out = {}
    for name, document in value.items():
        if not isinstance(document, (dict, str)):
            raise SeedError(f"{where}.{name}: a policy document is a JSON object or JSON text")
        out[name] = iam.policy_text(document)
    return out


def _wrap(where: str, action: Any, *args: Any) -> Any:
    """Run a service call, its error re-raised as a SeedError naming the element."""
    try:
        return action(*args)
    except SeedError:
        raise
    except TrentError as exc:
        raise SeedError(f"{where}: {exc.message or type(exc).__name__}") from None


def load(text: str) -> Mapping[str, Any]:
    try:
        doc = json.loads(text)
    except ValueError as exc:
        raise SeedError(f"seed file is not valid JSON: {exc}") from None
    return _obj(doc, "seed", frozenset({"accounts"}))


def apply(deps: ServiceDeps, document: Mapping[str, Any], partition: str = "aws") -> SeedReport:
    """Apply a parsed seed document (see the module docstring). The whole document's
    shape is checked first, so a malformed file changes nothing; a semantic error (an
    invalid policy, a name IAM refuses) stops at that element, naming it, after the
    elements before it were applied -- fix the file and re-run (idempotent)."""
    report = SeedReport()
    accounts = []
    for i, raw in enumerate(_list(document.get("accounts"), "accounts")):
        where = f"accounts[{i}]"
        acct = _obj(raw, where, frozenset({"id", "name", "users", "roles"}), ("id",))
        users = []
        for j, u in enumerate(_list(acct.get("users"), f"{where}.users")):
            uw = f"{where}.users[{j}]"
            user = _obj(u, uw, frozenset({"name", "access_keys", "policies"}), ("name",))
            keys = []
            for k, key in enumerate(_list(user.get("access_keys"), f"{uw}.access_keys")):
                kw = f"{uw}.access_keys[{k}]"
                key = _obj(key, kw, frozenset({"id", "secret"}), ("id", "secret"))
                key_id = _str(key["id"], f"{kw}.id")
                if not _ACCESS_KEY_ID_RE.match(key_id):
                    raise SeedError(f"{kw}.id: 16-128 letters, digits or underscores")
                keys.append((key_id, _str(key["secret"], f"{kw}.secret")))
            users.append((uw, _str(user["name"], f"{uw}.name"), keys, _policies(user.get("policies"), f"{uw}.policies")))
        roles = []
        for j, r in enumerate(_list(acct.get("roles"), f"{where}.roles")):
            rw = f"{where}.roles[{j}]"
            role = _obj(r, rw, frozenset({"name", "trust_policy", "max_session_duration", "policies"}),
                        ("name", "trust_policy"))
            trust = role["trust_policy"]
            if not isinstance(trust, (dict, str)):
                raise SeedError(f"{rw}.trust_policy: a JSON object or JSON text")
            duration = role.get("max_session_duration", 3600)
            if isinstance(duration, bool) or not isinstance(duration, int):
                raise SeedError(f"{rw}.max_session_duration: an integer number of seconds")
            roles.append((rw, _str(role["name"], f"{rw}.name"), iam.policy_text(trust), duration,
                          _policies(role.get("policies"), f"{rw}.policies")))
        account_id = _str(acct["id"], f"{where}.id")
        name = acct.get("name", account_id)
        accounts.append((where, account_id, _str(name, f"{where}.name"), users, roles))

    now = deps.clock.now()
    for where, account_id, name, _users, _roles in accounts:
        if deps.storage.get_account(account_id) is None:
            _wrap(where, identity.create_account, deps, account_id, name, now)
            report.created.append(Principal.root_arn(account_id, partition))
        else:
            report.unchanged.append(Principal.root_arn(account_id, partition))
    for _where, account_id, _name, users, _roles in accounts:
        for uw, user_name, keys, policies in users:
            arn = Principal.user_arn(account_id, user_name, partition)
            if deps.storage.get_principal(arn) is None:
                _wrap(uw, identity.create_user, deps, account_id, user_name, partition)
                report.created.append(arn)
            else:
                report.unchanged.append(arn)
            for key_id, secret in keys:
                existing = deps.storage.get_access_key(key_id)
                if existing is None:
                    _wrap(uw, partial(identity.create_access_key, deps, arn, now, access_key_id=key_id, secret=secret))
                    report.created.append(f"access key {key_id}")
                elif existing.principal_arn != arn:
                    raise SeedError(f"{uw}: access key {key_id} already belongs to {existing.principal_arn}")
                else:
                    report.unchanged.append(f"access key {key_id}")
            for policy_name, text in policies.items():
                _put_policy(deps, report, uw, arn, policy_name, text)
    for _where, account_id, _name, _users, roles in accounts:
        for rw, role_name, trust, duration, policies in roles:
            arn = Principal.role_arn(account_id, role_name, partition)
            existing_role = deps.storage.get_role(arn)
            if existing_role is None:
                _wrap(rw, iam.create_role, deps, account_id, role_name, trust, duration, partition)
                report.created.append(arn)
            elif existing_role.trust_policy != trust or existing_role.max_session_duration != duration:
                if existing_role.trust_policy != trust:
                    _wrap(rw, iam.update_assume_role_policy, deps, arn, trust)
                if existing_role.max_session_duration != duration:
                    _wrap(rw, iam.update_max_session_duration, deps, arn, duration)
                report.updated.append(arn)
            else:
                report.unchanged.append(arn)
            for policy_name, text in policies.items():
                _put_policy(deps, report, rw, arn, policy_name, text)
    return report


def _put_policy(deps: ServiceDeps, report: SeedReport, where: str, arn: str, name: str, text: str) -> None:
    label = f"{arn} policy {name}"
    current = {p.name: p.document for p in deps.storage.list_identity_policies(arn)}
    if current.get(name) == text:
        report.unchanged.append(label)
        return
    _wrap(f"{where}.policies.{name}", iam.put_principal_policy, deps, arn, name, text)
    (report.updated if name in current else report.created).append(label)


def apply_file(deps: ServiceDeps, text: str, partition: str = "aws") -> SeedReport:
    return apply(deps, load(text), partition)
