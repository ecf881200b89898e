"""Imported material per member under races (issue 19, spec §9, §12), on every backend.

A replica's import reads the material versions its members share and then writes its
own import; DeleteImportedKeyMaterial of pending material on the primary deletes the
version and every member's import. Decided on separate rows, the two could interleave
into a replica holding an import of a version its key no longer has. Both take the
primary's row lock first (service/locking.locked_member), so they are ordered.

The interleaving is forced, not hoped for: the replica's import pauses right after it
read the versions and lets the primary's delete run (for at most a second) before it
writes. PostgreSQL orders the two by the row lock; SQLite by its one write lock.
"""

from __future__ import annotations

import dataclasses
import os
import threading

import pytest

from tests.wire.import_helpers import wrap
from trent.domain.clock import FixedClock
from trent.domain.principals import Principal, PrincipalKind
from trent.errors import IncorrectKeyMaterial
from trent.keystores.root_key import AesRootKey
from trent.keystores.software import SoftwareKeyStore
from trent.service import identity, imports, multi_region
from trent.service.context import RequestContext
from trent.service.deps import ServiceDeps
from trent.service.keys import CreateKeyRequest, create_key
from trent.storage.repositories import Storage

from .builders import T0

ACCOUNT = "111122223333"
EAST, WEST = "us-east-1", "us-west-2"
ALGORITHM = "RSAES_OAEP_SHA_256"


@pytest.fixture
def deps(storage: Storage) -> ServiceDeps:
    root = AesRootKey(os.urandom(32))
    deps = ServiceDeps(storage=storage, keystore=SoftwareKeyStore(root), clock=FixedClock(T0 + 10), root_key=root)
    identity.create_account(deps, ACCOUNT, "races", T0)
    return deps


NOW = T0 + 10  # after the replica has settled (it reads Creating for a second)


def _ctx(region: str) -> RequestContext:
    root = Principal(Principal.root_arn(ACCOUNT), ACCOUNT, PrincipalKind.ROOT, "root", ACCOUNT)
    return RequestContext(principal=root, access_key_id="AKIATEST", region=region, partition="aws",
                          request_id="r", now=NOW, source_ip="127.0.0.1")


def _import(deps: ServiceDeps, region: str, key_id: str, material: bytes, import_type: str) -> str:
    params = imports.get_parameters_for_import(deps, _ctx(region), key_id, ALGORITHM, "RSA_2048")
    request = imports.ImportRequest(params.token, wrap(params.public_key, ALGORITHM, material),
                                    expiration_model=imports.DOES_NOT_EXPIRE, import_type=import_type)
    return imports.import_key_material(deps, _ctx(region), key_id, request)[1]


class PausingAfterVersionsRead:
    """The storage, except that reading the versions for ``region`` lets ``meanwhile`` run
    (on its own thread, up to a second) before the caller goes on to write."""

    def __init__(self, inner: Storage, region: str, meanwhile) -> None:
        self._inner, self._region, self._meanwhile = inner, region, meanwhile

    def __getattr__(self, name: str):
        return getattr(self._inner, name)

    def list_materials(self, key_id: str, region: str | None = None):
        found = self._inner.list_materials(key_id, region)
        if region == self._region and self._meanwhile is not None:
            meanwhile, self._meanwhile = self._meanwhile, None
            other = threading.Thread(target=meanwhile)
            other.start()
            other.join(1.0)  # blocked by our lock: go on and commit, it runs afterwards
            self.other = other
        return found


def test_replica_import_and_primary_delete_of_pending_material_are_ordered(deps: ServiceDeps) -> None:
    key = create_key(deps, _ctx(EAST), CreateKeyRequest(origin="EXTERNAL", multi_region=True))
    first, pending = os.urandom(32), os.urandom(32)
    _import(deps, EAST, key.key_id, first, "NEW_KEY_MATERIAL")
    multi_region.replicate_key(deps, dataclasses.replace(_ctx(EAST), now=T0), multi_region.ReplicateKeyRequest(key.key_id, WEST))
    _import(deps, WEST, key.key_id, first, "EXISTING_KEY_MATERIAL")
    pending_id = _import(deps, EAST, key.key_id, pending, "NEW_KEY_MATERIAL")
    params = imports.get_parameters_for_import(deps, _ctx(WEST), key.key_id, ALGORITHM, "RSA_2048")
    request = imports.ImportRequest(params.token, wrap(params.public_key, ALGORITHM, pending),
                                    expiration_model=imports.DOES_NOT_EXPIRE, import_type="EXISTING_KEY_MATERIAL")

    deleted: list[str | None] = []
    pausing = PausingAfterVersionsRead(
        deps.storage, WEST,
        lambda: deleted.append(imports.delete_imported_key_material(deps, _ctx(EAST), key.key_id, pending_id)[1]),
    )
    try:
        imports.import_key_material(dataclasses.replace(deps, storage=pausing), _ctx(WEST), key.key_id, request)
    except IncorrectKeyMaterial:
        pass  # the delete came first: the version was gone when the replica looked
    pausing.other.join(30)
    assert deleted == [pending_id]
    # The version is gone, and with it every member's import: no replica keeps a copy.
    (current,) = [m.material_id for m in deps.storage.list_materials(key.key_id)]
    assert current != pending_id
    imported = {(i.region, i.material_id) for i in deps.storage.list_material_imports(key.key_id)}
    assert imported == {(EAST, current), (WEST, current)}
