"""The authorization matrix (issue 5, spec §7.3-7.5, §8): real boto3 clients of several
real identities — two accounts, users with and without identity policies, an assumed-role
session — against one dedicated server seeded with them. Each row is one call by one
identity on one key: allowed (with a real result checked), or refused with the exact
AccessDeniedException text of spec §7.5."""

from __future__ import annotations

import json
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.fixtures.trent_server import TrentServer, start_trent, stop_trent
from tests.wire.helpers import expect_error

O = "111111111111"  # the owner account
P = "222222222222"  # the partner account
REGION = "us-east-1"
ROOT_O = f"arn:aws:iam::{O}:root"
ADMIN = f"arn:aws:iam::{O}:user/admin"
APP = f"arn:aws:iam::{O}:user/app"
NOPOL = f"arn:aws:iam::{O}:user/nopolicy"
PUSER = f"arn:aws:iam::{P}:user/puser"
PNOPOL = f"arn:aws:iam::{P}:user/pnopolicy"
ROLE = f"arn:aws:iam::{O}:role/reader"
SESSION = f"arn:aws:sts::{O}:assumed-role/reader/matrix"
KEYS_O = f"arn:aws:kms:{REGION}:{O}:key/*"

CREDS = {
    ADMIN: ("AKIAMATRIXADMIN00001", "admin-secret"),
    APP: ("AKIAMATRIXAPP0000001", "app-secret"),
    NOPOL: ("AKIAMATRIXNOPOL00001", "nopolicy-secret"),
    PUSER: ("AKIAMATRIXPUSER00001", "puser-secret"),
    PNOPOL: ("AKIAMATRIXPNOPOL0001", "pnopolicy-secret"),
}
GENERIC_DECRYPT = (
    "The ciphertext refers to a customer master key that does not exist, does not exist in this region, "
    "or you are not allowed to access."
)


def doc(*statements: dict[str, Any]) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": list(statements)}


def allow(principal: Any, action: Any, **extra: Any) -> dict[str, Any]:
    who = principal if principal == "*" else {"AWS": principal}
    return {"Effect": "Allow", "Principal": who, "Action": action, "Resource": "*", **extra}


def deny(principal: Any, action: Any, **extra: Any) -> dict[str, Any]:
    who = principal if principal == "*" else {"AWS": principal}
    return {"Effect": "Deny", "Principal": who, "Action": action, "Resource": "*", **extra}


def iam(*statements: dict[str, Any]) -> dict[str, Any]:
    return doc(*statements)


SEED = {"accounts": [
    {"id": O, "name": "owner",
     "users": [
         {"name": "admin", "access_keys": [{"id": CREDS[ADMIN][0], "secret": CREDS[ADMIN][1]}],
          "policies": {"All": iam({"Effect": "Allow", "Action": "*", "Resource": "*"})}},
         {"name": "app", "access_keys": [{"id": CREDS[APP][0], "secret": CREDS[APP][1]}],
          "policies": {
              "Crypto": iam({"Effect": "Allow", "Resource": KEYS_O,
                             "Action": ["kms:Encrypt", "kms:Decrypt", "kms:GenerateDataKey", "kms:DescribeKey"]}),
              "Aliases": iam({"Effect": "Allow", "Action": "kms:CreateAlias",
                              "Resource": [f"arn:aws:kms:{REGION}:{O}:alias/app-*", KEYS_O]}),
              "NoDelete": iam({"Effect": "Deny", "Action": "kms:ScheduleKeyDeletion", "Resource": "*"}),
          }},
         {"name": "nopolicy", "access_keys": [{"id": CREDS[NOPOL][0], "secret": CREDS[NOPOL][1]}]},
     ],
     "roles": [
         {"name": "reader",
          "trust_policy": doc({"Effect": "Allow", "Principal": {"AWS": PUSER}, "Action": "sts:AssumeRole"}),
          "policies": {"Read": iam({"Effect": "Allow", "Action": ["kms:Decrypt", "kms:DescribeKey"],
                                    "Resource": "*"})}},
     ]},
    {"id": P, "name": "partner",
     "users": [
         {"name": "puser", "access_keys": [{"id": CREDS[PUSER][0], "secret": CREDS[PUSER][1]}],
          "policies": {
              "UseOwnerKeys": iam({"Effect": "Allow", "Resource": KEYS_O,
                                   "Action": ["kms:Encrypt", "kms:Decrypt", "kms:DescribeKey"]}),
              "AssumeReader": iam({"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": ROLE}),
          }},
         {"name": "pnopolicy", "access_keys": [{"id": CREDS[PNOPOL][0], "secret": CREDS[PNOPOL][1]}]},
     ]},
]}

