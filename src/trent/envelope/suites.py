"""The algorithm-suite table and commitment policies (client-wire-formats.md §4.1).

One row per suite; everything else in the library asks the row, never the ID.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from .errors import ConfigurationError


class CommitmentPolicy(enum.StrEnum):
    """§4.1 "Commitment policies"; the default is the strictest."""

    FORBID_ENCRYPT_ALLOW_DECRYPT = "FORBID_ENCRYPT_ALLOW_DECRYPT"
    REQUIRE_ENCRYPT_ALLOW_DECRYPT = "REQUIRE_ENCRYPT_ALLOW_DECRYPT"
    REQUIRE_ENCRYPT_REQUIRE_DECRYPT = "REQUIRE_ENCRYPT_REQUIRE_DECRYPT"


@dataclass(frozen=True, slots=True)
class AlgorithmSuite:
    suite_id: int
    name: str
    key_len: int  # AES key length in bytes (also the data-key length)
    kdf_hash: str | None  # hashlib name of the HKDF hash, or None (data key used directly)
    committing: bool
    curve: str | None  # "secp256r1" / "secp384r1" for signed suites
    sig_hash: str | None  # hashlib name of the message digest that is signed
    signature_len: int  # the SDK's static DER length (71 for P-256, 103 for P-384)
    message_format: int  # 1 or 2

    @property
    def signed(self) -> bool:
        return self.curve is not None

    @property
    def message_id_len(self) -> int:
        return 32 if self.message_format == 2 else 16

    @property
    def suite_data_len(self) -> int:
        # §4.1 header v2 item 8: the 32-byte commit key
        return 32 if self.committing else 0

    @property
    def id_bytes(self) -> bytes:
        return self.suite_id.to_bytes(2, "big")


def _s(sid: int, name: str, kl: int, kdf: str | None, commit: bool, curve: str | None,
       h: str | None, sl: int, fmt: int) -> AlgorithmSuite:
    return AlgorithmSuite(sid, name, kl, kdf, commit, curve, h, sl, fmt)


# §4.1 table "Algorithm suites (ESDK)"
SUITES: dict[int, AlgorithmSuite] = {
    s.suite_id: s
    for s in (
        _s(0x0014, "AES_128_GCM_IV12_TAG16", 16, None, False, None, None, 0, 1),
        _s(0x0046, "AES_192_GCM_IV12_TAG16", 24, None, False, None, None, 0, 1),
        _s(0x0078, "AES_256_GCM_IV12_TAG16", 32, None, False, None, None, 0, 1),
        _s(0x0114, "AES_128_GCM_IV12_TAG16_HKDF_SHA256", 16, "sha256", False, None, None, 0, 1),
        _s(0x0146, "AES_192_GCM_IV12_TAG16_HKDF_SHA256", 24, "sha256", False, None, None, 0, 1),
        _s(0x0178, "AES_256_GCM_IV12_TAG16_HKDF_SHA256", 32, "sha256", False, None, None, 0, 1),
        _s(0x0214, "AES_128_GCM_IV12_TAG16_HKDF_SHA256_ECDSA_P256", 16, "sha256", False,
           "secp256r1", "sha256", 71, 1),
        _s(0x0346, "AES_192_GCM_IV12_TAG16_HKDF_SHA384_ECDSA_P384", 24, "sha384", False,
           "secp384r1", "sha384", 103, 1),
        _s(0x0378, "AES_256_GCM_IV12_TAG16_HKDF_SHA384_ECDSA_P384", 32, "sha384", False,
           "secp384r1", "sha384", 103, 1),
        _s(0x0478, "AES_256_GCM_HKDF_SHA512_COMMIT_KEY", 32, "sha512", True, None, None, 0, 2),
        _s(0x0578, "AES_256_GCM_HKDF_SHA512_COMMIT_KEY_ECDSA_P384", 32, "sha512", True,
           "secp384r1", "sha384", 103, 2),
    )
}

DEFAULT_SUITE = SUITES[0x0578]
COMMITTING_DEFAULT = SUITES[0x0578]
NON_COMMITTING_DEFAULT = SUITES[0x0378]
#: Suites this library writes (the issue: write v2 only).
WRITABLE_SUITE_IDS = frozenset({0x0478, 0x0578})


def suite_by_id(suite_id: int) -> AlgorithmSuite:
    try:
        return SUITES[suite_id]
    except KeyError:
        raise ConfigurationError(f"unknown algorithm suite 0x{suite_id:04X}") from None


def suite_from_name(text: str) -> AlgorithmSuite:
    """Accept ``0x0578``, ``0578``, ``1400`` (decimal) or the suite's name."""
    t = text.strip()
    for s in SUITES.values():
        if t.upper() == s.name:
            return s
    try:
        value = int(t, 16) if t.lower().startswith("0x") or len(t) == 4 else int(t)
    except ValueError:
        raise ConfigurationError(f"unknown algorithm suite {text!r}") from None
    return suite_by_id(value)


def check_encrypt_policy(suite: AlgorithmSuite, policy: CommitmentPolicy) -> None:
    if policy is CommitmentPolicy.FORBID_ENCRYPT_ALLOW_DECRYPT:
        ok = not suite.committing
    else:
        ok = suite.committing
    if not ok:
        raise ConfigurationError(f"suite {suite.name} is not allowed by commitment policy {policy}")


def decrypt_allowed(suite: AlgorithmSuite, policy: CommitmentPolicy) -> bool:
    return suite.committing or policy is not CommitmentPolicy.REQUIRE_ENCRYPT_REQUIRE_DECRYPT
