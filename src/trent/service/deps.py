"""The backends a use case needs, handed in by bootstrap (as Protocols only)."""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from trent.domain.clock import Clock
from trent.keystores.base import KeyStore
from trent.keystores.pkcs11 import TokenConfig
from trent.keystores.router import KeyStoreRouter
from trent.keystores.root_key import RootKey
from trent.service.authz_cache import AuthzCache
from trent.service.service_events import ServiceEvents
from trent.service.usage_tracker import UsageTracker
from trent.storage.repositories import Storage


@dataclass(frozen=True, slots=True)
class ServiceDeps:
    storage: Storage
    keystore: KeyStore
    clock: Clock
    # Wraps secrets that are not key material (secret access keys) under the root of trust.
    root_key: RootKey
    rng: Callable[[int], bytes] = field(default=os.urandom)
    # Last cryptographic use per key, in memory; flushed by the sweeper (service/usage.py).
    usage: UsageTracker = field(default_factory=UsageTracker)
    # Custom key stores' HSM connections (issue 7); ``keystore`` is this same router
    # when set. None: no custom key store can be connected in this process.
    key_stores: KeyStoreRouter | None = None
    # PKCS#11 tokens by CloudHsmClusterId (configuration; spec §10.1 CloudHSM mapping).
    hsm_clusters: Mapping[str, TokenConfig] = field(default_factory=dict)
    # Parsed key/identity policies and condition-free decisions (service/authorization.py).
    authz: AuthzCache = field(default_factory=AuthzCache)
    # Regions this server serves (``--regions``; None = any well-formed Region): where
    # multi-Region replicas may live (issue 19, spec §12).
    regions: frozenset[str] | None = None
    # AwsServiceEvents (SynchronizeMultiRegionKey, DeleteKey, ...) into the audit log.
    service_events: ServiceEvents = field(default_factory=ServiceEvents)
