"""The S3EC keyring interface: one data key per object, wrapped once.

Unlike the Encryption SDK's keyrings (trent.envelope.keyrings), whose encrypted data keys
carry a provider ID and info, an S3EC object stores exactly one wrapped key plus a *wrapping
algorithm* name and a JSON description (the KMS encryption context, or a raw key's material
description). So the interface is two calls:

* ``generate(suite, context) -> DataKey``: a fresh 32-byte data key and its wrapped form.
* ``decrypt(metadata, context, legacy=...) -> bytes``: the data key, or an exception —
  :class:`ContextMismatch` when the caller's context is not the object's,
  :class:`DecryptionFailed` when the wrapped key does not open, :class:`KeyringError` when
  KMS refused (its code is named), :class:`LegacyRefused` for legacy wrapping without the flag.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

from ...envelope.materials import _NoPickle, frozen_context
from ..errors import ConfigurationError, LegacyRefused
from ..metadata import ContentMetadata, WrapAlg
from ..suites import ContentSuite

#: §4.2 kms+context: the reserved context entry the client adds (callers may not set it)
RESERVED_CEK_ALG = "aws:x-amz-cek-alg"
#: legacy ``kms`` mode's context / material description entry
RESERVED_KMS_CMK_ID = "kms_cmk_id"


@dataclass(frozen=True, slots=True)
class DataKey(_NoPickle):
    plaintext: bytes = field(repr=False)
    wrap_alg: WrapAlg
    encrypted: bytes = field(repr=False)
    description: Mapping[str, str]


@runtime_checkable
class S3Keyring(Protocol):
    def generate(self, suite: ContentSuite, encryption_context: Mapping[str, str]) -> DataKey: ...

    def decrypt(self, metadata: ContentMetadata, encryption_context: Mapping[str, str], *,
                legacy: bool = False) -> bytes: ...


def check_caller_context(ctx: Mapping[str, str] | None) -> Mapping[str, str]:
    """A caller's encryption context: strings, US-ASCII (S3 mangles other metadata, so Amazon's
    client refuses it too), and never the reserved ``aws:x-amz-cek-alg``."""
    out = dict(ctx or {})
    for k, v in out.items():
        if not isinstance(k, str) or not isinstance(v, str):
            raise ConfigurationError("encryption context keys and values must be strings")
        if not k.isascii() or not v.isascii():
            raise ConfigurationError("encryption context keys and values must be US-ASCII "
                                     "(S3 metadata cannot carry other characters intact)")
    if RESERVED_CEK_ALG in out:
        raise ConfigurationError(f"{RESERVED_CEK_ALG} is reserved for the S3 Encryption Client")
    return frozen_context(out)


def require_legacy(wrap: WrapAlg, legacy: bool) -> None:
    if wrap.legacy and not legacy:
        raise LegacyRefused(f"the object's data key uses the legacy wrapping algorithm {wrap}; "
                            "enable legacy unauthenticated modes to read it")
