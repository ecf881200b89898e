"""The authorization matrix over the wire (issue 5 proof; spec §7.3-§7.5, §8).

One table of rows -- who calls which operation on which key with which parameters, and
the outcome -- run through real boto3 against one dedicated Trent with real identities in
two accounts and an assumed-role session (tests/wire/authz_world.py describes the world).

A denial row asserts the exact error code and the exact spec §7.5 message; an allow row
asserts a real result (a decrypt round trip, the ARN the call acted on, the tag that was
written...). Other suites cover their resource in depth (key policy validation, STS,
grants' API); this one crosses the rules: each rule, each kind of identity, each message.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import pytest

from tests.fixtures.trent_server import seeded_trent
from tests.wire.authz_world import (
    ADMIN,
    LOCKED_ROLE,
    NOPOL,
    PLAINTEXT,
    PUSER,
    ROOT_O,
    USERS,
    WHO_ARN,
    AliasArn,
    Blob,
    K,
    Token,
    World,
    allow,
    build_world,
    client_for,
    deny,
    doc,
    seed_document,
)
from tests.wire.helpers import expect_error

CIPHERTEXT_DENIED = ("The ciphertext refers to a customer master key that does not exist, does not exist in this "
                     "region, or you are not allowed to access.")
DRY_RUN = "The request would have succeeded, but the DryRun option is set."
LOCKOUT = "The new key policy will not allow you to update the key policy in the future."


# --- expectations ----------------------------------------------------------------------


@dataclass(frozen=True)
class Allowed:
    """The call succeeds; the operation's checker asserts a real result."""


@dataclass(frozen=True)
class Denied:
    """AccessDeniedException with the spec §7.5 text. ``why``: identity | resource |
    deny-resource | deny-identity | ciphertext (the Decrypt text, spec §6.3).
    ``action`` defaults to the operation; ``resource`` to the row's KeyId parameter."""

    why: str
    action: str | None = None
    resource: K | AliasArn | str | None = None


@dataclass(frozen=True)
class Fails:
    code: str
    message: str


ALLOWED = Allowed()
DRY_RUN_OK = Fails("DryRunOperationException", DRY_RUN)


@dataclass(frozen=True)
class Case:
    id: str
    who: str
    op: str  # boto3 method name
    params: Mapping[str, Any]
    expect: Allowed | Denied | Fails
    rule: str = ""  # what the row proves (documentation)


def _pascal(op: str) -> str:
    return "".join(p.capitalize() for p in op.split("_"))


def denial_message(world: World, case: Case, denied: Denied) -> str:
    if denied.why == "ciphertext":
        return CIPHERTEXT_DENIED
    action = "kms:" + (denied.action or _pascal(case.op))
    resource = denied.resource if denied.resource is not None else case.params.get("KeyId")
    resource_text = resource if isinstance(resource, str) else world.resolve(resource)
    head = f"User: {WHO_ARN[case.who]} is not authorized to perform: {action} on resource: {resource_text}"
    return {
        "identity": f"{head} because no identity-based policy allows the {action} action",
        "resource": f"{head} because no resource-based policy allows the {action} action",
        "deny-resource": f"{head} with an explicit deny in a resource-based policy",
        "deny-identity": f"{head} with an explicit deny in an identity-based policy",
    }[denied.why]


# --- what an allowed call must have done ----------------------------------------------


def _key_arn(world: World, params: Mapping[str, Any], name: str = "KeyId") -> str:
    """The ARN of the key a resolved KeyId names (ARN, id, alias name or alias ARN)."""
    return world.clients["admin"].describe_key(KeyId=params[name])["KeyMetadata"]["Arn"]


def check_encrypt(world: World, params: Mapping[str, Any], out: Mapping[str, Any]) -> None:
    assert out["KeyId"] == _key_arn(world, params)
    extra = {}
    if params.get("EncryptionAlgorithm", "SYMMETRIC_DEFAULT") != "SYMMETRIC_DEFAULT":
        extra = {"KeyId": out["KeyId"], "EncryptionAlgorithm": params["EncryptionAlgorithm"]}
    back = world.clients["admin"].decrypt(CiphertextBlob=out["CiphertextBlob"],
                                          EncryptionContext=params.get("EncryptionContext", {}), **extra)
    assert back["Plaintext"] == params["Plaintext"]


def check_decrypt(world: World, params: Mapping[str, Any], out: Mapping[str, Any]) -> None:
    assert out["Plaintext"] == PLAINTEXT
    assert out["KeyId"].startswith("arn:aws:kms:")


def check_re_encrypt(world: World, params: Mapping[str, Any], out: Mapping[str, Any]) -> None:
    assert out["KeyId"] == _key_arn(world, params, "DestinationKeyId")
    back = world.clients["admin"].decrypt(CiphertextBlob=out["CiphertextBlob"])
    assert back["Plaintext"] == PLAINTEXT and back["KeyId"] == out["KeyId"]


def check_generate_data_key(world: World, params: Mapping[str, Any], out: Mapping[str, Any]) -> None:
    back = world.clients["admin"].decrypt(CiphertextBlob=out["CiphertextBlob"],
                                          EncryptionContext=params.get("EncryptionContext", {}))
    assert back["Plaintext"] == out["Plaintext"] and len(out["Plaintext"]) == 32