ADMIN_STATEMENT = allow(ROOT_O, "kms:*")

# name -> (create_key kwargs, key policy statements or None for the default policy, tags, aliases)
KEYS: dict[str, tuple[dict[str, Any], list[dict[str, Any]] | None, dict[str, str], list[str]]] = {
    "default": ({}, None, {}, []),
    "direct": ({}, [ADMIN_STATEMENT, allow(NOPOL, ["kms:Encrypt", "kms:Decrypt"]),
                    allow(P, ["kms:Encrypt", "kms:Decrypt", "kms:DescribeKey"])], {}, []),
    "no_delegation": ({}, [allow(ADMIN, "kms:*")], {}, []),
    "deny": ({}, [ADMIN_STATEMENT, allow(APP, "kms:*"), deny(APP, "kms:GenerateDataKey")], {}, []),
    "wild": ({}, [ADMIN_STATEMENT, allow(NOPOL, ["kms:Describe*", "kms:Encrypt", "kms:Decrypt", "kms:ReEncrypt*"])],
             {}, []),
    "ctx": ({}, [ADMIN_STATEMENT,
                 allow(NOPOL, "kms:Encrypt", Condition={"StringEquals": {"kms:EncryptionContext:dept": "it"}}),
                 allow(NOPOL, "kms:GenerateDataKey",
                       Condition={"StringLike": {"kms:EncryptionContext:project": "apollo-*"}}),
                 allow(NOPOL, "kms:Decrypt",
                       Condition={"ForAllValues:StringEquals": {"kms:EncryptionContextKeys": ["dept", "project"]}}),
                 allow(NOPOL, "kms:GenerateDataKeyWithoutPlaintext",
                       Condition={"ForAnyValue:StringEquals": {"kms:EncryptionContextKeys": "tenant"}})],
            {}, []),
    "caller_account": ({}, [ADMIN_STATEMENT,
                            allow("*", "kms:Encrypt", Condition={"StringEquals": {"kms:CallerAccount": O}})], {}, []),
    "source_ip": ({}, [ADMIN_STATEMENT, deny("*", "kms:Encrypt",
                                             Condition={"NotIpAddress": {"aws:SourceIp": "10.0.0.0/8"}}),
                       allow(NOPOL, "kms:GenerateDataKey",
                             Condition={"IpAddress": {"aws:SourceIp": "127.0.0.0/8"}})], {}, []),
    "time": ({}, [ADMIN_STATEMENT,
                  deny("*", "kms:Encrypt", Condition={"DateGreaterThan": {"aws:CurrentTime": "2000-01-01T00:00:00Z"}}),
                  deny("*", "kms:GenerateDataKey",
                       Condition={"DateLessThan": {"aws:CurrentTime": "2000-01-01T00:00:00Z"}})], {}, []),
    "via_service": ({}, [ADMIN_STATEMENT,
                         allow(NOPOL, "kms:Encrypt",
                               Condition={"StringEquals": {"kms:ViaService": "s3.us-east-1.amazonaws.com"}}),
                         allow(NOPOL, "kms:GenerateDataKey",
                               Condition={"StringEqualsIfExists": {"kms:ViaService": "s3.us-east-1.amazonaws.com"}})],
                    {}, []),
    "tagged": ({}, [ADMIN_STATEMENT, allow(NOPOL, "kms:Encrypt",
                                           Condition={"StringEquals": {"aws:ResourceTag/Project": "apollo"}}),
                    allow(NOPOL, "kms:TagResource", Condition={
                        "StringEquals": {"aws:RequestTag/team": "red"},
                        "ForAllValues:StringEquals": {"aws:TagKeys": ["team"]}})],
               {"Project": "apollo"}, []),
    "tagged_other": ({}, [ADMIN_STATEMENT, allow(NOPOL, "kms:Encrypt",
                                                 Condition={"StringEquals": {"aws:ResourceTag/Project": "apollo"}})],
                     {"Project": "zeus"}, []),
    "aliased": ({}, [ADMIN_STATEMENT,
                     allow(NOPOL, "kms:Encrypt", Condition={"StringEquals": {"kms:RequestAlias": "alias/matrix-ok"}}),
                     allow(NOPOL, "kms:GenerateDataKey",
                           Condition={"ForAnyValue:StringLike": {"kms:ResourceAliases": "alias/team-*"}})],
                {}, ["alias/matrix-ok", "alias/matrix-other", "alias/team-a"]),
    "null": ({}, [ADMIN_STATEMENT, deny("*", "kms:Encrypt", Condition={"Null": {"kms:EncryptionContextKeys": "true"}})],
             {}, []),
    "tls": ({}, [ADMIN_STATEMENT, deny("*", "kms:Decrypt", Condition={"Bool": {"aws:SecureTransport": "false"}})],
            {}, []),
    "role_arn": ({}, [ADMIN_STATEMENT, allow("*", "kms:Encrypt", Condition={"ArnEquals": {"aws:PrincipalArn": ROLE}})],
                 {}, []),
    "rsa_sign": ({"KeySpec": "RSA_2048", "KeyUsage": "SIGN_VERIFY"},
                 [ADMIN_STATEMENT, allow(NOPOL, "kms:Sign", Condition={
                     "StringEquals": {"kms:SigningAlgorithm": "RSASSA_PSS_SHA_256"}})], {}, []),
    "rsa_encrypt": ({"KeySpec": "RSA_2048", "KeyUsage": "ENCRYPT_DECRYPT"},
                    [ADMIN_STATEMENT, allow(NOPOL, "kms:Encrypt", Condition={
                        "StringEquals": {"kms:EncryptionAlgorithm": "RSAES_OAEP_SHA_256"}})], {}, []),
}


