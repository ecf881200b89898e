"""Client-side envelope encryption in the AWS Encryption SDK message format.

Public surface (tested in tests/unit/envelope/test_public_api.py)::

    encrypt / decrypt                    one-shot, bytes
    encrypt_stream / decrypt_stream      file-like -> file-like, bounded memory
    encrypt_file / decrypt_file          path -> path, the fast file path (O_DIRECT, temp + rename)
    iter_encrypt / iter_decrypt          the same as generators of chunks
    keyrings: AwsKmsKeyring, AwsKmsDiscoveryKeyring, RawAesKeyring, RawRsaKeyring, MultiKeyring
    cmm: DefaultMaterialsManager, CachingMaterialsManager, RequiredContextMaterialsManager
    CommitmentPolicy, SUITES, suite_by_id, DecryptionFailed (the one opaque rejection)

Layouts: client-wire-formats.md §4.1; each module's docstring draws its part.
This package imports boto3 and cryptography only — never the server side of Trent.
"""

from .api import (
    Decrypted,
    Encrypted,
    StreamResult,
    decrypt,
    decrypt_stream,
    encrypt,
    encrypt_stream,
    iter_decrypt,
    iter_encrypt,
)
from .cmm import (
    CachingMaterialsManager,
    DefaultMaterialsManager,
    LocalMaterialsCache,
    MaterialsManager,
    RequiredContextMaterialsManager,
)
from .errors import (
    ConfigurationError,
    ContextMismatch,
    DecryptionFailed,
    EnvelopeError,
    KeyringError,
    MaterialsError,
)
from .files import decrypt_file, encrypt_file
from .format.header import MessageHeader
from .keyrings import (
    AwsKmsDiscoveryKeyring,
    AwsKmsKeyring,
    DiscoveryFilter,
    Keyring,
    MultiKeyring,
    RawAesKeyring,
    RawRsaKeyring,
    RsaPadding,
    kms_client_factory,
)
from .materials import EncryptedDataKey
from .suites import SUITES, AlgorithmSuite, CommitmentPolicy, suite_by_id

__all__ = [
    "SUITES",
    "AlgorithmSuite",
    "AwsKmsDiscoveryKeyring",
    "AwsKmsKeyring",
    "CachingMaterialsManager",
    "CommitmentPolicy",
    "ConfigurationError",
    "ContextMismatch",
    "Decrypted",
    "DecryptionFailed",
    "DefaultMaterialsManager",
    "DiscoveryFilter",
    "Encrypted",
    "EncryptedDataKey",
    "EnvelopeError",
    "Keyring",
    "KeyringError",
    "LocalMaterialsCache",
    "MaterialsError",
    "MaterialsManager",
    "MessageHeader",
    "MultiKeyring",
    "RawAesKeyring",
    "RawRsaKeyring",
    "RequiredContextMaterialsManager",
    "RsaPadding",
    "StreamResult",
    "decrypt",
    "decrypt_file",
    "decrypt_stream",
    "encrypt",
    "encrypt_file",
    "encrypt_stream",
    "iter_decrypt",
    "iter_encrypt",
    "kms_client_factory",
    "suite_by_id",
]