def check_describe_key(world: World, params: Mapping[str, Any], out: Mapping[str, Any]) -> None:
    assert out["KeyMetadata"]["Arn"] == _key_arn(world, params)


def check_get_key_policy(world: World, params: Mapping[str, Any], out: Mapping[str, Any]) -> None:
    name = next(n for n, m in world.keys.items() if m["Arn"] == params["KeyId"])
    assert out["Policy"] == world.policies[name]


def check_get_key_rotation_status(world: World, params: Mapping[str, Any], out: Mapping[str, Any]) -> None:
    assert out["KeyRotationEnabled"] is False and params["KeyId"].endswith("/" + out["KeyId"].split("/")[-1])


def check_update_key_description(world: World, params: Mapping[str, Any], out: Mapping[str, Any]) -> None:
    meta = world.clients["admin"].describe_key(KeyId=params["KeyId"])["KeyMetadata"]
    assert meta["Description"] == params["Description"]


def check_tag_resource(world: World, params: Mapping[str, Any], out: Mapping[str, Any]) -> None:
    tags = world.clients["admin"].list_resource_tags(KeyId=params["KeyId"])["Tags"]
    for tag in params["Tags"]:
        assert tag in tags


def check_create_alias(world: World, params: Mapping[str, Any], out: Mapping[str, Any]) -> None:
    aliases = world.clients["admin"].list_aliases(KeyId=params["TargetKeyId"])["Aliases"]
    assert params["AliasName"] in [a["AliasName"] for a in aliases]


def check_create_key(world: World, params: Mapping[str, Any], out: Mapping[str, Any]) -> None:
    meta = out["KeyMetadata"]
    assert meta["AWSAccountId"] == ROOT_O.split(":")[4] and meta["KeyState"] == "Enabled"


def check_list_keys(world: World, params: Mapping[str, Any], out: Mapping[str, Any]) -> None:
    assert world.keys["default"]["KeyId"] in [k["KeyId"] for k in out["Keys"]]


def check_list_aliases(world: World, params: Mapping[str, Any], out: Mapping[str, Any]) -> None:
    assert "alias/authz-default" in [a["AliasName"] for a in out["Aliases"]]


def check_generate_random(world: World, params: Mapping[str, Any], out: Mapping[str, Any]) -> None:
    assert len(out["Plaintext"]) == params["NumberOfBytes"]


def check_sign(world: World, params: Mapping[str, Any], out: Mapping[str, Any]) -> None:
    verified = world.clients["admin"].verify(KeyId=params["KeyId"], Message=params["Message"],
                                             Signature=out["Signature"], SigningAlgorithm=params["SigningAlgorithm"],
                                             MessageType=params.get("MessageType", "RAW"))
    assert verified["SignatureValid"] is True


def check_put_key_policy(world: World, params: Mapping[str, Any], out: Mapping[str, Any]) -> None:
    assert world.clients["admin"].get_key_policy(KeyId=params["KeyId"])["Policy"] == params["Policy"]


def check_create_grant(world: World, params: Mapping[str, Any], out: Mapping[str, Any]) -> None:
    grants = world.clients["admin"].list_grants(KeyId=params["KeyId"])["Grants"]
    assert [g["Operations"] for g in grants if g["GrantId"] == out["GrantId"]] == [params["Operations"]]


def check_generate_mac(world: World, params: Mapping[str, Any], out: Mapping[str, Any]) -> None:
    verified = world.clients["admin"].verify_mac(KeyId=params["KeyId"], Message=params["Message"], Mac=out["Mac"],
                                                 MacAlgorithm=params["MacAlgorithm"])
    assert verified["MacValid"] is True


def check_generate_data_key_pair(world: World, params: Mapping[str, Any], out: Mapping[str, Any]) -> None:
    back = world.clients["admin"].decrypt(CiphertextBlob=out["PrivateKeyCiphertextBlob"])
    assert back["Plaintext"] == out["PrivateKeyPlaintext"] and out["KeyPairSpec"] == params["KeyPairSpec"]


def check_gdk_without_plaintext(world: World, params: Mapping[str, Any], out: Mapping[str, Any]) -> None:
    back = world.clients["admin"].decrypt(CiphertextBlob=out["CiphertextBlob"])
    assert len(back["Plaintext"]) == 32 and back["KeyId"] == out["KeyId"] == params["KeyId"]


CHECKS: dict[str, Callable[[World, Mapping[str, Any], Mapping[str, Any]], None]] = {
    "encrypt": check_encrypt,
    "decrypt": check_decrypt,
    "re_encrypt": check_re_encrypt,
    "generate_data_key": check_generate_data_key,
    "describe_key": check_describe_key,
    "get_key_policy": check_get_key_policy,
    "get_key_rotation_status": check_get_key_rotation_status,
    "update_key_description": check_update_key_description,
    "tag_resource": check_tag_resource,
    "create_alias": check_create_alias,
    "create_key": check_create_key,
    "list_keys": check_list_keys,
    "list_aliases": check_list_aliases,
    "generate_random": check_generate_random,
    "sign": check_sign,
    "put_key_policy": check_put_key_policy,
    "create_grant": check_create_grant,
    "generate_data_key_without_plaintext": check_gdk_without_plaintext,
    "generate_mac": check_generate_mac,
    "generate_data_key_pair": check_generate_data_key_pair,
}


