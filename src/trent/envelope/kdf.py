"""Data-key derivation per suite (client-wire-formats.md §4.1 "Key derivation").

* no KDF:            DEK = data key
* HKDF, not commit:  DEK = HKDF(hash, salt = zeros(hash_len), IKM = data key,
                                info = suiteID(2) ‖ messageID(16), L = key_len)
* committing (v2):   PRK = HKDF-Extract(SHA-512, salt = messageID(32), IKM = data key)
                     DEK = Expand(PRK, suiteID ‖ "DERIVEKEY", 32)
                     commitKey = Expand(PRK, "COMMITKEY", 32)   (no suite ID here)

HKDF is done with ``hmac.digest`` (RFC 5869 §2.2/§2.3): a couple of HMAC calls per message.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass, field
from typing import NoReturn

from .suites import AlgorithmSuite


def hkdf_extract(hash_name: str, salt: bytes, ikm: bytes) -> bytes:
    if not salt:
        salt = bytes(hashlib.new(hash_name).digest_size)
    return hmac.digest(salt, ikm, hash_name)


def hkdf_expand(hash_name: str, prk: bytes, info: bytes, length: int) -> bytes:
    okm = b""
    block = b""
    counter = 1
    while len(okm) < length:
        block = hmac.digest(prk, block + info + bytes((counter,)), hash_name)
        okm += block
        counter += 1
    return okm[:length]


@dataclass(frozen=True, slots=True)
class DerivedKeys:
    data_encryption_key: bytes = field(repr=False)
    commit_key: bytes | None = field(repr=False)

    def __reduce__(self) -> NoReturn:  # habit 7: objects holding keys refuse pickling
        raise TypeError("key material cannot be pickled")


def derive(suite: AlgorithmSuite, data_key: bytes, message_id: bytes) -> DerivedKeys:
    if suite.kdf_hash is None:
        return DerivedKeys(data_key, None)
    if suite.committing:
        prk = hkdf_extract(suite.kdf_hash, message_id, data_key)
        dek = hkdf_expand(suite.kdf_hash, prk, suite.id_bytes + b"DERIVEKEY", suite.key_len)
        return DerivedKeys(dek, hkdf_expand(suite.kdf_hash, prk, b"COMMITKEY", 32))
    prk = hkdf_extract(suite.kdf_hash, b"", data_key)
    return DerivedKeys(hkdf_expand(suite.kdf_hash, prk, suite.id_bytes + message_id, suite.key_len), None)
