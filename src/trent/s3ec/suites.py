"""Content-encryption suites of the S3 Encryption Client (client-wire-formats.md §4.2).

One row per suite; the rest of the package asks the row, never the ID.

=======  ==========================================  ======  =====================
ID       name                                        format  metadata value
=======  ==========================================  ======  =====================
0x0070   ALG_AES_256_CBC_IV16_NO_KDF (legacy)         v1/v2   ``AES/CBC/PKCS5Padding``
0x0072   ALG_AES_256_GCM_IV12_TAG16_NO_KDF            v2      ``AES/GCM/NoPadding``
0x0073   ALG_AES_256_GCM_HKDF_SHA512_COMMIT_KEY       v3      ``115`` (``x-amz-c``)
=======  ==========================================  ======  =====================

Ranged reads of 0x0072 / 0x0073 objects use AES-CTR over the same key stream (the spec's
decrypt-only suites 0x0071 / 0x0074); see ``ranges.py``.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from ..envelope.suites import CommitmentPolicy
from .errors import ConfigurationError


class FormatVersion(enum.IntEnum):
    V1 = 1
    V2 = 2
    V3 = 3


@dataclass(frozen=True, slots=True)
class ContentSuite:
    suite_id: int
    name: str
    cipher_name: str  # v1/v2 ``x-amz-cek-alg``
    legacy: bool  # unauthenticated: decrypt only, and only when legacy modes are enabled
    committing: bool
    iv_len: int
    tag_len: int

    @property
    def cek_alg(self) -> str:
        """The cek-alg *value* this suite is named by: ``x-amz-c`` / the reserved
        ``aws:x-amz-cek-alg`` context entry / the raw keyrings' wrap AAD (§4.2): the decimal
        suite ID for the committing suite, the cipher name before it."""
        return str(self.suite_id) if self.committing else self.cipher_name

    @property
    def id_bytes(self) -> bytes:
        return self.suite_id.to_bytes(2, "big")

    @property
    def format(self) -> FormatVersion:
        return FormatVersion.V3 if self.committing else FormatVersion.V2


CBC = ContentSuite(0x0070, "ALG_AES_256_CBC_IV16_NO_KDF", "AES/CBC/PKCS5Padding", True, False, 16, 0)
GCM = ContentSuite(0x0072, "ALG_AES_256_GCM_IV12_TAG16_NO_KDF", "AES/GCM/NoPadding", False, False, 12, 16)
KC_GCM = ContentSuite(0x0073, "ALG_AES_256_GCM_HKDF_SHA512_COMMIT_KEY", "AES/GCM/HKDF/CommitKey", False, True, 12, 16)

DATA_KEY_LEN = 32
#: §4.2 V3: content IV = twelve 0x01 bytes (the key is fresh per object: derived from the message ID)
COMMITTING_IV = b"\x01" * 12
MESSAGE_ID_LEN = 28
COMMITMENT_LEN = 28

SUITE_FOR_WRITE = {FormatVersion.V2: GCM, FormatVersion.V3: KC_GCM}
#: v1/v2 ``x-amz-cek-alg`` values
BY_CIPHER_NAME = {s.cipher_name: s for s in (CBC, GCM)}
#: v3 ``x-amz-c`` values
BY_V3_ID = {KC_GCM.cek_alg: KC_GCM}


def suite_for_format(fmt: FormatVersion | str | int, policy: CommitmentPolicy) -> ContentSuite:
    """The suite written for ``fmt``, checked against the commitment policy like Amazon's
    client (a committing policy refuses v2; FORBID_ENCRYPT refuses v3)."""
    try:
        version = FormatVersion(int(str(fmt).lower().lstrip("v")))
    except ValueError:
        raise ConfigurationError(f"unknown S3EC format {fmt!r} (v2 or v3)") from None
    if version not in SUITE_FOR_WRITE:
        raise ConfigurationError("format v1 is decrypt-only")
    suite = SUITE_FOR_WRITE[version]
    if (policy is CommitmentPolicy.FORBID_ENCRYPT_ALLOW_DECRYPT) == suite.committing:
        raise ConfigurationError(f"commitment policy {policy} does not allow writing format v{version.value}"
                                 f" ({suite.name})")
    return suite


def decrypt_allowed(suite: ContentSuite, policy: CommitmentPolicy) -> bool:
    return suite.committing or policy is not CommitmentPolicy.REQUIRE_ENCRYPT_REQUIRE_DECRYPT