# --- the table ---------------------------------------------------------------------------


def enc(key: K | str, context: Mapping[str, str] | None = None, **kw: Any) -> dict[str, Any]:
    params: dict[str, Any] = {"KeyId": K(key) if isinstance(key, str) else key, "Plaintext": PLAINTEXT, **kw}
    if context is not None:
        params["EncryptionContext"] = dict(context)
    return params


def dec(blob: str, context: Mapping[str, str] | None = None, **kw: Any) -> dict[str, Any]:
    params: dict[str, Any] = {"CiphertextBlob": Blob(blob), **kw}
    if context is not None:
        params["EncryptionContext"] = dict(context)
    return params


def reenc(blob: str, destination: str) -> dict[str, Any]:
    return {"CiphertextBlob": Blob(blob), "DestinationKeyId": K(destination)}


def gdk(key: str, context: Mapping[str, str] | None = None, **kw: Any) -> dict[str, Any]:
    params: dict[str, Any] = {"KeyId": K(key), "KeySpec": "AES_256", **kw}
    if context is not None:
        params["EncryptionContext"] = dict(context)
    return params


def key(name: str, **kw: Any) -> dict[str, Any]:
    return {"KeyId": K(name), **kw}


LOCK_ONLY_NOPOLICY = json.dumps(doc(allow(NOPOL, "kms:*")))
LOCK_DENY_ADMIN = json.dumps(doc(allow(ROOT_O, "kms:*"), deny(ADMIN, "kms:PutKeyPolicy")))
LOCK_ADMIN_DIRECT = json.dumps(doc(allow(ADMIN, ["kms:PutKeyPolicy", "kms:GetKeyPolicy", "kms:DescribeKey"])))
LOCK_DELEGATE = json.dumps(doc(allow(ROOT_O, "kms:*")))

