"""The backends a use case needs, handed in by bootstrap (as Protocols only)."""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from trent.domain.clock import Clock
from trent.domain.randomness import pooled_random
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

    @property
    def public_rng(self) -> Callable[[int], bytes]:
        """For values that become public (identifiers, salts, nonces): the operating
        system's CSPRNG through a per-thread pool (``domain.randomness``: one ``getrandom``
        costs ~3 µs inside a request on the bench VM, measured), or the injected ``rng``
        (tests). Key material and secrets take ``rng`` itself."""
        return pooled_random if self.rng is os.urandom else self.rng
