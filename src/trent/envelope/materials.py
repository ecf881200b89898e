"""Materials and the requests for them: frozen, typed, keys hidden from repr and pickle.

These are the seams between the message engine, the materials managers (``cmm/``) and the
keyrings (``keyrings/``) — the Encryption SDK's framework/structures.md, in Python.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from cryptography.hazmat.primitives.asymmetric import ec

from .suites import AlgorithmSuite, CommitmentPolicy


class _NoPickle:
    __slots__ = ()

    def __reduce__(self) -> Any:  # habit 7
        raise TypeError(f"{type(self).__name__} holds key material and cannot be pickled")


def frozen_context(ctx: Mapping[str, str]) -> Mapping[str, str]:
    return MappingProxyType(dict(ctx))


@dataclass(frozen=True, slots=True)
class EncryptedDataKey:
    """One header EDK entry (§4.1 header item 5)."""

    provider_id: str
    provider_info: bytes
    ciphertext: bytes = field(repr=False)


@dataclass(frozen=True, slots=True)
class EncryptionMaterials(_NoPickle):
    suite: AlgorithmSuite
    encryption_context: Mapping[str, str]  # full context, incl. aws-crypto-public-key
    encrypted_data_keys: tuple[EncryptedDataKey, ...] = ()
    plaintext_data_key: bytes | None = field(default=None, repr=False)
    signing_key: ec.EllipticCurvePrivateKey | None = field(default=None, repr=False)
    required_context_keys: frozenset[str] = frozenset()


@dataclass(frozen=True, slots=True)
class DecryptionMaterials(_NoPickle):
    suite: AlgorithmSuite
    encryption_context: Mapping[str, str]  # full context (stored ∪ reproduced required keys)
    plaintext_data_key: bytes | None = field(default=None, repr=False)
    verification_key: ec.EllipticCurvePublicKey | None = field(default=None, repr=False)
    required_context_keys: frozenset[str] = frozenset()


@dataclass(frozen=True, slots=True)
class EncryptionMaterialsRequest:
    encryption_context: Mapping[str, str]
    commitment_policy: CommitmentPolicy
    suite: AlgorithmSuite | None = None
    plaintext_length: int | None = None


@dataclass(frozen=True, slots=True)
class DecryptionMaterialsRequest:
    suite: AlgorithmSuite
    commitment_policy: CommitmentPolicy
    encrypted_data_keys: tuple[EncryptedDataKey, ...]
    encryption_context: Mapping[str, str]  # as stored in the header
    reproduced_encryption_context: Mapping[str, str] = field(default_factory=dict)
