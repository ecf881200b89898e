"""Key derivation and commitment for suite 0x0073 (client-wire-formats.md §4.2 "V3")::

    PRK        = HKDF-Extract(SHA-512, salt = message ID (28 bytes), IKM = data key (32 bytes))
    DEK        = HKDF-Expand(PRK, 0x00 0x73 ‖ "DERIVEKEY", 32)
    commitment = HKDF-Expand(PRK, 0x00 0x73 ‖ "COMMITKEY", 28)

Unlike the Encryption SDK (envelope/kdf.py) the suite ID *is* in the commit info, and the
commitment is 28 bytes. The HKDF steps are envelope's.
"""

from __future__ import annotations

import hmac

from ..envelope.kdf import DerivedKeys, hkdf_expand, hkdf_extract
from .errors import DecryptionFailed
from .suites import COMMITMENT_LEN, DATA_KEY_LEN, KC_GCM, MESSAGE_ID_LEN


def derive_committing(data_key: bytes, message_id: bytes) -> DerivedKeys:
    if len(data_key) != DATA_KEY_LEN or len(message_id) != MESSAGE_ID_LEN:
        raise DecryptionFailed()
    prk = hkdf_extract("sha512", message_id, data_key)
    dek = hkdf_expand("sha512", prk, KC_GCM.id_bytes + b"DERIVEKEY", DATA_KEY_LEN)
    return DerivedKeys(dek, hkdf_expand("sha512", prk, KC_GCM.id_bytes + b"COMMITKEY", COMMITMENT_LEN))


def verified_key(data_key: bytes, message_id: bytes, stored_commitment: bytes) -> bytes:
    """The content key, only after the stored commitment matched (constant-time)."""
    keys = derive_committing(data_key, message_id)
    assert keys.commit_key is not None
    if not hmac.compare_digest(keys.commit_key, stored_commitment):
        raise DecryptionFailed()
    return keys.data_encryption_key
