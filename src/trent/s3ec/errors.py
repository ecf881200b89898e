"""Exceptions of the S3 Encryption Client (client-wire-formats.md §4.2).

The envelope library's tree is reused so one ``except EnvelopeError`` covers both formats::

    EnvelopeError (trent.envelope)
    ├── ConfigurationError (ValueError)  bad arguments; a format/suite the policy forbids
    ├── DecryptionFailed                 THE opaque rejection: tampered content, metadata,
    │                                    instruction file or key commitment; wrong raw key
    ├── ContextMismatch                  the caller's encryption context is not the object's
    ├── KeyringError                     KMS refused or could not be reached (names the code)
    └── S3ecError                        the object cannot be read as an S3EC object at all
        ├── NotEncrypted                 no S3EC metadata and no instruction file
        └── LegacyRefused                v1 / CBC / legacy wrapping, or a ranged (unauthenticated)
                                         read, without ``enable_legacy_unauthenticated_modes``

Habit 5: :class:`DecryptionFailed` never says which check failed. The other errors describe
cleartext facts (which metadata is missing, which policy refused) and never carry key bytes.
"""

from __future__ import annotations

from ..envelope.errors import (
    ConfigurationError,
    ContextMismatch,
    DecryptionFailed,
    EnvelopeError,
    KeyringError,
)

__all__ = [
    "ConfigurationError",
    "ContextMismatch",
    "DecryptionFailed",
    "EnvelopeError",
    "KeyringError",
    "LegacyRefused",
    "NotEncrypted",
    "S3ecError",
]


class S3ecError(EnvelopeError):
    """The object is not readable as an S3 Encryption Client object."""


class NotEncrypted(S3ecError):
    """Neither the object's metadata nor an instruction file carries S3EC metadata."""


class LegacyRefused(S3ecError):
    """A legacy (unauthenticated) mode was needed and is not enabled."""