# keys whose ciphertext the rows decrypt (made by admin before any row runs)
BLOB_KEYS = frozenset({"default", "direct", "no_delegation", "wild", "ctx", "tls"})


@dataclass(frozen=True)
class World:
    server: TrentServer
    keys: dict[str, str]  # name -> key ARN
    blobs: dict[str, bytes]  # name -> a ciphertext under that key (context {"dept": "it"})
    clients: dict[str, Any] = field(default_factory=dict)

    def kms(self, who: str) -> Any:
        return self.clients[who]


@pytest.fixture(scope="module")
def world() -> Iterator[World]:
    with tempfile.TemporaryDirectory(prefix="trent-matrix-") as tmp:
        seed = Path(tmp) / "seed.json"
        seed.write_text(json.dumps(SEED))
        server = start_trent(Path(tmp) / "data", "--seed", str(seed))
        try:
            clients = {who: server.client(aws_access_key_id=k, aws_secret_access_key=s) for who, (k, s) in CREDS.items()}
            puser_sts = server.client("sts", aws_access_key_id=CREDS[PUSER][0], aws_secret_access_key=CREDS[PUSER][1])
            creds = puser_sts.assume_role(RoleArn=ROLE, RoleSessionName="matrix")["Credentials"]
            clients[SESSION] = server.client(aws_access_key_id=creds["AccessKeyId"],
                                             aws_secret_access_key=creds["SecretAccessKey"],
                                             aws_session_token=creds["SessionToken"])
            admin = clients[ADMIN]
            keys: dict[str, str] = {}
            blobs: dict[str, bytes] = {}
            for name, (create, statements, tags, aliases) in KEYS.items():
                extra = dict(create)
                if statements is not None:
                    extra["Policy"] = json.dumps(doc(*statements))
                if tags:
                    extra["Tags"] = [{"TagKey": k, "TagValue": v} for k, v in tags.items()]
                arn = admin.create_key(**extra)["KeyMetadata"]["Arn"]
                keys[name] = arn
                for alias in aliases:
                    admin.create_alias(AliasName=alias, TargetKeyId=arn)
                if name in BLOB_KEYS:
                    blobs[name] = admin.encrypt(KeyId=arn, Plaintext=b"matrix",
                                                EncryptionContext={"dept": "it"})["CiphertextBlob"]
            yield World(server, keys, blobs, clients)
        finally:
            stop_trent(server)


