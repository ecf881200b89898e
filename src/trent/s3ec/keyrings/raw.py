"""What the raw keyrings share: a material description instead of an encryption context,
key-free repr, no pickling, an injected random source."""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from typing import NoReturn

from ...envelope.materials import frozen_context
from ..errors import ConfigurationError


class RawKeyring:
    def __init__(self, material_description: Mapping[str, str] | None, rng: Callable[[int], bytes] = os.urandom) -> None:
        self.material_description = frozen_context(material_description or {})
        self._rng = rng

    def __repr__(self) -> str:
        return f"{type(self).__name__}(material_description={dict(self.material_description)!r})"

    def __reduce__(self) -> NoReturn:
        raise TypeError("keyrings hold key material and cannot be pickled")

    @staticmethod
    def refuse_context(encryption_context: Mapping[str, str]) -> None:
        if encryption_context:
            raise ConfigurationError("an encryption context needs a KMS keyring; raw keyrings store a "
                                     "material description")
