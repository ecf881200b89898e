"""The create-key wizard's choices, derived from THE key-spec table (domain/key_specs.py)
so the wizard offers only combinations CreateKey accepts (spec §3.1): key type -> usage
-> spec -> origin."""

from __future__ import annotations

from dataclasses import dataclass

from trent.domain.key_specs import IMPLEMENTED_SPECS, KEY_SPECS, KeyFamily, KeySpecInfo
from trent.domain.keys import KeySpec, KeyUsage, Origin

SYMMETRIC = "symmetric"
ASYMMETRIC = "asymmetric"
KEY_TYPES = {
    SYMMETRIC: "Symmetric — one key that encrypts and decrypts, or computes MACs. Never leaves Trent unencrypted.",
    ASYMMETRIC: "Asymmetric — a public/private key pair for public-key encryption, signing, key agreement or key "
                "encapsulation.",
}
_FAMILIES = {
    SYMMETRIC: frozenset({KeyFamily.SYMMETRIC, KeyFamily.HMAC}),
    ASYMMETRIC: frozenset({KeyFamily.RSA, KeyFamily.ECC, KeyFamily.ML_DSA, KeyFamily.ML_KEM}),
}
USAGE_TEXT = {
    KeyUsage.ENCRYPT_DECRYPT: "Encrypt and decrypt",
    KeyUsage.SIGN_VERIFY: "Sign and verify",
    KeyUsage.GENERATE_VERIFY_MAC: "Generate and verify MAC",
    KeyUsage.KEY_AGREEMENT: "Key agreement",
    KeyUsage.ENCAPSULATE_DECAPSULATE: "Encapsulate and decapsulate (post-quantum key encapsulation)",
}
ORIGIN_TEXT = {
    Origin.AWS_KMS: "KMS — Trent generates the key material",
    Origin.EXTERNAL: "External (import key material) — you import your own material after creating the key",
    Origin.AWS_CLOUDHSM: "Custom key store (CloudHSM) — the key is generated and stays inside an HSM",
}


@dataclass(frozen=True, slots=True)
class SpecChoice:
    spec: KeySpec
    algorithms: tuple[str, ...]


def _creatable() -> list[KeySpecInfo]:
    # Specs this build can create; SM2 exists only in China Regions (spec §3.1).
    return [info for spec, info in KEY_SPECS.items() if spec in IMPLEMENTED_SPECS and not info.china_regions_only]


def usages_for(key_type: str) -> list[KeyUsage]:
    families = _FAMILIES.get(key_type, frozenset())
    found = {u for info in _creatable() if info.family in families for u in info.usages}
    return [u for u in KeyUsage if u in found]


def specs_for(key_type: str, usage: str) -> list[SpecChoice]:
    families = _FAMILIES.get(key_type, frozenset())
    return [
        SpecChoice(info.spec, info.algorithms_by_usage[KeyUsage(usage)])
        for info in _creatable()
        if info.family in families and usage in {str(u) for u in info.usages}
    ]


def origins_for(spec: str) -> list[Origin]:
    info = KEY_SPECS[KeySpec(spec)]
    origins = [Origin.AWS_KMS]
    if info.family not in (KeyFamily.ML_DSA, KeyFamily.ML_KEM):  # no PKCS#8 import for these in this build
        origins.append(Origin.EXTERNAL)
    if info.spec is KeySpec.SYMMETRIC_DEFAULT:  # spec §10.1: custom key stores hold symmetric keys only
        origins.append(Origin.AWS_CLOUDHSM)
    return origins


def type_of(spec: str) -> str:
    return SYMMETRIC if KEY_SPECS[KeySpec(spec)].family in _FAMILIES[SYMMETRIC] else ASYMMETRIC
