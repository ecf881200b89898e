"""New key material for CreateKey, per key spec family (spec §3.1).

Symmetric material is made by the key store itself. HMAC keys are random bytes of
the hash output length (the low end of AWS's accepted range, spec §3.4; RFC 2104 §3
recommends at least that). Asymmetric private keys are generated in process
(``trent.crypto.private_keys``) and handed to the store as PKCS#8 DER to wrap, which
needs a store whose material is extractable: an HMS-backed store would have to
generate them itself, so it answers UnsupportedOperation until it can.
"""

from __future__ import annotations

from trent.crypto import private_keys
from trent.domain.key_specs import KEY_SPECS, KeyFamily
from trent.domain.keys import KeySpec
from trent.errors import UnsupportedOperation
from trent.service.deps import ServiceDeps


def new_material(deps: ServiceDeps, key_id: str, spec: KeySpec) -> tuple[str, bytes]:
    """(material_id, wrapped) for a new key of ``spec``."""
    info = KEY_SPECS[spec]
    if info.family is KeyFamily.SYMMETRIC:
        return deps.keystore.new_symmetric_material(key_id)
    if not (deps.keystore.capabilities.material_extractable and deps.keystore.capabilities.accepts_external_material):
        raise UnsupportedOperation(f"KeySpec {spec} is not supported by the {deps.keystore.capabilities.name} key store.")
    if info.family is KeyFamily.HMAC:
        assert info.material_length_range is not None
        raw = deps.keystore.random_bytes(info.material_length_range[0])
    else:
        raw = private_keys.generate(str(spec))
    return deps.keystore.wrap_material(key_id, raw)
