"""The world of the authorization matrix (tests/wire/test_authz_matrix.py, issue 5).

One dedicated `trent serve --dev --seed FILE` with two accounts:

* 111111111111 "owner": ``admin`` (identity policy kms:* on *), ``app`` (a narrow identity
  policy naming specific key ARNs, put once the keys exist), ``nopolicy`` and ``grantee``
  (no identity policy at all); roles ``partner-access`` (trusts partner/user; its identity
  policy allows Encrypt/Decrypt/DescribeKey on *) and ``locked`` (trusts owner/admin only).
* 222222222222 "partner": ``user`` (identity policy: Encrypt/Decrypt on owner keys,
  sts:AssumeRole on owner roles) and ``nopolicy``.

Keys are created by owner/admin with the key policies in ``KEYS``; ciphertexts, aliases,
tags and grants the rows need are made by owner/admin too. Row parameters refer to them
through the placeholders ``K`` (a key by ARN, id, alias or alias ARN), ``Blob`` (a
ciphertext made by admin under a key) and ``Token`` (a grant token).
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from botocore.exceptions import ClientError

from tests.fixtures.trent_server import TrentServer

REGION = "us-east-1"
ACCT_O = "111111111111"  # owner account
P = "222222222222"  # partner account
ROOT_O = f"arn:aws:iam::{ACCT_O}:root"
ROOT_P = f"arn:aws:iam::{P}:root"
ADMIN = f"arn:aws:iam::{ACCT_O}:user/admin"
APP = f"arn:aws:iam::{ACCT_O}:user/app"
NOPOL = f"arn:aws:iam::{ACCT_O}:user/nopolicy"
GRANTEE = f"arn:aws:iam::{ACCT_O}:user/grantee"
PUSER = f"arn:aws:iam::{P}:user/user"
PNOPOL = f"arn:aws:iam::{P}:user/nopolicy"
ROLE = f"arn:aws:iam::{ACCT_O}:role/partner-access"
LOCKED_ROLE = f"arn:aws:iam::{ACCT_O}:role/locked"
SESSION_NAME = "authz-matrix"
SESSION = f"arn:aws:sts::{ACCT_O}:assumed-role/partner-access/{SESSION_NAME}"

# who -> (principal ARN, access key id, secret); "session" is assumed at fixture time.
USERS: dict[str, tuple[str, str, str]] = {
    "admin": (ADMIN, "AKIAAUTHZOADMIN00001", "owner-admin-secret"),
    "app": (APP, "AKIAAUTHZOAPP0000001", "owner-app-secret"),
    "nopolicy": (NOPOL, "AKIAAUTHZONOPOL00001", "owner-nopolicy-secret"),
    "grantee": (GRANTEE, "AKIAAUTHZOGRANTEE001", "owner-grantee-secret"),
    "partner": (PUSER, "AKIAAUTHZPUSER000001", "partner-user-secret"),
    "partner-nopolicy": (PNOPOL, "AKIAAUTHZPNOPOL00001", "partner-nopolicy-secret"),
}
WHO_ARN = {who: arn for who, (arn, _, _) in USERS.items()} | {"session": SESSION}

PLAINTEXT = b"authz matrix plaintext"


def doc(*statements: Mapping[str, Any]) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": list(statements)}


def allow(principal: str, action: str | list[str], **extra: Any) -> dict[str, Any]:
    return {"Effect": "Allow", "Principal": {"AWS": principal}, "Action": action, "Resource": "*", **extra}


def deny(principal: str, action: str | list[str], **extra: Any) -> dict[str, Any]:
    return {"Effect": "Deny", "Principal": {"AWS": principal}, "Action": action, "Resource": "*", **extra}


def key_arn_pattern(account: str) -> str:
    return f"arn:aws:kms:*:{account}:key/*"


def alias_arn(name: str) -> str:
    return f"arn:aws:kms:{REGION}:{ACCT_O}:{name}"


# The owner account's delegation to IAM (what the default policy says, spec §7.1).
ENABLE_IAM = allow(ROOT_O, "kms:*")


def only_if(action: str | list[str], condition: Mapping[str, Any], principal: str = NOPOL) -> dict[str, Any]:
    """A key policy: IAM delegation for the owner account, plus ``principal`` (no identity
    policy) allowed ``action`` only under ``condition``. With no IAM allow of their own, a
    nopolicy caller gets in exactly when the condition holds (else: identity-based message,
    since the policy does delegate)."""
    return doc(ENABLE_IAM, allow(principal, action, Condition=dict(condition)))


@dataclass(frozen=True)
class KeyDef:
    policy: dict[str, Any] | None = None  # None: the default key policy
    key_spec: str = "SYMMETRIC_DEFAULT"
    key_usage: str = "ENCRYPT_DECRYPT"
    aliases: tuple[str, ...] = ()
    tags: Mapping[str, str] = field(default_factory=dict)


KEYS: dict[str, KeyDef] = {
    "default": KeyDef(aliases=("alias/authz-default",)),
    "other-default": KeyDef(),
    # named directly, no IAM needed
    "direct": KeyDef(doc(ENABLE_IAM, allow(NOPOL, ["kms:Encrypt", "kms:Decrypt"]))),
    # no delegation to IAM: app's identity allow is ineffective here
    "nodelegate": KeyDef(doc(allow(ADMIN, "kms:*"), allow(NOPOL, "kms:Encrypt"))),
    # app allowed everything directly, but Encrypt denied (and GenerateDataKey by its IAM policy)
    "deny": KeyDef(doc(ENABLE_IAM, allow(APP, "kms:*"), deny(APP, "kms:Encrypt"))),
    "wild": KeyDef(doc(ENABLE_IAM, allow(NOPOL, ["kms:Re*", "kms:Get*", "kms:Encrypt"]))),
    "star": KeyDef(doc(ENABLE_IAM, allow(NOPOL, "kms:*"))),
    "re-from": KeyDef(doc(ENABLE_IAM, allow(NOPOL, "kms:ReEncryptFrom"))),
    "re-to": KeyDef(doc(ENABLE_IAM, allow(NOPOL, "kms:ReEncryptTo"))),
    "ec-equals": KeyDef(only_if(["kms:Encrypt", "kms:Decrypt"], {"StringEquals": {"kms:EncryptionContext:dept": "hr"}})),
    "ec-like": KeyDef(only_if("kms:Encrypt", {"StringLike": {"kms:EncryptionContext:project": "alpha-*"}})),
    "ec-keys-all": KeyDef(only_if("kms:Encrypt", {"ForAllValues:StringEquals": {"kms:EncryptionContextKeys": ["dept", "project"]}})),
    "ec-keys-any": KeyDef(only_if("kms:Encrypt", {"ForAnyValue:StringEquals": {"kms:EncryptionContextKeys": ["tenant"]}})),
    "caller-account": KeyDef(doc(ENABLE_IAM, {
        "Effect": "Allow", "Principal": {"AWS": "*"}, "Action": ["kms:Encrypt", "kms:Decrypt"], "Resource": "*",
        "Condition": {"StringEquals": {"kms:CallerAccount": P}}})),
    "request-alias": KeyDef(only_if("kms:Encrypt", {"StringEquals": {"kms:RequestAlias": "alias/authz-finance"}}),
                            aliases=("alias/authz-finance",)),
    "resource-aliases": KeyDef(only_if("kms:Encrypt", {"ForAnyValue:StringLike": {"kms:ResourceAliases": "alias/authz-team-*"}}),
                               aliases=("alias/authz-team-blue",)),
    "resource-aliases-other": KeyDef(only_if("kms:Encrypt", {"ForAnyValue:StringLike": {"kms:ResourceAliases": "alias/authz-team-*"}}),
                                     aliases=("alias/authz-misc",)),
    "tag-prod": KeyDef(only_if("kms:Encrypt", {"StringEquals": {"aws:ResourceTag/env": "prod"}}), tags={"env": "prod"}),
    "tag-dev": KeyDef(only_if("kms:Encrypt", {"StringEquals": {"aws:ResourceTag/env": "prod"}}), tags={"env": "dev"}),
    "request-tags": KeyDef(only_if("kms:TagResource", {"StringEquals": {"aws:RequestTag/team": "blue"},
                                                       "ForAllValues:StringEquals": {"aws:TagKeys": ["team"]}})),
    "alg": KeyDef(only_if("kms:Encrypt", {"StringEquals": {"kms:EncryptionAlgorithm": "SYMMETRIC_DEFAULT"}})),
    "rsa-alg": KeyDef(only_if("kms:Encrypt", {"StringEquals": {"kms:EncryptionAlgorithm": "RSAES_OAEP_SHA_256"}}),
                      key_spec="RSA_2048"),
    "sign-alg": KeyDef(only_if("kms:Sign", {"StringEquals": {"kms:SigningAlgorithm": "RSASSA_PSS_SHA_256"}}),
                       key_spec="RSA_2048", key_usage="SIGN_VERIFY"),
    "via-equals": KeyDef(only_if("kms:Encrypt", {"StringEquals": {"kms:ViaService": "s3.us-east-1.amazonaws.com"}})),
    "via-ifexists": KeyDef(only_if("kms:Encrypt", {"StringEqualsIfExists": {"kms:ViaService": "s3.us-east-1.amazonaws.com"}})),
    "ip-in": KeyDef(only_if("kms:Encrypt", {"IpAddress": {"aws:SourceIp": "127.0.0.0/8"}})),
    "ip-out": KeyDef(only_if("kms:Encrypt", {"IpAddress": {"aws:SourceIp": "10.0.0.0/8"}})),
    "not-ip-out": KeyDef(only_if("kms:Encrypt", {"NotIpAddress": {"aws:SourceIp": "10.0.0.0/8"}})),
    "principal-arn": KeyDef(doc(ENABLE_IAM, {
        "Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "kms:Encrypt", "Resource": "*",
        "Condition": {"ArnEquals": {"aws:PrincipalArn": ROLE}}})),
    "time-window": KeyDef(only_if("kms:Encrypt", {"DateGreaterThan": {"aws:CurrentTime": "2020-01-01T00:00:00Z"},
                                                  "DateLessThan": {"aws:CurrentTime": "2100-01-01T00:00:00Z"}})),
    "time-past": KeyDef(only_if("kms:Encrypt", {"DateLessThan": {"aws:CurrentTime": "2020-01-01T00:00:00Z"}})),
    "null": KeyDef(only_if("kms:Encrypt", {"Null": {"kms:EncryptionContext:dept": "false"}})),
    "insecure-deny": KeyDef(doc(ENABLE_IAM, {
        "Effect": "Deny", "Principal": {"AWS": "*"}, "Action": "kms:Encrypt", "Resource": "*",
        "Condition": {"Bool": {"aws:SecureTransport": "false"}}})),
    "secure-only": KeyDef(only_if("kms:Encrypt", {"Bool": {"aws:SecureTransport": "true"}})),
    "shared": KeyDef(doc(ENABLE_IAM, allow(ROOT_P, ["kms:Encrypt", "kms:Decrypt", "kms:DescribeKey"]))),
    # a role named directly covers its sessions (no identity policy needed for this action)
    "role-direct": KeyDef(doc(ENABLE_IAM, allow(ROLE, "kms:GenerateDataKey"))),
    "not-action": KeyDef(doc(ENABLE_IAM, allow(NOPOL, "kms:*"),
                             {"Effect": "Deny", "Principal": {"AWS": NOPOL}, "NotAction": ["kms:Encrypt", "kms:Describe*"],
                              "Resource": "*"})),
    # IAM action names are case-insensitive
    "action-case": KeyDef(doc(ENABLE_IAM, allow(NOPOL, "KMS:encrypt"))),
    # an account named by its bare id is its root principal
    "account-id": KeyDef(doc(allow(ADMIN, "kms:*"), allow(ACCT_O, "kms:Encrypt"))),
    "ec-list": KeyDef(only_if("kms:Encrypt", {"StringEquals": {"kms:EncryptionContext:dept": ["hr", "it"]}})),
    "time-epoch": KeyDef(only_if("kms:Encrypt", {"DateLessThan": {"aws:CurrentTime": "4102444800"}})),
    "same-key": KeyDef(only_if(["kms:ReEncryptFrom", "kms:ReEncryptTo"], {"Bool": {"kms:ReEncryptOnSameKey": "true"}})),
    "grant-ops": KeyDef(only_if("kms:CreateGrant", {"ForAllValues:StringEquals": {"kms:GrantOperations": ["Encrypt", "Decrypt"]}})),
    "mutable": KeyDef(only_if("kms:Encrypt", {"StringEquals": {"aws:ResourceTag/stage": "live"}})),
    "mutable-alias": KeyDef(only_if("kms:Encrypt", {"ForAnyValue:StringEquals": {"kms:ResourceAliases": "alias/authz-live"}})),
    "session-direct": KeyDef(doc(ENABLE_IAM, allow(SESSION, "kms:GenerateDataKeyWithoutPlaintext"))),
    "deny-role": KeyDef(doc(ENABLE_IAM, deny(ROLE, "kms:Encrypt"))),
    "mac-alg": KeyDef(only_if("kms:GenerateMac", {"StringEquals": {"kms:MacAlgorithm": "HMAC_SHA_256"}}),
                      key_spec="HMAC_256", key_usage="GENERATE_VERIFY_MAC"),
    "mac-alg-other": KeyDef(only_if("kms:GenerateMac", {"StringEquals": {"kms:MacAlgorithm": "HMAC_SHA_512"}}),
                            key_spec="HMAC_256", key_usage="GENERATE_VERIFY_MAC"),
    "msg-type": KeyDef(only_if("kms:Sign", {"StringEquals": {"kms:MessageType": "DIGEST"}}),
                       key_spec="ECC_NIST_P256", key_usage="SIGN_VERIFY"),
    "key-attrs": KeyDef(only_if("kms:Encrypt", {"StringEquals": {"kms:KeySpec": "SYMMETRIC_DEFAULT",
                                                                 "kms:KeyUsage": "ENCRYPT_DECRYPT",
                                                                 "kms:KeyOrigin": "AWS_KMS"}})),
    "key-usage-wrong": KeyDef(only_if("kms:Encrypt", {"StringEquals": {"kms:KeyUsage": "SIGN_VERIFY"}})),
    # spec §7.4: kms:EncryptionAlgorithm applies to the data key (pair) operations too;
    # they encrypt under the key's SYMMETRIC_DEFAULT.
    "alg-data-keys": KeyDef(only_if(["kms:GenerateDataKeyPair", "kms:GenerateDataKeyWithoutPlaintext"],
                                    {"StringEquals": {"kms:EncryptionAlgorithm": "SYMMETRIC_DEFAULT"}})),
    "grant": KeyDef(),
    "grant-token": KeyDef(),
    "lock": KeyDef(),
}

# Ciphertexts made by admin (name -> key, encryption context).
BLOBS: dict[str, tuple[str, dict[str, str] | None]] = {
    "default": ("default", None),
    "direct": ("direct", None),
    "wild": ("wild", None),
    "re-from": ("re-from", None),
    "re-to": ("re-to", None),
    "ec-equals-hr": ("ec-equals", {"dept": "hr"}),
    "shared": ("shared", None),
    "deny": ("deny", None),
    "grant": ("grant", {"purpose": "test"}),
    "same-key": ("same-key", None),
    "default-app-x": ("default", {"app": "x"}),
    "default-app-y": ("default", {"app": "y"}),
}

# Grants made by admin for the grantee (who has no identity policy; keys have the default
# policy) -- or for ``grantee`` when named (a cross-account grantee).
GRANTS: dict[str, dict[str, Any]] = {
    "cross": {"key": "default", "Operations": ["Decrypt"], "grantee": PNOPOL,
              "Constraints": {"EncryptionContextEquals": {"app": "x"}}},
    "subset": {"key": "grant", "Operations": ["Encrypt", "Decrypt"],
               "Constraints": {"EncryptionContextSubset": {"purpose": "test"}}},
    "token": {"key": "grant-token", "Operations": ["Encrypt"]},
    "revoked": {"key": "grant-token", "Operations": ["GenerateDataKey"], "revoke": True},
}


def seed_document() -> dict[str, Any]:
    def user(who: str, policies: dict[str, Any] | None = None) -> dict[str, Any]:
        arn, key_id, secret = USERS[who]
        out: dict[str, Any] = {"name": arn.rsplit("/", 1)[1], "access_keys": [{"id": key_id, "secret": secret}]}
        if policies:
            out["policies"] = policies
        return out

    kms_admin = doc({"Effect": "Allow", "Action": "kms:*", "Resource": "*"})
    partner = doc(
        {"Effect": "Allow", "Action": ["kms:Encrypt", "kms:Decrypt"], "Resource": key_arn_pattern(ACCT_O)},
        {"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": f"arn:aws:iam::{ACCT_O}:role/*"},
    )
    role_use = doc({"Effect": "Allow", "Action": ["kms:Encrypt", "kms:Decrypt", "kms:DescribeKey"], "Resource": "*"})
    return {"accounts": [
        {"id": ACCT_O, "name": "owner",
         "users": [user("admin", {"KmsAdmin": kms_admin}), user("app"), user("nopolicy"), user("grantee")],
         "roles": [
             {"name": "partner-access", "policies": {"UseKeys": role_use},
              "trust_policy": doc({"Effect": "Allow", "Principal": {"AWS": PUSER}, "Action": "sts:AssumeRole"})},
             {"name": "locked", "policies": {"UseKeys": role_use},
              "trust_policy": doc({"Effect": "Allow", "Principal": {"AWS": ADMIN}, "Action": "sts:AssumeRole"})},
         ]},
        {"id": P, "name": "partner", "users": [user("partner", {"OwnerKeys": partner}), user("partner-nopolicy")]},
    ]}


def app_policy(arn: Mapping[str, str]) -> dict[str, Any]:
    """owner/app's narrow identity policy, on specific key ARNs (put after the keys exist)."""
    return doc(
        {"Effect": "Allow", "Action": ["kms:Encrypt", "kms:Decrypt", "kms:DescribeKey"],
         "Resource": [arn["default"], arn["nodelegate"], arn["deny"]]},
        # IAM Resource naming an alias ARN does not cover the key (spec §7.3).
        {"Effect": "Allow", "Action": "kms:GetKeyRotationStatus", "Resource": alias_arn("alias/authz-default")},
        # alias operations: permission on the alias (IAM) and on the key (spec §7.3)
        {"Effect": "Allow", "Action": "kms:CreateAlias",
         "Resource": [alias_arn("alias/authz-app-*"), arn["default"]]},
        {"Effect": "Allow", "Action": "kms:GenerateRandom", "Resource": "*"},
        # identity-policy conditions: CreateKey only for HMAC_256 keys (kms:KeySpec, spec §7.4)
        {"Effect": "Allow", "Action": "kms:CreateKey", "Resource": "*",
         "Condition": {"StringEquals": {"kms:KeySpec": "HMAC_256"}}},
        {"Effect": "Deny", "Action": "kms:GenerateDataKey", "Resource": arn["deny"]},
    )