CASES: list[Case] = [
    # -- default key policy: delegation to IAM (spec §7.1, §7.3.2)
    Case("default/app-iam-allows-encrypt", "app", "encrypt", enc("default"), ALLOWED,
         "default policy + identity policy on the key ARN"),
    Case("default/app-iam-allows-decrypt", "app", "decrypt", dec("default"), ALLOWED),
    Case("default/admin-iam-star", "admin", "generate_data_key", gdk("default"), ALLOWED),
    Case("default/nopolicy-no-iam", "nopolicy", "encrypt", enc("default"), Denied("identity"),
         "delegation without an IAM allow: identity-based message"),
    Case("default/nopolicy-decrypt-generic-text", "nopolicy", "decrypt", dec("default"), Denied("ciphertext")),
    Case("default/app-iam-names-other-keys", "app", "encrypt", enc("other-default"), Denied("identity"),
         "IAM Resource lists specific key ARNs"),
    Case("default/app-iam-action-not-listed", "app", "generate_data_key", gdk("default"), Denied("identity")),
    Case("default/iam-alias-arn-does-not-cover-key", "app", "get_key_rotation_status", key("default"),
         Denied("identity"), "spec §7.3: alias ARNs in IAM Resource don't match keys"),
    Case("default/app-by-alias-name", "app", "encrypt", enc(K("default", "alias", "alias/authz-default")), ALLOWED),
    Case("default/nopolicy-by-alias-name-message-names-key-arn", "nopolicy", "encrypt",
         enc(K("default", "alias", "alias/authz-default")), Denied("identity", resource=K("default"))),
    # -- key policy naming the user, no IAM policy
    Case("direct/nopolicy-encrypt", "nopolicy", "encrypt", enc("direct"), ALLOWED),
    Case("direct/nopolicy-decrypt", "nopolicy", "decrypt", dec("direct"), ALLOWED),
    Case("direct/nopolicy-action-not-named", "nopolicy", "describe_key", key("direct"), Denied("identity")),
    # -- key policy not delegating to IAM: IAM allows are ineffective (spec §7.3.3)
    Case("nodelegate/app-iam-allow-ineffective", "app", "encrypt", enc("nodelegate"), Denied("resource")),
    Case("nodelegate/nopolicy-named", "nopolicy", "encrypt", enc("nodelegate"), ALLOWED),
    Case("nodelegate/nopolicy-other-action", "nopolicy", "generate_data_key", gdk("nodelegate"), Denied("resource")),
    Case("nodelegate/session-resource-message", "session", "encrypt", enc("nodelegate"), Denied("resource")),
    # -- explicit deny wins (spec §7.3.1)
    Case("deny/key-policy-deny-beats-direct-allow", "app", "encrypt", enc("deny"), Denied("deny-resource")),
    Case("deny/identity-deny-beats-key-policy-allow", "app", "generate_data_key", gdk("deny"), Denied("deny-identity")),
    Case("deny/other-actions-still-allowed", "app", "describe_key", key("deny"), ALLOWED),
    Case("deny/decrypt-allowed-directly", "app", "decrypt", dec("deny"), ALLOWED),
    Case("deny/deny-names-only-app", "admin", "encrypt", enc("deny"), ALLOWED),
    Case("deny/secure-transport-false-denies-everyone", "admin", "encrypt", enc("insecure-deny"),
         Denied("deny-resource"), "Bool aws:SecureTransport: Trent serves plain HTTP"),
    # -- Action wildcards
    Case("wild/get-star-get-key-policy", "nopolicy", "get_key_policy", key("wild"), ALLOWED),
    Case("wild/get-star-rotation-status", "nopolicy", "get_key_rotation_status", key("wild"), ALLOWED),
    Case("wild/re-star-reencrypt-same-key", "nopolicy", "re_encrypt", reenc("wild", "wild"), ALLOWED),
    Case("wild/describe-not-matched", "nopolicy", "describe_key", key("wild"), Denied("identity")),
    Case("wild/decrypt-not-matched", "nopolicy", "decrypt", dec("wild"), Denied("ciphertext")),
    Case("wild/kms-star", "nopolicy", "update_key_description", key("star", Description="by nopolicy"), ALLOWED),
    # -- ReEncrypt: ReEncryptFrom on the source, ReEncryptTo on the destination (spec §6.4)
    Case("reencrypt/from-and-to", "nopolicy", "re_encrypt", reenc("re-from", "re-to"), ALLOWED),
    Case("reencrypt/no-from-on-source", "nopolicy", "re_encrypt", reenc("re-to", "re-from"), Denied("ciphertext")),
    Case("reencrypt/no-to-on-destination", "nopolicy", "re_encrypt", reenc("re-from", "re-from"),
         Denied("identity", action="ReEncryptTo", resource=K("re-from"))),
    Case("reencrypt/re-star-to-re-to", "nopolicy", "re_encrypt", reenc("wild", "re-to"), ALLOWED),
    # -- kms:EncryptionContext:<k>
    Case("ec/equals", "nopolicy", "encrypt", enc("ec-equals", {"dept": "hr"}), ALLOWED),
    Case("ec/equals-key-name-case-insensitive", "nopolicy", "encrypt", enc("ec-equals", {"DEPT": "hr"}), ALLOWED),
    Case("ec/equals-value-case-sensitive", "nopolicy", "encrypt", enc("ec-equals", {"dept": "HR"}), Denied("identity")),
    Case("ec/equals-absent", "nopolicy", "encrypt", enc("ec-equals"), Denied("identity")),
    Case("ec/equals-decrypt", "nopolicy", "decrypt", dec("ec-equals-hr", {"dept": "hr"}), ALLOWED),
    Case("ec/equals-decrypt-other-context", "nopolicy", "decrypt", dec("ec-equals-hr", {"dept": "it"}),
         Denied("ciphertext")),
    Case("ec/like", "nopolicy", "encrypt", enc("ec-like", {"project": "alpha-7"}), ALLOWED),
    Case("ec/like-no-match", "nopolicy", "encrypt", enc("ec-like", {"project": "beta-1"}), Denied("identity")),
    Case("ec-keys/for-all-values-subset", "nopolicy", "encrypt", enc("ec-keys-all", {"dept": "x"}), ALLOWED),
    Case("ec-keys/for-all-values-extra-key", "nopolicy", "encrypt", enc("ec-keys-all", {"dept": "x", "other": "y"}),
         Denied("identity")),
    Case("ec-keys/for-all-values-no-context", "nopolicy", "encrypt", enc("ec-keys-all"), ALLOWED,
         "ForAllValues on an absent key is true (spec §7.4)"),
    Case("ec-keys/for-any-value", "nopolicy", "encrypt", enc("ec-keys-any", {"tenant": "a", "x": "b"}), ALLOWED),
    Case("ec-keys/for-any-value-none-listed", "nopolicy", "encrypt", enc("ec-keys-any", {"x": "b"}), Denied("identity")),
    Case("ec-keys/for-any-value-no-context", "nopolicy", "encrypt", enc("ec-keys-any"), Denied("identity")),
    Case("null/key-present", "nopolicy", "encrypt", enc("null", {"dept": "a"}), ALLOWED),
    Case("null/key-absent", "nopolicy", "encrypt", enc("null"), Denied("identity")),
    # -- kms:CallerAccount with Principal "*"
    Case("caller-account/partner-user", "partner", "encrypt", enc("caller-account"), ALLOWED),
    Case("caller-account/partner-without-iam", "partner-nopolicy", "encrypt", enc("caller-account"),
         Denied("identity"), "cross-account: the key policy allows, the caller's IAM does not"),
    Case("caller-account/owner-account-not-matched", "nopolicy", "encrypt", enc("caller-account"), Denied("identity")),
    # -- kms:RequestAlias, kms:ResourceAliases
    Case("request-alias/by-alias-name", "nopolicy", "encrypt",
         enc(K("request-alias", "alias", "alias/authz-finance")), ALLOWED),
    Case("request-alias/by-alias-arn", "nopolicy", "encrypt",
         enc(K("request-alias", "alias-arn", "alias/authz-finance")), ALLOWED),
    Case("request-alias/by-key-arn", "nopolicy", "encrypt", enc("request-alias"), Denied("identity")),
    Case("request-alias/by-key-id", "nopolicy", "encrypt", enc(K("request-alias", "id")),
         Denied("identity", resource=K("request-alias"))),
    Case("resource-aliases/alias-matches", "nopolicy", "encrypt", enc("resource-aliases"), ALLOWED),
    Case("resource-aliases/alias-does-not-match", "nopolicy", "encrypt", enc("resource-aliases-other"),
         Denied("identity")),
    # -- aws:ResourceTag, aws:RequestTag + aws:TagKeys
    Case("resource-tag/matches", "nopolicy", "encrypt", enc("tag-prod"), ALLOWED),
    Case("resource-tag/other-value", "nopolicy", "encrypt", enc("tag-dev"), Denied("identity")),
    Case("request-tag/allowed-tag", "nopolicy", "tag_resource",
         key("request-tags", Tags=[{"TagKey": "team", "TagValue": "blue"}]), ALLOWED),
    Case("request-tag/other-value", "nopolicy", "tag_resource",
         key("request-tags", Tags=[{"TagKey": "team", "TagValue": "red"}]), Denied("identity")),
    Case("request-tag/extra-tag-key", "nopolicy", "tag_resource",
         key("request-tags", Tags=[{"TagKey": "team", "TagValue": "blue"}, {"TagKey": "cost", "TagValue": "1"}]),
         Denied("identity")),
    # -- algorithms
    Case("alg/symmetric-default-implicit", "nopolicy", "encrypt", enc("alg"), ALLOWED),
    Case("alg/symmetric-default-explicit", "nopolicy", "encrypt", enc("alg", EncryptionAlgorithm="SYMMETRIC_DEFAULT"),
         ALLOWED),
    Case("alg/rsa-oaep-sha256", "nopolicy", "encrypt", enc("rsa-alg", EncryptionAlgorithm="RSAES_OAEP_SHA_256"),
         ALLOWED),
    Case("alg/rsa-oaep-sha1", "nopolicy", "encrypt", enc("rsa-alg", EncryptionAlgorithm="RSAES_OAEP_SHA_1"),
         Denied("identity")),
    Case("sign-alg/pss", "nopolicy", "sign",
         key("sign-alg", Message=b"msg", SigningAlgorithm="RSASSA_PSS_SHA_256"), ALLOWED),
    Case("sign-alg/pkcs1", "nopolicy", "sign",
         key("sign-alg", Message=b"msg", SigningAlgorithm="RSASSA_PKCS1_V1_5_SHA_256"), Denied("identity")),
    # -- kms:ViaService is absent on direct calls
    Case("via-service/string-equals-fails", "nopolicy", "encrypt", enc("via-equals"), Denied("identity")),
    Case("via-service/if-exists-passes", "nopolicy", "encrypt", enc("via-ifexists"), ALLOWED),
    # -- aws:SourceIp (the test client is 127.0.0.1)
    Case("source-ip/in-range", "nopolicy", "encrypt", enc("ip-in"), ALLOWED),
    Case("source-ip/out-of-range", "nopolicy", "encrypt", enc("ip-out"), Denied("identity")),
    Case("source-ip/not-ip-address", "nopolicy", "encrypt", enc("not-ip-out"), ALLOWED),
    # -- aws:PrincipalArn: a session's is its role ARN
    Case("principal-arn/role-session", "session", "encrypt", enc("principal-arn"), ALLOWED),
    Case("principal-arn/other-user", "nopolicy", "encrypt", enc("principal-arn"), Denied("identity")),
    # -- aws:CurrentTime
    Case("current-time/inside-window", "nopolicy", "encrypt", enc("time-window"), ALLOWED),
    Case("current-time/window-passed", "nopolicy", "encrypt", enc("time-past"), Denied("identity")),
    Case("secure-transport/true-required", "nopolicy", "encrypt", enc("secure-only"), Denied("identity")),
    Case("time/epoch-seconds-value", "nopolicy", "encrypt", enc("time-epoch"), ALLOWED),
    Case("ec/list-of-values-any", "nopolicy", "encrypt", enc("ec-list", {"dept": "it"}), ALLOWED),
    Case("ec/list-of-values-none", "nopolicy", "encrypt", enc("ec-list", {"dept": "ops"}), Denied("identity")),
    # -- kms:ReEncryptOnSameKey, kms:GrantOperations
    Case("same-key/same", "nopolicy", "re_encrypt", reenc("same-key", "same-key"), ALLOWED),
    Case("same-key/to-other-key", "nopolicy", "re_encrypt", reenc("same-key", "re-to"), Denied("ciphertext")),
    Case("grant-ops/listed", "nopolicy", "create_grant",
         key("grant-ops", GranteePrincipal=ROOT_O, Operations=["Encrypt"]), ALLOWED),
    Case("grant-ops/not-listed", "nopolicy", "create_grant",
         key("grant-ops", GranteePrincipal=ROOT_O, Operations=["Encrypt", "ReEncryptFrom"]), Denied("identity")),
    # -- NotAction, action case, principals by account id and by role
    Case("not-action/excluded-action-allowed", "nopolicy", "encrypt", enc("not-action"), ALLOWED),
    Case("not-action/other-actions-denied", "nopolicy", "generate_data_key", gdk("not-action"),
         Denied("deny-resource")),
    Case("action-case/lower-case-action", "nopolicy", "encrypt", enc("action-case"), ALLOWED),
    Case("account-id/delegates-like-root-arn", "app", "encrypt", enc("account-id"), Denied("identity"),
         "app's IAM does not name this key: delegation without an IAM allow"),
    Case("account-id/iam-allows", "session", "encrypt", enc("account-id"), ALLOWED),
    Case("role-direct/session-covered", "session", "generate_data_key", gdk("role-direct"), ALLOWED),
    Case("role-direct/without-the-role", "partner", "generate_data_key", gdk("role-direct"), Denied("resource")),
    Case("session-direct/session-arn-named", "session", "generate_data_key_without_plaintext",
         gdk("session-direct"), ALLOWED),
    Case("session-direct/others-not", "nopolicy", "generate_data_key_without_plaintext", gdk("session-direct"),
         Denied("identity")),
    Case("deny-role/covers-its-sessions", "session", "encrypt", enc("deny-role"), Denied("deny-resource")),
    Case("deny-role/not-others", "admin", "encrypt", enc("deny-role"), ALLOWED),
    # -- more request and key attributes (spec §7.4)
    Case("mac-alg/matches", "nopolicy", "generate_mac",
         key("mac-alg", Message=b"m", MacAlgorithm="HMAC_SHA_256"), ALLOWED),
    Case("mac-alg/other", "nopolicy", "generate_mac",
         key("mac-alg-other", Message=b"m", MacAlgorithm="HMAC_SHA_256"), Denied("identity")),
    Case("message-type/digest", "nopolicy", "sign",
         key("msg-type", Message=b"d" * 32, MessageType="DIGEST", SigningAlgorithm="ECDSA_SHA_256"), ALLOWED),
    Case("message-type/raw", "nopolicy", "sign",
         key("msg-type", Message=b"d" * 32, SigningAlgorithm="ECDSA_SHA_256"), Denied("identity")),
    Case("key-attrs/spec-usage-origin", "nopolicy", "encrypt", enc("key-attrs"), ALLOWED),
    Case("key-attrs/usage-mismatch", "nopolicy", "encrypt", enc("key-usage-wrong"), Denied("identity")),
    Case("alg/data-key-without-plaintext", "nopolicy", "generate_data_key_without_plaintext", gdk("alg-data-keys"),
         ALLOWED),
    Case("alg/data-key-pair", "nopolicy", "generate_data_key_pair",
         key("alg-data-keys", KeyPairSpec="ECC_NIST_P256"), ALLOWED),
    # -- IAM-only operations (resource "*", spec §7.3)
    Case("iam-only/admin-create-key", "admin", "create_key", {}, ALLOWED),
    Case("iam-only/nopolicy-create-key", "nopolicy", "create_key", {}, Denied("identity", resource="*")),
    Case("iam-only/app-create-key-condition-fails", "app", "create_key", {}, Denied("identity", resource="*")),
    Case("iam-only/app-create-key-condition-holds", "app", "create_key",
         {"KeySpec": "HMAC_256", "KeyUsage": "GENERATE_VERIFY_MAC"}, ALLOWED),
    Case("iam-only/admin-list-keys", "admin", "list_keys", {"Limit": 1000}, ALLOWED),
    Case("iam-only/app-list-keys", "app", "list_keys", {}, Denied("identity", resource="*")),
    Case("iam-only/admin-list-aliases", "admin", "list_aliases", {"Limit": 100}, ALLOWED),
    Case("iam-only/nopolicy-list-aliases", "nopolicy", "list_aliases", {}, Denied("identity", resource="*")),
    Case("iam-only/app-generate-random", "app", "generate_random", {"NumberOfBytes": 32}, ALLOWED),
    Case("iam-only/nopolicy-generate-random", "nopolicy", "generate_random", {"NumberOfBytes": 32},
         Denied("identity", resource="*")),
    Case("iam-only/key-policy-cannot-grant-it", "partner-nopolicy", "list_keys", {}, Denied("identity", resource="*")),
    # -- alias operations: the alias (IAM) and the key
    Case("alias/both-allowed", "app", "create_alias",
         {"AliasName": "alias/authz-app-one", "TargetKeyId": K("default")}, ALLOWED),
    Case("alias/alias-not-allowed", "app", "create_alias",
         {"AliasName": "alias/authz-zzz", "TargetKeyId": K("default")},
         Denied("identity", resource=AliasArn("alias/authz-zzz"))),
    Case("alias/key-not-allowed", "app", "create_alias",
         {"AliasName": "alias/authz-app-two", "TargetKeyId": K("other-default")},
         Denied("identity", resource=K("other-default"))),
    Case("alias/key-policy-alone-not-enough", "nopolicy", "create_alias",
         {"AliasName": "alias/authz-np", "TargetKeyId": K("star")},
         Denied("identity", resource=AliasArn("alias/authz-np"))),
    # -- cross account (spec §7.3.4): both the key policy and the caller's IAM
    Case("cross-account/both-allow-decrypt", "partner", "decrypt", dec("shared"), ALLOWED),
    Case("cross-account/both-allow-encrypt", "partner", "encrypt", enc("shared"), ALLOWED),
    Case("cross-account/only-key-policy-decrypt", "partner-nopolicy", "decrypt", dec("shared"), Denied("ciphertext")),
    Case("cross-account/only-key-policy-encrypt", "partner-nopolicy", "encrypt", enc("shared"), Denied("identity")),
    Case("cross-account/only-iam-decrypt", "partner", "decrypt", dec("default"), Denied("ciphertext")),
    Case("cross-account/only-iam-encrypt", "partner", "encrypt", enc("default"), Denied("resource")),
    Case("cross-account/not-a-cross-account-operation", "partner", "disable_key", key("shared"),
         Fails("NotFoundException", "Key '{arn}' does not exist")),
    Case("cross-account/grant-to-other-account-user", "partner-nopolicy", "decrypt",
         dec("default-app-x", {"app": "x"}), ALLOWED),
    Case("cross-account/grant-constraint-not-met", "partner-nopolicy", "decrypt",
         dec("default-app-y", {"app": "y"}), Denied("ciphertext")),
    Case("cross-account/key-policy-allows-not-iam-action", "partner", "describe_key", key("shared"),
         Denied("identity")),
    # -- the assumed-role session (role identity policy; session ARN in messages)
    Case("session/encrypt", "session", "encrypt", enc("default"), ALLOWED),
    Case("session/decrypt", "session", "decrypt", dec("default"), ALLOWED),
    Case("session/describe", "session", "describe_key", key("shared"), ALLOWED),
    Case("session/not-in-role-policy", "session", "disable_key", key("default"), Denied("identity")),
    # -- DryRun authorizes too
    Case("dry-run/encrypt-allowed", "app", "encrypt", enc("default", DryRun=True), DRY_RUN_OK),
    Case("dry-run/encrypt-denied", "nopolicy", "encrypt", enc("default", DryRun=True), Denied("identity")),
    Case("dry-run/decrypt-allowed", "app", "decrypt", dec("default", DryRun=True), DRY_RUN_OK),
    Case("dry-run/decrypt-denied", "nopolicy", "decrypt", dec("default", DryRun=True), Denied("ciphertext")),
    Case("dry-run/explicit-deny", "app", "encrypt", enc("deny", DryRun=True), Denied("deny-resource")),
    Case("dry-run/reencrypt-denied-destination", "nopolicy", "re_encrypt",
         {**reenc("re-from", "re-from"), "DryRun": True},
         Denied("identity", action="ReEncryptTo", resource=K("re-from"))),
    Case("dry-run/reencrypt-allowed", "nopolicy", "re_encrypt", {**reenc("re-from", "re-to"), "DryRun": True},
         DRY_RUN_OK),
    # -- grants: a grantee with no policy of its own (spec §8)
    Case("grant/subset-constraint-met", "grantee", "encrypt", enc("grant", {"purpose": "test", "extra": "1"}), ALLOWED),
    Case("grant/subset-constraint-not-met", "grantee", "encrypt", enc("grant", {"purpose": "prod"}),
         Denied("identity")),
    Case("grant/no-context", "grantee", "encrypt", enc("grant"), Denied("identity")),
    Case("grant/decrypt", "grantee", "decrypt", dec("grant", {"purpose": "test"}), ALLOWED),
    Case("grant/operation-not-granted", "grantee", "generate_data_key", gdk("grant", {"purpose": "test"}),
         Denied("identity")),
    Case("grant/with-token", "grantee", "encrypt", enc("grant-token", GrantTokens=[Token("token")]), ALLOWED),
    Case("grant/without-token", "grantee", "encrypt", enc("grant-token"), ALLOWED),
    Case("grant/token-not-for-this-key", "grantee", "encrypt", enc("default", GrantTokens=[Token("token")]),
         Denied("identity")),
    Case("grant/token-of-revoked-grant", "grantee", "generate_data_key",
         gdk("grant-token", GrantTokens=[Token("revoked")]), Denied("identity")),
    Case("grant/not-for-others", "nopolicy", "encrypt", enc("grant", {"purpose": "test"}), Denied("identity")),
    # -- lockout safety check on PutKeyPolicy (spec §7.2)
    Case("lockout/policy-without-caller", "admin", "put_key_policy",
         key("lock", PolicyName="default", Policy=LOCK_ONLY_NOPOLICY),
         Fails("MalformedPolicyDocumentException", LOCKOUT)),
    Case("lockout/deny-of-put-for-caller", "admin", "put_key_policy",
         key("lock", PolicyName="default", Policy=LOCK_DENY_ADMIN),
         Fails("MalformedPolicyDocumentException", LOCKOUT)),
    Case("lockout/caller-named-directly", "admin", "put_key_policy",
         key("lock", PolicyName="default", Policy=LOCK_ADMIN_DIRECT), ALLOWED),
    Case("lockout/back-to-delegation", "admin", "put_key_policy",
         key("lock", PolicyName="default", Policy=LOCK_DELEGATE), ALLOWED),
    Case("lockout/not-allowed-to-put", "nopolicy", "put_key_policy",
         key("lock", PolicyName="default", Policy=LOCK_DELEGATE), Denied("identity")),
]