# --- the expected AccessDenied texts (spec §7.5) ---------------------------------------------


def no_identity(who: str, action: str, resource: str) -> str:
    return (f"User: {who} is not authorized to perform: kms:{action} on resource: {resource} "
            f"because no identity-based policy allows the kms:{action} action")


def no_resource(who: str, action: str, resource: str) -> str:
    return (f"User: {who} is not authorized to perform: kms:{action} on resource: {resource} "
            f"because no resource-based policy allows the kms:{action} action")


def explicit(who: str, action: str, resource: str, kind: str) -> str:
    article = "an" if kind == "identity-based" else "a"
    return (f"User: {who} is not authorized to perform: kms:{action} on resource: {resource} "
            f"with an explicit deny in {article} {kind} policy")


# --- rows ------------------------------------------------------------------------------------------

Params = Callable[[World], dict[str, Any]]
Message = Callable[[World], str] | str | None


@dataclass(frozen=True)
class Row:
    id: str
    who: str
    method: str
    params: Params
    denied: Message = None  # None: the call must succeed
    code: str = "AccessDeniedException"
    check: Callable[[World, dict[str, Any]], bool] | None = None


def enc(key: str, context: dict[str, str] | None = None, **more: Any) -> Params:
    return lambda w: {"KeyId": w.keys[key], "Plaintext": b"p", **({"EncryptionContext": context} if context else {}),
                      **more}


def gdk(key: str, context: dict[str, str] | None = None, **more: Any) -> Params:
    return lambda w: {"KeyId": w.keys[key], "KeySpec": "AES_256",
                      **({"EncryptionContext": context} if context else {}), **more}


def dec(key: str, context: dict[str, str] | None = None) -> Params:
    return lambda w: {"CiphertextBlob": w.blobs[key], "EncryptionContext": context or {"dept": "it"}}


def key_only(key: str, **more: Any) -> Params:
    return lambda w: {"KeyId": w.keys[key], **more}


def denied(kind: Callable[..., str], who: str, action: str, key: str, *extra: str) -> Callable[[World], str]:
    return lambda w: kind(who, action, w.keys[key], *extra)


def decrypts(w: World, r: dict[str, Any]) -> bool:
    return r["Plaintext"] == b"matrix"


def encrypted(w: World, r: dict[str, Any]) -> bool:
    return len(r["CiphertextBlob"]) > 0


