"""Required-encryption-context materials manager (ESDK 4.x "required encryption context").

Keys named here must be in the context on encrypt; they are then *not* written into the
header but authenticated only (header-auth AAD = header body ‖ serialize(required-only
context), client-wire-formats.md §4.1). To decrypt, the caller must reproduce them.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable

from ..errors import ConfigurationError, DecryptionFailed
from ..materials import (
    DecryptionMaterials,
    DecryptionMaterialsRequest,
    EncryptionMaterials,
    EncryptionMaterialsRequest,
)
from .base import MaterialsManager


class RequiredContextMaterialsManager:
    def __init__(self, underlying: MaterialsManager, required_keys: Iterable[str]) -> None:
        self.underlying = underlying
        self.required_keys = frozenset(required_keys)
        if not self.required_keys:
            raise ConfigurationError("at least one required encryption context key is needed")

    def __repr__(self) -> str:
        return f"RequiredContextMaterialsManager(required_keys={sorted(self.required_keys)!r})"

    def get_encryption_materials(self, request: EncryptionMaterialsRequest) -> EncryptionMaterials:
        missing = self.required_keys - set(request.encryption_context)
        if missing:
            raise ConfigurationError(f"required encryption context keys missing: {sorted(missing)}")
        m = self.underlying.get_encryption_materials(request)
        return dataclasses.replace(m, required_context_keys=m.required_context_keys | self.required_keys)

    def decrypt_materials(self, request: DecryptionMaterialsRequest) -> DecryptionMaterials:
        reproduced = request.reproduced_encryption_context
        if not self.required_keys <= set(reproduced):
            raise DecryptionFailed()
        # the default CMM merges reproduced keys missing from the header as authenticate-only
        return self.underlying.decrypt_materials(request)