@pytest.fixture(scope="module")
def world() -> Iterator[World]:
    with seeded_trent(seed_document(), "trent-authz-") as server:
        yield build_world(server, server.data_dir.parent)


def test_case_ids_are_unique():
    ids = [c.id for c in CASES]
    assert len(ids) == len(set(ids))


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_authz_matrix(world: World, case: Case) -> None:
    client = world.clients[case.who]
    call = getattr(client, case.op)
    params = world.resolve(case.params)
    if isinstance(case.expect, Allowed):
        out = call(**params)
        CHECKS[case.op](world, params, out)
    elif isinstance(case.expect, Denied):
        expect_error(call, "AccessDeniedException", denial_message(world, case, case.expect), **params)
    else:
        message = case.expect.message.format(arn=params.get("KeyId"))
        expect_error(call, case.expect.code, message, **params)


def test_partner_may_not_assume_the_locked_role(world: World) -> None:
    """The role trusts owner/admin only: the partner's sts:AssumeRole allow is not enough."""
    _, key_id, secret = USERS["partner"]
    sts = client_for(world.server, key_id, secret, service="sts")
    expect_error(sts.assume_role, "AccessDenied",
                 f"User: {PUSER} is not authorized to perform: sts:AssumeRole on resource: {LOCKED_ROLE} "
                 "because no resource-based policy allows the sts:AssumeRole action",
                 status=403, RoleArn=LOCKED_ROLE, RoleSessionName="nope")
    # ...while owner/admin may (and the session is named as such).
    _, key_id, secret = USERS["admin"]
    out = client_for(world.server, key_id, secret, service="sts").assume_role(RoleArn=LOCKED_ROLE,
                                                                              RoleSessionName="ok")
    assert out["AssumedRoleUser"]["Arn"] == f"arn:aws:sts::{ROOT_O.split(':')[4]}:assumed-role/locked/ok"


