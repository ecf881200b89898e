"""Client-side S3 encryption in the Amazon S3 Encryption Client's formats (issue 18).

Objects written here decrypt with Amazon's S3 Encryption Client and the other way round
(client-wire-formats.md §4.2). Public surface (tests/unit/s3ec/test_public_api.py)::

    S3EncryptionClient, S3ecConfig, ObjectInfo       put/upload, get/download (ranged), head, delete
    KmsKeyring, RawAesKeyring, RawRsaKeyring         kms+context, AES/GCM, RSA-OAEP-SHA1
    FormatVersion, CommitmentPolicy, ContentMetadata, WrapAlg
    errors: DecryptionFailed (opaque), ContextMismatch, KeyringError, NotEncrypted, LegacyRefused

Like trent.envelope (whose KMS call, HKDF, policies, errors and hidden output files it reuses)
it imports boto3 and cryptography only — never the server side of Trent.
"""

from ..envelope.suites import CommitmentPolicy
from .client import ObjectInfo, S3ecConfig, S3EncryptionClient
from .errors import (
    ConfigurationError,
    ContextMismatch,
    DecryptionFailed,
    EnvelopeError,
    KeyringError,
    LegacyRefused,
    NotEncrypted,
    S3ecError,
)
from .keyrings import KmsKeyring, RawAesKeyring, RawRsaKeyring, S3Keyring
from .metadata import ContentMetadata, WrapAlg
from .suites import FormatVersion

__all__ = [
    "CommitmentPolicy",
    "ConfigurationError",
    "ContentMetadata",
    "ContextMismatch",
    "DecryptionFailed",
    "EnvelopeError",
    "FormatVersion",
    "KeyringError",
    "KmsKeyring",
    "LegacyRefused",
    "NotEncrypted",
    "ObjectInfo",
    "RawAesKeyring",
    "RawRsaKeyring",
    "S3EncryptionClient",
    "S3Keyring",
    "S3ecConfig",
    "S3ecError",
    "WrapAlg",
]
