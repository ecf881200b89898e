"""The keyring interface and the two helpers every keyring uses.

A keyring gets materials and returns *new* materials (they are frozen):

* ``on_encrypt``: if the materials have no data key, generate one; then wrap the data key
  and append the encrypted data key (EDK).
* ``on_decrypt``: if the materials have no data key yet, try to unwrap one of the EDKs it
  owns; a keyring that cannot decrypt returns the materials unchanged (the materials manager
  turns "nobody could" into the opaque :class:`~trent.envelope.errors.DecryptionFailed`).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Protocol, runtime_checkable

from ..errors import MaterialsError
from ..materials import DecryptionMaterials, EncryptedDataKey, EncryptionMaterials


@runtime_checkable
class Keyring(Protocol):
    def on_encrypt(self, materials: EncryptionMaterials) -> EncryptionMaterials: ...

    def on_decrypt(
        self, materials: DecryptionMaterials, encrypted_data_keys: Sequence[EncryptedDataKey]
    ) -> DecryptionMaterials: ...


def add_encrypted_key(
    materials: EncryptionMaterials, edk: EncryptedDataKey, data_key: bytes | None = None
) -> EncryptionMaterials:
    """Append ``edk``; set the data key too if this keyring generated it."""
    if data_key is not None:
        if materials.plaintext_data_key is not None:
            raise MaterialsError("materials already hold a data key")
        if len(data_key) != materials.suite.key_len:
            raise MaterialsError("data key has the wrong length for the suite")
        return dataclasses.replace(
            materials,
            plaintext_data_key=data_key,
            encrypted_data_keys=(*materials.encrypted_data_keys, edk),
        )
    return dataclasses.replace(materials, encrypted_data_keys=(*materials.encrypted_data_keys, edk))


def with_data_key(materials: DecryptionMaterials, data_key: bytes) -> DecryptionMaterials:
    if len(data_key) != materials.suite.key_len:
        raise MaterialsError("decrypted data key has the wrong length for the suite")
    return dataclasses.replace(materials, plaintext_data_key=data_key)
