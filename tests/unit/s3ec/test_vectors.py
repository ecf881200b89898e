"""Suite 0x0073 known answers from Amazon's client (tests/vectors/s3ec/README.md)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from trent.s3ec.content import ContentDecryptor, for_decryption, for_encryption
from trent.s3ec.errors import DecryptionFailed
from trent.s3ec.kdf import derive_committing, verified_key
from trent.s3ec.metadata import ContentMetadata, WrapAlg
from trent.s3ec.suites import KC_GCM, FormatVersion

VECTORS = json.loads((Path(__file__).parents[2] / "vectors/s3ec/kc_gcm_0073.json").read_text())


@pytest.mark.parametrize("v", VECTORS, ids=lambda v: f"pt{len(v['plaintext']) // 2}")
def test_derivation_and_body_match_amazon(v: dict[str, str]) -> None:
    dk, mid = bytes.fromhex(v["data_key"]), bytes.fromhex(v["message_id"])
    keys = derive_committing(dk, mid)
    assert keys.data_encryption_key.hex() == v["derived_key"]
    assert keys.commit_key is not None and keys.commit_key.hex() == v["commitment"]
    ck, commitment = for_encryption(KC_GCM, dk, iv=b"", message_id=mid)
    assert commitment.hex() == v["commitment"]
    from trent.s3ec.content import GcmEncryptor

    pt = bytearray.fromhex(v["plaintext"])
    enc = GcmEncryptor(ck)
    enc.update_into(memoryview(pt), memoryview(pt))
    assert (bytes(pt) + enc.finalize()).hex() == v["body"]
    meta = ContentMetadata(FormatVersion.V3, KC_GCM, WrapAlg.KMS_CONTEXT, b"edk", {}, message_id=mid,
                           commitment=bytes.fromhex(v["commitment"]))
    dec = ContentDecryptor(for_decryption(meta, dk))
    body = bytearray.fromhex(v["body"])
    view = memoryview(body)
    out = bytes(dec.update(view[:-16], view[:-16]))
    assert dec.finish(bytes(body[-16:])) == b"" and out.hex() == v["plaintext"]


def test_wrong_commitment_is_refused_before_any_decryption() -> None:
    v = VECTORS[0]
    bad = bytearray.fromhex(v["commitment"])
    bad[-1] ^= 1
    with pytest.raises(DecryptionFailed):
        verified_key(bytes.fromhex(v["data_key"]), bytes.fromhex(v["message_id"]), bytes(bad))
