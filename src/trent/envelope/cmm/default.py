"""Default materials manager: one keyring, the suite choice, and the signing key.

Encrypt: pick the suite (requested, or 0x0578) and check it against the commitment policy;
for signed suites generate an ECDSA key and put its compressed public point into the context
as ``aws-crypto-public-key`` (client-wire-formats.md §4.1 "Footer"); ask the keyring for a
data key and EDKs.

Decrypt: check the suite against the policy, recover the verification key from the context
(signed suites; a signed suite without it is rejected), and ask the keyring for the data key.
No data key -> :class:`DecryptionFailed`.
"""

from __future__ import annotations

from .. import context as ctxmod
from .. import signing
from ..errors import ConfigurationError, DecryptionFailed, MaterialsError
from ..keyrings.base import Keyring
from ..materials import (
    DecryptionMaterials,
    DecryptionMaterialsRequest,
    EncryptionMaterials,
    EncryptionMaterialsRequest,
)
from ..suites import DEFAULT_SUITE, WRITABLE_SUITE_IDS, check_encrypt_policy, decrypt_allowed


class DefaultMaterialsManager:
    def __init__(self, keyring: Keyring) -> None:
        self.keyring = keyring

    def __repr__(self) -> str:
        return f"DefaultMaterialsManager(keyring={self.keyring!r})"

    def get_encryption_materials(self, request: EncryptionMaterialsRequest) -> EncryptionMaterials:
        suite = request.suite or DEFAULT_SUITE
        check_encrypt_policy(suite, request.commitment_policy)
        if suite.suite_id not in WRITABLE_SUITE_IDS:
            raise ConfigurationError(f"this library writes suites 0x0478 and 0x0578, not {suite.name}")
        ctx = dict(request.encryption_context)
        if ctxmod.PUBLIC_KEY_KEY in ctx:
            raise ConfigurationError(f"encryption context key {ctxmod.PUBLIC_KEY_KEY!r} is reserved")
        signing_key = None
        if suite.signed:
            signing_key = signing.generate_signing_key(suite)
            ctx[ctxmod.PUBLIC_KEY_KEY] = signing.encode_public_key(signing_key)
        materials = EncryptionMaterials(
            suite=suite, encryption_context=ctxmod.frozen(ctx), signing_key=signing_key
        )
        materials = self.keyring.on_encrypt(materials)
        if materials.plaintext_data_key is None or not materials.encrypted_data_keys:
            raise MaterialsError("the keyring produced no data key")
        return materials

    def decrypt_materials(self, request: DecryptionMaterialsRequest) -> DecryptionMaterials:
        suite = request.suite
        if not decrypt_allowed(suite, request.commitment_policy):
            raise DecryptionFailed()  # non-committing suite under REQUIRE_DECRYPT
        # ESDK default CMM: context = stored ∪ reproduced; reproduced keys absent from the
        # header are "required" (authenticated only, via the header-auth AAD)
        ctx = dict(request.encryption_context)
        required = frozenset(k for k in request.reproduced_encryption_context if k not in ctx)
        ctx.update({k: request.reproduced_encryption_context[k] for k in required})
        verification_key = None
        if suite.signed:
            encoded = ctx.get(ctxmod.PUBLIC_KEY_KEY)
            if encoded is None:
                raise DecryptionFailed()
            verification_key = signing.decode_public_key(suite, encoded)
        elif ctxmod.PUBLIC_KEY_KEY in ctx:
            raise DecryptionFailed()
        materials = DecryptionMaterials(
            suite=suite, encryption_context=ctxmod.frozen(ctx), verification_key=verification_key,
            required_context_keys=required,
        )
        materials = self.keyring.on_decrypt(materials, request.encrypted_data_keys)
        if materials.plaintext_data_key is None:
            raise DecryptionFailed()
        return materials