@dataclass(frozen=True)
class K:
    """A key reference in row parameters: ``form`` is arn | id | alias | alias-arn."""

    name: str
    form: str = "arn"
    alias: str | None = None


@dataclass(frozen=True)
class Blob:
    name: str


@dataclass(frozen=True)
class Token:
    grant: str


@dataclass(frozen=True)
class AliasArn:
    name: str


@dataclass
class World:
    server: TrentServer
    clients: dict[str, Any]
    keys: dict[str, dict[str, Any]]  # name -> KeyMetadata
    blobs: dict[str, bytes]
    tokens: dict[str, str]
    policies: dict[str, str]  # key name -> policy text as created

    def arn(self, name: str) -> str:
        return self.keys[name]["Arn"]

    def resolve(self, value: Any) -> Any:
        if isinstance(value, K):
            if value.form == "arn":
                return self.arn(value.name)
            if value.form == "id":
                return self.keys[value.name]["KeyId"]
            if value.form == "alias":
                return value.alias
            return alias_arn(value.alias or "")
        if isinstance(value, Blob):
            return self.blobs[value.name]
        if isinstance(value, Token):
            return self.tokens[value.grant]
        if isinstance(value, AliasArn):
            return alias_arn(value.name)
        if isinstance(value, Mapping):
            return {k: self.resolve(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self.resolve(v) for v in value]
        return value


def client_for(server: TrentServer, key_id: str, secret: str, token: str | None = None, service: str = "kms") -> Any:
    return server.client(service, aws_access_key_id=key_id, aws_secret_access_key=secret, aws_session_token=token)


def _admin_cli(server: TrentServer, *args: str) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "trent.cli.main", "admin", "--dev", "--data-dir", str(server.data_dir), *args],
        capture_output=True, text=True, timeout=120, check=False,
    )
    assert result.returncode == 0, result.stderr


