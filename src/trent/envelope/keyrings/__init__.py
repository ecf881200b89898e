"""Keyrings: produce, wrap and unwrap data keys (the Encryption SDK keyring interface)."""

from .base import Keyring
from .kms import AwsKmsDiscoveryKeyring, AwsKmsKeyring, DiscoveryFilter, kms_client_factory
from .multi import MultiKeyring
from .raw_aes import RawAesKeyring
from .raw_rsa import RawRsaKeyring, RsaPadding

__all__ = [
    "AwsKmsDiscoveryKeyring",
    "AwsKmsKeyring",
    "DiscoveryFilter",
    "Keyring",
    "MultiKeyring",
    "RawAesKeyring",
    "RawRsaKeyring",
    "RsaPadding",
    "kms_client_factory",
]
