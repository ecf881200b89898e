"""The symmetric ciphertext blob Trent returns from Encrypt / GenerateDataKey (spec §6.1).

AWS's blob is opaque and unpublished; ours is versioned so it can evolve, and it
carries what Decrypt needs to find the key and the material version without a
KeyId. Layout (big-endian; offsets for version 1)::

    offset  size  field
    0       1     version            0x01
    1       1     key id form        0x01 = UUID key id, 0x02 = multi-Region "mrk-" id
    2       16    key id             raw 16 bytes (UUID bytes, or the 32 hex digits of mrk-)
    18      32    key material id    raw 32 bytes (the 64-hex KeyMaterialId)
    50      n     sealed payload     written and read only by the key store that holds
                                     the material (software store: salt 16 | nonce 12 |
                                     AES-256-GCM ciphertext | tag 16, see keystores.software)

The header (bytes 0..49) plus the canonical encryption context
(:mod:`trent.domain.encryption_context`) form the AES-GCM additional data, so a
flipped header bit, a swapped material id, or a different context all fail the tag
check. Parsing failures raise ValueError; the service turns every failure into an
opaque InvalidCiphertextException.
"""

from __future__ import annotations

import functools
import uuid
from dataclasses import dataclass

VERSION_1 = 0x01
FORM_UUID = 0x01
FORM_MRK = 0x02
HEADER_LEN = 50
MRK_PREFIX = "mrk-"


@dataclass(frozen=True, slots=True)
class BlobHeader:
    key_id: str
    material_id: str
    raw: bytes  # the exact header bytes, used as part of the AAD


@functools.lru_cache(maxsize=65536)
def encode_header(key_id: str, material_id: str) -> BlobHeader:
    """Pure and called on every Encrypt, so memoized per (key, material version)."""
    if key_id.startswith(MRK_PREFIX):
        form, id_bytes = FORM_MRK, bytes.fromhex(key_id[len(MRK_PREFIX) :])
    else:
        form, id_bytes = FORM_UUID, uuid.UUID(key_id).bytes
    material = bytes.fromhex(material_id)
    if len(id_bytes) != 16 or len(material) != 32:
        raise ValueError("key id or material id has the wrong length")
    raw = bytes((VERSION_1, form)) + id_bytes + material
    return BlobHeader(key_id, material_id, raw)


def split(blob: bytes) -> tuple[BlobHeader, memoryview]:
    """Parse a blob into its header and the key store's sealed payload."""
    if len(blob) < HEADER_LEN or blob[0] != VERSION_1:
        raise ValueError("not a Trent v1 ciphertext")
    return _parse_header(bytes(blob[:HEADER_LEN])), memoryview(blob)[HEADER_LEN:]


@functools.lru_cache(maxsize=4096)
def _parse_header(raw: bytes) -> BlobHeader:
    """Pure, and the same few headers (one per key and material version) arrive on every
    Decrypt: memoized, as ``encode_header`` is (the UUID formatting was ~2 % of an SSE-KMS
    GET's server CPU, bench/S3_SSE.md issue-17r). Raises ValueError, never cached."""
    form = raw[1]
    id_bytes = raw[2:18]
    if form == FORM_UUID:
        key_id = str(uuid.UUID(bytes=id_bytes))
    elif form == FORM_MRK:
        key_id = MRK_PREFIX + id_bytes.hex()
    else:
        raise ValueError("unknown key id form")
    return BlobHeader(key_id, raw[18:HEADER_LEN].hex(), raw)


def is_trent_blob(blob: bytes) -> bool:
    """True if the blob *looks* like ours (for telling symmetric blobs from RSA ones)."""
    return len(blob) >= HEADER_LEN and blob[0] == VERSION_1 and blob[1] in (FORM_UUID, FORM_MRK)
