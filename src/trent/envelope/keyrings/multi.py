"""Multi-keyring: one generator plus children (ESDK multi-keyring).

Encrypt: the generator (if any) produces the data key, then every child wraps it too, so the
message carries one EDK per keyring. Decrypt: generator first, then children in order, until
one yields a data key. Environmental failures of one child do not stop the others; if none
succeeds, the first such failure is re-raised (else materials are returned unchanged).
"""

from __future__ import annotations

from collections.abc import Sequence

from ..errors import ConfigurationError, KeyringError, MaterialsError
from ..materials import DecryptionMaterials, EncryptedDataKey, EncryptionMaterials
from .base import Keyring


class MultiKeyring:
    def __init__(self, generator: Keyring | None = None, children: Sequence[Keyring] = ()) -> None:
        if generator is None and not children:
            raise ConfigurationError("a multi-keyring needs a generator or children")
        self.generator = generator
        self.children = tuple(children)

    def __repr__(self) -> str:
        return f"MultiKeyring(generator={self.generator!r}, children={self.children!r})"

    def on_encrypt(self, materials: EncryptionMaterials) -> EncryptionMaterials:
        if self.generator is not None:
            materials = self.generator.on_encrypt(materials)
        if materials.plaintext_data_key is None:
            raise MaterialsError("multi-keyring without a generator got materials without a data key")
        for child in self.children:
            materials = child.on_encrypt(materials)
        return materials

    def on_decrypt(
        self, materials: DecryptionMaterials, encrypted_data_keys: Sequence[EncryptedDataKey]
    ) -> DecryptionMaterials:
        if materials.plaintext_data_key is not None:
            return materials
        first_error: KeyringError | None = None
        for kr in ((self.generator,) if self.generator else ()) + self.children:
            try:
                materials = kr.on_decrypt(materials, encrypted_data_keys)
            except KeyringError as e:
                first_error = first_error or e
                continue
            if materials.plaintext_data_key is not None:
                return materials
        if first_error is not None:
            raise first_error
        return materials