def test_conditions_on_tags_and_aliases_follow_changes_at_once(world: World) -> None:
    """aws:ResourceTag and kms:ResourceAliases read the key as it is now: the policy
    decisions the server caches must not outlive a tag or alias change."""
    admin, nopolicy = world.clients["admin"], world.clients["nopolicy"]
    tagged, aliased = world.arn("mutable"), world.arn("mutable-alias")

    def denied(arn: str) -> None:
        expect_error(nopolicy.encrypt, "AccessDeniedException",
                     f"User: {NOPOL} is not authorized to perform: kms:Encrypt on resource: {arn} because no "
                     "identity-based policy allows the kms:Encrypt action", KeyId=arn, Plaintext=PLAINTEXT)

    denied(tagged)
    admin.tag_resource(KeyId=tagged, Tags=[{"TagKey": "stage", "TagValue": "live"}])
    assert nopolicy.encrypt(KeyId=tagged, Plaintext=PLAINTEXT)["KeyId"] == tagged
    admin.tag_resource(KeyId=tagged, Tags=[{"TagKey": "stage", "TagValue": "retired"}])
    denied(tagged)
    admin.untag_resource(KeyId=tagged, TagKeys=["stage"])
    denied(tagged)

    denied(aliased)
    admin.create_alias(AliasName="alias/authz-live", TargetKeyId=aliased)
    assert nopolicy.encrypt(KeyId=aliased, Plaintext=PLAINTEXT)["KeyId"] == aliased
    admin.delete_alias(AliasName="alias/authz-live")
    denied(aliased)


