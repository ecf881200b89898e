"""S3EC keyrings: KMS (kms+context), raw AES (AES/GCM), raw RSA (RSA-OAEP-SHA1)."""

from .base import RESERVED_CEK_ALG, DataKey, S3Keyring, check_caller_context
from .kms import KmsKeyring
from .raw_aes import RawAesKeyring
from .raw_rsa import RawRsaKeyring

__all__ = ["RESERVED_CEK_ALG", "DataKey", "KmsKeyring", "RawAesKeyring", "RawRsaKeyring", "S3Keyring",
           "check_caller_context"]
