"""Key-store selection per key: the software store, or the HSM of the key's custom key store.

:class:`KeyStoreRouter` is itself a :class:`~trent.keystores.base.KeyStore`, so the
crypto path (``service.encryption``) keeps calling ``deps.keystore`` unchanged. It
picks the store from the material row: HSM material is a reference that names its
store (``keystores.pkcs11`` layout), anything else belongs to the default store.
New material goes to the default store unless a custom key store is named
(:meth:`new_material_in`).

Connections are per process: ``attach`` when a custom key store connects,
``detach`` when it disconnects. A key whose store is not attached here cannot be
used; the service reports it ``Unavailable`` before it ever gets this far (spec §4.1).
"""

from __future__ import annotations

import threading

from trent.domain.keys import KeyMaterial
from trent.keystores.base import KeyStore, KeyStoreError
from trent.keystores.pkcs11 import Pkcs11KeyStore, parse_reference


class StoreDisconnected(KeyStoreError):
    """The custom key store holding this key is not connected in this process."""


class KeyStoreRouter:
    def __init__(self, default: KeyStore) -> None:
        self.default = default
        self.capabilities = default.capabilities
        self._stores: dict[str, Pkcs11KeyStore] = {}
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"KeyStoreRouter({self.default!r}, {sorted(self._stores)})"

    def __reduce__(self):
        raise TypeError("key stores cannot be pickled")

    # --- custom key store connections -----------------------------------------

    def attach(self, store_id: str, store: Pkcs11KeyStore) -> None:
        with self._lock:
            old = self._stores.pop(store_id, None)
            self._stores[store_id] = store
        if old is not None:
            old.close()

    def detach(self, store_id: str) -> None:
        with self._lock:
            store = self._stores.pop(store_id, None)
        if store is not None:
            store.close()

    def connected(self, store_id: str) -> bool:
        return store_id in self._stores

    def sessions(self) -> int:
        """Logged-in custom key stores in this process (/metrics, issue 20)."""
        return len(self._stores)

    def store(self, store_id: str) -> Pkcs11KeyStore:
        store = self._stores.get(store_id)
        if store is None:
            raise StoreDisconnected(f"custom key store {store_id} is not connected")
        return store

    def close(self) -> None:
        for store_id in list(self._stores):
            self.detach(store_id)

    def _for(self, material: KeyMaterial) -> KeyStore:
        parsed = parse_reference(material.wrapped)
        if parsed is None:
            return self.default
        return self.store(parsed[0])

    # --- KeyStore -----------------------------------------------------------------

    def new_symmetric_material(self, key_id: str) -> tuple[str, bytes]:
        return self.default.new_symmetric_material(key_id)

    def new_material_in(self, store_id: str, key_id: str) -> tuple[str, bytes]:
        return self.store(store_id).new_symmetric_material(key_id)

    def wrap_material(self, key_id: str, raw: bytes) -> tuple[str, bytes]:
        return self.default.wrap_material(key_id, raw)

    def unwrap_material(self, material: KeyMaterial) -> bytes:
        return self._for(material).unwrap_material(material)

    def seal(self, material: KeyMaterial, plaintext: bytes, aad: bytes) -> bytes:
        return self._for(material).seal(material, plaintext, aad)

    def open(self, material: KeyMaterial, payload: bytes | memoryview, aad: bytes) -> bytes:
        return self._for(material).open(material, payload, aad)

    def random_bytes(self, n: int) -> bytes:
        return self.default.random_bytes(n)

    def destroy_material(self, material: KeyMaterial) -> bool:
        """Delete an HSM key object at the end of its key's deletion window.

        Software material needs nothing: its only copy was the database row. An HSM
        object can only be destroyed while its store is connected; otherwise it is
        left in the token (AWS calls these orphaned keys: the KMS key is deleted,
        the CloudHSM key remains until someone deletes it) and we say so.
        """
        parsed = parse_reference(material.wrapped)
        if parsed is None:
            return True
        store = self._stores.get(parsed[0])
        if store is None:
            return False
        store.destroy(material)
        return True

    def forget(self, key_id: str) -> None:
        forget = getattr(self.default, "forget", None)
        if forget is not None:
            forget(key_id)
