"""Regenerate tests/vectors/ciphertext/symmetric_v1.json (run from the repo root).

Uses fixed root-key bytes, a fixed key id and a deterministic byte source, so the
blob is reproducible; tests/unit/keystores/test_ciphertext_vector.py then checks
Trent still produces (and opens) exactly these bytes, and recomputes the payload
independently with pyca's HKDF and AESGCM.
"""

import json
from pathlib import Path

from trent.domain import ciphertext, encryption_context
from trent.domain.keys import KeyMaterial, MaterialState
from trent.keystores.root_key import AesRootKey
from trent.keystores.software import SoftwareKeyStore


def counter_rng(start: int = 0):
    state = {"n": start}

    def rng(n: int) -> bytes:
        out = bytes((state["n"] + i) % 256 for i in range(n))
        state["n"] += n
        return out

    return rng


def build() -> dict:
    key_id = "1234abcd-12ab-34cd-56ef-1234567890ab"
    material_raw = bytes(range(32))
    store = SoftwareKeyStore(AesRootKey(bytes(32), rng=counter_rng(100)), rng=counter_rng(200))
    material_id, wrapped = store.wrap_material(key_id, material_raw)
    material = KeyMaterial(key_id, material_id, wrapped, MaterialState.CURRENT, 0.0)
    context = {"purpose": "vector", "tenant": "t1"}
    header = ciphertext.encode_header(key_id, material_id)
    plaintext = b"Trent ciphertext vector v1"
    payload = store.seal(material, plaintext, header.raw + encryption_context.encode(context))
    return {
        "description": "Trent symmetric ciphertext blob v1 (domain/ciphertext.py + keystores/software.py)",
        "key_id": key_id,
        "material_hex": material_raw.hex(),
        "material_id": material_id,
        "encryption_context": context,
        "plaintext_hex": plaintext.hex(),
        "blob_hex": (header.raw + payload).hex(),
    }


if __name__ == "__main__":
    path = Path(__file__).with_name("symmetric_v1.json")
    path.write_text(json.dumps(build(), indent=2) + "\n")
    print(f"wrote {path}")