ROWS = [
    # default policy: the account root delegates to IAM
    Row("default/iam-allow", APP, "encrypt", enc("default"), check=encrypted),
    Row("default/iam-allow-decrypt", APP, "decrypt", dec("default"), check=decrypts),
    Row("default/no-iam", NOPOL, "encrypt", enc("default"), denied(no_identity, NOPOL, "Encrypt", "default")),
    Row("default/iam-not-for-this-action", APP, "disable_key", key_only("default"),
        denied(no_identity, APP, "DisableKey", "default")),
    Row("identity-explicit-deny", APP, "schedule_key_deletion", key_only("default"),
        denied(explicit, APP, "ScheduleKeyDeletion", "default", "identity-based")),
    # the key policy names the user: no IAM policy needed
    Row("direct/named-user", NOPOL, "encrypt", enc("direct"), check=encrypted),
    Row("direct/named-user-decrypt", NOPOL, "decrypt", dec("direct"), check=decrypts),
    Row("direct/not-named-action", NOPOL, "describe_key", key_only("direct"),
        denied(no_identity, NOPOL, "DescribeKey", "direct")),
    # no delegation to IAM: IAM allows are ineffective
    Row("no-delegation/iam-allow-ignored", APP, "encrypt", enc("no_delegation"),
        denied(no_resource, APP, "Encrypt", "no_delegation")),
    Row("no-delegation/decrypt-generic", APP, "decrypt", dec("no_delegation"), GENERIC_DECRYPT),
    # explicit deny in the key policy wins over its own allow
    Row("deny/allowed-action", APP, "encrypt", enc("deny"), check=encrypted),
    Row("deny/denied-action", APP, "generate_data_key", gdk("deny"),
        denied(explicit, APP, "GenerateDataKey", "deny", "resource-based")),
    # action wildcards
    Row("wild/describe*", NOPOL, "describe_key", key_only("wild"),
        check=lambda w, r: r["KeyMetadata"]["Arn"] == w.keys["wild"]),
    Row("wild/not-covered", NOPOL, "disable_key", key_only("wild"), denied(no_identity, NOPOL, "DisableKey", "wild")),
    Row("reencrypt/from-and-to-allowed", NOPOL, "re_encrypt",
        lambda w: {"CiphertextBlob": w.blobs["wild"], "SourceEncryptionContext": {"dept": "it"},
                   "DestinationKeyId": w.keys["wild"]}, check=lambda w, r: r["KeyId"] == w.keys["wild"]),
    Row("reencrypt/to-denied", NOPOL, "re_encrypt",
        lambda w: {"CiphertextBlob": w.blobs["wild"], "SourceEncryptionContext": {"dept": "it"},
                   "DestinationKeyId": w.keys["default"]},
        denied(no_identity, NOPOL, "ReEncryptTo", "default")),
    Row("reencrypt/from-denied", NOPOL, "re_encrypt",
        lambda w: {"CiphertextBlob": w.blobs["default"], "SourceEncryptionContext": {"dept": "it"},
                   "DestinationKeyId": w.keys["wild"]}, GENERIC_DECRYPT),
    # encryption context conditions
    Row("ctx/string-equals", NOPOL, "encrypt", enc("ctx", {"dept": "it"}), check=encrypted),
    Row("ctx/string-equals-other", NOPOL, "encrypt", enc("ctx", {"dept": "hr"}),
        denied(no_identity, NOPOL, "Encrypt", "ctx")),
    Row("ctx/string-equals-absent", NOPOL, "encrypt", enc("ctx"), denied(no_identity, NOPOL, "Encrypt", "ctx")),
    Row("ctx/string-equals-key-case", NOPOL, "encrypt", enc("ctx", {"DEPT": "it"}), check=encrypted),
    Row("ctx/string-like", NOPOL, "generate_data_key", gdk("ctx", {"project": "apollo-7"}),
        check=lambda w, r: len(r["Plaintext"]) == 32),
    Row("ctx/string-like-miss", NOPOL, "generate_data_key", gdk("ctx", {"project": "zeus-7"}),
        denied(no_identity, NOPOL, "GenerateDataKey", "ctx")),
    Row("ctx/for-all-values-subset", NOPOL, "decrypt", dec("ctx"), check=decrypts),
    Row("ctx/for-any-value-hit", NOPOL, "generate_data_key_without_plaintext", gdk("ctx", {"tenant": "t1"}),
        check=encrypted),
    Row("ctx/for-any-value-absent", NOPOL, "generate_data_key_without_plaintext", gdk("ctx"),
        denied(no_identity, NOPOL, "GenerateDataKeyWithoutPlaintext", "ctx")),
    # kms:CallerAccount with Principal "*"
    Row("caller-account/own", NOPOL, "encrypt", enc("caller_account"), check=encrypted),
    Row("caller-account/other-account", PUSER, "encrypt", enc("caller_account"),
        denied(no_resource, PUSER, "Encrypt", "caller_account")),
    # aws:SourceIp (the test client calls from 127.0.0.1)
    Row("source-ip/deny-outside-network", APP, "encrypt", enc("source_ip"),
        denied(explicit, APP, "Encrypt", "source_ip", "resource-based")),
    Row("source-ip/allow-inside", NOPOL, "generate_data_key", gdk("source_ip"), check=encrypted),
    # aws:CurrentTime
    Row("time/after-2000-denied", APP, "encrypt", enc("time"),
        denied(explicit, APP, "Encrypt", "time", "resource-based")),
    Row("time/before-2000-not-applied", APP, "generate_data_key", gdk("time"), check=encrypted),
    # kms:ViaService is absent for direct calls
    Row("via-service/absent-fails-equals", NOPOL, "encrypt", enc("via_service"),
        denied(no_identity, NOPOL, "Encrypt", "via_service")),
    Row("via-service/absent-passes-if-exists", NOPOL, "generate_data_key", gdk("via_service"), check=encrypted),
    # tags: aws:ResourceTag, aws:RequestTag + aws:TagKeys
    Row("resource-tag/match", NOPOL, "encrypt", enc("tagged"), check=encrypted),
    Row("resource-tag/other", NOPOL, "encrypt", enc("tagged_other"),
        denied(no_identity, NOPOL, "Encrypt", "tagged_other")),
    Row("request-tag/allowed", NOPOL, "tag_resource",
        lambda w: {"KeyId": w.keys["tagged"], "Tags": [{"TagKey": "team", "TagValue": "red"}]}),
    Row("request-tag/wrong-value", NOPOL, "tag_resource",
        lambda w: {"KeyId": w.keys["tagged"], "Tags": [{"TagKey": "team", "TagValue": "blue"}]},
        denied(no_identity, NOPOL, "TagResource", "tagged")),
    Row("request-tag/extra-key", NOPOL, "tag_resource",
        lambda w: {"KeyId": w.keys["tagged"], "Tags": [{"TagKey": "team", "TagValue": "red"},
                                                        {"TagKey": "x", "TagValue": "y"}]},
        denied(no_identity, NOPOL, "TagResource", "tagged")),
    # aliases: kms:RequestAlias, kms:ResourceAliases
    Row("request-alias/used", NOPOL, "encrypt", lambda w: {"KeyId": "alias/matrix-ok", "Plaintext": b"p"},
        check=encrypted),
    Row("request-alias/other-alias", NOPOL, "encrypt", lambda w: {"KeyId": "alias/matrix-other", "Plaintext": b"p"},
        denied(no_identity, NOPOL, "Encrypt", "aliased")),
    Row("request-alias/by-arn", NOPOL, "encrypt", enc("aliased"), denied(no_identity, NOPOL, "Encrypt", "aliased")),
    Row("resource-aliases/match", NOPOL, "generate_data_key", gdk("aliased"), check=encrypted),
    # Null, Bool aws:SecureTransport (Trent serves plain HTTP)
    Row("null/no-context-denied", APP, "encrypt", enc("null"),
        denied(explicit, APP, "Encrypt", "null", "resource-based")),
    Row("null/context-allowed", APP, "encrypt", enc("null", {"dept": "it"}), check=encrypted),
    Row("secure-transport/false", APP, "decrypt", dec("tls"), GENERIC_DECRYPT),
    # algorithm conditions
    Row("signing-algorithm/allowed", NOPOL, "sign",
        lambda w: {"KeyId": w.keys["rsa_sign"], "Message": b"m", "SigningAlgorithm": "RSASSA_PSS_SHA_256"},
        check=lambda w, r: len(r["Signature"]) == 256),
    Row("signing-algorithm/other", NOPOL, "sign",
        lambda w: {"KeyId": w.keys["rsa_sign"], "Message": b"m", "SigningAlgorithm": "RSASSA_PKCS1_V1_5_SHA_256"},
        denied(no_identity, NOPOL, "Sign", "rsa_sign")),
    Row("encryption-algorithm/allowed", NOPOL, "encrypt",
        lambda w: {"KeyId": w.keys["rsa_encrypt"], "Plaintext": b"p", "EncryptionAlgorithm": "RSAES_OAEP_SHA_256"},
        check=lambda w, r: len(r["CiphertextBlob"]) == 256),
    Row("encryption-algorithm/other", NOPOL, "encrypt",
        lambda w: {"KeyId": w.keys["rsa_encrypt"], "Plaintext": b"p", "EncryptionAlgorithm": "RSAES_OAEP_SHA_1"},
        denied(no_identity, NOPOL, "Encrypt", "rsa_encrypt")),
    # IAM-only operations
    Row("iam-only/list-keys-admin", ADMIN, "list_keys", lambda w: {}, check=lambda w, r: len(r["Keys"]) >= 10),
    Row("iam-only/create-key-not-allowed", APP, "create_key", lambda w: {},
        no_identity(APP, "CreateKey", "*")),
    Row("iam-only/list-aliases", NOPOL, "list_aliases", lambda w: {}, no_identity(NOPOL, "ListAliases", "*")),
    Row("iam-only/generate-random", NOPOL, "generate_random", lambda w: {"NumberOfBytes": 8},
        no_identity(NOPOL, "GenerateRandom", "*")),
    # alias operations need the alias (IAM) and the key
    Row("create-alias/allowed", APP, "create_alias",
        lambda w: {"AliasName": "alias/app-one", "TargetKeyId": w.keys["default"]}),
    Row("create-alias/alias-not-allowed", APP, "create_alias",
        lambda w: {"AliasName": "alias/other-one", "TargetKeyId": w.keys["default"]},
        no_identity(APP, "CreateAlias", f"arn:aws:kms:{REGION}:{O}:alias/other-one")),
    Row("create-alias/key-not-allowed", APP, "create_alias",
        lambda w: {"AliasName": "alias/app-two", "TargetKeyId": w.keys["no_delegation"]},
        denied(no_resource, APP, "CreateAlias", "no_delegation")),
    # cross-account: the key policy must allow the account AND the caller's IAM must allow
    Row("cross-account/both-allow", PUSER, "decrypt", dec("direct"), check=decrypts),
    Row("cross-account/both-allow-encrypt", PUSER, "encrypt", enc("direct"), check=encrypted),
    Row("cross-account/no-iam", PNOPOL, "encrypt", enc("direct"), denied(no_identity, PNOPOL, "Encrypt", "direct")),
    Row("cross-account/no-key-policy", PUSER, "encrypt", enc("default"),
        denied(no_resource, PUSER, "Encrypt", "default")),
    Row("cross-account/decrypt-generic", PUSER, "decrypt", dec("default"), GENERIC_DECRYPT),
    Row("cross-account/not-cross-account-op", PUSER, "disable_key", key_only("direct"),
        lambda w: f"Key '{w.keys['direct']}' does not exist", code="NotFoundException"),
    # an assumed-role session: its role's identity policies, its own ARN in messages
    Row("session/role-policy-allows", SESSION, "decrypt", dec("default"), check=decrypts),
    Row("session/role-policy-silent", SESSION, "encrypt", enc("default"),
        denied(no_identity, SESSION, "Encrypt", "default")),
    Row("session/principal-arn-is-role", SESSION, "encrypt", enc("role_arn"), check=encrypted),
    Row("session/principal-arn-other", APP, "encrypt", enc("role_arn"), check=encrypted),  # app: IAM via root
    Row("session/principal-arn-no-iam", NOPOL, "encrypt", enc("role_arn"),
        denied(no_identity, NOPOL, "Encrypt", "role_arn")),
    # DryRun authorizes too
    Row("dry-run/allowed", APP, "encrypt", enc("default", DryRun=True),
        "The request would have succeeded, but the DryRun option is set.", code="DryRunOperationException"),
    Row("dry-run/denied", NOPOL, "encrypt", enc("default", DryRun=True),
        denied(no_identity, NOPOL, "Encrypt", "default")),
    # the lockout safety check
    Row("lockout/put-key-policy", ADMIN, "put_key_policy",
        lambda w: {"KeyId": w.keys["direct"], "PolicyName": "default",
                   "Policy": json.dumps(doc(allow(NOPOL, "kms:Encrypt")))},
        "The new key policy will not allow you to update the key policy in the future.",
        code="MalformedPolicyDocumentException"),
    Row("lockout/no-permission-at-all", APP, "put_key_policy",
        lambda w: {"KeyId": w.keys["default"], "PolicyName": "default", "Policy": json.dumps(doc(ADMIN_STATEMENT))},
        denied(no_identity, APP, "PutKeyPolicy", "default")),
]