def build_world(server: TrentServer, tmp: Path) -> World:
    users = {who: client_for(server, key_id, secret) for who, (_, key_id, secret) in USERS.items()}
    admin = users["admin"]
    keys: dict[str, dict[str, Any]] = {}
    policies: dict[str, str] = {}
    for name, spec in KEYS.items():
        kwargs: dict[str, Any] = {"KeySpec": spec.key_spec, "KeyUsage": spec.key_usage, "Description": f"authz {name}"}
        if spec.policy is not None:
            kwargs["Policy"] = policies.setdefault(name, json.dumps(spec.policy))
        if spec.tags:
            kwargs["Tags"] = [{"TagKey": k, "TagValue": v} for k, v in spec.tags.items()]
        keys[name] = admin.create_key(**kwargs)["KeyMetadata"]
        for alias in spec.aliases:
            admin.create_alias(AliasName=alias, TargetKeyId=keys[name]["KeyId"])
    blobs = {}
    for name, (key, context) in BLOBS.items():
        blobs[name] = admin.encrypt(KeyId=keys[key]["Arn"], Plaintext=PLAINTEXT, **({"EncryptionContext": context} if context else {}))["CiphertextBlob"]
    tokens = {}
    for name, g in GRANTS.items():
        out = admin.create_grant(KeyId=keys[g["key"]]["Arn"], GranteePrincipal=g.get("grantee", GRANTEE), Operations=g["Operations"],
                                 **({"Constraints": g["Constraints"]} if "Constraints" in g else {}))
        tokens[name] = out["GrantToken"]
        if g.get("revoke"):
            admin.revoke_grant(KeyId=keys[g["key"]]["Arn"], GrantId=out["GrantId"])

    # owner/app's identity policy names key ARNs, so it is put now, by `trent admin seed`
    # against the server's own data dir (a second seed document: policies replaced by name).
    arns = {name: meta["Arn"] for name, meta in keys.items()}
    seed2 = tmp / "seed-app.json"
    seed2.write_text(json.dumps({"accounts": [{"id": ACCT_O, "users": [{"name": "app", "policies": {"Narrow": app_policy(arns)}}]}]}))
    _admin_cli(server, "seed", str(seed2))
    # Identity policies are cached for up to the cache TTL (1 s): wait until the server sees it.
    deadline = time.monotonic() + 10
    while True:
        try:
            users["app"].describe_key(KeyId=arns["default"])
            break
        except ClientError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)

    # The partner's session of the owner's role.
    creds = client_for(server, *USERS["partner"][1:], service="sts").assume_role(
        RoleArn=ROLE, RoleSessionName=SESSION_NAME)
    assert creds["AssumedRoleUser"]["Arn"] == SESSION
    c = creds["Credentials"]
    clients = dict(users, session=client_for(server, c["AccessKeyId"], c["SecretAccessKey"], c["SessionToken"]))
    return World(server, clients, keys, blobs, tokens, policies)