def test_key_policy_changes_apply_to_the_next_call(world: World) -> None:
    """A PutKeyPolicy that removes an Allow (or adds a Deny) takes effect on the very next
    call of every kind of caller, including the cross-account session-less user."""
    admin, partner = world.clients["admin"], world.clients["partner"]
    arn = admin.create_key(Policy=json.dumps(doc(allow(ROOT_O, "kms:*"), allow(
        f"arn:aws:iam::{PUSER.split(':')[4]}:root", ["kms:Encrypt", "kms:Decrypt"]))))["KeyMetadata"]["Arn"]
    blob = partner.encrypt(KeyId=arn, Plaintext=PLAINTEXT)["CiphertextBlob"]
    assert partner.decrypt(CiphertextBlob=blob)["Plaintext"] == PLAINTEXT
    admin.put_key_policy(KeyId=arn, PolicyName="default", Policy=json.dumps(doc(allow(ROOT_O, "kms:*"))))
    expect_error(partner.decrypt, "AccessDeniedException", CIPHERTEXT_DENIED, CiphertextBlob=blob)
    expect_error(partner.encrypt, "AccessDeniedException",
                 f"User: {PUSER} is not authorized to perform: kms:Encrypt on resource: {arn} because no "
                 "resource-based policy allows the kms:Encrypt action", KeyId=arn, Plaintext=PLAINTEXT)
