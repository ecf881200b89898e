"""Handlers for asymmetric, HMAC and key-agreement operations (spec §3.3-3.7).

Merged into :data:`trent.protocol.operations.OPERATIONS`. Sign/Verify/GenerateMac/
VerifyMac/GetPublicKey/DeriveSharedSecret are inline (cache-served material, no
blocking I/O). GenerateDataKeyPair* is not: RSA_4096 generation takes up to seconds
and must not stall the event loop.
"""

from __future__ import annotations

from typing import Any

from trent.domain.key_specs import KEY_SPECS
from trent.domain.keys import KeyUsage
from trent.protocol.operations import Operation, Outcome, Request, b64
from trent.protocol.shapes import key_metadata
from trent.service import data_key_pairs, key_agreement, key_encapsulation, mac, signing
from trent.service.context import RequestContext
from trent.service.deps import ServiceDeps

_ALGORITHM_MEMBERS = {
    KeyUsage.ENCRYPT_DECRYPT: "EncryptionAlgorithms",
    KeyUsage.SIGN_VERIFY: "SigningAlgorithms",
    KeyUsage.KEY_AGREEMENT: "KeyAgreementAlgorithms",
    KeyUsage.ENCAPSULATE_DECAPSULATE: "EncapsulationAlgorithms",
}


def _sign(deps: ServiceDeps, ctx: RequestContext, r: Request) -> Outcome:
    signed = signing.sign(
        deps, ctx, r["KeyId"], r["Message"], r.get("MessageType"), r["SigningAlgorithm"], r.get("DryRun", False)
    )
    body = {"KeyId": signed.key.arn, "Signature": b64(signed.signature), "SigningAlgorithm": signed.algorithm}
    return Outcome(body, (signed.key,))


def _verify(deps: ServiceDeps, ctx: RequestContext, r: Request) -> Outcome:
    key = signing.verify(
        deps, ctx, r["KeyId"], r["Message"], r.get("MessageType"), r["Signature"], r["SigningAlgorithm"],
        r.get("DryRun", False),
    )
    body = {"KeyId": key.arn, "SignatureValid": True, "SigningAlgorithm": r["SigningAlgorithm"]}
    return Outcome(body, (key,))


def _get_public_key(deps: ServiceDeps, ctx: RequestContext, r: Request) -> Outcome:
    public = signing.get_public_key(deps, ctx, r["KeyId"])
    key = public.key
    md = key_metadata(key)  # the same spec/usage/algorithm members as DescribeKey (spec §3.7)
    body: dict[str, Any] = {"KeyId": key.arn, "PublicKey": b64(public.der)}
    for member in ("CustomerMasterKeySpec", "KeySpec", "KeyUsage"):
        if member in md:
            body[member] = md[member]
    body[_ALGORITHM_MEMBERS[key.key_usage]] = list(KEY_SPECS[key.key_spec].algorithms_by_usage[key.key_usage])
    return Outcome(body, (key,))


def _generate_mac(deps: ServiceDeps, ctx: RequestContext, r: Request) -> Outcome:
    result = mac.generate_mac(deps, ctx, r["KeyId"], r["Message"], r["MacAlgorithm"], r.get("DryRun", False))
    body = {"Mac": b64(result.tag), "MacAlgorithm": result.algorithm, "KeyId": result.key.arn}
    return Outcome(body, (result.key,))


def _verify_mac(deps: ServiceDeps, ctx: RequestContext, r: Request) -> Outcome:
    key = mac.verify_mac(deps, ctx, r["KeyId"], r["Message"], r["MacAlgorithm"], r["Mac"], r.get("DryRun", False))
    return Outcome({"KeyId": key.arn, "MacValid": True, "MacAlgorithm": r["MacAlgorithm"]}, (key,))


def _derive_shared_secret(deps: ServiceDeps, ctx: RequestContext, r: Request) -> Outcome:
    result = key_agreement.derive_shared_secret(
        deps, ctx, r["KeyId"], r["KeyAgreementAlgorithm"], r["PublicKey"], r.get("DryRun", False)
    )
    body = {
        "KeyId": result.key.arn,
        "SharedSecret": b64(result.secret),
        "KeyAgreementAlgorithm": result.algorithm,
        "KeyOrigin": str(result.key.origin),
    }
    return Outcome(body, (result.key,))


def _generate_data_key_pair(with_plaintext: bool) -> Any:
    operation = "GenerateDataKeyPair" if with_plaintext else "GenerateDataKeyPairWithoutPlaintext"

    def handler(deps: ServiceDeps, ctx: RequestContext, r: Request) -> Outcome:
        pair = data_key_pairs.generate_data_key_pair(
            deps, ctx, r["KeyId"], r["KeyPairSpec"], r.get("EncryptionContext"), operation, r.get("DryRun", False)
        )
        sealed = pair.sealed
        body = {"PrivateKeyCiphertextBlob": b64(sealed.blob)}
        if with_plaintext:
            body["PrivateKeyPlaintext"] = b64(pair.private_key)
        body.update(
            {"PublicKey": b64(pair.public_key), "KeyId": sealed.key.arn, "KeyPairSpec": pair.spec}
        )
        if sealed.material_id is not None:
            body["KeyMaterialId"] = sealed.material_id
        return Outcome(body, (sealed.key,), key_material_id=sealed.material_id)

    return handler


def _encapsulate(deps: ServiceDeps, ctx: RequestContext, r: Request) -> Outcome:
    done = key_encapsulation.encapsulate(deps, ctx, r["KeyId"], r["EncapsulationAlgorithm"], r.get("DryRun", False))
    body = {"KeyId": done.key.arn, "SharedSecret": b64(done.secret), "SharedSecretCiphertextBlob": b64(done.ciphertext),
            "EncapsulationAlgorithm": done.algorithm}
    return Outcome(body, (done.key,))


def _decapsulate(deps: ServiceDeps, ctx: RequestContext, r: Request) -> Outcome:
    done = key_encapsulation.decapsulate(
        deps, ctx, r["KeyId"], r["SharedSecretCiphertextBlob"], r["EncapsulationAlgorithm"], r.get("DryRun", False)
    )
    body = {"KeyId": done.key.arn, "SharedSecret": b64(done.secret), "EncapsulationAlgorithm": done.algorithm}
    return Outcome(body, (done.key,))


ASYMMETRIC_OPERATIONS: tuple[Operation, ...] = (
    Operation("Sign", _sign, inline=True),
    Operation("Verify", _verify, inline=True),
    Operation("GetPublicKey", _get_public_key, inline=True),
    Operation("GenerateMac", _generate_mac, inline=True),
    Operation("VerifyMac", _verify_mac, inline=True),
    Operation("DeriveSharedSecret", _derive_shared_secret, inline=True),
    Operation("Encapsulate", _encapsulate, inline=True),  # issue 19: ML-KEM (FIPS 203)
    Operation("Decapsulate", _decapsulate, inline=True),
    Operation("GenerateDataKeyPair", _generate_data_key_pair(True)),
    Operation("GenerateDataKeyPairWithoutPlaintext", _generate_data_key_pair(False)),
)