@pytest.mark.parametrize("row", ROWS, ids=[r.id for r in ROWS])
def test_matrix(world: World, row: Row) -> None:
    client = world.kms(row.who)
    call = getattr(client, row.method)
    params = row.params(world)
    if row.denied is None:
        result = call(**params)
        assert result["ResponseMetadata"]["HTTPStatusCode"] == 200
        if row.check is not None:
            assert row.check(world, result), result
        return
    message = row.denied(world) if callable(row.denied) else row.denied
    expect_error(call, row.code, message, **params)


def test_grants_allow_a_grantee_without_policies(world: World) -> None:
    """spec §8: a grant alone allows; its constraint must hold; its token is honoured."""
    admin, grantee = world.kms(ADMIN), world.kms(PNOPOL)
    key = world.keys["default"]
    blob = admin.encrypt(KeyId=key, Plaintext=b"granted", EncryptionContext={"app": "x"})["CiphertextBlob"]
    expect_error(grantee.decrypt, "AccessDeniedException", GENERIC_DECRYPT, CiphertextBlob=blob,
                 EncryptionContext={"app": "x"})
    grant = admin.create_grant(KeyId=key, GranteePrincipal=PNOPOL, Operations=["Decrypt"],
                               Constraints={"EncryptionContextEquals": {"app": "x"}})
    out = grantee.decrypt(CiphertextBlob=blob, EncryptionContext={"app": "x"}, GrantTokens=[grant["GrantToken"]])
    assert out["Plaintext"] == b"granted"
    assert grantee.decrypt(CiphertextBlob=blob, EncryptionContext={"app": "x"})["Plaintext"] == b"granted"
    other = admin.encrypt(KeyId=key, Plaintext=b"other", EncryptionContext={"app": "y"})["CiphertextBlob"]
    expect_error(grantee.decrypt, "AccessDeniedException", GENERIC_DECRYPT, CiphertextBlob=other,
                 EncryptionContext={"app": "y"})
    expect_error(grantee.encrypt, "AccessDeniedException", no_resource(PNOPOL, "Encrypt", key), KeyId=key,
                 Plaintext=b"p", EncryptionContext={"app": "x"})
    admin.revoke_grant(KeyId=key, GrantId=grant["GrantId"])
    expect_error(grantee.decrypt, "AccessDeniedException", GENERIC_DECRYPT, CiphertextBlob=blob,
                 EncryptionContext={"app": "x"})


def test_session_identity(world: World) -> None:
    sts = world.server.client("sts", aws_access_key_id=CREDS[PNOPOL][0], aws_secret_access_key=CREDS[PNOPOL][1])
    assert sts.get_caller_identity()["Arn"] == PNOPOL
    err = expect_error(sts.assume_role, "AccessDenied", None, status=403, RoleArn=ROLE, RoleSessionName="nope")
    assert PNOPOL in err["message"]
