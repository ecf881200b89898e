"""The materials-manager interface."""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from ..materials import (
    DecryptionMaterials,
    DecryptionMaterialsRequest,
    EncryptionMaterials,
    EncryptionMaterialsRequest,
)


@runtime_checkable
class MaterialsManager(Protocol):
    def get_encryption_materials(self, request: EncryptionMaterialsRequest) -> EncryptionMaterials: ...

    def decrypt_materials(self, request: DecryptionMaterialsRequest) -> DecryptionMaterials: ...
