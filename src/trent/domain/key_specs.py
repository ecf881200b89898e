"""THE key-spec table: spec -> allowed usages, algorithms, size limits (spec §3.1).

Every rule that depends on a key's spec reads it from :data:`KEY_SPECS`; nothing
else in Trent lists key specs.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from types import MappingProxyType

from trent.domain.keys import KeySpec, KeyUsage


class KeyFamily(enum.StrEnum):
    """What kind of key a spec is: drives UpdateAlias compatibility (spec §2.1) and more."""

    SYMMETRIC = "SYMMETRIC"
    RSA = "RSA"
    ECC = "ECC"
    HMAC = "HMAC"
    ML_DSA = "ML_DSA"
    ML_KEM = "ML_KEM"
    SM2 = "SM2"


@dataclass(frozen=True, slots=True)
class KeySpecInfo:
    spec: KeySpec
    family: KeyFamily
    usages: tuple[KeyUsage, ...]
    encryption_algorithms: tuple[str, ...] = ()
    signing_algorithms: tuple[str, ...] = ()
    mac_algorithms: tuple[str, ...] = ()
    key_agreement_algorithms: tuple[str, ...] = ()
    encapsulation_algorithms: tuple[str, ...] = ()
    # SM2 exists only in China Regions (spec §3.1); elsewhere it is refused.
    china_regions_only: bool = False
    # RSA modulus size in bytes (for OAEP plaintext limits), HMAC material length range.
    size_bytes: int | None = None
    material_length_range: tuple[int, int] | None = None
    algorithms_by_usage: MappingProxyType[KeyUsage, tuple[str, ...]] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        by_usage = {
            KeyUsage.ENCRYPT_DECRYPT: self.encryption_algorithms,
            KeyUsage.SIGN_VERIFY: self.signing_algorithms,
            KeyUsage.GENERATE_VERIFY_MAC: self.mac_algorithms,
            KeyUsage.KEY_AGREEMENT: self.key_agreement_algorithms,
            KeyUsage.ENCAPSULATE_DECAPSULATE: self.encapsulation_algorithms,
        }
        object.__setattr__(self, "algorithms_by_usage", MappingProxyType(by_usage))

    @property
    def default_usage(self) -> KeyUsage | None:
        """Only symmetric keys may omit KeyUsage (spec §3.1)."""
        return KeyUsage.ENCRYPT_DECRYPT if self.spec is KeySpec.SYMMETRIC_DEFAULT else None


_RSA_ENC = ("RSAES_OAEP_SHA_1", "RSAES_OAEP_SHA_256")
_RSA_SIGN = (
    "RSASSA_PKCS1_V1_5_SHA_256",
    "RSASSA_PKCS1_V1_5_SHA_384",
    "RSASSA_PKCS1_V1_5_SHA_512",
    "RSASSA_PSS_SHA_256",
    "RSASSA_PSS_SHA_384",
    "RSASSA_PSS_SHA_512",
)
_SIGN_OR_AGREE = (KeyUsage.SIGN_VERIFY, KeyUsage.KEY_AGREEMENT)


def _rsa(spec: KeySpec, bits: int) -> KeySpecInfo:
    return KeySpecInfo(
        spec,
        KeyFamily.RSA,
        (KeyUsage.ENCRYPT_DECRYPT, KeyUsage.SIGN_VERIFY),
        encryption_algorithms=_RSA_ENC,
        signing_algorithms=_RSA_SIGN,
        size_bytes=bits // 8,
    )


def _hmac(spec: KeySpec, alg: str, lengths: tuple[int, int]) -> KeySpecInfo:
    return KeySpecInfo(
        spec, KeyFamily.HMAC, (KeyUsage.GENERATE_VERIFY_MAC,), mac_algorithms=(alg,), material_length_range=lengths
    )


def _ml_kem(spec: KeySpec) -> KeySpecInfo:
    """FIPS 203 key pairs for Encapsulate/Decapsulate (issue 19; model KeySpec docs)."""
    return KeySpecInfo(spec, KeyFamily.ML_KEM, (KeyUsage.ENCAPSULATE_DECAPSULATE,), encapsulation_algorithms=("ML_KEM",))


def _ml_dsa(spec: KeySpec) -> KeySpecInfo:
    return KeySpecInfo(spec, KeyFamily.ML_DSA, (KeyUsage.SIGN_VERIFY,), signing_algorithms=("ML_DSA_SHAKE_256",))


_TABLE = (
    KeySpecInfo(
        KeySpec.SYMMETRIC_DEFAULT,
        KeyFamily.SYMMETRIC,
        (KeyUsage.ENCRYPT_DECRYPT,),
        encryption_algorithms=("SYMMETRIC_DEFAULT",),
        size_bytes=32,
    ),
    _rsa(KeySpec.RSA_2048, 2048),
    _rsa(KeySpec.RSA_3072, 3072),
    _rsa(KeySpec.RSA_4096, 4096),
    KeySpecInfo(
        KeySpec.ECC_NIST_P256,
        KeyFamily.ECC,
        _SIGN_OR_AGREE,
        signing_algorithms=("ECDSA_SHA_256",),
        key_agreement_algorithms=("ECDH",),
    ),
    KeySpecInfo(
        KeySpec.ECC_NIST_P384,
        KeyFamily.ECC,
        _SIGN_OR_AGREE,
        signing_algorithms=("ECDSA_SHA_384",),
        key_agreement_algorithms=("ECDH",),
    ),
    KeySpecInfo(
        KeySpec.ECC_NIST_P521,
        KeyFamily.ECC,
        _SIGN_OR_AGREE,
        signing_algorithms=("ECDSA_SHA_512",),
        key_agreement_algorithms=("ECDH",),
    ),
    KeySpecInfo(KeySpec.ECC_SECG_P256K1, KeyFamily.ECC, (KeyUsage.SIGN_VERIFY,), signing_algorithms=("ECDSA_SHA_256",)),
    KeySpecInfo(
        KeySpec.ECC_NIST_EDWARDS25519,
        KeyFamily.ECC,
        (KeyUsage.SIGN_VERIFY,),
        signing_algorithms=("ED25519_SHA_512", "ED25519_PH_SHA_512"),
    ),
    _ml_dsa(KeySpec.ML_DSA_44),
    _ml_dsa(KeySpec.ML_DSA_65),
    _ml_dsa(KeySpec.ML_DSA_87),
    _ml_kem(KeySpec.ML_KEM_512),
    _ml_kem(KeySpec.ML_KEM_768),
    _ml_kem(KeySpec.ML_KEM_1024),
    _hmac(KeySpec.HMAC_224, "HMAC_SHA_224", (28, 64)),
    _hmac(KeySpec.HMAC_256, "HMAC_SHA_256", (32, 64)),
    _hmac(KeySpec.HMAC_384, "HMAC_SHA_384", (48, 128)),
    _hmac(KeySpec.HMAC_512, "HMAC_SHA_512", (64, 128)),
    KeySpecInfo(
        KeySpec.SM2,
        KeyFamily.SM2,
        (KeyUsage.ENCRYPT_DECRYPT, KeyUsage.SIGN_VERIFY, KeyUsage.KEY_AGREEMENT),
        encryption_algorithms=("SM2PKE",),
        signing_algorithms=("SM2DSA",),
        key_agreement_algorithms=("ECDH",),
        china_regions_only=True,
    ),
)

KEY_SPECS: MappingProxyType[KeySpec, KeySpecInfo] = MappingProxyType({info.spec: info for info in _TABLE})

# The data-key specs GenerateDataKey accepts (spec §3.6) and their lengths.
DATA_KEY_SPEC_BYTES: MappingProxyType[str, int] = MappingProxyType({"AES_256": 32, "AES_128": 16})

# Specs this build can actually create. The rest are validated fully (spec §3.1) but
# answered with UnsupportedOperationException. SM2 is China-Regions only (refused
# before this check, spec §3.1) and has no implementation here. ML_KEM_512: pyca
# cryptography implements ML-KEM-768/1024 only, and no maintained binding offers the
# seed-based key generation AWS's seed-format PKCS#8 needs (issue 19, see README).
NOT_IMPLEMENTED_SPECS: frozenset[KeySpec] = frozenset({KeySpec.SM2, KeySpec.ML_KEM_512})
IMPLEMENTED_SPECS: frozenset[KeySpec] = frozenset(s for s in KeySpec if s not in NOT_IMPLEMENTED_SPECS)

# GenerateDataKeyPair's KeyPairSpec values (spec §3.6); SM2 only in China Regions.
KEY_PAIR_SPECS: frozenset[str] = frozenset(
    {"RSA_2048", "RSA_3072", "RSA_4096", "ECC_NIST_P256", "ECC_NIST_P384", "ECC_NIST_P521", "ECC_SECG_P256K1",
     "ECC_NIST_EDWARDS25519", "SM2", "ML_KEM_512", "ML_KEM_768", "ML_KEM_1024"}
)

CHINA_REGION_PREFIX = "cn-"


def algorithms_for(spec: KeySpec, usage: KeyUsage) -> tuple[str, ...]:
    return KEY_SPECS[spec].algorithms_by_usage[usage]
