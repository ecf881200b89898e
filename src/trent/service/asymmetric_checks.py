"""The checks every non-symmetric crypto call makes, in AWS's order: state, usage,
algorithm (spec §3.3-3.5, §4.3, §13)."""

from __future__ import annotations

from trent.domain.key_specs import KEY_SPECS
from trent.domain.key_states import check_state
from trent.domain.keys import Key, KeyUsage
from trent.errors import InvalidKeyUsage


def require(key: Key, operation: str, usage: KeyUsage, algorithm: str) -> None:
    check_state(operation, key)
    if key.key_usage is not usage:
        # spec §13 "wrong key usage" (verified for Encrypt, Sign, Verify, GenerateMac, DeriveSharedSecret)
        raise InvalidKeyUsage(f"{key.arn} key usage is {key.key_usage} which is not valid for {operation}.")
    if algorithm not in KEY_SPECS[key.key_spec].algorithms_by_usage[usage]:
        # spec §3.4: verified wording for HMAC; used for every family (spec §14 item 18).
        raise InvalidKeyUsage(f"Algorithm {algorithm} is incompatible with key spec {key.key_spec}.")
