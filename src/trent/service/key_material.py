"""Current material of asymmetric and HMAC keys, unwrapped and parsed once.

Private keys are stored as PKCS#8 DER and HMAC keys as raw bytes, wrapped under the
root key exactly like symmetric material (one ``KeyMaterial`` row). Sign/Verify/
GenerateMac are hot paths, so the parsed object is cached in memory by
(key id, material id): a material version is immutable, so the entry never goes
stale; deleting a key drops its entries (:func:`forget`). Bounded; cleared wholesale
when full, as the software store's own unwrap cache is.
"""

from __future__ import annotations

import threading
from typing import Any

from trent.crypto import private_keys
from trent.domain.key_specs import KEY_SPECS, KeyFamily
from trent.domain.keys import Key
from trent.errors import KMSInternal, UnsupportedOperation
from trent.keystores.base import KeyStoreError
from trent.service.deps import ServiceDeps

_CACHE_LIMIT = 10_000
_cache: dict[tuple[str, str], Any] = {}
_lock = threading.Lock()


def _raw(deps: ServiceDeps, key: Key) -> tuple[str, bytes]:
    material_id = key.current_material_id
    material = deps.storage.get_material(key.key_id, material_id, key.region) if material_id else None
    if material is None:
        raise KMSInternal(audit_reason="current key material is missing")
    if not deps.keystore.capabilities.material_extractable:
        raise UnsupportedOperation(f"{key.arn} key store cannot perform this operation.")
    try:
        return material.material_id, deps.keystore.unwrap_material(material)
    except KeyStoreError as exc:
        raise KMSInternal(audit_reason=f"key store: {exc}") from None


def loaded(deps: ServiceDeps, key: Key) -> Any:
    """The key's current material in usable form: a parsed private key (asymmetric)
    or the raw HMAC key bytes."""
    if key.current_material_id is not None:
        found = _cache.get((key.key_id, key.current_material_id))
        if found is not None:
            return found
    material_id, raw = _raw(deps, key)
    value: Any = raw if KEY_SPECS[key.key_spec].family is KeyFamily.HMAC else private_keys.load(raw)
    with _lock:
        if len(_cache) >= _CACHE_LIMIT:
            _cache.clear()
        _cache[(key.key_id, material_id)] = value
    return value


def forget(key_id: str) -> None:
    with _lock:
        for k in [k for k in _cache if k[0] == key_id]:
            del _cache[k]
