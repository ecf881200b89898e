"""The backends a use case needs, handed in by bootstrap (as Protocols only)."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field

from trent.domain.clock import Clock
from trent.keystores.base import KeyStore
from trent.keystores.root_key import RootKey
from trent.storage.repositories import Storage


@dataclass(frozen=True, slots=True)
class ServiceDeps:
    storage: Storage
    keystore: KeyStore
    clock: Clock
    # Wraps secrets that are not key material (secret access keys) under the root of trust.
    root_key: RootKey
    rng: Callable[[int], bytes] = field(default=os.urandom)
